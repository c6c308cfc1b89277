"""The capacity model: per pool, the demand placed on it (:mod:`.demand`) and the nodes that demand needs at min and
at max, priced by the stack's region (:mod:`.prices`). Cost, the plan summary, the capacity rules, diff's cost delta,
preflight's quotas and ``check --with-serving-plan`` all read this one model.

How nodes are counted (:func:`pack`), for each pool and for the demand at min and at max separately:

- pods are taken largest first (accelerators, then cpu, then memory) and put on a node already counted where
  they fit (the node's allocatable, :mod:`.allocatable`, less the DaemonSets that run on it);
- a pod that fits nowhere opens a node: a Karpenter pool opens the instance type, among those its NodePool
  allows, that costs least per pod it will hold of the pods still waiting (Karpenter launches the cheapest type
  that fits the pending pods); unpriced types come after priced ones; no node is opened beyond the NodePool's
  ``spec.limits`` (cpu, memory, an accelerator resource): pods beyond them stay Pending (``short``);
- a managed node group launches its first instance type (EKS's on-demand allocation strategy is
  ``prioritized``) and never has fewer than ``minSize`` nodes nor more than ``maxSize``.

A pool's floor is the nodes its demand at min needs (a managed group: at least ``minSize``); its ceiling the nodes
its demand at max needs (a managed group: its ``maxSize``, what it may scale to). Pods that fit nowhere within
the bounds are ``short``; the pool is then below its demand (what the capacity rules and diff report).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from .allocatable import NodeType, allocatable
from .demand import PodShape, Problem, Workload, daemon_overhead, workloads
from .document import Resource, of_type
from .pools import CONFIG_SOURCE, Pool, accelerator_resources, catalog_entries, configured_as_pools, placement_pools, pools
from .prices import PriceTable, price_table, region_of
from .tokens import NODE_GROUP, NODE_POOL


@dataclass
class _Node:
    type: NodeType
    cpu_m: int
    memory: int
    accelerators: int

    def fits(self, pod: PodShape) -> int:
        """How many such pods still fit on this node."""
        return _fit(self.cpu_m, self.memory, self.accelerators, pod)


def _fit(cpu_m: int, memory: int, accelerators: int, pod: PodShape) -> int:
    bounds = [value // need for value, need in ((cpu_m, pod.cpu_m), (memory, pod.memory), (accelerators, pod.accelerators))
              if need > 0]
    if any(value < 0 for value in (cpu_m, memory, accelerators)):
        return 0
    return max(min(bounds), 0) if bounds else 1_000_000  # a pod that requests nothing fits anywhere


@dataclass(frozen=True)
class Packing:
    """Nodes counted for one demand: instance type -> count, and the pods that fit on none."""

    nodes: tuple[tuple[str, int], ...]
    short: tuple[tuple[str, int], ...] = ()
    """(workload owner, pods) that no node within the pool's bounds can hold."""

    @property
    def count(self) -> int:
        return sum(n for _, n in self.nodes)

    def text(self) -> str:
        return ", ".join(f"{n} x {t}" for t, n in self.nodes) or "0 nodes"


def _limits_allow(opened: Sequence[_Node], node: NodeType, limits: Mapping[str, Decimal]) -> bool:
    totals = {"cpu": Decimal(sum(n.type.vcpus for n in opened) + node.vcpus),
              "memory": Decimal(sum(n.type.memory_mib for n in opened) + node.memory_mib) * 2**20}
    if node.resource:
        totals[node.resource] = Decimal(sum(n.type.accelerators for n in opened) + node.accelerators)
    return all(totals[r] <= limit for r, limit in limits.items() if r in totals)


def pack(demand: Iterable[tuple[Workload, int]], types: Sequence[NodeType], daemon: PodShape, *, managed: bool,
         min_nodes: int = 0, max_nodes: int | None = None, limits: Mapping[str, Decimal] | None = None) -> Packing:
    """Nodes the pods need (see the module). ``demand``: (workload, pods); ``types``: what the pool may launch,
    in the pool's order; ``max_nodes`` None: no node count bound (a Karpenter pool is bounded by ``limits``)."""
    usable = [NodeType(t.name, t.cpu_m - daemon.cpu_m, t.memory - daemon.memory, t.accelerators, t.resource, t.hourly,
                       t.vcpus, t.memory_mib) for t in types]
    launchable = usable[:1] if managed else usable
    opened: list[_Node] = []
    short: dict[str, int] = {}
    groups = sorted(((w, n) for w, n in demand if n > 0), key=lambda item: (item[0].pod, item[0].owner), reverse=True)
    for workload, count in groups:
        pod = workload.pod
        for node in opened:
            if count == 0:
                break
            take = min(node.fits(pod), count)
            if take:
                node.cpu_m -= pod.cpu_m * take
                node.memory -= pod.memory * take
                node.accelerators -= pod.accelerators * take
                count -= take
        while count > 0:
            if max_nodes is not None and len(opened) >= max_nodes:
                break
            options = [(t, _fit(t.cpu_m, t.memory, t.accelerators, pod)) for t in launchable]
            options = [(t, per) for t, per in options if per > 0 and _limits_allow(opened, t, limits or {})]
            if not options:
                break
            best, per = min(options, key=lambda o: (o[0].hourly is None, (o[0].hourly or 0) / min(o[1], count)))
            take = min(per, count)
            opened.append(_Node(best, best.cpu_m - pod.cpu_m * take, best.memory - pod.memory * take,
                                best.accelerators - pod.accelerators * take))
            count -= take
        if count:
            short[workload.owner] = short.get(workload.owner, 0) + count
    while len(opened) < min_nodes and launchable:
        t = launchable[0]
        opened.append(_Node(t, t.cpu_m, t.memory, t.accelerators))
    counted: dict[str, int] = {}
    for node in opened:
        counted[node.type.name] = counted.get(node.type.name, 0) + 1
    return Packing(tuple(sorted(counted.items())), tuple(sorted(short.items())))


