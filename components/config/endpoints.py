"""``servestack:endpoints``: model-serving endpoints (KServe InferenceServices), keyed by name.

An endpoint is a model (a KServe model format served by a runtime, or a custom predictor
container), the node pool it runs on, its resources and autoscaling, optional transformer,
explainer, payload logger and batcher, and a rollout of a candidate model through traffic
stages. Node selectors, tolerations and accelerator resource names are never written here:
they follow from the pool (see :mod:`components.placement`).

Checks that need other sections (the pool exists and has the accelerator, the deployment
mode the platform defaults to) run in :meth:`StackConfig.problems`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Field, field_validator

from ..images import ImagePin, image_pin
from .base import ConfigModel, Finding
from .node_pools import NodePoolConfig, PoolName
from .platform import DeploymentMode

if TYPE_CHECKING:
    from ..placement import PoolPlacement
    from ..rollout import Rollout
    from .platform import PlatformConfig

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

STORAGE_SCHEMES = ("s3://", "oci://", "hf://", "pvc://", "gs://")

#: Shortest start-up timeout allowed with scale-to-zero on an accelerator pool: a node has to be
#: launched, join, run its device plugin and pull a multi-GB image before the first request.
MIN_ACCELERATOR_STARTUP_MINUTES = 10

_CPU = re.compile(r"^([0-9]+m|[0-9]+(\.[0-9]{1,3})?)$")
_MEMORY = re.compile(r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$")
_MEMORY_UNITS = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
                 "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
_LABEL_VALUE = r"^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$"
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def cpu_millis(quantity: str) -> int:
    """``"500m"`` -> 500, ``"2"`` -> 2000 (a quantity already checked by the pattern)."""
    return int(quantity[:-1]) if quantity.endswith("m") else int(Decimal(quantity) * 1000)


def memory_bytes(quantity: str) -> int:
    match = re.match(r"^([0-9.]+)([A-Za-z]*)$", quantity)
    assert match, quantity
    return int(Decimal(match.group(1)) * _MEMORY_UNITS[match.group(2)])


def image_pin_problem(image: str) -> str | None:
    """Why ``image`` is not pinned (None when it is): a tag other than ``latest``, or a digest."""
    return {
        ImagePin.PINNED: None,
        ImagePin.BAD_DIGEST: "must pin a digest of the form @sha256:<64 hex digits>",
        ImagePin.UNTAGGED: "must be pinned by a tag or digest (repository:1.2.3 or repository@sha256:...); an untagged image floats",
        ImagePin.LATEST: "must not use the tag latest, which floats; pin a version tag or a digest",
    }[image_pin(image)]


def _checked_image(image: str) -> str:
    problem = image_pin_problem(image)
    if problem:
        raise ValueError(problem)
    return image


#: A KMS key's full ARN in the ``aws`` partition: ``arn:aws:kms:<region>:<account>:key/<key id>``, the key id
#: a UUID or a multi-Region key's ``mrk-`` id. Aliases are refused: IAM authorizes kms:Decrypt by the
#: key's ARN, so a grant on an alias ARN would not let the endpoint read its model.
KMS_KEY_ARN = re.compile(
    r"arn:aws:kms:(?P<region>[a-z]{2}-[a-z]+-[0-9]):[0-9]{12}:key/"
    r"(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
)

#: A full Git commit id: the only Hugging Face revision that cannot move (branches and tags can).
_HF_COMMIT = re.compile(r"[0-9a-f]{40}")


def hf_uri_problem(uri: str) -> str | None:
    """Why an ``hf://`` URI is not pinned (None when it is).

    KServe's storage initializer reads ``hf://<org>/<model>[:<revision>]`` (exactly one ``/``; the
    revision after ``:`` goes to ``snapshot_download(revision=...)``) and, without a revision,
    downloads whatever the main branch holds when each pod starts.
    """
    repository, colon, revision = uri.removeprefix("hf://").partition(":")
    parts = repository.split("/")
    if len(parts) != 2 or not all(parts):
        return "must be hf://<org>/<model>:<commit hash> (KServe's Hugging Face syntax: one '/' between organization and model)"
    if not colon or not revision:
        return ("must pin a revision, hf://<org>/<model>:<commit hash>: without one KServe downloads whatever the "
                "repository's main branch holds when each pod starts, so replicas of one version can serve different weights")
    if not _HF_COMMIT.fullmatch(revision):
        return ("must pin the revision by its full 40-character commit hash (hf://<org>/<model>:<commit hash>); "
                "a branch or tag name can move")
    return None


def _checked_storage_uri(value: str | None) -> str | None:
    """A storage URI of a known scheme; an S3 one names a bucket and a model prefix inside it, an
    ``hf://`` one a commit of a Hugging Face repository."""
    if value is None:
        return value
    if not value.startswith(STORAGE_SCHEMES):
        raise ValueError(f"must start with one of {', '.join(STORAGE_SCHEMES)}")
    if value.startswith("hf://"):
        problem = hf_uri_problem(value)
        if problem:
            raise ValueError(problem)
    if value.startswith("s3://"):
        bucket, _, key = value.removeprefix("s3://").partition("/")
        if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", bucket):
            raise ValueError("must name a valid S3 bucket (s3://bucket/prefix/...)")
        if "/" not in key.strip("/"):
            raise ValueError("must name a model under a prefix (s3://bucket/models/<model>/<version>): "
                             "the endpoint may read only that prefix, never a whole bucket")
    return value


