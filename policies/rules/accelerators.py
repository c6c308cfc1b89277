"""Accelerator rules: they read several resources at once (pools, device plugins, endpoints)."""

from __future__ import annotations

from collections.abc import Iterable

from plandoc.document import Resource
from plandoc.endpoints import accelerator_demand_by_pool, endpoints
from plandoc.plugins import device_plugins
from plandoc.pools import placement_pools, pools
from plandoc.values import items

from .model import Context, Rule, k8s_effect, show_taint, untolerated


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


def accelerator_capacity_fits(resources: list[Resource], ctx: Context) -> Iterable[tuple[str, str]]:
    by_name = {p.name: p for p in placement_pools(resources)}
    own = accelerator_demand_by_pool(resources, ctx.stack_config, ctx["countCanaryReplicas"])
    for pool_name in sorted(set(own) | set(ctx.extra_demand)):
        pool = by_name.get(pool_name)
        if pool is None or not pool.has_accelerator:
            continue  # endpoint-on-accelerator-pool reports it
        demands = [*((e.name, n) for e, n in own.get(pool_name, [])), *ctx.extra_demand.get(pool_name, ())]
        needed = sum(n for _, n in demands)
        capacity = pool.capacity
        if capacity is None or needed <= capacity:
            continue  # a NodePool without limits: karpenter-nodepool-limits reports it
        parts = ", ".join(f"{name} {n}" for name, n in demands)
        yield pool.urn, (f"endpoints on pool {pool.name}{pool.owner_text} need up to {needed} {pool.resource_name} at max replicas "
                         f"({parts}) but the pool offers {pool.offer_text}; required: demand <= capacity, or replicas beyond "
                         "it stay Pending under load")


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
         "The accelerator demand of a pool's endpoints at max replicas fits the pool at its max size (a Karpenter pool at its limits).",
         "mandatory", accelerator_capacity_fits,
         settings={"countCanaryReplicas": {
             "type": "boolean", "default": True,
             "description": "Count the replicas of both models while a canary runs."}}),
]
