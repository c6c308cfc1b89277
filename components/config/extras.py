"""The parts of an endpoint beside its model: transformer, explainer, payload logger, batcher
(``servestack:endpoints.<name>.transformer`` ...). Part of the endpoint schema (:mod:`.endpoints`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from ..core.labels import STORAGE_URI_ENV
from .base import ConfigModel, Finding
from .containers import ContainerConfig, ResourcesConfig
from .pod_metadata import pod_metadata_problems
from .values import checked_storage_uri


#: The variable by which KServe hands a custom container its storage URI (and runs its storage initializer).


def s3_reads(container: ContainerConfig) -> list[tuple[tuple[Any, ...], str]]:
    """``(loc, value)`` of every argument and environment value of ``container`` that names an
    ``s3://`` location (the container's own code would read it), loc relative to the container."""
    found: list[tuple[tuple[Any, ...], str]] = [(("args", i), arg) for i, arg in enumerate(container.args) if "s3://" in arg.lower()]
    found += [(("env", key), value) for key, value in sorted(container.plain_env().items()) if "s3://" in value.lower()]
    return found


class AutoscalingConfig(ConfigModel):
    """Replicas of the predictor and what scales them."""

    min_replicas: int = Field(default=1, ge=0, le=1000)
    """Fewest replicas; 0 scales to zero (Knative mode only). Default 1."""
    max_replicas: int = Field(default=3, ge=1, le=1000)
    """Most replicas. Default 3."""
    scale_metric: Literal["concurrency", "rps", "cpu", "memory"] | None = None
    """What the autoscaler watches: ``concurrency``/``rps`` (Knative) or ``cpu``/``memory``. Default: KServe's."""
    scale_target: int | None = Field(default=None, ge=1)
    """Target value of the metric per replica. Default: KServe's."""

    def problems(self) -> list[Finding]:
        found = []
        if self.min_replicas > self.max_replicas:
            found.append(Finding(("minReplicas",), f"must not exceed maxReplicas ({self.max_replicas})", self.min_replicas))
        if self.scale_target is not None and self.scale_metric is None:
            found.append(Finding(("scaleTarget",), "needs scaleMetric (the metric the target is for)", self.scale_target))
        if self.scale_metric in ("cpu", "memory") and self.scale_target is not None and self.scale_target > 100:
            found.append(Finding(("scaleTarget",), f"is a utilization percent for {self.scale_metric}; must be <= 100", self.scale_target))
        return found


Percent = Annotated[str, Field(pattern=r"^[0-9]{1,3}%$")]


class DeploymentStrategyConfig(ConfigModel):
    """The predictor Deployment's update strategy (Standard mode)."""

    type: Literal["RollingUpdate", "Recreate"] = "RollingUpdate"
    """``RollingUpdate`` or ``Recreate`` (every old pod goes first: for a model that needs a whole node's
    accelerators). Default ``RollingUpdate``."""
    max_surge: Annotated[int, Field(ge=0)] | Percent | None = None
    """RollingUpdate: extra pods during an update (a count or ``25%``). Default: Kubernetes' 25%."""
    max_unavailable: Annotated[int, Field(ge=0)] | Percent | None = None
    """RollingUpdate: pods that may be missing during an update (a count or ``25%``). Default: Kubernetes' 25%."""

    def problems(self) -> list[Finding]:
        if self.type == "Recreate" and (self.max_surge is not None or self.max_unavailable is not None):
            return [Finding(("type",), "Recreate has no maxSurge or maxUnavailable (those are RollingUpdate's)", self.type)]
        return []

    def render(self) -> dict[str, Any]:
        rolling = {k: v for k, v in (("maxSurge", self.max_surge), ("maxUnavailable", self.max_unavailable)) if v is not None}
        return {"type": self.type, **({"rollingUpdate": rolling} if rolling else {})}


