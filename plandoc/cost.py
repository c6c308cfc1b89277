"""Estimated hourly and monthly cost of a stack, read from the capacity model (:mod:`.capacity`) and priced with the
table of the stack's own region (:mod:`.prices`).

Priced: the EKS control plane, the nodes each pool needs for its demand at min (the floor) and at max (the
ceiling), NAT gateways and their public IPv4 addresses. A spot pool is priced at the table's spot price where it
has one (else on-demand, an upper bound, which a note says). Besides the floor and the ceiling, the *bound* is what
every pool may cost at most: a managed group at ``maxSize`` nodes of its first type, a Karpenter pool at the most
nodes its NodePool limits allow of its dearest type (a pool without limits has no bound). Instance types without a
price are listed as unpriced, never guessed; a region without a price file is priced "unknown", with the command
that writes it. Data transfer, EBS, load balancers and logs are not included.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .capacity import CapacityModel, PoolCapacity, capacity_model
from .document import Resource, of_type
from .prices import UPDATE_COMMAND
from .tokens import CLUSTER, EIP, NAT_GATEWAY
from .values import dig, name_of


@dataclass(frozen=True)
class CostLine:
    item: str
    """What is priced: ``EKS control plane ...``, ``Karpenter pool gpu: g6e.xlarge``, ``NAT gateways``."""
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
    """Empty when the region has no price file: then nothing is priced (:attr:`known` False)."""
    hours_per_month: int = 730
    bound_lines: tuple[tuple[str, float | None], ...] = ()
    """(pool, USD per hour at its bound; None: unbounded or unpriced) for every pool."""
    price_source: str = ""

    @property
    def known(self) -> bool:
        return bool(self.price_date)

    @property
    def hourly_min(self) -> float:
        return round(sum(line.hourly_min for line in self.lines), 4)

    @property
    def hourly_max(self) -> float:
        return round(sum(line.hourly_max for line in self.lines), 4)

    @property
    def hourly_bound(self) -> float | None:
        """Every pool at its bound (plus the fixed lines); None when a pool has none or is unpriced."""
        if any(h is None for _, h in self.bound_lines):
            return None
        fixed = sum(line.hourly_max for line in self.lines if not line.item.startswith(_POOL_PREFIXES))
        return round(fixed + sum(h for _, h in self.bound_lines if h is not None), 4)

    @property
    def monthly_min(self) -> float:
        return round(self.hourly_min * self.hours_per_month, 2)

    @property
    def monthly_max(self) -> float:
        return round(self.hourly_max * self.hours_per_month, 2)

    @property
    def prices_text(self) -> str:
        """``us-east-1 prices of 2026-11-01``, or why there are none."""
        if not self.known:
            return (f"{self.region} prices unknown: no price file for {self.region}; "
                    f"run `{UPDATE_COMMAND.format(region=self.region)}`")
        return f"{self.region} prices of {self.price_date}"

    def to_json(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "priceDate": self.price_date or None,
            "pricesKnown": self.known,
            "currency": "USD",
            "hourly": {"min": self.hourly_min, "max": self.hourly_max, "bound": self.hourly_bound},
            "monthly": {"min": self.monthly_min, "max": self.monthly_max},
            "lines": [{"item": line.item, "countMin": line.count_min, "countMax": line.count_max,
                       "unitHourly": line.unit_hourly, "hourlyMin": line.hourly_min, "hourlyMax": line.hourly_max,
                       "source": line.source} for line in self.lines],
            "bounds": [{"pool": pool, "hourly": hourly} for pool, hourly in self.bound_lines],
            "unpriced": list(self.unpriced),
            "notes": list(self.notes),
        }

    def summary(self) -> str:
        """One line: ``$1.23-4.56/h ($898-3,329/month, us-east-1 prices of 2026-11-01)``."""
        if not self.known:
            return self.prices_text
        return (f"{money_range(self.hourly_min, self.hourly_max)}/h ({money_range(self.monthly_min, self.monthly_max, 0)}"
                f"/month, {self.prices_text})" + (f"; unpriced: {', '.join(self.unpriced)}" if self.unpriced else ""))


_POOL_PREFIXES = ("node pool ", "Karpenter pool ")


def money(value: float, decimals: int = 2) -> str:
    return f"${value:,.{decimals}f}"


def money_range(low: float, high: float, decimals: int = 2) -> str:
    if round(low, decimals) == round(high, decimals):
        return money(low, decimals)
    return f"{money(low, decimals)}-{money(high, decimals)[1:]}"


def cost_delta_text(before: CostEstimate, after: CostEstimate) -> str:
    """The cost line of a diff: floor and ceiling before -> after, the change of each, and the prices used."""
    if not (before.known and after.known):
        missing = after if not after.known else before
        return f"**Estimated cost**: {missing.prices_text}"
    d_min, d_max = after.hourly_min - before.hourly_min, after.hourly_max - before.hourly_max

    def signed(value: float) -> str:
        return f"{'+' if value >= 0 else '-'}{money(abs(value))}"

    line = (f"**Estimated cost** ({after.prices_text}): {money_range(before.hourly_min, before.hourly_max)}/h → "
            f"{money_range(after.hourly_min, after.hourly_max)}/h (at min {signed(d_min)}/h, at max {signed(d_max)}/h, "
            f"{signed(d_max * after.hours_per_month)}/month at max)")
    if after.unpriced:
        line += f"; unpriced: {', '.join(after.unpriced)}"
    return line


def _pool_lines(pool: PoolCapacity, source: str) -> list[CostLine]:
    what = "Karpenter pool" if pool.pool.is_karpenter else "node pool"
    low, high = dict(pool.floor.nodes), dict(pool.ceiling.nodes)
    prices = {t.name: t.hourly for t in pool.types}
    return [CostLine(f"{what} {pool.name}: {t}", low.get(t, 0), high.get(t, 0), prices[t], source)
            for t in sorted(set(low) | set(high)) if prices.get(t) is not None]


def _bound(pool: PoolCapacity) -> float | None:
    prices = [t.hourly for t in pool.types]
    if not pool.types or any(p is None for p in prices) or pool.unknown_types:
        return None
    if pool.pool.is_karpenter:  # max_size: the most nodes its limits allow (0 when they bound nothing)
        return round(pool.pool.max_size * max(prices), 4) if pool.pool.max_size else None
    return round(pool.pool.max_size * prices[0], 4)


def pool_unpriced(pool: PoolCapacity) -> list[str]:
    """Instance types of the pool the table has no price for (every type the pool may launch)."""
    return [t for t in pool.pool.instance_types if next((n.hourly for n in pool.types if n.name == t), None) is None]


def estimate(resources: list[Resource], stack_config: Mapping[str, Any] | None = None,
             model: CapacityModel | None = None) -> CostEstimate:
    """The cost of the plan, from its capacity ``model`` (built here when not given)."""
    model = model or capacity_model(resources, stack_config)
    table = model.prices
    lines: list[CostLine] = []
    notes: list[str] = []
    unpriced: set[str] = set()

    for cluster in of_type(resources, CLUSTER):
        support = str(dig(cluster["inputs"], "upgradePolicy", "supportType") or "STANDARD")
        price = (table.eks_control_plane.get(support) or table.eks_control_plane.get("STANDARD")) if table else None
        if price is not None:
            lines.append(CostLine(f"EKS control plane {name_of(cluster['urn'])} ({support.lower()} support)", 1, 1, price))
        else:
            unpriced.add("EKS control plane")

    own = [] if model.referenced else list(model.pools)
    for pool in own:
        source = "config" if pool.source == "config" else "plan"
        lines += _pool_lines(pool, source)
        unpriced.update(pool_unpriced(pool))
    if own and own[0].source == "config":
        notes.append("node pools priced from servestack:nodePools: the plan declares no node groups or NodePools")
    on_demand = sorted(p.name for p in own if p.pool.capacity_type != "ON_DEMAND"
                       and any(table is None or t.name not in table.spot for t in p.types))
    if on_demand and table is not None:
        notes.append(f"spot or capacity-block pools ({', '.join(on_demand)}) are priced on-demand where the table has "
                     "no spot price, an upper bound")
    unbounded = sorted(p.name for p in own if p.pool.is_karpenter and not p.pool.limit_values)
    if unbounded:
        notes.append(f"Karpenter pools without limits ({', '.join(unbounded)}) have no bound")
    for pool in own:
        if pool.ceiling.short:
            pods = ", ".join(f"{owner} {n}" for owner, n in pool.ceiling.short)
            notes.append(f"pool {pool.name} cannot hold its demand at max ({pods} pod(s) stay Pending): not priced")

    for count, item, price in ((len(of_type(resources, NAT_GATEWAY)), "NAT gateways", table and table.nat_gateway),
                               (len(of_type(resources, EIP)), "public IPv4 addresses",
                                table and table.public_ipv4_address)):
        if count and price is not None:
            lines.append(CostLine(item, count, count, price))
        elif count:
            unpriced.add(item)
    if table is None:
        lines = []
        unpriced = set()
    return CostEstimate(tuple(lines), tuple(sorted(unpriced)), tuple(notes), model.region,
                        table.date if table else "", table.hours_per_month if table else 730,
                        tuple((p.name, _bound(p)) for p in own), table.source if table else "")


def accelerator_count(model: CapacityModel | list[Resource]) -> tuple[int | None, list[str]]:
    """Accelerators of all the stack's own pools at their bound (a managed group at maxSize of its largest type, a
    Karpenter pool at its limits); None when a Karpenter pool's limits bound nothing. ``model``: the capacity model
    (or the plan's resources, to build it)."""
    if not isinstance(model, CapacityModel):
        model = capacity_model(model)
    total: int | None = 0
    parts = []
    for capacity in ([] if model.referenced else model.pools):
        pool = capacity.pool
        if not pool.has_accelerator:
            continue
        if pool.is_karpenter:
            count = pool.capacity
            parts.append(f"{pool.name} {'unbounded' if count is None else count} ({pool.size_text})")
            total = None if total is None or count is None else total + count
            continue
        per_node = max((t.accelerators for t in capacity.types), default=0)
        total = None if total is None else total + per_node * pool.max_size
        parts.append(f"{pool.name} {pool.max_size} x {per_node}")
    return total, parts
