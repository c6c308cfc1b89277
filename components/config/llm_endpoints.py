"""``servestack:llmEndpoints``: generative models served by KServe's ``LLMInferenceService``, keyed by name.

A section of its own rather than a kind of ``servestack:endpoints``: an LLMInferenceService
(``serving.kserve.io/v1alpha2``, llm-d) shares almost nothing with an InferenceService. It has no
model format or runtime, no deployment mode, no transformer, explainer or batcher, no Knative
autoscaling and no canary; it has a vLLM workload, parallelism, a prefill/decode split, multi-node
workers and a router (Gateway, HTTPRoute, scheduler). One schema per API keeps every field's
meaning and default exact, and the readers of InferenceService endpoints (rollouts, diff, the
stack-file commands) never meet a kind they cannot handle.

An LLM endpoint is a model (``uri`` and the name it is served under), the pool it runs on and how
many GPUs/Neuron devices each pod holds, which follows from its parallelism. Node selectors,
tolerations and accelerator resource names come from the pool (:mod:`components.core.placement`).
The rendering is :mod:`components.render.llm_inference_service`.
"""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field, field_validator

from .base import ConfigModel, Finding
from .endpoints import EndpointName, ResourcesConfig
from .node_pools import PoolName
from .values import LABEL_VALUE, checked_kms_key_arn, checked_storage_uri

#: The storage schemes KServe's storage initializer reads for an LLMInferenceService's ``model.uri``.
LLM_URI_SCHEMES = ("hf://", "s3://", "oci://", "pvc://")


class LlmModelConfig(ConfigModel):
    """What the endpoint serves."""

    uri: str
    """Where the weights are: ``hf://<org>/<model>:<40-hex commit>`` (pinned), ``s3://bucket/prefix/...``
    (read with the endpoint's own IAM role, that prefix only), ``oci://`` (a modelcar image) or
    ``pvc://<claim>/<path>``. Required."""
    version: str = Field(pattern=LABEL_VALUE)
    """The model version, a label value (``2.5-7b-instruct``). Required."""
    name: str | None = Field(default=None, pattern=r"^[A-Za-z0-9]([A-Za-z0-9._/-]{0,126}[A-Za-z0-9])?$")
    """The name clients ask for (vLLM's ``--served-model-name``, KServe's ``spec.model.name``).
    Default: the endpoint's name (KServe's default too)."""
    kms_key_arn: str | None = None
    """For an ``s3://`` model encrypted with SSE-KMS: that key's ARN (``kms:Decrypt`` through S3 only). Default: none."""
    size_gib: float | None = Field(default=None, gt=0, le=10000, alias="sizeGiB")
    """The model's size in GiB (what KServe downloads to the node), for the cold-start estimate of the plan
    (README "Cold-start estimate"): the model download and load stages. Default: not set; the estimate then
    assumes 1 GiB and says so."""

    @field_validator("uri")
    @classmethod
    def _uri(cls, value: str) -> str:
        if not value.startswith(LLM_URI_SCHEMES):
            raise ValueError(f"must start with one of {', '.join(LLM_URI_SCHEMES)}")
        return checked_storage_uri(value) or value

    @field_validator("kms_key_arn")
    @classmethod
    def _kms(cls, value: str | None) -> str | None:
        return checked_kms_key_arn(value)

    def problems(self) -> list[Finding]:
        if self.kms_key_arn is not None and not self.uri.startswith("s3://"):
            return [Finding(("kmsKeyArn",), f"applies to s3:// models only; the uri is {self.uri}", self.kms_key_arn)]
        return []