class QuantitiesConfig(ConfigModel):
    """CPU and memory of one container (requests or limits)."""

    cpu: str | None = None
    """CPU as a Kubernetes quantity (``500m``, ``2``). Default: none."""
    memory: str | None = None
    """Memory as a Kubernetes quantity (``512Mi``, ``4Gi``). Default: none."""

    @field_validator("cpu")
    @classmethod
    def _cpu(cls, value: str | None) -> str | None:
        if value is not None and not _CPU.match(value):
            raise ValueError("must be a CPU quantity such as 500m or 2")
        return value

    @field_validator("memory")
    @classmethod
    def _memory(cls, value: str | None) -> str | None:
        if value is not None and not _MEMORY.match(value):
            raise ValueError("must be a memory quantity such as 512Mi or 4Gi")
        return value

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
        return _checked_image(image)

    @field_validator("env")
    @classmethod
    def _env_names(cls, env: dict[str, str]) -> dict[str, str]:
        bad = sorted(k for k in env if not _ENV_NAME.match(k))
        if bad:
            raise ValueError(f"must use environment variable names of letters, digits and _; not: {', '.join(bad)}")
        return env


class ModelConfig(ConfigModel):
    """What the predictor serves: a model format with a storage URI, or a custom container."""

    version: str = Field(pattern=_LABEL_VALUE)
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
        return _checked_storage_uri(value)

    @field_validator("kms_key_arn")
    @classmethod
    def _kms_key_arn(cls, value: str | None) -> str | None:
        if value is not None and not KMS_KEY_ARN.fullmatch(value):
            raise ValueError("must be the full ARN of a KMS key, arn:aws:kms:<region>:<account>:key/<key id> (not an "
                             "alias: IAM authorizes kms:Decrypt by the key's ARN)")
        return value

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


@dataclass(frozen=True)
class ModelRuntime:
    """What a format model's predictor renders so that KServe serves it with the runtime it resolves."""

    format_name: str
    """``modelFormat.name`` exactly as the runtime declares it (``vLLM`` for ``vllm``)."""
    protocol: str | None
    """``protocolVersion`` to render; None leaves it to KServe's defaulting (which then finds a runtime)."""
    runtime: str | None
    """The built-in runtime KServe selects; None for a runtime of the user's (not checked)."""


@cache
def builtin_runtime_names() -> frozenset[str]:
    """Names of KServe's built-in runtimes in any KServe version the project carries: naming one on a
    KServe that lacks it is an error, not a runtime of the user's."""
    from ..kserve_runtimes import builtin_runtimes, runtime_versions

    return frozenset(r.name for version in runtime_versions() for r in builtin_runtimes(version))


