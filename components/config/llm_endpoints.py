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
from pydantic.alias_generators import to_snake

from ..core import catalog
from ..core.llm_units import efa_interfaces, unit_resource
from .base import ConfigModel, Finding
from .endpoints import EndpointName
from .llm_container import LlmContainerSettings
from .llm_features import KvCacheOffloading, LoraConfig
from .llm_router import LlmRouterConfig
from .llm_rollout import LlmRolloutConfig, llm_rollout_problems
from .node_pools import PoolName
from .pod_metadata import metadata_problems
from .values import LABEL_VALUE, checked_kms_key_arn, checked_storage_uri

#: The storage schemes KServe's storage initializer reads for an LLMInferenceService's ``model.uri``.
LLM_URI_SCHEMES = ("hf://", "s3://", "oci://", "pvc://")


class LlmModelConfig(ConfigModel):
    """What the endpoint serves."""

    uri: str
    """Where the weights are: ``hf://<org>/<model>:<40-hex commit>`` (pinned), ``s3://bucket/prefix/...``
    (read with the endpoint's own IAM role, that prefix only), ``oci://`` (a modelcar image) or
    ``pvc://<claim>[/<path>]``. Required."""
    version: str = Field(pattern=LABEL_VALUE)
    """The model version, a label value (``2.5-7b-instruct``). Required."""
    name: str | None = Field(default=None, pattern=r"^[A-Za-z0-9]([A-Za-z0-9._/-]{0,126}[A-Za-z0-9])?$")
    """The name clients ask for (vLLM's ``--served-model-name``, KServe's ``spec.model.name``).
    Default: the endpoint's name (KServe's default too)."""
    kms_key_arn: str | None = None
    """For ``s3://`` models and adapters encrypted with SSE-KMS: that key's ARN (``kms:Decrypt`` through S3 only). Default: none."""
    lora: LoraConfig | None = None
    """LoRA adapters served beside the model (:mod:`.llm_features`). Default: none."""
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

    def storage_uris(self) -> list[str]:
        """The model's URI and its adapters' (what the endpoint's identity must read)."""
        adapters = [a.uri for _, a in sorted(self.lora.adapters.items())] if self.lora else []
        return [self.uri, *adapters]

    def problems(self) -> list[Finding]:
        found = []
        if self.kms_key_arn is not None and not any(u.startswith("s3://") for u in self.storage_uris()):
            found.append(Finding(("kmsKeyArn",), f"applies to s3:// models only; the uri is {self.uri}", self.kms_key_arn))
        if self.lora is not None:
            served = self.name
            for name in sorted(self.lora.adapters):
                if name == served:
                    found.append(Finding(("lora", "adapters", name), "must differ from the model's name (KServe v0.20.0 "
                                         "refuses an adapter named like its base model)", name))
        return found


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
    expert: bool = False
    """Expert parallelism (mixture-of-experts models such as DeepSeek): the experts are spread over the
    data-parallel ranks (vLLM's ``--enable-expert-parallel``, passed by KServe's data-parallel presets).
    Needs ``data`` above 1. Default false."""

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
        elif self.data > 1 and not self.multi_node:
            found.append(Finding(("data",), f"must exceed dataLocal ({self.data_local}) or be 1: KServe v0.20.0's "
                                            "single-node presets pass only --tensor-parallel-size to vLLM, so data-parallel "
                                            "ranks on one node would not start; use tensor, or spread data over nodes",
                                 self.data))
        if self.expert and not self.multi_node:
            found.append(Finding(("expert",), "needs multi-node data parallelism (data above dataLocal): only KServe "
                                              "v0.20.0's data-parallel worker presets pass --enable-expert-parallel", True))
        return found

    def rendered(self) -> dict[str, int]:
        """KServe's ``parallelism``: only the sizes above 1 (the presets default each to 1)."""
        fields: dict[str, Any] = {"tensor": self.tensor, "data": self.data, "dataLocal": self.data_local}
        if not self.multi_node:
            fields = {k: v for k, v in fields.items() if v > 1}
            if "data" in fields or "dataLocal" in fields:  # KServe requires both together
                fields.update(data=self.data, dataLocal=self.data_local)
        if self.expert:
            fields["expert"] = True
        return fields


class PrefillConfig(LlmContainerSettings):
    """A separate prefill workload (disaggregated prefill/decode, llm-d): prompts are processed
    here and the KV cache handed to the decode pods. Its container settings (``image``, ``env``,
    ``resources``...) default to the endpoint's; any set here replace them for the prefill pods."""

    replicas: int = Field(default=1, ge=1, le=100)
    """Prefill pods. Default 1."""
    parallelism: ParallelismConfig = ParallelismConfig()
    """Prefill's own parallelism. Default: 1 device per pod."""