@dataclass(frozen=True)
class PoolCapacity:
    pool: Pool
    workloads: tuple[Workload, ...]
    daemon: PodShape
    daemons: tuple[str, ...]
    floor: Packing
    ceiling: Packing
    types: tuple[NodeType, ...]
    unknown_types: tuple[str, ...] = ()
    """Instance types of the pool outside the catalog: no allocatable, never launched by the model."""
    source: str = "plan"
    """``plan``, ``config`` (a pool of ``servestack:nodePools`` the plan does not declare) or ``platform``."""

    @property
    def name(self) -> str:
        return self.pool.name

    def accelerators(self, at_max: bool = True, candidates: bool = True) -> int:
        """Accelerators the workloads hold at max (or min), with or without the rollouts' candidates."""
        return sum(w.accelerators_max if at_max else w.accelerators_min for w in self.workloads
                   if candidates or not w.candidate)

    def unpriced(self, packing: Packing) -> tuple[str, ...]:
        prices = {t.name: t.hourly for t in self.types}
        return tuple(t for t, _ in packing.nodes if prices.get(t) is None)

    def hourly(self, packing: Packing) -> float | None:
        """USD per hour of the packing's nodes; None when one of them is unpriced."""
        prices = {t.name: t.hourly for t in self.types}
        if any(prices.get(t) is None for t, _ in packing.nodes):
            return None
        return round(sum(prices[t] * n for t, n in packing.nodes), 4)


@dataclass(frozen=True)
class CapacityModel:
    pools: tuple[PoolCapacity, ...]
    unplaced: tuple[Workload, ...]
    """Workloads no pool takes (a pool name that is not a pool of the plan)."""
    problems: tuple[Problem, ...]
    region: str
    prices: PriceTable | None
    referenced: bool = False
    """The pools are another stack's (a serving stack on ``cluster.existing``): that stack pays for them."""
    extra: tuple[Workload, ...] = field(default=())

    def pool(self, name: str) -> PoolCapacity | None:
        return next((p for p in self.pools if p.name == name), None)


def _types(pool: Pool, prices: PriceTable | None) -> tuple[tuple[NodeType, ...], tuple[str, ...]]:
    specs = {s.name: s for s in catalog_entries(pool.instance_types)}
    found = tuple(allocatable(specs[t], pool.resource_name if pool.has_accelerator else None,
                              prices.instance(t, pool.capacity_type) if prices else None)
                  for t in pool.instance_types if t in specs)
    return found, tuple(t for t in pool.instance_types if t not in specs)


def pool_capacity(pool: Pool, placed: Sequence[Workload], resources: list[Resource], prices: PriceTable | None,
                  source: str = "plan") -> PoolCapacity:
    types, unknown = _types(pool, prices)
    daemon, daemons = daemon_overhead(resources, pool)
    if source == "platform":  # another stack's pool: the nodes this stack's pods need, up to its maxSize
        bounds = {"managed": False, "limits": {}, "max_nodes": pool.max_size}
        low = high = 0
    elif pool.is_karpenter:
        bounds = {"managed": False, "limits": dict(pool.limit_values), "max_nodes": None}
        low = high = 0
    else:
        bounds = {"managed": True, "limits": {}, "max_nodes": pool.max_size}
        low, high = pool.min_size, pool.max_size
    floor = pack(((w, w.pods_min) for w in placed), types, daemon, min_nodes=low, **bounds)
    ceiling = pack(((w, w.pods_max) for w in placed), types, daemon, min_nodes=high, **bounds)
    return PoolCapacity(pool, tuple(placed), daemon, daemons, floor, ceiling, types, unknown, source)


def capacity_model(resources: list[Resource], stack_config: Mapping[str, object] | None = None,
                   extra: Sequence[Workload] = ()) -> CapacityModel:
    """The model of a plan; ``extra``: workloads other stacks place on its pools (``check --with-serving-plan``)."""
    stack_config = stack_config or {}
    region = region_of(stack_config)
    prices = price_table(region)
    own = pools(resources)
    found = own or placement_pools(resources)
    source = "plan" if own else "platform"
    if not found and not of_type(resources, NODE_GROUP, NODE_POOL):
        found, source = configured_as_pools(stack_config), CONFIG_SOURCE
    by_name = {p.name: p for p in found}
    placed, problems = workloads(resources, stack_config, by_name, accelerator_resources(resources))
    everything = [*placed, *extra]
    per_pool = tuple(pool_capacity(p, [w for w in everything if w.pool == p.name], resources, prices, source)
                     for p in sorted(found, key=lambda p: p.name))
    unplaced = tuple(w for w in everything if w.pool not in by_name and (w.pod.accelerators or w.pool is not None))
    return CapacityModel(per_pool, unplaced, tuple(problems), region, prices, source == "platform", tuple(extra))
