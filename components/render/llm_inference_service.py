"""Rendering of an LLM endpoint as KServe's ``serving.kserve.io/v1alpha2`` LLMInferenceService (pure).

What servestack writes, and what it leaves to KServe's ``LLMInferenceServiceConfig`` presets
(installed by the ``kserve-runtime-configs`` chart with ``llmisvcConfigs.enabled``):

- ``spec.model``: ``uri`` and ``name``; ``spec.replicas``; ``spec.parallelism`` (sizes above 1, all
  three data-parallel sizes when multi-node).
- ``spec.template``: the pool's node selector and tolerations, the endpoint's service account
  (IRSA for ``s3://``), and the ``main`` container's extra vLLM ``args`` and resources with the
  pool's accelerator (``tensor x dataLocal`` devices), and the restricted security context that
  KServe's preset gives ``main`` as well (stated, so that the plan shows the pod). The image, command, probes and volumes come
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

from ..core.labels import LABEL_ENDPOINT, LABEL_MANAGED_BY, LABEL_MODEL, LABEL_MODEL_VERSION, LABEL_VALUE
from ..core.llm_units import EFA_RESOURCE, efa_interfaces, unit_resource
from ..core.placement import PoolPlacement
from .inference_service import service_account_name
from ..core.pod_security import container_security_context

if TYPE_CHECKING:  # the renderer reads the stack model's values; it does not load pydantic
    from ..config.llm_container import LlmContainerSettings
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


PRESET_SCHEDULER_LATENCY_PREDICTOR = "kserve-config-llm-scheduler-latency-predictor"


def base_refs(config: LlmEndpointConfig) -> list[str]:
    """The presets this endpoint's shape takes, in KServe v0.20.0's order of choice
    (``llmisvc/config_merge.go``): the workload's (single node, prefill/decode, data-parallel workers),
    the router's HTTPRoute (unless the team manages its own) and scheduler (with the latency predictor's
    when the picker configuration has a latency producer), then the endpoint's own ``presets``."""
    refs: list[str] = []
    if config.prefill is None:
        refs.append(PRESET_WORKER_DATA_PARALLEL if config.parallelism.multi_node else PRESET_TEMPLATE)
    else:
        refs.append(PRESET_DECODE_WORKER_DATA_PARALLEL if config.parallelism.multi_node else PRESET_DECODE_TEMPLATE)
        refs.append(PRESET_PREFILL_WORKER_DATA_PARALLEL if config.prefill.parallelism.multi_node else PRESET_PREFILL_TEMPLATE)
    router = config.router
    if router.route == "managed" and not router.http_routes:
        refs.append(PRESET_ROUTER_ROUTE)
    if router.scheduler.enabled:
        refs.append(PRESET_SCHEDULER)
        if router.scheduler.latency_predicting:
            refs.append(PRESET_SCHEDULER_LATENCY_PREDICTOR)
    return [*refs, *(p for p in config.presets if p not in refs)]


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


def _pod(settings: LlmContainerSettings, parallelism: ParallelismConfig, placement: PoolPlacement,
         service_account: str, *, efa: bool = False) -> dict[str, Any]:
    main: dict[str, Any] = settings.render_into({"name": MAIN_CONTAINER})
    requests, limits = settings.resources.requests.as_dict(), settings.resources.limits.as_dict()
    unit, _ = unit_resource(placement)
    if unit is not None:
        # Extended resources cannot be overcommitted: request exactly what the limit says.
        requests[unit] = limits[unit] = str(parallelism.devices_per_pod)
    if efa:  # every interface of the node: one EFA pod per node (Karpenter attaches them when pods ask)
        requests[EFA_RESOURCE] = limits[EFA_RESOURCE] = str(efa_interfaces(placement))
    main["resources"] = {k: v for k, v in (("requests", requests), ("limits", limits)) if v}
    # The restricted context the presets set too (config-llm-template.yaml), with the user a stack gives.
    main["securityContext"] = {**container_security_context(), **main.get("securityContext", {})}
    return {"serviceAccountName": service_account, **placement.pod_spec_fields(), "containers": [main]}


