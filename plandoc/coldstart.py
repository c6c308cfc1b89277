"""Cold starts a plan can meet: every endpoint that can start a pod on a node that does not exist yet.

An InferenceService qualifies when its predictor scales from zero (``minReplicas: 0``), or when it sits on a
Karpenter pool whose warm capacity cannot hold its replicas above the minimum: the warm capacity is the
nodes the pool's minimum demand keeps running (every endpoint's ``minReplicas`` x accelerators per replica,
plus the LLM endpoints' pods, rounded up to whole nodes) less that demand. Managed node groups keep their
nodes, so only a scale-from-zero endpoint cold-starts there (image, model, load; no node launch).

The stages and figures are :mod:`components.core.coldstart`'s; here the plan supplies the pool (kind,
instance types, EC2NodeClass volume throughput), the runtime KServe resolves for the model's format, and
the model's ``sizeGiB`` from the stack config (``servestack:endpoints`` / ``servestack:llmEndpoints``).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from components.core import coldstart, versions
from components.core.coldstart import ColdStart
from components.core.kserve_runtimes import builtin_runtimes, resolve_runtime

from .endpoints import Endpoint, endpoints
from .karpenter import karpenter_pools, node_classes
from .llm import llm_endpoints
from .pools import Pool, pools
from .values import decode_json, dig, items, mapping


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _runtime(endpoint: Endpoint) -> str:
    """The runtime KServe serves the predictor's model with (``custom`` for a container of the team's own)."""
    model = mapping(endpoint.predictor.spec.get("model"))
    if not model:
        return "custom"
    if isinstance(model.get("runtime"), str):
        return str(model["runtime"])
    fmt = mapping(model.get("modelFormat"))
    name = fmt.get("name")
    if not isinstance(name, str):
        return "custom"
    resolved = resolve_runtime(builtin_runtimes(versions.KSERVE_RESOURCES.version), name,
                               format_version=_text(fmt.get("version")),
                               protocol=_text(model.get("protocolVersion")))
    return resolved.runtime.name if resolved.runtime is not None else "custom"


def _model_gib(config: Mapping[str, Any], key: str, name: str) -> float | None:
    value = dig(mapping(decode_json(config.get(key))), name, "model", "sizeGiB")
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _volume_mibps(resources: list, pool_name: str) -> int | None:
    """The root volume throughput (MiB/s) of a Karpenter pool's EC2NodeClass, when the plan sets one."""
    classes = node_classes(resources)
    for karpenter in karpenter_pools(resources):
        if karpenter.name != pool_name or karpenter.node_class not in classes:
            continue
        inputs = classes[karpenter.node_class].get("inputs") or {}
        mappings = [m for m in items(dig(inputs, "spec", "blockDeviceMappings")) if isinstance(m, Mapping)]
        root = next((m for m in mappings if m.get("rootVolume")), mappings[0] if mappings else {})
        value = dig(root, "ebs", "throughput")
        return value if isinstance(value, int) else None
    return None


def _warm_headroom(pool: Pool, min_demand: int) -> int:
    """Accelerators free on the nodes a Karpenter pool's minimum demand keeps running."""
    per_node = pool.accelerators_per_node
    if per_node <= 0:
        return 0
    return math.ceil(min_demand / per_node) * per_node - min_demand


def cold_starts(resources: Iterable[Mapping[str, Any]],
                stack_config: Mapping[str, Any] | None = None) -> list[ColdStart]:
    """The cold-start estimate of every endpoint that can start a pod on a node that does not exist yet."""
    resources = list(resources)
    config = stack_config or {}
    by_name = {p.name: p for p in pools(resources)}
    found_endpoints = endpoints(resources, config)
    min_demand: dict[str, int] = defaultdict(int)
    for endpoint in found_endpoints:
        request = endpoint.predictor.accelerator_request()
        if endpoint.pool and request:
            min_demand[endpoint.pool] += (endpoint.predictor.min_replicas or 0) * request[1]
    for llm in llm_endpoints(resources):
        if llm.pool:
            min_demand[llm.pool] += sum(w.accelerators for w in llm.workloads())
    found = []
    for endpoint in found_endpoints:
        pool = by_name.get(endpoint.pool or "")
        if pool is None:
            continue
        low = endpoint.predictor.min_replicas
        low = 1 if low is None else low
        high = endpoint.predictor.max_replicas or low
        request = endpoint.predictor.accelerator_request()
        per_replica = request[1] if request else 0
        if low == 0:
            reason = "scales from zero (minReplicas 0)"
        elif (pool.is_karpenter and high > low
              and (high - low) * per_replica > _warm_headroom(pool, min_demand[pool.name])):
            reason = (f"replicas {low + 1}-{high} need nodes pool {pool.name} does not keep warm "
                      f"(its minimum demand holds {min_demand[pool.name]} {pool.resource_name or 'accelerators'})")
        elif pool.is_karpenter and high > low and per_replica == 0:
            reason = f"replicas {low + 1}-{high} may need a node pool {pool.name} does not keep warm"
        else:
            continue
        found.append(coldstart.estimate(
            endpoint.name, pool=pool.name, kind=str(pool.kind), instance_types=pool.instance_types,
            new_node=pool.is_karpenter, runtime=_runtime(endpoint),
            model_gib=_model_gib(config, "servestack:endpoints", endpoint.name),
            volume_mibps=_volume_mibps(resources, pool.name) if pool.is_karpenter else None, reason=reason))
    return sorted(found, key=lambda c: c.endpoint)


def cold_start_lines(resources: Iterable[Mapping[str, Any]],
                     stack_config: Mapping[str, Any] | None = None) -> list[str]:
    """One line per cold start, then one per stage with its basis (plan summary, ``servestack cost``)."""
    lines = []
    for c in cold_starts(resources, stack_config):
        lines.append(f"{c.text()} ({c.reason})")
        lines += [f"  {s.name}: {s.seconds}s ({s.basis})" for s in c.stages]
    return lines
