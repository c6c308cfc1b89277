"""Accelerator rules: they read several resources at once (pools, device plugins, endpoints)."""

from __future__ import annotations

from collections.abc import Iterable

from plandoc.document import Resource
from plandoc.capacity import capacity_model
from plandoc.endpoints import endpoints
from plandoc.plugins import device_plugins
from plandoc.pools import placement_pools, pools
from plandoc.values import items

from .helpers import k8s_effect, show_taint, untolerated
from .model import Context, Rule


def accelerator_pool_tainted(resources: list[Resource], ctx: Context) -> Iterable[tuple[str, str]]:
    for pool in pools(resources):
        if not pool.has_accelerator:
            continue
        keeps_off = [t for t in pool.taints if t.get("key") == pool.resource_name
                     and k8s_effect(t.get("effect")) in ("NoSchedule", "NoExecute")]
        if not keeps_off:
            found = ", ".join(show_taint(t) for t in pool.taints) or "no taints"
            yield pool.urn, (f"{pool.kind.value} pool {pool.name} has {found}; required: a taint "
                             f"{pool.resource_name}=true:NoSchedule (EKS spelling NO_SCHEDULE), so that pods "
                             "that do not need the accelerator stay off these expensive nodes")


def accelerator_pool_has_device_plugin(resources: list[Resource], ctx: Context) -> Iterable[tuple[str, str]]:
    plugins = device_plugins(resources)
    for pool in pools(resources):
        if pool.has_accelerator and not any(p.kind == pool.kind for p in plugins):
            yield pool.urn, (f"{pool.kind.value} pool {pool.name} has no {pool.kind.value} device plugin in the stack; "
                             f"required: one, because without it the nodes never advertise {pool.resource_name} "
                             "and every endpoint that requests it stays Pending")


def device_plugin_tolerates_pool(resources: list[Resource], ctx: Context) -> Iterable[tuple[str, str]]:
    plugins = device_plugins(resources)
    for pool in pools(resources):
        if not pool.has_accelerator:
            continue
        for plugin in (p for p in plugins if p.kind == pool.kind):
            missing = untolerated(plugin.tolerations, pool.taints)
            if missing:
                yield plugin.urn, (f"the {plugin.kind.value} device plugin does not tolerate "
                                   f"{', '.join(show_taint(t) for t in missing)} of pool {pool.name} (its tolerations: "
                                   f"{_show_tolerations(plugin.tolerations)}); required: a toleration for each taint "
                                   "of every pool it serves, or it never runs on those nodes")


def _show_tolerations(tolerations) -> str:
    if not tolerations:
        return "none"
    return ", ".join(f"{t.get('key', '*')}{'=' + str(t['value']) if t.get('value') else ''}:{t.get('effect') or '*'}"
                     for t in tolerations)


def endpoint_on_accelerator_pool(resources: list[Resource], ctx: Context) -> Iterable[tuple[str, str]]:
    by_name = {p.name: p for p in placement_pools(resources)}
    owner = next((p.owner_text for p in by_name.values()), "")
    owner = owner.replace(" of platform", " of the platform") if owner else " of the stack"
    for endpoint in endpoints(resources, ctx.stack_config):
        request = endpoint.predictor.accelerator_request()
        if request is None:
            continue
        resource_name, _ = request
        where = f"endpoint {endpoint.namespace}/{endpoint.name} requests {resource_name}"
        pool = by_name.get(endpoint.pool or "")
        if pool is None:
            yield endpoint.urn, (f"{where} but its predictor's nodeSelector names "
                                 f"{'pool ' + endpoint.pool if endpoint.pool else 'no pool (servestack.io/pool)'}, "
                                 f"which is not a node pool{owner} (pools: {', '.join(sorted(by_name)) or 'none'}); "
                                 "required: a pool that has it, or the pods stay Pending")
            continue
        if pool.resource_name != resource_name:
            yield endpoint.urn, (f"{where} but is placed on pool {pool.name}, whose nodes offer "
                                 f"{pool.resource_name or 'no accelerator'} ({', '.join(pool.instance_types)}); "
                                 "required: a pool of that accelerator")
            continue
        tolerations = items(endpoint.predictor.spec.get("tolerations"))
        missing = untolerated(tolerations, pool.taints)
        if ctx["trustExtendedResourceToleration"]:
            missing = [t for t in missing if t.get("key") != resource_name]
        if missing:
            yield endpoint.urn, (f"{where} on pool {pool.name} but does not tolerate "
                                 f"{', '.join(show_taint(t) for t in missing)}; required: a toleration of every taint "
                                 "of the pool (Knative applies them only with kubernetes.podspec-tolerations enabled)")