def model_runtime(model: ModelConfig, kserve_version: str) -> tuple[ModelRuntime | None, Finding | None]:
    """Resolve a format model's runtime the way ``kserve_version`` does (:mod:`components.kserve_runtimes`).

    Returns what to render, or a finding (loc relative to the model) when KServe would find no
    runtime. ``(None, None)`` for a custom container.
    """
    from ..kserve_runtimes import PROTOCOL_ORDER, builtin_runtimes, resolve_runtime

    if model.format is None:
        return None, None
    if model.runtime is not None and model.runtime not in builtin_runtime_names():
        return ModelRuntime(model.format, model.protocol_version, None), None
    runtimes = builtin_runtimes(kserve_version)
    if model.runtime is not None and model.runtime not in {r.name for r in runtimes}:
        return None, Finding(("runtime",), f"is a built-in runtime of another KServe release; KServe {kserve_version}, which "
                                           f"serves this platform, has: {', '.join(sorted(r.name for r in runtimes))}",
                             model.runtime)
    resolved = resolve_runtime(runtimes, model.format, protocol=model.protocol_version, runtime_name=model.runtime)
    protocol = model.protocol_version
    if resolved.runtime is None and model.protocol_version is None and model.runtime is None:
        # KServe's default protocol (v1 for most formats) finds nothing: render the first protocol that does.
        for candidate in PROTOCOL_ORDER:
            explicit = resolve_runtime(runtimes, model.format, protocol=candidate)
            if explicit.runtime is not None:
                resolved, protocol = explicit, candidate
                break
    if resolved.runtime is None:
        declared = {f.name for r in runtimes for f in r.supported_model_formats}
        if model.runtime is not None:
            return None, Finding(("runtime",), resolved.reason, model.runtime)
        if resolved.format_spelling not in declared:
            return None, Finding(("format",), f"{resolved.reason}; a format of your own needs runtime: the name of the "
                                              "ClusterServingRuntime that serves it", model.format)
        if model.protocol_version is None:
            return None, Finding(("format",), resolved.reason, model.format)
        return None, Finding(("protocolVersion",), resolved.reason, model.protocol_version)
    if resolved.ambiguous:
        first, second = resolved.candidates[:2]
        return None, Finding(("runtime",), f"must be set: KServe {kserve_version} would choose between {first.name} and "
                                           f"{second.name} (equal priority for {resolved.format_spelling}) in no "
                                           "guaranteed order")
    return ModelRuntime(resolved.format_spelling, protocol, resolved.runtime.name), None


def rendered_model_runtime(model: ModelConfig, kserve_version: str) -> ModelRuntime | None:
    """:func:`model_runtime` for rendering: the config checks have refused every model it finds a problem with."""
    resolved, problem = model_runtime(model, kserve_version)
    if problem is not None:
        raise ValueError(f"model {'.'.join(map(str, problem.loc))} {problem.message}")
    return resolved


class CandidateConfig(ConfigModel):
    """The model a rollout moves traffic to: the stable model with these fields replaced."""

    version: str = Field(pattern=_LABEL_VALUE)
    """The candidate's model version; must differ from the stable one. Required."""
    storage_uri: str | None = None
    """Where the candidate is. Default: the stable model's (e.g. a new container image instead)."""
    image: str | None = None
    """A new image for a custom predictor container. Default: the stable container's."""

    @field_validator("storage_uri")
    @classmethod
    def _storage_uri(cls, value: str | None) -> str | None:
        return _checked_storage_uri(value)

    @field_validator("image")
    @classmethod
    def _pinned(cls, image: str | None) -> str | None:
        return image if image is None else _checked_image(image)