def _router(config: LlmEndpointConfig) -> dict[str, Any] | None:
    router = config.router
    body: dict[str, Any] = {}
    if router.route == "managed":
        gateways = [g.render() for g in router.gateways] or [{"name": LLM_GATEWAY_NAME, "namespace": LLM_GATEWAY_NAMESPACE}]
        body["gateway"] = {"refs": gateways}
        body["route"] = {"http": {"refs": [{"name": r} for r in router.http_routes]}} if router.http_routes else {}
    scheduler = router.scheduler
    if scheduler.enabled:
        picker: dict[str, Any] = {}
        if scheduler.config is not None:
            picker["config"] = {"inline": scheduler.config}
        elif scheduler.config_map is not None:
            picker["config"] = {"ref": {"name": scheduler.config_map.name, "key": scheduler.config_map.key}}
        if scheduler.replicas is not None:
            picker["replicas"] = scheduler.replicas
        if scheduler.env:
            picker["template"] = {"containers": [
                {"name": c, "env": [{"name": k, "value": v} if isinstance(v, str) else {"name": k, "valueFrom": v.render()}
                                    for k, v in sorted(env.items())]} for c, env in sorted(scheduler.env.items())]}
        body["scheduler"] = picker
    return body or None


def model_label(name: str, config: LlmEndpointConfig) -> str:
    served = config.model.name
    return served if served is not None and re.fullmatch(LABEL_VALUE, served) else name


def render_llm_inference_service(name: str, config: LlmEndpointConfig, placement: PoolPlacement) -> dict[str, Any]:
    """The LLMInferenceService of one LLM endpoint."""
    sa = config.service_account_name or service_account_name(name)
    model: dict[str, Any] = {"uri": config.model.uri}
    if config.model.name is not None:
        model["name"] = config.model.name
    if config.model.lora is not None:
        model["lora"] = config.model.lora.render()
    spec: dict[str, Any] = {
        "model": model,
        "replicas": config.replicas,
        # spec.labels and spec.annotations go onto the workload's pods (not the LLMInferenceService's own metadata).
        "labels": {**dict(sorted(config.pod_labels.items())), LABEL_MODEL_VERSION: config.model.version},
    }
    if config.pod_annotations:
        spec["annotations"] = dict(sorted(config.pod_annotations.items()))
    parallelism = config.parallelism.rendered()
    if parallelism:
        spec["parallelism"] = parallelism
    spec["template"] = _pod(config, config.parallelism, placement, sa, efa=config.efa)
    if config.parallelism.multi_node:
        spec["worker"] = _pod(config, config.parallelism, placement, sa, efa=config.efa)
    if config.kv_cache_offloading is not None:
        spec["kvCacheOffloading"] = config.kv_cache_offloading.render()
    if config.prefill is not None:
        settings = config.prefill_settings()
        prefill: dict[str, Any] = {"replicas": config.prefill.replicas}
        prefill_parallelism = config.prefill.parallelism.rendered()
        if prefill_parallelism:
            prefill["parallelism"] = prefill_parallelism
        prefill["template"] = _pod(settings, config.prefill.parallelism, placement, sa, efa=config.efa)
        if config.prefill.parallelism.multi_node:
            prefill["worker"] = _pod(settings, config.prefill.parallelism, placement, sa, efa=config.efa)
        spec["prefill"] = prefill
    router = _router(config)
    if router is not None:
        spec["router"] = router
    spec["baseRefs"] = [{"name": ref} for ref in base_refs(config)]
    metadata: dict[str, Any] = {
        "name": name,
        "namespace": config.namespace,
        "labels": {
            **dict(sorted(config.labels.items())),
            LABEL_MANAGED_BY: "servestack",
            LABEL_ENDPOINT: name,
            # A served name such as Qwen/Qwen2.5-7B is no label value: the endpoint's name stands in.
            LABEL_MODEL: model_label(name, config),
        },
    }
    if config.annotations:
        metadata["annotations"] = dict(sorted(config.annotations.items()))
    return {"apiVersion": API_VERSION, "kind": KIND, "metadata": metadata, "spec": spec}
