"""``pool-below-demand``: a pool, CPU pools included, whose capacity after the change is below the demand
placed on it, where the change made it so (the pool shrank or was removed, or the demand grew).

Demand is read through one function, :func:`pool_demands` (endpoints' accelerators at max replicas, both
models while a canary runs, LLM endpoints' pods; and the CPU their pods request at max replicas on the
pool their nodeSelector names). Capacity: accelerators at the pool's max size (a Karpenter pool's at
its NodePool limits), and vCPUs (max size x the fewest vCPUs of its instance types; a Karpenter
pool's ``cpu`` limit). A pool already below its demand before the change, and no worse after, is the
business of ``servestack check`` (rules ``accelerator-capacity-fits``), not of the diff.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from plandoc.document import PlanDoc
from plandoc.endpoints import Endpoint, accelerator_demand, endpoints
from plandoc.karpenter import quantity
from plandoc.llm import llm_endpoints
from plandoc.pools import Pool, catalog_entries, pools
from plandoc.values import dig

from .model import Flag, Review


@dataclass
class PoolDemand:
    """What the plan's endpoints may place on one pool at their max replicas."""

    accelerators: int = 0
    cpu: Decimal = Decimal(0)
    """vCPUs requested."""
    users: list[str] = field(default_factory=list)


def _cpu(containers: list[tuple[str, Mapping[str, Any]]]) -> Decimal:
    return sum((quantity(dig(c, "resources", "requests", "cpu")) or Decimal(0) for _, c in containers), Decimal(0))


def _endpoint_cpu(endpoint: Endpoint) -> Decimal:
    """vCPUs the predictor (and its canary) request at max replicas, counted like its accelerators."""
    main = endpoint.predictor
    replicas = main.max_replicas or max(main.min_replicas or 1, 1)
    total = _cpu(main.containers()) * replicas
    traffic = endpoint.canary_traffic_percent
    if endpoint.mode == "Knative" and isinstance(traffic, int) and 0 < traffic < 100:
        total *= 2  # the previous revision keeps serving the rest
    for canary, _ in endpoint.canaries:
        per_replica = _cpu(canary.containers()) or _cpu(main.containers())
        total += per_replica * (canary.max_replicas or canary.min_replicas or replicas)
    return total


def pool_demands(plan: PlanDoc) -> dict[str, PoolDemand]:
    """Pool name -> the demand placed on it: the diff's one reading of demand (the capacity model replaces it here)."""
    resources = plan.resource_list()
    found: dict[str, PoolDemand] = {}
    for endpoint in endpoints(resources, plan.config):
        if endpoint.pool is None:
            continue
        demand = found.setdefault(endpoint.pool, PoolDemand())
        demand.accelerators += accelerator_demand(endpoint) if endpoint.predictor.accelerator_request() else 0
        demand.cpu += _endpoint_cpu(endpoint)
        demand.users.append(endpoint.name)
    for llm in llm_endpoints(resources):
        if llm.pool is None:
            continue
        demand = found.setdefault(llm.pool, PoolDemand())
        demand.accelerators += llm.accelerators
        demand.cpu += sum((_cpu(w.containers()) * w.pods for w in llm.workloads()), Decimal(0))
        demand.users.append(llm.endpoint)
    return found


def cpu_capacity(pool: Pool) -> Decimal | None:
    """vCPUs the pool offers at most; None when nothing bounds them (a NodePool without a cpu limit)."""
    if pool.is_karpenter:
        return quantity(dict(pool.limits).get("cpu"))
    per_node = min((entry.vcpus for entry in catalog_entries(pool.instance_types)), default=None)
    return None if per_node is None else Decimal(per_node * pool.max_size)


def _cpu_bound(pool: Pool) -> str:
    if pool.is_karpenter:
        return pool.size_text
    per_node = min((entry.vcpus for entry in catalog_entries(pool.instance_types)), default=0)
    return f"maxSize {pool.max_size} x {per_node} vCPUs per node"


def _number(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _judge(name: str, what: str, unit: str, old: tuple[Any, Any, str] | None, new: tuple[Any, Any, str] | None,
           users: str) -> Flag | None:
    """``old``/``new``: (capacity, demand, bound text) before and after; None where the pool does not exist."""
    if new is None:
        if old is None or not old[1] or (old[0] is not None and old[0] < old[1]):
            return None
        return Flag("pool-below-demand", name, f"pool {name} is removed while its endpoints ({users}) need up to "
                                               f"{_number(Decimal(old[1]))} {unit}")
    capacity, demand, bound = new
    if capacity is None or capacity >= demand or not demand:
        return None
    if old is not None:
        old_capacity, old_demand, old_bound = old
        if old_capacity is not None and capacity >= old_capacity and demand <= old_demand:
            return None  # no worse than before: check's business
        if old_capacity is None or capacity < old_capacity:
            return Flag("pool-below-demand", name,
                        f"pool {name} shrinks from {old_bound} to {bound} ({_number(Decimal(capacity))} {unit}) "
                        f"while its endpoints ({users}) need up to {_number(Decimal(demand))} {what} at max replicas")
    return Flag("pool-below-demand", name,
                f"the demand on pool {name} grows to {_number(Decimal(demand))} {unit} at max replicas ({users}), "
                f"beyond the {_number(Decimal(capacity))} its {bound} offers")


def pool_below_demand(review: Review) -> list[Flag]:
    before_pools = {p.name: p for p in pools(review.base.resource_list())}
    after_pools = {p.name: p for p in pools(review.head.resource_list())}
    before, after = pool_demands(review.base), pool_demands(review.head)
    flags = []
    for name in sorted(set(before_pools) | set(after_pools)):
        old, new = before_pools.get(name), after_pools.get(name)
        users = ", ".join((after.get(name) or before.get(name) or PoolDemand()).users)
        demand_before, demand_after = before.get(name, PoolDemand()), after.get(name, PoolDemand())
        if (old or new).has_accelerator:
            unit = (new or old).resource_name or "accelerators"
            flag = _judge(name, unit, unit,
                          old and (old.capacity, demand_before.accelerators, _bound(old)),
                          new and (new.capacity, demand_after.accelerators, _bound(new)), users)
            if flag is not None:
                flags.append(flag)
                continue
        flag = _judge(name, "vCPUs", "vCPUs", old and (cpu_capacity(old), demand_before.cpu, _cpu_bound(old)),
                      new and (cpu_capacity(new), demand_after.cpu, _cpu_bound(new)), users)
        if flag is not None:
            flags.append(flag)
    return flags


def _bound(pool: Pool) -> str:
    """``maxSize 4``; ``NodePool limits nvidia.com/gpu=4``."""
    return pool.size_text

