"""``servestack:endpoints``: model-serving endpoints (KServe InferenceServices), keyed by name.

An endpoint is a model (a KServe model format served by a runtime, or a custom predictor
container), the node pool it runs on, its resources and autoscaling, optional transformer,
explainer, payload logger and batcher, and a rollout of a candidate model through traffic
stages. Node selectors, tolerations and accelerator resource names are never written here:
they follow from the pool (see :mod:`components.placement`).

This module is the schema. Checks of single values (quantities, image pins, storage URIs, KMS
key ARNs) live in :mod:`.values`; checks that need other sections (the pool exists and has the
accelerator, the deployment mode the platform defaults to, the runtime the platform's KServe
resolves) live in :mod:`.endpoint_fit` and run in :meth:`StackConfig.problems`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Field, field_validator

from ..rollout import Rollout, Stages
from .base import ConfigModel, Finding
from .node_pools import PoolName
from .platform import DeploymentMode
from .rollout import RolloutConfig
from .values import (
    ENV_NAME,
    LABEL_VALUE,
    checked_cpu,
    checked_image,
    checked_kms_key_arn,
    checked_memory,
    checked_storage_uri,
    cpu_millis,
    memory_bytes,
)

_ENDPOINT_NAME = re.compile(r"^[a-z][a-z0-9-]{0,44}$")


def _endpoint_name(name: str) -> str:
    if not _ENDPOINT_NAME.match(name):
        raise ValueError("an endpoint name must start with a lowercase letter and hold only lowercase letters, digits "
                         "and '-', at most 45 characters (it names the InferenceService, and KServe derives longer names from it)")
    return name


EndpointName = Annotated[str, AfterValidator(_endpoint_name)]
"""A DNS-1035 label short enough that KServe's derived names (``<name>-predictor-...``) fit."""

#: A model format name (``sklearn``, ``vLLM``, or the format a runtime of your own declares).
FORMAT_NAME_PATTERN = r"^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$"
ProtocolVersion = Literal["v1", "v2", "grpc-v1", "grpc-v2"]

class QuantitiesConfig(ConfigModel):
    """CPU and memory of one container (requests or limits)."""

    cpu: str | None = None
    """CPU as a Kubernetes quantity (``500m``, ``2``). Default: none."""
    memory: str | None = None
    """Memory as a Kubernetes quantity (``512Mi``, ``4Gi``). Default: none."""

    @field_validator("cpu")
    @classmethod
    def _cpu(cls, value: str | None) -> str | None:
        return checked_cpu(value)

    @field_validator("memory")
    @classmethod
    def _memory(cls, value: str | None) -> str | None:
        return checked_memory(value)

    def as_dict(self) -> dict[str, str]:
        return {k: v for k, v in (("cpu", self.cpu), ("memory", self.memory)) if v is not None}


class ResourcesConfig(ConfigModel):
    """Requests and limits of a container. Accelerators are not set here (see ``accelerators``)."""

    requests: QuantitiesConfig = QuantitiesConfig(cpu="500m", memory="1Gi")
    """What the scheduler reserves. Default ``cpu: 500m, memory: 1Gi``."""
    limits: QuantitiesConfig = QuantitiesConfig(cpu="1", memory="2Gi")
    """The most the container may use. Default ``cpu: 1, memory: 2Gi``."""

    def problems(self) -> list[Finding]:
        found = []
        if self.requests.cpu and self.limits.cpu and cpu_millis(self.requests.cpu) > cpu_millis(self.limits.cpu):
            found.append(Finding(("requests", "cpu"), f"must not exceed limits.cpu ({self.limits.cpu})", self.requests.cpu))
        if self.requests.memory and self.limits.memory and memory_bytes(self.requests.memory) > memory_bytes(self.limits.memory):
            found.append(Finding(("requests", "memory"), f"must not exceed limits.memory ({self.limits.memory})", self.requests.memory))
        return found


class ContainerConfig(ConfigModel):
    """A container servestack runs for the endpoint (custom predictor, transformer, explainer)."""

    image: str
    """Image pinned by a version tag or a digest; never ``latest`` or untagged. Required."""
    args: list[str] = []
    """Arguments. Default: none (the image's own)."""
    env: dict[str, str] = {}
    """Environment variables (no secrets: reference those by Kubernetes Secret instead). Default: none."""
    port: int | None = Field(default=None, ge=1, le=65535)
    """The HTTP port the server listens on. Default: none (KServe's 8080)."""

    @field_validator("image")
    @classmethod
    def _pinned(cls, image: str) -> str:
        return checked_image(image)

    @field_validator("env")
    @classmethod
    def _env_names(cls, env: dict[str, str]) -> dict[str, str]:
        bad = sorted(k for k in env if not ENV_NAME.match(k))
        if bad:
            raise ValueError(f"must use environment variable names of letters, digits and _; not: {', '.join(bad)}")
        return env


