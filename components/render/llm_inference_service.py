"""Rendering of an LLM endpoint as KServe's ``serving.kserve.io/v1alpha2`` LLMInferenceService (pure).

What servestack writes, and what it leaves to KServe's ``LLMInferenceServiceConfig`` presets
(installed by the ``kserve-runtime-configs`` chart with ``llmisvcConfigs.enabled``):

- ``spec.model``: ``uri`` and ``name``; ``spec.replicas``; ``spec.parallelism`` (sizes above 1, all
  three data-parallel sizes when multi-node).
- ``spec.template``: the pool's node selector and tolerations, the endpoint's service account
  (IRSA for ``s3://``), and the ``main`` container's extra vLLM ``args`` and resources with the
  pool's accelerator (``tensor x dataLocal`` devices). The image, command, probes and volumes come
  from the preset, merged by container name ``main``.
- ``spec.worker`` (multi-node data parallel): the same placement and resources for the worker pods
  of the LeaderWorkerSet KServe creates.
- ``spec.prefill`` (disaggregated prefill/decode): its replicas, parallelism and pod template.
- ``spec.router``: ``gateway.refs`` naming the platform's Gateway, and empty ``route`` and
  ``scheduler``: KServe then manages the HTTPRoute and the endpoint picker (InferencePool) from its
  presets.
- ``spec.baseRefs``: the presets for this shape, named explicitly so that the plan says which
  apply (KServe v0.20.0 merges them in order; the controller would pick the same well-known ones).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..core.labels import LABEL_VALUE
from .inference_service import LABEL_ENDPOINT, LABEL_MANAGED_BY, LABEL_MODEL, LABEL_MODEL_VERSION, resource_requirements, service_account_name
from ..core.placement import PoolPlacement

if TYPE_CHECKING:  # the renderer reads the stack model's values; it does not load pydantic
    from ..config.llm_endpoints import LlmEndpointConfig, ParallelismConfig

API_VERSION = "serving.kserve.io/v1alpha2"
KIND = "LLMInferenceService"
#: The container of KServe's presets that runs vLLM (templates merge by container name).
MAIN_CONTAINER = "main"

# KServe v0.20.0's LLMInferenceServiceConfig presets (config/llmisvcconfig, metadata.name), in the
# kserve namespace; the conformance tests check each name against the vendored presets.
PRESET_TEMPLATE = "kserve-config-llm-template"
PRESET_DECODE_TEMPLATE = "kserve-config-llm-decode-template"
PRESET_PREFILL_TEMPLATE = "kserve-config-llm-prefill-template"
PRESET_WORKER_DATA_PARALLEL = "kserve-config-llm-worker-data-parallel"
PRESET_DECODE_WORKER_DATA_PARALLEL = "kserve-config-llm-decode-worker-data-parallel"
PRESET_PREFILL_WORKER_DATA_PARALLEL = "kserve-config-llm-prefill-worker-data-parallel"
PRESET_ROUTER_ROUTE = "kserve-config-llm-router-route"
PRESET_SCHEDULER = "kserve-config-llm-scheduler"

#: The Gateway the router-route preset attaches to (inferenceservice-config ``ingress.kserveGateway``,
#: the kserve-resources chart's ``kserve/kserve-ingress-gateway``).
LLM_GATEWAY_NAMESPACE = "kserve"
LLM_GATEWAY_NAME = "kserve-ingress-gateway"


def base_refs(config: LlmEndpointConfig) -> list[str]:
    """The presets this endpoint's shape takes: the workload's (single node, prefill/decode, data-parallel
    workers), then the router's HTTPRoute and scheduler."""
    refs: list[str] = []
    if config.prefill is None:
        refs.append(PRESET_WORKER_DATA_PARALLEL if config.parallelism.multi_node else PRESET_TEMPLATE)
    else:
        refs.append(PRESET_DECODE_WORKER_DATA_PARALLEL if config.parallelism.multi_node else PRESET_DECODE_TEMPLATE)
        refs.append(PRESET_PREFILL_WORKER_DATA_PARALLEL if config.prefill.parallelism.multi_node else PRESET_PREFILL_TEMPLATE)
    return [*refs, PRESET_ROUTER_ROUTE, PRESET_SCHEDULER]