class RolloutConfig(ConfigModel):
    """A candidate model taking traffic in stages. Edited by ``servestack rollout``."""

    candidate: CandidateConfig
    """The model being rolled out. Required."""
    stages: list[int] = Field(min_length=1)
    """Percent of traffic to the candidate at each stage, strictly increasing. Knative mode: from 1
    to 100, ending at 100. Standard mode: ``[0]`` only, the candidate beside the stable model with
    no traffic, and ``promote`` the cutover (KServe v0.20.0 routes no traffic to ``spec.canary[]``).
    Required."""
    stage: int = Field(default=1, ge=1)
    """The current stage, counted from 1. Default 1."""
    rolled_back: bool = False
    """The rollout was rolled back: all traffic to the stable model. Default false."""
    candidate_replicas: int | None = Field(default=None, ge=1)
    """Standard mode only: replicas of the candidate's Deployment, at most the stable
    ``autoscaling.minReplicas``; KServe lowers the stable minimum by as many while the candidate
    exists. Default 1."""

    @field_validator("stages")
    @classmethod
    def _stages(cls, stages: list[int]) -> list[int]:
        from ..rollout import Stages

        return list(Stages.of(*stages))

    def problems(self) -> list[Finding]:
        if self.stage > len(self.stages):
            return [Finding(("stage",), f"must be between 1 and {len(self.stages)} (the number of stages)", self.stage)]
        return []


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
        return _checked_storage_uri(value)

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

    def rollout_state(self) -> "Rollout":
        """The rollout as the pure state machine sees it."""
        from ..rollout import Rollout, Stages

        if self.rollout is None:
            return Rollout.steady(self.model.version)
        stages = Stages.of(*self.rollout.stages)
        make = Rollout.rolled_back if self.rollout.rolled_back else Rollout.in_progress
        return make(self.model.version, self.rollout.candidate.version, stages, self.rollout.stage)

    def problems(self) -> list[Finding]:
        from ..rollout import predictor_name

        found = []
        allowed = ", ".join(f.alias or n for n, f in type(self).model_fields.items())
        for key, value in sorted((self.model_extra or {}).items()):
            message = KSERVE_SPELLINGS.get(key, f"is not a known setting; allowed here: {allowed}")
            found.append(Finding((key,), message, value))
        if self.rollout is not None:
            candidate = self.rollout.candidate
            if candidate.version == self.model.version:
                found.append(Finding(("rollout", "candidate", "version"), "must differ from the stable model's version", candidate.version))
            elif predictor_name(candidate.version) == predictor_name(self.model.version):
                found.append(Finding(("rollout", "candidate", "version"),
                                     f"must differ from the stable version {self.model.version} in more than punctuation or case "
                                     f"(both name the predictor {predictor_name(candidate.version)})", candidate.version))
            if candidate.image is not None and self.model.container is None:
                found.append(Finding(("rollout", "candidate", "image"), "is for a custom predictor container; this model has a format", candidate.image))
            if candidate.storage_uri is None and candidate.image is None:
                found.append(Finding(("rollout", "candidate"), "must change storageUri or image: otherwise the candidate serves the stable model"))
            elif candidate.storage_uri == self.model.storage_uri and candidate.image is None:
                found.append(Finding(("rollout", "candidate", "storageUri"), "must differ from the stable model's storageUri", candidate.storage_uri))
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