class ModelConfig(ConfigModel):
    """What the predictor serves: a model format with a storage URI, or a custom container."""

    version: str = Field(pattern=LABEL_VALUE)
    """The model version (a label value: ``1.4.0``, ``2026-11-01``). Required."""
    name: str | None = Field(default=None, pattern=r"^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$")
    """The model's name in labels. Default: the endpoint's name."""
    format: str | None = Field(default=None, pattern=FORMAT_NAME_PATTERN)
    """KServe model format: one that a built-in runtime of the platform's KServe declares (KServe
    v0.20.0: ``sklearn``, ``xgboost``, ``lightgbm``, ``tensorflow``, ``pytorch``, ``onnx``, ``triton``,
    ``tensorrt``, ``huggingface``, ``pmml``, ``paddle``, ``mlflow``, ``autogluon``, ``vLLM``; Kubeflow's
    v0.16.0 has no ``autogluon`` nor ``vLLM``), or any format with ``runtime`` naming a runtime of your
    own. KServe matches formats case-sensitively; a built-in format may be written in any case
    (``vllm``) and is rendered exactly as the runtime declares it (``vLLM``). Required unless
    ``container`` is set."""
    runtime: str | None = Field(default=None, pattern=r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
    """The (Cluster)ServingRuntime to use: a built-in one (checked to serve the format and protocol)
    or one of your own (not checked). Default: the one KServe selects for the format."""
    protocol_version: ProtocolVersion | None = None
    """Inference protocol (``v1``, ``v2``, ``grpc-v1``, ``grpc-v2``). Default: KServe's for the format
    (``v2`` for ``triton`` and ``vLLM``, else ``v1``, then the chosen runtime's). When no built-in
    runtime serves the format with KServe's default (``onnx``, ``tensorrt``, ``mlflow``: only v2
    runtimes), servestack renders the first protocol in KServe's order (v1, v2, grpc-v1, grpc-v2)
    that a built-in runtime serves the format with (``v2`` for those), so that KServe finds it.
    A protocol no built-in runtime serves the format with is a config error naming the runtimes
    and the protocols they speak."""
    storage_uri: str | None = None
    """Where the model is: ``s3://``, ``oci://``, ``hf://``, ``pvc://`` or ``gs://`` (``hf://`` pinned to a
    commit: ``hf://<org>/<model>:<40-hex commit hash>``). Required with ``format``; optional with
    ``container`` (KServe then downloads it for the container)."""
    container: ContainerConfig | None = None
    """A custom predictor container instead of a format and runtime. Default: none."""
    kms_key_arn: str | None = None
    """For an ``s3://`` model whose objects are encrypted with SSE-KMS: the full ARN of that KMS key
    (``arn:aws:kms:<region>:<account>:key/<key id>``). The endpoint's role may then use this key, and
    no other, for ``kms:Decrypt`` through S3 in the key's region. A rollout's candidate is read with
    the same key. Default: none (SSE-S3 or unencrypted objects)."""

    @field_validator("storage_uri")
    @classmethod
    def _storage_uri(cls, value: str | None) -> str | None:
        return checked_storage_uri(value)

    @field_validator("kms_key_arn")
    @classmethod
    def _kms_key_arn(cls, value: str | None) -> str | None:
        return checked_kms_key_arn(value)

    def problems(self) -> list[Finding]:
        found = []
        if self.kms_key_arn is not None and not (self.storage_uri or "").startswith("s3://"):
            found.append(Finding(("kmsKeyArn",), "applies to s3:// models only (objects encrypted with SSE-KMS); "
                                                 f"the storageUri is {self.storage_uri or 'not set'}", self.kms_key_arn))
        if self.container is not None:
            for field in ("format", "runtime", "protocol_version"):
                if getattr(self, field) is not None:
                    alias = type(self).model_fields[field].alias
                    found.append(Finding((alias,), "cannot be set together with container (a custom predictor "
                                                   "brings its own server)", getattr(self, field)))
            return found
        if self.format is None:
            found.append(Finding(("format",), "is required unless container is set (a custom predictor)"))
            return found
        if self.storage_uri is None:
            found.append(Finding(("storageUri",), f"is required for a {self.format} model"))
        # Whether a runtime serves the format depends on the platform's KServe: see model_runtime().
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


#: The variable by which KServe hands a custom container its storage URI (and runs its storage initializer).
STORAGE_URI_ENV = "STORAGE_URI"


def s3_reads(container: ContainerConfig) -> list[tuple[tuple[Any, ...], str]]:
    """``(loc, value)`` of every argument and environment value of ``container`` that names an
    ``s3://`` location (the container's own code would read it), loc relative to the container."""
    found: list[tuple[tuple[Any, ...], str]] = [(("args", i), arg) for i, arg in enumerate(container.args) if "s3://" in arg.lower()]
    found += [(("env", key), value) for key, value in sorted(container.env.items()) if "s3://" in value.lower()]
    return found


class TransformerConfig(ConfigModel):
    """Pre/post-processing in front of the predictor."""

    container: ContainerConfig
    """The transformer's container. Required."""
    resources: ResourcesConfig = ResourcesConfig()
    """Default: see :class:`ResourcesConfig`."""
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
        found = []
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

    def problems(self) -> list[Finding]:
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


class EndpointConfig(ConfigModel):
    """One model-serving endpoint: a KServe InferenceService."""

    pool: PoolName
    """The node pool the predictor runs on (a key of ``servestack:nodePools``). Required."""
    model: ModelConfig
    """The stable model. Required."""
    namespace: str = Field(default="models", pattern=r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
    """Kubernetes namespace (one the platform provides). Default ``models``."""
    deployment_mode: DeploymentMode | None = None
    """``Knative`` or ``Standard``. Default: the platform's (``servestack:platform.kserve.deploymentMode``)."""
    resources: ResourcesConfig = ResourcesConfig()
    """CPU and memory of the predictor. Default: see :class:`ResourcesConfig`."""
    accelerators: int = Field(default=0, ge=0, le=64)
    """Accelerators per replica (GPUs, Neuron devices, FPGAs: the pool's kind). Default 0."""
    autoscaling: AutoscalingConfig = AutoscalingConfig()
    """Default: 1 to 3 replicas, KServe's metric."""
    startup_timeout_minutes: int | None = Field(default=None, ge=1, le=120)
    """Knative mode: how long a new replica may take to become ready (the revision's progress
    deadline). Required, at least 10, with scale-to-zero on an accelerator pool. Default: Knative's."""
    container_concurrency: int | None = Field(default=None, ge=1, le=1000)
    """Knative mode: hard limit of concurrent requests per replica. Default: unlimited."""
    timeout_seconds: int | None = Field(default=None, ge=1, le=3600)
    """Request timeout of the predictor. Default: KServe's."""
    transformer: TransformerConfig | None = None
    """Default: none."""
    explainer: ExplainerConfig | None = None
    """Default: none."""
    logger: LoggerConfig | None = None
    """Payload logging. Default: none."""
    batcher: BatcherConfig | None = None
    """Request batching. Default: none."""
    rollout: RolloutConfig | None = None
    """A rollout in progress (or rolled back). Default: none."""

    # Unknown keys are kept (not rejected while parsing) so that problems() can answer someone who
    # writes KServe's own fields with where they belong, naming the field and its value.
    model_config = ConfigDict(**ConfigModel.model_config | {"extra": "allow"})

    def candidate_model(self) -> ModelConfig | None:
        """The stable model with the rollout's candidate fields replaced (None without a rollout)."""
        if self.rollout is None:
            return None
        update: dict[str, Any] = {"version": self.rollout.candidate.version}
        if self.rollout.candidate.storage_uri is not None:
            update["storage_uri"] = self.rollout.candidate.storage_uri
        if self.rollout.candidate.image is not None and self.model.container is not None:
            update["container"] = self.model.container.model_copy(update={"image": self.rollout.candidate.image})
        return self.model.model_copy(update=update)

    def rollout_state(self) -> Rollout:
        """The rollout as the pure state machine sees it."""
        if self.rollout is None:
            return Rollout.steady(self.model.version)
        stages = Stages.of(*self.rollout.stages)
        make = Rollout.rolled_back if self.rollout.rolled_back else Rollout.in_progress
        return make(self.model.version, self.rollout.candidate.version, stages, self.rollout.stage)

    def problems(self) -> list[Finding]:
        found = []
        allowed = ", ".join(f.alias or n for n, f in type(self).model_fields.items())
        for key, value in sorted((self.model_extra or {}).items()):
            message = KSERVE_SPELLINGS.get(key, f"is not a known setting; allowed here: {allowed}")
            found.append(Finding((key,), message, value))
        if self.rollout is not None:
            found += [Finding(("rollout", *f.loc), f.message, f.value) for f in self.rollout.candidate_problems(
                self.model.version, self.model.storage_uri, custom_container=self.model.container is not None)]
        return found


KSERVE_SPELLINGS = {
    "canaryTrafficPercent": "is KServe's Knative-mode canary field; servestack writes it from rollout.stages "
                            "(Standard mode uses spec.canary[].trafficPercent instead). Declare rollout.stages",
    "canary": "is KServe's Standard-mode canary list (spec.canary[]); servestack writes it from rollout "
              "(Knative mode uses predictor.canaryTrafficPercent instead). Declare rollout",
    "nodeSelector": "is derived from the pool; set pool instead",
    "tolerations": "are derived from the pool's taints; set pool instead",
    "nodeName": "is decided by the scheduler within the pool; set pool instead",
    "affinity": "is derived from the pool; set pool instead",
}
