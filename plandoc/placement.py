"""Where and on what each node pool runs: instance types, max size, market and zones.

The same facts appear in two places of a plan: the resources (what ``pulumi up`` will send to
AWS) and ``servestack:nodePools`` in config. A real ``pulumi preview`` may lack values known
only after deployment, so resources win and config fills the gaps. A node group's zones are
known only from the subnets it is wired to (or, for an existing network, only to AWS: then the
subnet ids are given to resolve).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from components.core import catalog

from .document import PlanDoc, of_type
from .karpenter import karpenter_pools
from .pools import ConfiguredPool, configured_pool, configured_pools
from .tokens import NODE_GROUP, SUBNET
from .values import decode_json, dig, is_known, mapping, name_of

#: Subnet tag of private subnets (internal load balancers): where nodes run.
PRIVATE_SUBNET_TAG = "kubernetes.io/role/internal-elb"


@dataclass(frozen=True)
class PoolPlacement:
    name: str
    instance_types: tuple[str, ...]
    max_size: int
    capacity_type: str = "ON_DEMAND"
    zones: tuple[str, ...] = ()
    """Availability zone names of the pool's subnets, when the plan names them."""
    subnet_ids: tuple[str, ...] = ()
    """Subnets whose zones only AWS knows (an existing network): resolved by DescribeSubnets."""
    zone_source: str = ""
    """Where the zones or subnets came from, for messages."""
    vcpu_limit: int | None = None
    """A Karpenter pool's NodePool cpu limit: the vCPUs it may launch in all (what quotas must cover)."""
    provisioner: str = "managed"

    @property
    def subject(self) -> str:
        return f"pool {self.name}"


_Zones = tuple[tuple[str, ...], tuple[str, ...], str]
"""(zone names, subnet ids, where they came from)."""


def _subnet_zones(plan: PlanDoc) -> dict[str, tuple[str | None, bool]]:
    """Subnet URN -> (zone name or None when unknown, is private)."""
    zones = {}
    for subnet in of_type(plan.resources.values(), SUBNET):
        inputs = subnet["inputs"]
        zone = inputs.get("availabilityZone")
        zones[subnet["urn"]] = (zone if is_known(zone) else None, PRIVATE_SUBNET_TAG in mapping(inputs.get("tags")))
    return zones


def _zones_of(urns: list[str], subnets: dict[str, tuple[str | None, bool]], parents: dict[str, str]) -> list[tuple[str | None, bool]]:
    """Zones of the subnets among ``urns``; a component URN stands for its private subnets."""
    found = []
    for urn in urns:
        if urn in subnets:
            found.append(subnets[urn])
            continue
        for subnet_urn, (zone, private) in subnets.items():
            parent = parents.get(subnet_urn, "")
            while parent and parent != urn:
                parent = parents.get(parent, "")
            if parent == urn and private:
                found.append((zone, private))
    return found


def _network_zones(plan: PlanDoc, subnets: dict[str, tuple[str | None, bool]]) -> _Zones:
    """Zones (or subnet ids) where pools run when no node group says: the private subnets."""
    existing = dig(decode_json(plan.config.get("servestack:network")), "existing", "privateSubnetIds")
    if isinstance(existing, list) and existing:
        return (), tuple(str(s) for s in existing), "servestack:network.existing.privateSubnetIds"
    private = [zone for zone, is_private in subnets.values() if is_private] or [zone for zone, _ in subnets.values()]
    if private and all(private):
        return tuple(sorted(set(private))), (), "the availabilityZone of the plan's private subnets"
    return (), (), ""


def _pool_name(urn: str, inputs: Mapping[str, Any], configured: Mapping[str, ConfiguredPool]) -> str:
    """The config name of a node group's pool: its pool label, node group name or URN name, as config has it."""
    label = mapping(inputs.get("labels")).get(catalog.POOL_LABEL)
    candidates = [c for c in (label, inputs.get("nodeGroupName"), name_of(urn)) if isinstance(c, str) and is_known(c)]
    for candidate in candidates:
        if candidate in configured:
            return candidate
    for candidate in candidates:  # "servestack-gpu" -> "gpu"
        for pool in sorted(configured, key=len, reverse=True):
            if candidate.endswith(f"-{pool}"):
                return pool
    return candidates[0]


def _node_group_zones(group: Mapping[str, Any], subnets: dict[str, tuple[str | None, bool]], parents: dict[str, str],
                      network: _Zones) -> _Zones:
    wired = _zones_of(list(group["propertyDependencies"].get("subnetIds") or []), subnets, parents)
    if wired:
        if all(zone for zone, _ in wired):
            return tuple(sorted({zone for zone, _ in wired})), (), "the availabilityZone of the node group's subnets in the plan"
        return (), (), ""
    ids = [s for s in group["inputs"].get("subnetIds") or [] if isinstance(s, str) and is_known(s)]
    if ids:
        return (), tuple(ids), "the node group's subnetIds"
    return network


def pool_placements(plan: PlanDoc) -> list[PoolPlacement]:
    """Every pool of the plan (node groups, Karpenter NodePools, then config pools the plan does not create yet), by name."""
    configured = configured_pools(plan.config)
    subnets = _subnet_zones(plan)
    parents = {r["urn"]: r["parent"] for r in plan.resources.values()}
    network = _network_zones(plan, subnets)

    placements: dict[str, PoolPlacement] = {}
    for group in of_type(plan.resources.values(), NODE_GROUP):
        inputs = group["inputs"]
        name = _pool_name(group["urn"], inputs, configured)
        pool_config = configured.get(name) or configured_pool(name, {})
        types = inputs.get("instanceTypes")
        if not (isinstance(types, list) and types and all(is_known(t) for t in types)):
            types = pool_config.instance_types
        max_size = dig(inputs, "scalingConfig", "maxSize")
        if not isinstance(max_size, int):
            max_size = pool_config.max_size
        capacity = inputs.get("capacityType") if is_known(inputs.get("capacityType")) else pool_config.capacity_type
        placements[name] = PoolPlacement(name, tuple(str(t) for t in types), int(max_size), str(capacity or "ON_DEMAND"),
                                         *_node_group_zones(group, subnets, parents, network))

    for karpenter in karpenter_pools(plan.resources.values()):
        # Karpenter launches into the subnets its EC2NodeClass selects by discovery tag: the private subnets
        name = karpenter.name if karpenter.name in configured else _pool_name(karpenter.urn, {"labels": karpenter.labels}, configured)
        pool_config = configured.get(name) or configured_pool(name, {})
        cpu = karpenter.limit("cpu")
        zones = (tuple(sorted(karpenter.zones)), (), "the NodePool's topology.kubernetes.io/zone requirement") if karpenter.zones else network
        placements[name] = PoolPlacement(name, karpenter.instance_types or pool_config.instance_types,
                                         karpenter.max_nodes if karpenter.max_nodes is not None else pool_config.max_size,
                                         karpenter.capacity_type, *zones, vcpu_limit=int(cpu) if cpu is not None else None,
                                         provisioner="karpenter")

    for name, pool in configured.items():
        if name not in placements:
            placements[name] = PoolPlacement(name, pool.instance_types, pool.max_size, pool.capacity_type, *network,
                                             provisioner=pool.provisioner)
    return [placements[name] for name in sorted(placements)]
