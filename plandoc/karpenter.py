"""Karpenter pools as a plan declares them: a ``NodePool`` (what may launch, up to its limits)
and the ``EC2NodeClass`` it references (AMI, metadata options, volumes).

A Karpenter pool has no size: it starts at 0 nodes and Karpenter launches nodes while the
NodePool's ``spec.limits`` (cpu, memory, an accelerator resource) leave room. Readers get such
a pool as a :class:`plandoc.pools.Pool` with ``min_size`` 0 and ``max_size`` the most nodes the
limits allow (:func:`node_ceiling`); a NodePool without limits is unbounded (``max_size`` None
in :attr:`KarpenterPool.max_nodes`), which the policy pack refuses.

Read defensively, as every plan reader: values of the wrong type count as left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from components.core import catalog

from .document import Resource, of_type
from .tokens import EC2_NODE_CLASS, NODE_POOL
from .values import dig, items, mapping, name_of

INSTANCE_TYPE_KEY = "node.kubernetes.io/instance-type"
CAPACITY_TYPE_KEY = "karpenter.sh/capacity-type"
ZONE_KEY = "topology.kubernetes.io/zone"

#: Karpenter's capacity types in the EKS API's spelling (what Pool.capacity_type and prices use).
CAPACITY_TYPES = {"on-demand": "ON_DEMAND", "spot": "SPOT", "reserved": "CAPACITY_BLOCK"}

_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)([KMGTPE]i|[numkMGTPE])?$")
_SUFFIX = {None: Decimal(1), "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"),
           "k": Decimal(10**3), "M": Decimal(10**6), "G": Decimal(10**9), "T": Decimal(10**12),
           "P": Decimal(10**15), "E": Decimal(10**18), "Ki": Decimal(2**10), "Mi": Decimal(2**20),
           "Gi": Decimal(2**30), "Ti": Decimal(2**40), "Pi": Decimal(2**50), "Ei": Decimal(2**60)}


def quantity(value: Any) -> Decimal | None:
    """A Kubernetes quantity (``16``, ``500m``, ``64Gi``) as a number; None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return Decimal(str(value))
    match = _QUANTITY.match(value) if isinstance(value, str) else None
    if not match:
        return None
    try:
        return Decimal(match.group(1)) * _SUFFIX[match.group(2)]
    except InvalidOperation:
        return None


def node_resources(instance_type: catalog.InstanceType) -> dict[str, Decimal]:
    """What one node of the type brings against a NodePool's limits (Karpenter counts capacity)."""
    found = {"cpu": Decimal(instance_type.vcpus), "memory": Decimal(instance_type.memory_mib) * 2**20}
    for resource in instance_type.accelerator.resource_names:
        found[resource] = Decimal(instance_type.accelerators)
    return found


def _requirement_values(requirements: list[Any], key: str) -> tuple[str, ...]:
    for requirement in requirements:
        requirement = mapping(requirement)
        if requirement.get("key") == key and requirement.get("operator") == "In":
            return tuple(str(v) for v in items(requirement.get("values")))
    return ()


@dataclass(frozen=True)
class KarpenterPool:
    urn: str
    name: str
    """The pool label (``servestack.io/pool``) of the nodes it launches, else the NodePool's name."""
    node_pool: str
    """The NodePool's ``metadata.name``."""
    node_class: str
    """The ``spec.template.spec.nodeClassRef.name`` it launches with."""
    instance_types: tuple[str, ...]
    capacity_types: tuple[str, ...]
    """Karpenter's spelling (``on-demand``, ``spot``, ``reserved``); empty: Karpenter's default (on-demand)."""
    zones: tuple[str, ...]
    limits: Mapping[str, Decimal]
    """``spec.limits`` parsed; unparseable values left out."""
    raw_limits: Mapping[str, Any]
    labels: Mapping[str, str]
    taints: tuple[Mapping[str, Any], ...]

    @property
    def capacity_type(self) -> str:
        """One EKS-spelled market for readers that price or count quotas: spot wins (Karpenter
        prefers it when both are allowed), then reserved, else on-demand."""
        for karpenter, eks in (("spot", "SPOT"), ("reserved", "CAPACITY_BLOCK")):
            if karpenter in self.capacity_types:
                return eks
        return "ON_DEMAND"

    @property
    def specs(self) -> list[catalog.InstanceType]:
        found = []
        for instance_type in self.instance_types:
            try:
                found.append(catalog.lookup(instance_type))
            except catalog.CatalogError:
                pass
        return found

    @property
    def max_nodes(self) -> int | None:
        """The most nodes the limits allow; None when nothing bounds them (no limits, or none known)."""
        return node_ceiling(self.specs, self.limits)

    def limit(self, resource: str) -> Decimal | None:
        return self.limits.get(resource)