def endpoint_problems(endpoints: dict[str, EndpointConfig], pools: dict[str, NodePoolConfig] | None,
                      platform: "PlatformConfig | None") -> list[Finding]:
    """Checks of endpoints against the node pools and the platform (StackConfig.problems).

    ``pools``/``platform`` are None when another stack owns them (``cluster.existing``): ModelEndpoint
    then runs the same placement and mode checks against what that stack exports.
    """
    from ..placement import placement_for
    from .platform import feature_finding, kubeflow_kserve_version, platform_kserve_version

    found: list[Finding] = []
    for name, endpoint in sorted(endpoints.items()):
        at = ("endpoints", name)
        mode = endpoint.deployment_mode or (platform.deployment_mode if platform is not None else None)
        if mode is not None:
            found += [Finding(at + f.loc, f.message, f.value) for f in mode_findings(endpoint, mode)]
        if platform is not None:
            no_knative = knative_finding(endpoint, mode, platform.knative_installed,
                                         f"servestack:platform.kserve.deploymentMode is {platform.kserve.deployment_mode}: "
                                         "the platform installs Envoy Gateway and the Gateway API, not Knative")
            found += [Finding(at + no_knative.loc, no_knative.message, no_knative.value)] if no_knative else []
            if platform.kubeflow.enabled and endpoint.deployment_mode == "Standard":
                found.append(Finding(at + ("deploymentMode",), f"Standard mode needs the standalone KServe: Kubeflow's KServe "
                                                               f"{kubeflow_kserve_version()} runs endpoints in Knative mode", "Standard"))
            elif mode == "Standard" and endpoint.rollout is not None:
                too_old = feature_finding(platform, "standardCanary", at + ("rollout",))
                found += [too_old] if too_old is not None else []
            _, no_runtime = model_runtime(endpoint.model, platform_kserve_version(platform))
            if no_runtime is not None:
                found.append(Finding(at + ("model",) + no_runtime.loc, no_runtime.message, no_runtime.value))
            if endpoint.namespace not in platform.endpoint_namespaces:
                found.append(Finding(at + ("namespace",), "is not one of the platform's endpoint namespaces "
                                                          f"({', '.join(platform.endpoint_namespaces)}); add it to "
                                                          "servestack:platform.endpointNamespaces", endpoint.namespace))
        if pools is None:
            continue
        pool = pools.get(endpoint.pool)
        if pool is None:
            found.append(Finding(at + ("pool",), f"names no node pool; pools: {', '.join(sorted(pools))}", endpoint.pool))
            continue
        # The FPGA device plugin's resource name is the stack's (pool config), not the catalog's.
        placement = placement_for(endpoint.pool, pool.instance_types, pool.max_size, resource_name=pool.resource_name)
        found += [Finding(at + f.loc, f.message, f.value) for f in placement_findings(endpoint, placement)]
    return found


def knative_finding(endpoint: EndpointConfig, mode: str, knative_installed: bool, why: str) -> Finding | None:
    """A Knative-mode endpoint on a platform without Knative Serving: KServe would create a Knative
    Service whose CRD does not exist, and the InferenceService would never become ready. ``why``
    says what the platform installs instead."""
    if mode != "Knative" or knative_installed:
        return None
    from .base import MISSING

    source = "" if endpoint.deployment_mode is not None else " (the platform's default deployment mode)"
    return Finding(("deploymentMode",), f"Knative mode{source} needs Knative Serving, which this platform does not install "
                                        f"({why}); use deploymentMode Standard, or run the platform in Knative mode",
                   endpoint.deployment_mode or MISSING)


def placement_findings(endpoint: EndpointConfig, placement: "PoolPlacement") -> list[Finding]:
    """What does not fit the endpoint's pool: accelerators, node size, start-up time from zero.

    Used by the config checks (pools declared in this stack) and by ModelEndpoint (pools of a
    cluster that another stack owns), so both give the same answer.
    """
    from .. import catalog

    found: list[Finding] = []
    pool, kind, types = placement.name, placement.kind.value, ", ".join(placement.instance_types)
    if endpoint.accelerators and not placement.has_accelerator:
        found.append(Finding(("accelerators",), f"pool {pool} has no accelerators (CPU-only instance types {types}); "
                                                "place the endpoint on an nvidia, neuron or fpga pool", endpoint.accelerators))
    elif placement.has_accelerator and endpoint.accelerators == 0:
        found.append(Finding(("accelerators",), f"pool {pool} is a {kind} pool; request at least 1 "
                                                f"({placement.resource_name}) or place the endpoint on a CPU pool", endpoint.accelerators))
    elif endpoint.accelerators > placement.accelerators_per_node:
        found.append(Finding(("accelerators",), f"exceeds the {placement.accelerators_per_node} {kind} accelerator(s) "
                                                f"({placement.resource_name}) of one node of pool {pool} ({types}); "
                                                "one replica must fit on one node", endpoint.accelerators))
    specs = [catalog.lookup(t) for t in placement.instance_types]
    node_millis = min(s.vcpus for s in specs) * 1000
    node_bytes = min(s.memory_mib for s in specs) * 2**20
    requests = endpoint.resources.requests
    if requests.cpu and cpu_millis(requests.cpu) > node_millis:
        found.append(Finding(("resources", "requests", "cpu"), f"exceeds the {node_millis // 1000} vCPUs of the smallest "
                                                              f"node of pool {pool}", requests.cpu))
    if requests.memory and memory_bytes(requests.memory) > node_bytes:
        found.append(Finding(("resources", "requests", "memory"), f"exceeds the {node_bytes // 2**20}Mi memory of the "
                                                                 f"smallest node of pool {pool}", requests.memory))
    if placement.has_accelerator and endpoint.autoscaling.min_replicas == 0:
        timeout = endpoint.startup_timeout_minutes
        if timeout is None or timeout < MIN_ACCELERATOR_STARTUP_MINUTES:
            found.append(Finding(("startupTimeoutMinutes",), f"must be set to at least {MIN_ACCELERATOR_STARTUP_MINUTES} "
                                                             f"when an endpoint on {kind} pool {pool} scales to zero "
                                                             "(autoscaling.minReplicas 0): a node must launch, join and pull "
                                                             "the image before the first request is answered", _or_missing(timeout)))
    return found


