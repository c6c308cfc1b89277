"""The parts of an endpoint beside its model: transformer, explainer, payload logger, batcher
(``servestack:endpoints.<name>.transformer`` ...). Part of the endpoint schema (:mod:`.endpoints`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from ..core.labels import STORAGE_URI_ENV
from .base import ConfigModel, Finding
from .containers import ContainerConfig, ResourcesConfig
from .values import checked_storage_uri


#: The variable by which KServe hands a custom container its storage URI (and runs its storage initializer).


def s3_reads(container: ContainerConfig) -> list[tuple[tuple[Any, ...], str]]:
    """``(loc, value)`` of every argument and environment value of ``container`` that names an
    ``s3://`` location (the container's own code would read it), loc relative to the container."""
    found: list[tuple[tuple[Any, ...], str]] = [(("args", i), arg) for i, arg in enumerate(container.args) if "s3://" in arg.lower()]
    found += [(("env", key), value) for key, value in sorted(container.plain_env().items()) if "s3://" in value.lower()]
    return found


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