def node_ceiling(specs: Iterable[catalog.InstanceType], limits: Mapping[str, Decimal]) -> int | None:
    """How many nodes fit under ``limits`` at most: per limited resource, the limit divided by the
    smallest amount of it on one node of any type (every node brings at least that much); the
    tightest resource wins. None when no limit applies to the types' resources."""
    specs = list(specs)
    ceiling: int | None = None
    for resource, limit in limits.items():
        amounts = [node_resources(s).get(resource) for s in specs]
        smallest = min((a for a in amounts if a), default=None)
        if smallest is None or len(amounts) != len([a for a in amounts if a]):
            continue  # some type brings none of it: the limit does not bound the node count
        nodes = int(limit // smallest) if limit >= 0 else 0
        ceiling = nodes if ceiling is None else min(ceiling, nodes)
    return ceiling


def accelerator_ceiling(specs: Iterable[catalog.InstanceType], limits: Mapping[str, Decimal], resource: str | None) -> int | None:
    """The most ``resource`` devices a fleet of one of the types reaches under ``limits`` (the
    tightest limit decides how many nodes of a type fit); None when some type is bounded by no
    limit at all. Exact for a pool of one instance type."""
    specs = list(specs)
    if not specs:  # types unknown or outside the catalog: only the resource's own limit says anything
        limit = limits.get(resource or "")
        return int(limit) if limit is not None else None
    best = 0
    for spec in specs:
        brings = node_resources(spec)
        if not resource or not brings.get(resource):
            continue
        counts = [int(limit // brings[r]) for r, limit in limits.items() if brings.get(r)]
        if not counts:
            return None
        best = max(best, max(min(counts), 0) * int(brings[resource]))
    return best


def karpenter_pool_of(resource: Resource) -> KarpenterPool:
    inputs = resource.get("inputs") or {}
    spec = mapping(inputs.get("spec"))
    template = mapping(spec.get("template"))
    labels = {str(k): str(v) for k, v in mapping(dig(template, "metadata", "labels")).items()}
    node_spec = mapping(template.get("spec"))
    requirements = items(node_spec.get("requirements"))
    raw_limits = dict(mapping(spec.get("limits")))
    limits = {str(k): q for k, v in raw_limits.items() if (q := quantity(v)) is not None}
    metadata_name = dig(inputs, "metadata", "name")
    node_pool = metadata_name if isinstance(metadata_name, str) else name_of(resource["urn"])
    class_name = dig(node_spec, "nodeClassRef", "name")
    return KarpenterPool(
        urn=resource["urn"],
        name=labels.get(catalog.POOL_LABEL) or node_pool,
        node_pool=node_pool,
        node_class=class_name if isinstance(class_name, str) else "",
        instance_types=_requirement_values(requirements, INSTANCE_TYPE_KEY),
        capacity_types=_requirement_values(requirements, CAPACITY_TYPE_KEY),
        zones=_requirement_values(requirements, ZONE_KEY),
        limits=limits,
        raw_limits=raw_limits,
        labels=labels,
        taints=tuple(t for t in items(node_spec.get("taints")) if isinstance(t, Mapping)),
    )


def karpenter_pools(resources: Iterable[Resource]) -> list[KarpenterPool]:
    """Every NodePool of the plan, by pool name."""
    return sorted((karpenter_pool_of(r) for r in of_type(resources, NODE_POOL)), key=lambda p: p.name)


def node_classes(resources: Iterable[Resource]) -> dict[str, Resource]:
    """EC2NodeClasses by ``metadata.name`` (the name a NodePool's nodeClassRef uses)."""
    found = {}
    for resource in of_type(resources, EC2_NODE_CLASS):
        name = dig(resource.get("inputs") or {}, "metadata", "name")
        found[name if isinstance(name, str) else name_of(resource["urn"])] = resource
    return found


def pool_of_node_class(resources: Iterable[Resource], node_class: Resource) -> str:
    """The pool whose NodePool launches with this EC2NodeClass (else the class's own name)."""
    resources = list(resources)
    name = dig(node_class.get("inputs") or {}, "metadata", "name")
    name = name if isinstance(name, str) else name_of(node_class["urn"])
    return next((p.name for p in karpenter_pools(resources) if p.node_class == name), name)