class ParallelismConfig(ConfigModel):
    """How vLLM splits the model (KServe's ``spec.parallelism``)."""

    tensor: int = Field(default=1, ge=1, le=64)
    """Tensor-parallel size: GPUs one model copy spans inside a pod. Default 1."""
    pipeline: int = Field(default=1, ge=1, le=64)
    """Pipeline-parallel size. Only 1: KServe v0.20.0 ships no pipeline-parallel preset
    (``LLMInferenceServiceConfig``), so a larger value would reach vLLM without the worker wiring it
    needs. Default 1."""
    data: int = Field(default=1, ge=1, le=256)
    """Data-parallel ranks across the whole workload. Default 1."""
    data_local: int = Field(default=1, ge=1, le=64)
    """Data-parallel ranks per pod (node). ``data`` above ``dataLocal`` makes the workload multi-node:
    ``data / dataLocal`` pods per replica as a LeaderWorkerSet (KServe's data-parallel presets). Default 1."""

    @property
    def multi_node(self) -> bool:
        return self.data > self.data_local

    @property
    def pods_per_replica(self) -> int:
        return self.data // self.data_local

    @property
    def devices_per_pod(self) -> int:
        return self.tensor * self.data_local

    def problems(self) -> list[Finding]:
        found = []
        if self.pipeline > 1:
            found.append(Finding(("pipeline",), "must be 1: KServe v0.20.0 ships no pipeline-parallel preset, so the "
                                                "workers would not be wired for it; use tensor or data parallelism", self.pipeline))
        if self.data_local > self.data:
            found.append(Finding(("dataLocal",), f"must not exceed data ({self.data})", self.data_local))
        elif self.data % self.data_local:
            found.append(Finding(("data",), f"must be a multiple of dataLocal ({self.data_local}): each pod runs "
                                            "dataLocal ranks", self.data))
        return found

    def rendered(self) -> dict[str, int]:
        """KServe's ``parallelism``: only the sizes above 1 (the presets default each to 1)."""
        fields = {"tensor": self.tensor, "data": self.data, "dataLocal": self.data_local}
        if self.multi_node:
            return fields
        return {k: v for k, v in fields.items() if v > 1}


class PrefillConfig(ConfigModel):
    """A separate prefill workload (disaggregated prefill/decode, llm-d): prompts are processed
    here and the KV cache handed to the decode pods."""

    replicas: int = Field(default=1, ge=1, le=100)
    """Prefill pods. Default 1."""
    parallelism: ParallelismConfig = ParallelismConfig()
    """Prefill's own parallelism. Default: 1 device per pod."""


