"""Estimated hourly and monthly cost of a stack, from the on-demand price table in ``data/``.

Priced: the EKS control plane, node pools at their min and max size, NAT gateways and their
public IPv4 addresses. A pool's node is priced at the most expensive of its instance types (a
managed node group or a NodePool may launch any of them). A Karpenter pool runs from 0 nodes
to the most nodes its NodePool's limits allow; one without limits has no ceiling, which a note
says (its maximum is then counted as 0, never guessed). Instance types missing from the table are listed
as unpriced, never guessed. Data transfer, EBS, load balancers and logs are not included.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from .document import Resource, of_type
from .pools import catalog_entries, configured_pools, placement_pools, pools
from .tokens import CLUSTER, EIP, NAT_GATEWAY, NODE_GROUP, NODE_POOL
from .values import dig, name_of

PRICE_FILE = "data/prices-us-east-1.json"
#: Where the price table lives in the project, for people reading a cost report.
PRICE_SOURCE = f"plandoc/{PRICE_FILE}"


@cache
def price_table() -> dict[str, Any]:
    with resources.files("plandoc").joinpath(PRICE_FILE).open() as f:
        return json.load(f)


@dataclass(frozen=True)
class CostLine:
    item: str
    """What is priced: ``control plane``, ``pool gpu (g6.xlarge)``, ``NAT gateways``."""
    count_min: int
    count_max: int
    unit_hourly: float
    source: str = "plan"
    """``plan`` (a resource of the plan) or ``config`` (a node pool the plan does not declare yet)."""

    @property
    def hourly_min(self) -> float:
        return round(self.count_min * self.unit_hourly, 4)

    @property
    def hourly_max(self) -> float:
        return round(self.count_max * self.unit_hourly, 4)


@dataclass(frozen=True)
class CostEstimate:
    lines: tuple[CostLine, ...]
    unpriced: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    region: str = "us-east-1"
    price_date: str = ""
    hours_per_month: int = 730

    @property
    def hourly_min(self) -> float:
        return round(sum(line.hourly_min for line in self.lines), 4)

    @property
    def hourly_max(self) -> float:
        return round(sum(line.hourly_max for line in self.lines), 4)

    @property
    def monthly_min(self) -> float:
        return round(self.hourly_min * self.hours_per_month, 2)

    @property
    def monthly_max(self) -> float:
        return round(self.hourly_max * self.hours_per_month, 2)

    def to_json(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "priceDate": self.price_date,
            "currency": "USD",
            "hourly": {"min": self.hourly_min, "max": self.hourly_max},
            "monthly": {"min": self.monthly_min, "max": self.monthly_max},
            "lines": [{"item": line.item, "countMin": line.count_min, "countMax": line.count_max,
                       "unitHourly": line.unit_hourly, "hourlyMin": line.hourly_min, "hourlyMax": line.hourly_max,
                       "source": line.source} for line in self.lines],
            "unpriced": list(self.unpriced),
            "notes": list(self.notes),
        }

    def summary(self) -> str:
        """One line: ``$1.23-4.56/h ($898-3,329/month, us-east-1 on-demand 2026-11-01)``."""
        return (f"{money_range(self.hourly_min, self.hourly_max)}/h ({money_range(self.monthly_min, self.monthly_max, 0)}/month, "
                f"{self.region} on-demand prices of {self.price_date})"
                + (f"; unpriced: {', '.join(self.unpriced)}" if self.unpriced else ""))


def money(value: float, decimals: int = 2) -> str:
    return f"${value:,.{decimals}f}"


def money_range(low: float, high: float, decimals: int = 2) -> str:
    if round(low, decimals) == round(high, decimals):
        return money(low, decimals)
    return f"{money(low, decimals)}-{money(high, decimals)[1:]}"


def node_price(instance_types: Iterable[str], table: Mapping[str, Any] | None = None) -> tuple[float | None, list[str]]:
    """Price of one node (the dearest listed type) and the types the table does not price."""
    prices = (table or price_table())["instances"]
    types = list(instance_types)
    unpriced = [t for t in types if t not in prices]
    priced = [prices[t] for t in types if t in prices]
    return (max(priced) if priced else None), unpriced


def estimate(resources: list[Resource], stack_config: Mapping[str, Any] | None = None) -> CostEstimate:
    table = price_table()
    stack_config = stack_config or {}
    lines: list[CostLine] = []
    unpriced: set[str] = set()
    notes: list[str] = []

    for cluster in of_type(resources, CLUSTER):
        support = str(dig(cluster["inputs"], "upgradePolicy", "supportType") or "STANDARD")
        name = name_of(cluster["urn"])
        lines.append(CostLine(f"EKS control plane {name} ({support.lower()} support)", 1, 1, table["eksControlPlane"].get(support, table["eksControlPlane"]["STANDARD"])))

    planned = pools(resources)
    node_pools = [(p.name, p.instance_types, p.min_size, p.max_size, "plan", p.is_karpenter) for p in planned]
    discounted = sorted(p.name for p in planned if p.capacity_type != "ON_DEMAND")
    if discounted:
        notes.append(f"spot or capacity-block pools ({', '.join(discounted)}) are priced on-demand, an upper bound")
    unbounded = sorted(p.name for p in planned if p.is_karpenter and not p.max_size)
    if unbounded:
        notes.append(f"Karpenter pools without limits ({', '.join(unbounded)}) have no cost ceiling; their maximum is "
                     "not included")
    if not of_type(resources, NODE_GROUP, NODE_POOL):
        configured = configured_pools(stack_config)
        if configured:
            notes.append("node pools priced from servestack:nodePools: the plan declares no node groups or NodePools")
            for pool in configured.values():
                node_pools.append((pool.name, pool.instance_types, pool.min_size, pool.max_size, "config", pool.is_karpenter))
    for name, types, low, high, source, karpenter in node_pools:
        price, missing = node_price(types, table)
        unpriced.update(missing)
        if price is not None:
            what = "Karpenter pool" if karpenter else "node pool"
            lines.append(CostLine(f"{what} {name} ({', '.join(types)})", low, high, price, source))

    nat = len(of_type(resources, NAT_GATEWAY))
    if nat:
        lines.append(CostLine("NAT gateways", nat, nat, table["natGateway"]))
    eips = len(of_type(resources, EIP))
    if eips:
        lines.append(CostLine("public IPv4 addresses", eips, eips, table["publicIpv4Address"]))

    region = str(stack_config.get("aws:region") or table["region"])
    if region != table["region"]:
        notes.append(f"the stack runs in {region}; prices are {table['region']}'s")
    return CostEstimate(tuple(lines), tuple(sorted(unpriced)), tuple(notes), region, table["date"], table["hoursPerMonth"])


def accelerator_count(resources: list[Resource]) -> tuple[int | None, list[str]]:
    """Accelerators of all pools at max size (each node at its largest instance type; a Karpenter
    pool at its limits); None when a Karpenter pool's limits bound nothing."""
    total: int | None = 0
    parts = []
    for pool in pools(resources):
        if not pool.has_accelerator:
            continue
        if pool.is_karpenter:
            count = pool.capacity
            parts.append(f"{pool.name} {'unbounded' if count is None else count} ({pool.size_text})")
            total = None if total is None or count is None else total + count
            continue
        per_node = max((entry.accelerators for entry in catalog_entries(pool.instance_types)), default=0)
        total = None if total is None else total + per_node * pool.max_size
        parts.append(f"{pool.name} {pool.max_size} x {per_node}")
    return total, parts