def needs_leader_worker_set(config: LlmEndpointConfig) -> bool:
    """Whether KServe runs some workload of this endpoint as a LeaderWorkerSet (multi-node)."""
    return config.parallelism.multi_node or (config.prefill is not None and config.prefill.parallelism.multi_node)


def devices_per_replica(config: LlmEndpointConfig) -> int:
    """Accelerators one replica holds (decode side): devices per pod x pods per replica."""
    return config.parallelism.devices_per_pod * config.parallelism.pods_per_replica


def total_devices(config: LlmEndpointConfig) -> int:
    """Accelerators the endpoint holds at its declared size (decode replicas, and prefill's)."""
    total = devices_per_replica(config) * config.replicas
    if config.prefill is not None:
        p = config.prefill.parallelism
        total += p.devices_per_pod * p.pods_per_replica * config.prefill.replicas
    return total


def _pod(config: LlmEndpointConfig, parallelism: ParallelismConfig, placement: PoolPlacement, service_account: str,
         *, args: bool) -> dict[str, Any]:
    main: dict[str, Any] = {"name": MAIN_CONTAINER}
    if args and config.args:
        main["args"] = list(config.args)
    main["resources"] = resource_requirements(config.resources, parallelism.devices_per_pod, placement)
    return {"serviceAccountName": service_account, **placement.pod_spec_fields(), "containers": [main]}


def model_label(name: str, config: LlmEndpointConfig) -> str:
    served = config.model.name
    return served if served is not None and re.fullmatch(LABEL_VALUE, served) else name


def render_llm_inference_service(name: str, config: LlmEndpointConfig, placement: PoolPlacement) -> dict[str, Any]:
    """The LLMInferenceService of one LLM endpoint."""
    sa = service_account_name(name)
    model: dict[str, Any] = {"uri": config.model.uri}
    if config.model.name is not None:
        model["name"] = config.model.name
    spec: dict[str, Any] = {
        "model": model,
        "replicas": config.replicas,
        # spec.labels go onto the workload's pods (not the LLMInferenceService's own metadata): the endpoint and
        # model version there are what the metrics' scrape objects label every vLLM series with.
        "labels": {LABEL_ENDPOINT: name, LABEL_MODEL_VERSION: config.model.version},
    }
    parallelism = config.parallelism.rendered()
    if parallelism:
        spec["parallelism"] = parallelism
    spec["template"] = _pod(config, config.parallelism, placement, sa, args=True)
    if config.parallelism.multi_node:
        spec["worker"] = _pod(config, config.parallelism, placement, sa, args=True)
    if config.prefill is not None:
        prefill: dict[str, Any] = {"replicas": config.prefill.replicas}
        prefill_parallelism = config.prefill.parallelism.rendered()
        if prefill_parallelism:
            prefill["parallelism"] = prefill_parallelism
        prefill["template"] = _pod(config, config.prefill.parallelism, placement, sa, args=True)
        if config.prefill.parallelism.multi_node:
            prefill["worker"] = _pod(config, config.prefill.parallelism, placement, sa, args=True)
        spec["prefill"] = prefill
    spec["router"] = {
        "gateway": {"refs": [{"name": LLM_GATEWAY_NAME, "namespace": LLM_GATEWAY_NAMESPACE}]},
        "route": {},
        "scheduler": {},
    }
    spec["baseRefs"] = [{"name": ref} for ref in base_refs(config)]
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {
            "name": name,
            "namespace": config.namespace,
            "labels": {
                LABEL_MANAGED_BY: "servestack",
                LABEL_ENDPOINT: name,
                # A served name such as Qwen/Qwen2.5-7B is no label value: the endpoint's name stands in.
                LABEL_MODEL: model_label(name, config),
            },
        },
        "spec": spec,
    }