def _or_missing(value: Any) -> Any:
    from .base import MISSING

    return MISSING if value is None else value


def mode_findings(endpoint: EndpointConfig, mode: str) -> list[Finding]:
    """Settings that only one deployment mode honours; KServe would silently ignore them in the other."""
    found = []
    if mode == "Knative":
        found += _rollout_mode_findings(endpoint, mode)
        if endpoint.rollout is not None and endpoint.rollout.candidate_replicas is not None:
            found.append(Finding(("rollout", "candidateReplicas"),
                                 "belongs to Standard mode (spec.canary[].predictor.minReplicas); in Knative mode the "
                                 "candidate revision scales with the predictor's autoscaling and canaryTrafficPercent "
                                 "has no replica count", endpoint.rollout.candidate_replicas))
        return found
    found += _rollout_mode_findings(endpoint, mode)
    if endpoint.autoscaling.min_replicas == 0:
        found.append(Finding(("autoscaling", "minReplicas"), "0 (scale to zero) belongs to Knative mode; Standard mode "
                                                                 "keeps at least one replica per Deployment", 0))
    if endpoint.autoscaling.scale_metric in ("concurrency", "rps"):
        found.append(Finding(("autoscaling", "scaleMetric"), f"{endpoint.autoscaling.scale_metric} belongs to Knative mode "
                                                                 "(Knative Pod Autoscaler); Standard mode scales on cpu or memory",
                             endpoint.autoscaling.scale_metric))
    if endpoint.container_concurrency is not None:
        found.append(Finding(("containerConcurrency",), "belongs to Knative mode (the revision's hard concurrency limit); "
                                                            "Standard mode ignores it", endpoint.container_concurrency))
    if endpoint.startup_timeout_minutes is not None:
        found.append(Finding(("startupTimeoutMinutes",), "belongs to Knative mode (serving.knative.dev/progress-deadline "
                                                             "of the revision); Standard mode ignores it",
                             endpoint.startup_timeout_minutes))
    return found


def _rollout_mode_findings(endpoint: EndpointConfig, mode: str) -> list[Finding]:
    """A rollout that the mode's KServe would refuse, or run differently from what it says."""
    from ..rollout import Stages, stages_problem

    rollout = endpoint.rollout
    if rollout is None:
        return []
    found = []
    problem = stages_problem(mode, Stages.of(*rollout.stages))
    if problem:
        found.append(Finding(("rollout", "stages"), problem, list(rollout.stages)))
    if mode != "Standard":
        return found
    minimum = endpoint.autoscaling.min_replicas
    if rollout.candidate_replicas is not None and minimum >= 1 and rollout.candidate_replicas > minimum:
        found.append(Finding(("rollout", "candidateReplicas"),
                             f"must not exceed autoscaling.minReplicas ({minimum}): KServe's webhook refuses a canary "
                             "whose minReplicas exceeds the stable predictor's", rollout.candidate_replicas))
    if endpoint.model.container is not None and endpoint.model.storage_uri is None:
        found.append(Finding(("rollout",), "needs model.storageUri in Standard mode: KServe's webhook refuses a "
                                           "spec.canary[] unless the stable predictor has a model or a storage URI "
                                           "(a custom container without one has neither)"))
    return found