#: KServe v0.20.0's managed DRA annotations (llmisvc/managed_dra.go).
DRA_ANNOTATION_PREFIX = "serving.kserve.io/exp-dra-"


def llm_metadata_problems(field: str, values: dict[str, str], *, labels: bool) -> list[Finding]:
    """:func:`~.pod_metadata.metadata_problems`, and KServe's DRA annotations refused with the reason."""
    found = metadata_problems(field, values, labels=labels)
    found += [Finding((field, key), "asks KServe to allocate GPUs by Dynamic Resource Allocation (DeviceClass "
                      "gpu.nvidia.com, NVIDIA's DRA driver); servestack's GPU pools offer GPUs through the NVIDIA device "
                      "plugin (nvidia.com/gpu): set parallelism and the pool instead", value)
              for key, value in sorted(values.items()) if key.startswith(DRA_ANNOTATION_PREFIX)]
    return found


class LlmEndpointConfig(LlmContainerSettings):
    """One LLM endpoint: a KServe LLMInferenceService with its router. The ``main`` container settings
    (``image``, ``command``, ``args``, ``env``, probes, ``resources``, ``runAsUser``) are
    :class:`~.llm_container.LlmContainerSettings`."""

    pool: PoolName
    """The node pool (a key of ``servestack:nodePools``): an NVIDIA GPU pool (KServe's presets), a CPU pool or
    a Neuron pool (each with its own vLLM ``image``). Required."""
    model: LlmModelConfig
    """Required."""
    namespace: str = Field(default="models", pattern=r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
    """Kubernetes namespace (one the platform provides). Default ``models``."""
    replicas: int = Field(default=1, ge=1, le=100)
    """Model copies (decode replicas with ``prefill``). Default 1."""
    parallelism: ParallelismConfig = ParallelismConfig()
    """Default: one device per pod, single node."""
    prefill: PrefillConfig | None = None
    """Disaggregated prefill. Default: none (one workload does both)."""
    router: LlmRouterConfig = LlmRouterConfig()
    """How requests reach the endpoint (:mod:`.llm_router`). Default: KServe's HTTPRoute on the platform's
    Gateway with the endpoint picker."""
    presets: list[str] = Field(default=[], max_length=8)
    """Further LLMInferenceServiceConfig presets merged after KServe's, in order: keys of
    ``servestack:llmPresets`` or KServe v0.20.0's own preset names. Default: none."""
    kv_cache_offloading: KvCacheOffloading | None = None
    """Offload the KV cache to CPU memory (and further tiers) (:mod:`.llm_features`). Default: none."""
    efa: bool = False
    """Give every pod the pool's Elastic Fabric Adapter interfaces (``vpc.amazonaws.com/efa``): RDMA between nodes
    for multi-node and expert-parallel traffic (NCCL, NIXL). The pool's instance types must all have EFA; the
    platform then installs the EFA device plugin and lets the cluster security group send to itself. Default false."""
    service_account_name: str | None = Field(default=None, pattern=r"^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$")
    """An existing service account in the namespace to run the pods as (credentials that are not IAM, such
    as a Hugging Face token Secret attached to it). servestack then creates no service account and no IRSA
    role (so no ``s3://`` model or adapter, no ``kmsKeyArn``). Default: servestack's ``<endpoint>-model``."""
    labels: dict[str, str] = {}
    """Labels of the LLMInferenceService object. Keys servestack writes are refused. Default: none."""
    annotations: dict[str, str] = {}
    """Annotations of the LLMInferenceService object. Default: none."""
    pod_labels: dict[str, str] = {}
    """Labels of the workload's pods (KServe's ``spec.labels``). Default: none."""
    pod_annotations: dict[str, str] = {}
    """Annotations of the workload's pods (KServe's ``spec.annotations``). Default: none."""
    allow_in_place_update: bool = False
    """Accept a change of this endpoint's model or image (an instant, full cutover: an LLMInferenceService has
    no canary) in staging and prod: ``servestack diff`` then does not flag it as ``in-place-update``. Default false."""
    rollout: LlmRolloutConfig | None = None
    """A candidate model taking a weighted share of the route (:mod:`.llm_rollout`). Default: none."""

    # Unknown keys are kept so that problems() can answer KServe/InferenceService spellings with where they belong.
    model_config = ConfigDict(**ConfigModel.model_config | {"extra": "allow"})

    def problems(self) -> list[Finding]:
        found = super().problems()
        for key, value in sorted((self.model_extra or {}).items()):
            allowed = ", ".join(f.alias or n for n, f in type(self).model_fields.items())
            found.append(Finding((key,), LLM_SPELLINGS.get(key, f"is not a known setting; allowed here: {allowed}"), value))
        for field, labels in (("labels", True), ("annotations", False), ("podLabels", True), ("podAnnotations", False)):
            found += llm_metadata_problems(field, getattr(self, to_snake(field)), labels=labels)
        if self.service_account_name is not None:
            s3 = [u for u in self.model.storage_uris() if u.startswith("s3://")]
            if s3:
                found.append(Finding(("serviceAccountName",), "reads s3:// models with servestack's IRSA role, which an "
                                     f"endpoint with serviceAccountName does not get ({', '.join(s3)})",
                                     self.service_account_name))
        if self.prefill is not None and (self.prefill.parallelism.expert != self.parallelism.expert):
            found.append(Finding(("prefill", "parallelism", "expert"), "must equal parallelism.expert (prefill and decode "
                                 "hold the same experts)", self.prefill.parallelism.expert))
        return found + llm_rollout_problems(self.rollout, self.model.version, self.model.uri, LLM_URI_SCHEMES)

    def rollout_state(self):
        """The rollout as the pure state machine sees it (as for InferenceService endpoints)."""
        from ..core.rollout import Rollout, Stages

        if self.rollout is None:
            return Rollout.steady(self.model.version)
        make = Rollout.rolled_back if self.rollout.rolled_back else Rollout.in_progress
        return make(self.model.version, self.rollout.candidate.version, Stages.of(*self.rollout.stages), self.rollout.stage)

    @property
    def served_name(self) -> str | None:
        return self.model.name

    def prefill_settings(self) -> LlmContainerSettings:
        """The prefill pods' container settings: the endpoint's, replaced by those the prefill sets."""
        assert self.prefill is not None
        own = {k: getattr(self.prefill, k) for k in self.prefill.model_fields_set if k in LlmContainerSettings.model_fields}
        return LlmContainerSettings.model_construct(**{k: getattr(self, k) for k in LlmContainerSettings.model_fields} | own)


LLM_SPELLINGS: dict[str, str] = {
    "autoscaling": "is not supported on LLM endpoints: set replicas (KServe's LLMInferenceService scaling needs the "
                   "Workload Variant Autoscaler, which servestack does not install)",
    "accelerators": "follows from parallelism on LLM endpoints (tensor x dataLocal devices per pod); set parallelism",
    "deploymentMode": "does not apply to LLM endpoints: KServe runs an LLMInferenceService as Deployments (or "
                      "LeaderWorkerSets) behind the Gateway API in every mode",
    "nodeSelector": "is derived from the pool; set pool instead",
    "tolerations": "are derived from the pool's taints; set pool instead",
    "baseRefs": "are written by servestack from the endpoint's shape (KServe's presets); name presets of your own "
                "(servestack:llmPresets) or further KServe presets in presets",
    "template": "is written by servestack; set the main container's image, command, args, env, probes and "
                "resources on the endpoint itself (the pool gives the placement)",
    "worker": "is written by servestack from parallelism (data above dataLocal makes worker pods)",
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
    accelerator = catalog.ACCELERATORS[placement.kind]
    if accelerator.llm_serving is not None:
        return [Finding(("pool",), f"cannot serve LLM endpoints: {accelerator.llm_serving}; pool {endpoint.pool} is "
                                   f"{placement.kind.value}", endpoint.pool)]
    found = []
    if accelerator.llm_image is not None:
        settings = [(("image",), endpoint.image)]
        if endpoint.prefill is not None:
            settings.append((("prefill", "image"), endpoint.prefill_settings().image))
        found += [Finding(loc, f"is required on pool {endpoint.pool} ({placement.kind.value}): {accelerator.llm_image}")
                  for loc, image in settings if image is None]
    if endpoint.efa and efa_interfaces(placement) == 0:
        lacking = [t for t in placement.instance_types if catalog.hardware_count(t, "efaInterfaces") == 0]
        found.append(Finding(("efa",), f"needs instance types with Elastic Fabric Adapter; pool {endpoint.pool} has "
                                       f"{', '.join(lacking)} without EFA (EC2 DescribeInstanceTypes: EfaSupported)", True))
    unit, per_node = unit_resource(placement)
    for loc, parallelism in ((("parallelism",), endpoint.parallelism),
                             (("prefill", "parallelism"), endpoint.prefill.parallelism if endpoint.prefill else None)):
        if parallelism is None:
            continue
        if unit is None and (parallelism.devices_per_pod > 1 or parallelism.multi_node):
            found.append(Finding(loc, f"must stay 1 device on one node on CPU pool {endpoint.pool}: KServe v0.20.0's "
                                      "parallelism presets place ranks on accelerators", parallelism.rendered()))
        elif unit is not None and parallelism.devices_per_pod > per_node:
            found.append(Finding((*loc, "tensor"), f"needs tensor x dataLocal = {parallelism.devices_per_pod} "
                                 f"{'devices' if unit == placement.resource_name else unit} in "
                                 f"one pod, but the nodes of pool {endpoint.pool} have {per_node}", parallelism.tensor))
    return found