def _demand(pool, llm: bool | None, at_max: bool, count_canary: bool) -> list[tuple[str, int]]:
    """(endpoint name, accelerators) on a pool from the capacity model, summed per endpoint: at min every workload;
    at max the stable and, when ``count_canary``, candidates that take traffic (one that takes none stays at its min,
    counted at min)."""
    found: dict[str, int] = {}
    for w in pool.workloads:
        if not w.pod.accelerators or (llm is not None and w.owner.startswith("LLM") != llm):
            continue
        if at_max:
            count = w.accelerators_max if not w.candidate else (w.accelerators_max if count_canary and w.routed else 0)
        else:
            count = w.accelerators_min
        name = f"LLM {w.name}" if w.owner.startswith("LLM") else w.name
        found[name] = found.get(name, 0) + count
    return sorted(found.items(), key=lambda item: (item[0].startswith("LLM") is False, item[0]))


def capacity_violations(resources: list[Resource], ctx: Context, llm: bool) -> Iterable[tuple[str, str]]:
    """Pools whose accelerator demand (from the capacity model) exceeds what they offer, at min or at max: each pool
    once, by the LLM rule when an LLM endpoint is among its workloads, else by the InferenceService rule."""
    model = capacity_model(resources, ctx.stack_config, ctx.extra_demand)
    for pool_capacity in model.pools:
        pool = pool_capacity.pool
        has_llm = any(w.pod.accelerators and w.owner.startswith("LLM") for w in pool_capacity.workloads)
        mine = [w for w in pool_capacity.workloads if w.pod.accelerators]
        if not mine or has_llm != llm or not pool.has_accelerator or pool.capacity is None:
            continue  # placement rules report a wrong pool; karpenter-nodepool-limits a pool without ceiling
        for at_max in (False, True):
            demands = [(n, c) for n, c in _demand(pool_capacity, None, at_max, ctx["countCanaryReplicas"]) if c]
            needed = sum(c for _, c in demands)
            if needed <= pool.capacity:
                continue
            parts = ", ".join(f"{name} {n}" for name, n in demands)
            when = "at max replicas" if at_max else "at min replicas, with every rollout's candidate"
            if llm:
                yield pool.urn, (f"endpoints on pool {pool.name}{pool.owner_text} need {'up to ' if at_max else ''}"
                                 f"{needed} {pool.resource_name} {when} ({parts}; an LLM endpoint holds accelerators per "
                                 f"pod x replicas x (1 + workers)) but the pool offers {pool.offer_text}; required: "
                                 "demand <= capacity, or pods beyond it stay Pending")
            else:
                yield pool.urn, (f"endpoints on pool {pool.name}{pool.owner_text} need {'up to ' if at_max else ''}"
                                 f"{needed} {pool.resource_name} {when} ({parts}) but the pool offers {pool.offer_text}; "
                                 "required: demand <= capacity, or replicas beyond it stay Pending"
                                 + (" under load" if at_max else ""))
            break


def accelerator_capacity_fits(resources: list[Resource], ctx: Context) -> Iterable[tuple[str, str]]:
    return capacity_violations(resources, ctx, llm=False)


def capacity_demand_readable(resources: list[Resource], ctx: Context) -> Iterable[tuple[str, str]]:
    """Replica counts and requests that cannot be counts (``maxReplicas: -5``): refused, never read as less demand."""
    for problem in capacity_model(resources, ctx.stack_config, ctx.extra_demand).problems:
        yield problem.urn, problem.message


RULES = [
    Rule("accelerator-pool-tainted", "accelerators",
         "Every accelerator node pool is tainted with its accelerator's resource name.",
         "mandatory", accelerator_pool_tainted),
    Rule("accelerator-pool-has-device-plugin", "accelerators",
         "Every accelerator node pool has the device plugin of its accelerator kind.",
         "mandatory", accelerator_pool_has_device_plugin),
    Rule("device-plugin-tolerates-pool-taints", "accelerators",
         "Each device plugin tolerates the taints of every pool of its kind.",
         "mandatory", device_plugin_tolerates_pool),
    Rule("endpoint-on-accelerator-pool", "accelerators",
         "An endpoint that requests an accelerator is placed on a pool that has it and tolerates its taints.",
         "mandatory", endpoint_on_accelerator_pool,
         settings={"trustExtendedResourceToleration": {
             "type": "boolean", "default": False,
             "description": "Count EKS's ExtendedResourceToleration (a pod requesting a resource tolerates the taint "
                            "of the same key) instead of requiring explicit tolerations."}}),
    Rule("accelerator-capacity-fits", "accelerators",
         "The accelerator demand of a pool's endpoints fits the pool at its max size (a Karpenter pool at its limits): "
         "at min replicas with every rollout's candidate, and at max replicas.",
         "mandatory", accelerator_capacity_fits,
         settings={"countCanaryReplicas": {
             "type": "boolean", "default": True,
             "description": "At max replicas, count a candidate that takes traffic (a Knative canary) at its max too; "
                            "a candidate that takes none (a Standard-mode blue/green) holds its minimum, counted at min."}}),
    Rule("capacity-demand-readable", "accelerators",
         "Every replica count and request the capacity model reads is a whole number >= 0 (a negative maxReplicas "
         "would hide demand).",
         "mandatory", capacity_demand_readable),
]
