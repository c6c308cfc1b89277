"""Subnets as a plan declares them, and which of them are public: what node groups run in.

A subnet is public when it gives instances a public address at launch (``mapPublicIpOnLaunch``),
when its route table sends traffic to an internet gateway, or when the stack config lists it among
an existing network's ``publicSubnetIds``. A node group names its subnets by id; in servestack's
offline plan and a real preview alike, ``propertyDependencies.subnetIds`` names the subnet
resources those ids come from (a new subnet's id is unknown in a real preview), and route table
associations tie a subnet's id to its resource.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .document import Resource, of_type
from .tokens import INTERNET_GATEWAY, NODE_GROUP, ROUTE_TABLE, ROUTE_TABLE_ASSOCIATION, SUBNET
from .values import decode_json, dig, is_unknown, items, mapping, name_of, truthy


@dataclass(frozen=True)
class Subnet:
    ref: str
    """The subnet's URN, or its id when the plan declares no resource for it."""
    public_because: tuple[str, ...]
    """Why it is public (empty: private as far as the plan says)."""

    @property
    def name(self) -> str:
        return name_of(self.ref) if self.ref.startswith("urn:") else self.ref


def _property_urns(resource: Resource, key: str) -> list[str]:
    return list(mapping(resource.get("propertyDependencies")).get(key) or [])


def _internet_routes(table: Resource, gateways: set[str]) -> list[str]:
    """The destinations a route table sends to an internet gateway."""
    found = []
    routes_from_igw = any(u in gateways for u in _property_urns(table, "routes"))
    for route in items(table["inputs"].get("routes")):
        gateway = mapping(route).get("gatewayId")
        if isinstance(gateway, str) and (gateway.startswith("igw-") or (is_unknown(gateway) and routes_from_igw)):
            found.append(str(mapping(route).get("cidrBlock") or mapping(route).get("ipv6CidrBlock") or "?"))
    return found


def subnets(resources: Iterable[Resource], stack_config: Mapping[str, Any] | None = None) -> dict[str, Subnet]:
    """Subnet URN (and id, where the plan knows it) -> the subnet, with why it is public."""
    resources = list(resources)
    gateways = {r["urn"] for r in of_type(resources, INTERNET_GATEWAY)}
    tables = {r["urn"]: r for r in of_type(resources, ROUTE_TABLE)}
    reasons: dict[str, list[str]] = {r["urn"]: [] for r in of_type(resources, SUBNET)}
    ids: dict[str, str] = {}
    for subnet in of_type(resources, SUBNET):
        if truthy(subnet["inputs"].get("mapPublicIpOnLaunch")):
            reasons[subnet["urn"]].append("mapPublicIpOnLaunch is true")
    for association in of_type(resources, ROUTE_TABLE_ASSOCIATION):
        subnet_urns = [u for u in _property_urns(association, "subnetId") if u in reasons]
        subnet_id = association["inputs"].get("subnetId")
        for table_urn in _property_urns(association, "routeTableId"):
            table = tables.get(table_urn)
            routes = _internet_routes(table, gateways) if table else []
            for urn in subnet_urns:
                if routes:
                    reasons[urn].append(f"its route table {name_of(table_urn)} sends {', '.join(routes)} to an internet gateway")
                if isinstance(subnet_id, str) and not is_unknown(subnet_id):
                    ids[subnet_id] = urn
    found = {urn: Subnet(urn, tuple(why)) for urn, why in reasons.items()}
    found.update({subnet_id: found[urn] for subnet_id, urn in ids.items()})
    existing = mapping(dig(decode_json((stack_config or {}).get("servestack:network")) or {}, "existing"))
    for subnet_id in items(existing.get("publicSubnetIds")):
        if isinstance(subnet_id, str) and subnet_id not in found:
            found[subnet_id] = Subnet(subnet_id, ("servestack:network existing.publicSubnetIds lists it",))
    return found


def node_group_subnets(node_group: Resource, known: Mapping[str, Subnet]) -> list[Subnet]:
    """The subnets a node group launches nodes in (those the plan can tell apart)."""
    found: dict[str, Subnet] = {}
    for urn in _property_urns(node_group, "subnetIds"):
        if urn in known:
            found[urn] = known[urn]
    for subnet_id in items(node_group["inputs"].get("subnetIds")):
        if isinstance(subnet_id, str) and subnet_id in known and known[subnet_id].ref not in found:
            found[known[subnet_id].ref] = known[subnet_id]
    return list(found.values())


def node_groups(resources: Iterable[Resource]) -> list[Resource]:
    return of_type(resources, NODE_GROUP)