class TransformerConfig(ConfigModel):
    """Pre/post-processing in front of the predictor."""

    container: ContainerConfig
    """The transformer's container. Required."""
    resources: ResourcesConfig = ResourcesConfig()
    """Default: see :class:`ResourcesConfig`."""
    collocated: bool = False
    """Run the transformer in the predictor's pod, as KServe's ``transformer-container`` beside the model
    (one Deployment or revision; the transformer takes the requests on its ``port``, which must differ
    from the model's, and calls the model on localhost). Not with ``storageUri``. Default false."""
    deployment_strategy: DeploymentStrategyConfig | None = None
    """Standard mode: how the transformer's Deployment replaces pods. Default: Kubernetes' (RollingUpdate 25%/25%)."""
    autoscaling: AutoscalingConfig | None = None
    """Its own replicas and scaling (KServe's ``minReplicas``, ``maxReplicas``, ``scaleMetric``, ``scaleTarget`` on
    the component). Default: KServe's (one replica, scaled like the predictor's defaults)."""
    pod_labels: dict[str, str] = {}
    """Labels of its pods (KServe's ``labels`` on the component); servestack's own keys are refused. Default: none."""
    pod_annotations: dict[str, str] = {}
    """Annotations of its pods (``sidecar.istio.io/inject``...); servestack's own keys are refused. Default: none."""
    storage_uri: str | None = None
    """Artifacts the transformer loads (a tokenizer, feature encoders), in the forms ``model.storageUri``
    takes. KServe's storage initializer downloads them to ``/mnt/models`` in the transformer's pod
    (servestack passes the URI as ``STORAGE_URI``). With an ``s3://`` URI the transformer runs as the
    endpoint's service account, whose IAM role then reads this prefix besides the model's (SSE-KMS
    objects only with the model's ``kmsKeyArn``). This is the only way a transformer reads S3: it has
    no AWS credentials otherwise, so ``s3://`` in its args or env is refused. Default: none."""

    @field_validator("storage_uri")
    @classmethod
    def _storage_uri(cls, value: str | None) -> str | None:
        return checked_storage_uri(value)

    def problems(self) -> list[Finding]:
        found = pod_metadata_problems(self)
        if self.collocated:
            found += [Finding((alias,), "belongs to the predictor's pod, which a collocated transformer shares: set it on "
                              "the endpoint", "[set]")
                      for alias, value in (("autoscaling", self.autoscaling), ("deploymentStrategy", self.deployment_strategy),
                                           ("podLabels", self.pod_labels), ("podAnnotations", self.pod_annotations)) if value]
        if self.collocated and self.storage_uri is not None:
            found.append(Finding(("storageUri",), "cannot be set on a collocated transformer: KServe's storage initializer "
                                                  "downloads only the predictor's model into its pod", self.storage_uri))
        if STORAGE_URI_ENV in self.container.env:
            found.append(Finding(("container", "env", STORAGE_URI_ENV), "is written by servestack from transformer.storageUri; "
                                 "set that instead (an s3:// URI is then read with the endpoint's service account)",
                                 self.container.env[STORAGE_URI_ENV]))
        for loc, value in s3_reads(self.container):
            if loc != ("env", STORAGE_URI_ENV):
                found.append(Finding(("container", *loc), "reads S3, but the transformer's code has no AWS credentials (pods "
                                     "reach AWS only through an IRSA service account, which servestack gives the transformer "
                                     "for transformer.storageUri alone); put the artifact under transformer.storageUri, which "
                                     "KServe downloads to /mnt/models", value))
        return found


class ExplainerConfig(ConfigModel):
    """Explanations of predictions: KServe's ART explainer or a custom container."""

    type: Literal["art", "custom"]
    """``art`` (Adversarial Robustness Toolbox, KServe's built-in) or ``custom``. Required."""
    art_type: Literal["SquareAttack"] = "SquareAttack"
    """The ART attack that explains (only ``SquareAttack`` in KServe). Default ``SquareAttack``."""
    config: dict[str, str] = {}
    """ART explainer settings (``nb_classes``, ``max_iter``...). Default: none."""
    container: ContainerConfig | None = None
    """The custom explainer's container (required for ``custom``). Default: none."""
    resources: ResourcesConfig = ResourcesConfig()
    """Default: see :class:`ResourcesConfig`."""
    autoscaling: AutoscalingConfig | None = None
    """Its own replicas and scaling (KServe's ``minReplicas``, ``maxReplicas``, ``scaleMetric``, ``scaleTarget`` on
    the component). Default: KServe's (one replica, scaled like the predictor's defaults)."""
    pod_labels: dict[str, str] = {}
    """Labels of its pods (KServe's ``labels`` on the component); servestack's own keys are refused. Default: none."""
    pod_annotations: dict[str, str] = {}
    """Annotations of its pods (``sidecar.istio.io/inject``...); servestack's own keys are refused. Default: none."""

    def problems(self) -> list[Finding]:
        return pod_metadata_problems(self) + self._own_problems()

    def _own_problems(self) -> list[Finding]:
        if self.type == "custom" and self.container is None:
            return [Finding(("container",), "is required for a custom explainer")]
        if self.type == "art" and self.container is not None:
            return [Finding(("container",), "cannot be set for the art explainer (KServe provides its image); use type: custom")]
        if self.type == "custom" and self.config:
            return [Finding(("config",), "is for the art explainer; pass settings to a custom explainer as container args", self.config)]
        if self.container is not None:
            return [Finding(("container", *loc), "reads S3, but the explainer has no AWS credentials (pods reach AWS only "
                            "through an IRSA service account; servestack gives one to the predictor and to a transformer "
                            "with an s3:// storageUri, not to the explainer)", value)
                    for loc, value in s3_reads(self.container)]
        return []


class LoggerConfig(ConfigModel):
    """Payload logging: requests and/or responses sent as CloudEvents to a sink."""

    mode: Literal["all", "request", "response"] = "all"
    """What to log. Default ``all``."""
    url: str = Field(pattern=r"^https?://[^\s]+$")
    """The sink that receives the events (http or https URL). Required."""


class BatcherConfig(ConfigModel):
    """Server-side request batching in front of the predictor."""

    max_batch_size: int = Field(default=32, ge=1, le=10000)
    """Requests per batch at most. Default 32."""
    max_latency_ms: int = Field(default=500, ge=1, le=60000)
    """Milliseconds a request waits for its batch to fill. Default 500."""