# --------------------------------------------------------------------------- a serving stack's demand


@dataclass(frozen=True)
class PlatformDemand:
    """What an endpoint of a serving stack (``cluster.existing``) may hold on the platform stack's nodes:
    the platform stack pays for them, so it is an estimate beside the serving stack's total, never in it."""

    endpoint: str
    """``namespace/name``."""
    pool: str
    platform_stack: str
    resource: str
    accelerators: int
    """At max replicas (both models while a canary runs)."""
    nodes: int
    """Nodes that many accelerators fill at the pool's fewest accelerators per node (rounded up)."""
    node_hourly: float | None
    """The pool's dearest node type (:func:`node_price`); None when unpriced."""

    @property
    def hourly(self) -> float | None:
        return None if self.node_hourly is None else round(self.nodes * self.node_hourly, 4)

    def to_json(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "pool": self.pool, "platformStack": self.platform_stack,
                "resource": self.resource, "accelerators": self.accelerators, "nodes": self.nodes,
                "nodeHourly": self.node_hourly, "hourly": self.hourly}


def platform_demand(resources: list[Resource], stack_config: Mapping[str, Any] | None = None) -> list[PlatformDemand]:
    """Each endpoint's accelerators on the referenced platform's pools, when the plan has no pools of its own."""
    from .endpoints import accelerator_demand_by_pool

    if pools(resources):
        return []
    by_name = {p.name: p for p in placement_pools(resources)}
    found = []
    for pool_name, demands in sorted(accelerator_demand_by_pool(resources, stack_config).items()):
        pool = by_name.get(pool_name)
        if pool is None or not pool.has_accelerator or not pool.accelerators_per_node:
            continue  # endpoint-on-accelerator-pool reports it
        price, _ = node_price(pool.instance_types)
        for endpoint, count in demands:
            nodes = -(-count // pool.accelerators_per_node)
            found.append(PlatformDemand(f"{endpoint.namespace}/{endpoint.name}", pool.name, pool.platform_stack,
                                        str(pool.resource_name), count, nodes, price))
    return found