class LlmEndpointConfig(ConfigModel):
    """One LLM endpoint: a KServe LLMInferenceService with its router."""

    pool: PoolName
    """The node pool, an NVIDIA GPU pool (a key of ``servestack:nodePools``). Neuron pools are refused:
    KServe v0.20.0's presets run vLLM from a CUDA image (``ghcr.io/llm-d/llm-d-cuda``). Required."""
    model: LlmModelConfig
    """Required."""
    namespace: str = Field(default="models", pattern=r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
    """Kubernetes namespace (one the platform provides). Default ``models``."""
    replicas: int = Field(default=1, ge=1, le=100)
    """Model copies (decode replicas with ``prefill``). Default 1."""
    parallelism: ParallelismConfig = ParallelismConfig()
    """Default: one device per pod, single node."""
    args: list[str] = []
    """Extra vLLM arguments (``--max-model-len=8192``); KServe's preset passes the model, its name and
    the parallelism flags itself. Default: none."""
    resources: ResourcesConfig = ResourcesConfig(requests={"cpu": "4", "memory": "16Gi"}, limits={"cpu": "8", "memory": "32Gi"})
    """CPU and memory per pod; the accelerators come from ``parallelism``. Default ``cpu 4/8, memory 16Gi/32Gi``."""
    prefill: PrefillConfig | None = None
    """Disaggregated prefill. Default: none (one workload does both)."""

    # Unknown keys are kept so that problems() can answer KServe/InferenceService spellings with where they belong.
    model_config = ConfigDict(**ConfigModel.model_config | {"extra": "allow"})

    @field_validator("args")
    @classmethod
    def _args(cls, args: list[str]) -> list[str]:
        owned = sorted({a.split("=", 1)[0] for a in args if a.split("=", 1)[0] in PRESET_OWNED_ARGS})
        if owned:
            raise ValueError(f"must not set {', '.join(owned)}: KServe's preset passes it from model and parallelism")
        bad = [a for a in args if "s3://" in a.lower()]
        if bad:
            raise ValueError(f"must not name an s3:// location ({bad[0]}): vLLM reads model.uri, which KServe downloads")
        return args

    def problems(self) -> list[Finding]:
        found = []
        for key, value in sorted((self.model_extra or {}).items()):
            allowed = ", ".join(f.alias or n for n, f in type(self).model_fields.items())
            found.append(Finding((key,), LLM_SPELLINGS.get(key, f"is not a known setting; allowed here: {allowed}"), value))
        return found

    @property
    def served_name(self) -> str | None:
        return self.model.name


#: vLLM flags KServe's presets pass themselves (config-llm-template and the data-parallel presets).
PRESET_OWNED_ARGS = frozenset({
    "--served-model-name", "--tensor-parallel-size", "--data-parallel-size", "--data-parallel-size-local",
    "--data-parallel-address", "--data-parallel-rpc-port", "--data-parallel-start-rank", "--port", "--model",
})

LLM_SPELLINGS: dict[str, str] = {
    "rollout": "is not supported on LLM endpoints: KServe v0.20.0's LLMInferenceService has no canary, and its "
               "router sends every request to the one InferencePool of the service; roll a new model out as a "
               "second LLM endpoint and move clients (see README, Serving LLMs)",
    "autoscaling": "is not supported on LLM endpoints: set replicas (KServe's LLMInferenceService scaling needs the "
                   "Workload Variant Autoscaler, which servestack does not install)",
    "accelerators": "follows from parallelism on LLM endpoints (tensor x dataLocal devices per pod); set parallelism",
    "deploymentMode": "does not apply to LLM endpoints: KServe runs an LLMInferenceService as Deployments (or "
                      "LeaderWorkerSets) behind the Gateway API in every mode",
    "nodeSelector": "is derived from the pool; set pool instead",
    "tolerations": "are derived from the pool's taints; set pool instead",
    "baseRefs": "are written by servestack from the endpoint's shape (KServe's presets); they cannot be set",
    "router": "is written by servestack: KServe's managed HTTPRoute and scheduler on the platform's Gateway",
}


def llm_problems(endpoints: dict[str, LlmEndpointConfig], placements: dict[str, Any] | None) -> list[Finding]:
    """Cross-section checks: the pool exists, has accelerators, and each pod's devices fit one node.
    ``placements`` maps pool names to objects with ``kind``, ``has_accelerator``,
    ``accelerators_per_node`` (a :class:`~components.core.placement.PoolPlacement`); None skips them
    (a referenced cluster's pools are checked when the endpoint is placed)."""
    found: list[Finding] = []
    if placements is None:
        return found
    for name, endpoint in sorted(endpoints.items()):
        found += [Finding(("llmEndpoints", name, *f.loc), f.message, f.value) for f in placement_problems(endpoint, placements)]
    return found


def placement_problems(endpoint: LlmEndpointConfig, placements: dict[str, Any]) -> list[Finding]:
    placement = placements.get(endpoint.pool)
    if placement is None:
        return [Finding(("pool",), f"is not a node pool of this stack (pools: {', '.join(sorted(placements))})", endpoint.pool)]
    if placement.kind.value != "nvidia":
        # KServe v0.20.0's presets run vLLM from ghcr.io/llm-d/llm-d-cuda: CUDA only, no Neuron build.
        return [Finding(("pool",), f"must be an NVIDIA GPU pool: KServe v0.20.0's LLMInferenceService presets run "
                                   f"vLLM from a CUDA image (llm-d-cuda); pool {endpoint.pool} is {placement.kind.value}",
                        endpoint.pool)]
    found = []
    for loc, parallelism in ((("parallelism",), endpoint.parallelism),
                             (("prefill", "parallelism"), endpoint.prefill.parallelism if endpoint.prefill else None)):
        if parallelism is not None and parallelism.devices_per_pod > placement.accelerators_per_node:
            found.append(Finding((*loc, "tensor"), f"needs tensor x dataLocal = {parallelism.devices_per_pod} devices in "
                                 f"one pod, but the nodes of pool {endpoint.pool} have {placement.accelerators_per_node}",
                                 parallelism.tensor))
    return found
