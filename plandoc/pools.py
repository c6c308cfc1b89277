"""Node pools as a plan declares them: EKS node groups, Karpenter NodePools, or
``servestack:nodePools`` before them.

A pool's accelerator comes from the catalog entry of its instance types (the node label
servestack sets when they are unknown or outside the catalog); its size and market from the
node group's inputs, else from config with the config's own defaults. A Karpenter pool
(:mod:`.karpenter`) has min size 0 and, as max size, the most nodes its NodePool's limits allow;
its accelerator capacity is the NodePool's limit of the accelerator resource when it sets one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from components.core import catalog
from components.core.catalog import AcceleratorKind
from components.core.pools import (
    CAPACITY_TYPES, DEFAULT_CAPACITY_TYPE, DEFAULT_MAX_SIZE, DEFAULT_MIN_SIZE, PROVISIONERS, default_provisioner,
)

from .accelerators import catalog_resources, declared_resource
from .document import Resource, of_type
from .karpenter import KarpenterPool, accelerator_ceiling, karpenter_pools, node_resources
from .tokens import NODE_GROUP, STACK
from .values import decode_json, items, mapping, name_of, whole_number


@dataclass(frozen=True)
class Pool:
    urn: str
    name: str
    instance_types: tuple[str, ...]
    min_size: int
    max_size: int
    kind: AcceleratorKind
    resource_name: str | None
    accelerators_per_node: int
    """Fewest accelerators of any instance type of the pool (what every node is sure to have)."""
    taints: tuple[Mapping[str, Any], ...]
    labels: Mapping[str, str]
    capacity_type: str = "ON_DEMAND"
    """``ON_DEMAND``, ``SPOT`` or ``CAPACITY_BLOCK`` (EKS's capacityType)."""
    provisioner: str = "managed"
    """``managed`` (an EKS node group) or ``karpenter`` (a NodePool and its EC2NodeClass)."""
    limits: tuple[tuple[str, str], ...] = ()
    """A Karpenter pool's ``spec.limits`` as written, sorted."""
    limit_values: tuple[tuple[str, Decimal], ...] = ()
    """A Karpenter pool's ``spec.limits`` parsed (:func:`.karpenter.quantity`); what the capacity model launches under."""
    limit_capacity: int | None = None
    """A Karpenter pool's accelerators at its limits (:func:`.karpenter.accelerator_ceiling`); None: unbounded."""
    platform_stack: str = ""
    """The platform stack that owns the pool when the plan only references it (a serving stack's
    ``clusterNodePools``); empty for a pool of the plan's own."""

    @property
    def has_accelerator(self) -> bool:
        return self.kind != AcceleratorKind.NONE

    @property
    def is_karpenter(self) -> bool:
        return self.provisioner == "karpenter"

    @property
    def owner_text(self) -> str:
        """`` of platform stack dev`` for a referenced pool, for messages; empty for the plan's own."""
        return f" of platform stack {self.platform_stack}" if self.platform_stack else ""

    @property
    def capacity(self) -> int | None:
        """Accelerators the pool offers at most; None when nothing bounds them (a NodePool without limits)."""
        return self.limit_capacity if self.is_karpenter else self.max_size * self.accelerators_per_node

    @property
    def offer_text(self) -> str:
        """What the pool offers, for capacity messages: ``3 at its NodePool limits ...`` or ``8 (maxSize 2 x 4 per node)``."""
        if self.is_karpenter:
            return f"{self.capacity} at its {self.size_text}"
        return f"{self.capacity} (maxSize {self.max_size} x {self.accelerators_per_node} per node)"

    @property
    def size_text(self) -> str:
        """How the pool's size is bounded, for messages: ``maxSize 2`` or ``NodePool limits cpu=8, nvidia.com/gpu=2``."""
        if not self.is_karpenter:
            return f"maxSize {self.max_size}"
        return "NodePool limits " + (", ".join(f"{k}={v}" for k, v in self.limits) or "none")


def catalog_entries(instance_types: Iterable[str]) -> list[catalog.InstanceType]:
    """The catalog entries of those instance types the catalog knows."""
    found = []
    for instance_type in instance_types:
        try:
            found.append(catalog.lookup(instance_type))
        except catalog.CatalogError:
            pass
    return found


def pool_of(resource: Resource) -> Pool:
    inputs = resource.get("inputs") or {}
    labels = {k: str(v) for k, v in mapping(inputs.get("labels")).items()}
    instance_types = tuple(t for t in items(inputs.get("instanceTypes")) if isinstance(t, str))
    specs = catalog_entries(instance_types)
    if specs:
        kind = specs[0].kind
    else:  # instance types unknown or outside the catalog: trust the node label servestack sets
        label = labels.get(catalog.ACCELERATOR_LABEL)
        kind = AcceleratorKind(label) if label in catalog.ACCELERATORS else AcceleratorKind.NONE
    taints = tuple(t for t in items(inputs.get("taints")) if isinstance(t, Mapping))
    resource_name = declared_resource(kind, (t["key"] for t in taints if isinstance(t.get("key"), str)))
    scaling = mapping(inputs.get("scalingConfig"))
    return Pool(
        urn=resource["urn"],
        name=labels.get(catalog.POOL_LABEL) or str(inputs.get("nodeGroupName") or name_of(resource["urn"])),
        instance_types=instance_types,
        min_size=whole_number(scaling.get("minSize")),
        max_size=whole_number(scaling.get("maxSize")),
        kind=kind,
        resource_name=resource_name,
        accelerators_per_node=min((s.accelerators for s in specs), default=0),
        taints=taints,
        labels=labels,
        capacity_type=str(inputs.get("capacityType") or "ON_DEMAND"),
    )


def pool_of_karpenter(pool: KarpenterPool) -> Pool:
    specs = pool.specs
    if specs:
        kind = specs[0].kind
    else:
        label = pool.labels.get(catalog.ACCELERATOR_LABEL)
        kind = AcceleratorKind(label) if label in catalog.ACCELERATORS else AcceleratorKind.NONE
    resource_name = declared_resource(kind, (t["key"] for t in pool.taints if isinstance(t.get("key"), str)))
    max_nodes = pool.max_nodes
    return Pool(
        urn=pool.urn,
        name=pool.name,
        instance_types=pool.instance_types,
        min_size=0,
        max_size=max_nodes or 0,
        kind=kind,
        resource_name=resource_name,
        accelerators_per_node=min((s.accelerators for s in specs), default=0),
        taints=pool.taints,
        labels=pool.labels,
        capacity_type=pool.capacity_type,
        provisioner="karpenter",
        limits=tuple(sorted((str(k), str(v)) for k, v in pool.raw_limits.items())),
        limit_values=tuple(sorted(pool.limits.items())),
        limit_capacity=accelerator_ceiling(specs, pool.limits, resource_name) if kind != AcceleratorKind.NONE else 0,
    )


def pools(resources: Iterable[Resource]) -> list[Pool]:
    """Every pool of the plan, node groups and Karpenter NodePools, by name."""
    resources = list(resources)
    found = [pool_of(r) for r in of_type(resources, NODE_GROUP)]
    found += [pool_of_karpenter(p) for p in karpenter_pools(resources)]
    return sorted(found, key=lambda p: p.name)


def referenced_pool(urn: str, stack: str, value: Mapping[str, Any]) -> Pool | None:
    """A pool of a serving stack's ``clusterNodePools`` output (``PoolPlacement.to_output``); None when malformed.

    The output says what placement needs (labels, taints, accelerator, instance types, max size), not how the
    platform provisions the pool: capacity is counted as maxSize x accelerators per node.
    """
    try:
        kind = catalog.kind_named(value["kind"])
        instance_types = tuple(str(t) for t in items(value.get("instanceTypes")))
        return Pool(
            urn=urn, name=str(value["name"]), instance_types=instance_types, min_size=0,
            max_size=whole_number(value.get("maxSize")), kind=kind,
            resource_name=value.get("resourceName") if isinstance(value.get("resourceName"), str) else None,
            accelerators_per_node=whole_number(value.get("acceleratorsPerNode")),
            taints=tuple(t for t in items(value.get("taints")) if isinstance(t, Mapping)),
            labels={str(k): str(v) for k, v in mapping(value.get("labels")).items()},
            platform_stack=stack,
        )
    except (KeyError, TypeError, ValueError):
        return None


def placement_pools(resources: Iterable[Resource]) -> list[Pool]:
    """The pools endpoints of the plan are placed on: its own (:func:`pools`), else, for a serving stack on
    ``cluster.existing``, the platform stack's pools it records as its ``clusterNodePools`` output."""
    resources = list(resources)
    own = pools(resources)
    if own:
        return own
    for stack in of_type(resources, STACK):
        outputs = mapping(stack.get("outputs") if "outputs" in stack else stack.get("inputs"))  # CrossGuard: props as inputs
        platform = outputs.get("clusterStack")
        found = [referenced_pool(stack["urn"], platform if isinstance(platform, str) else "", v)
                 for _, v in sorted(mapping(outputs.get("clusterNodePools")).items()) if isinstance(v, Mapping)]
        return sorted((p for p in found if p is not None), key=lambda p: p.name)
    return []


def accelerator_resources(resources: Iterable[Resource]) -> frozenset[str]:
    """The extended resources that mean an accelerator in a plan: the catalog's, and those its
    pools declare (a stack names the resource of a device plugin it declares)."""
    return frozenset(catalog_resources()) | {p.resource_name for p in pools(resources) if p.has_accelerator and p.resource_name}


# --------------------------------------------------------------------------- pools in config


@dataclass(frozen=True)
class ConfiguredPool:
    """A pool of ``servestack:nodePools`` as far as a reader needs it, the config's defaults filled in.

    Read defensively (a plan may come from anywhere): a value of the wrong type counts as left out.
    """

    name: str
    instance_types: tuple[str, ...]
    min_size: int
    max_size: int
    capacity_type: str
    """In the EKS API's spelling: ``onDemand`` -> ``ON_DEMAND``."""
    provisioner: str = "managed"
    """``karpenter`` or ``managed``: as configured, else Karpenter for accelerator pools (issue 13's default)."""

    @property
    def is_karpenter(self) -> bool:
        return self.provisioner == "karpenter"


def _size(entry: Mapping[str, Any], key: str, default: int) -> int:
    try:
        return int(entry.get(key, default))
    except (TypeError, ValueError):
        return default


def configured_pool(name: str, entry: Mapping[str, Any]) -> ConfiguredPool:
    types = entry.get("instanceTypes")  # anything but a list is ignored: a bare string is not a list of one-letter types
    instance_types = tuple(str(t) for t in types) if isinstance(types, list) else ()
    capacity = str(entry.get("capacityType", DEFAULT_CAPACITY_TYPE))
    provisioner = entry.get("provisioner")
    if provisioner not in PROVISIONERS:
        provisioner = default_provisioner(instance_types) or "managed"
    # as NodePoolConfig resolves them: a Karpenter pool from no nodes to maxSize (its limits are maxSize x
    # the largest type); a managed pool is fixed at minSize unless maxSize says otherwise
    min_size = 0 if provisioner == "karpenter" else _size(entry, "minSize", DEFAULT_MIN_SIZE)
    default_max = DEFAULT_MAX_SIZE if provisioner == "karpenter" else max(min_size, 1)
    return ConfiguredPool(
        name=str(name),
        instance_types=instance_types,
        min_size=min_size,
        max_size=_size(entry, "maxSize", default_max),
        capacity_type=CAPACITY_TYPES.get(capacity, capacity),
        provisioner=provisioner,
    )


def configured_pools(stack_config: Mapping[str, Any]) -> dict[str, ConfiguredPool]:
    """``servestack:nodePools`` by name (entries that are not mappings left out)."""
    entries = decode_json(stack_config.get("servestack:nodePools"))
    if not isinstance(entries, Mapping):
        return {}
    return {str(name): configured_pool(name, entry) for name, entry in sorted(entries.items()) if isinstance(entry, Mapping)}


#: :attr:`plandoc.capacity.PoolCapacity.source` of pools read from ``servestack:nodePools``.
CONFIG_SOURCE = "config"


def configured_as_pools(stack_config: Mapping[str, Any]) -> list[Pool]:
    """``servestack:nodePools`` as :class:`Pool` (for a plan that declares no pools yet): kind and resource from the
    catalog, the pool label servestack sets; a Karpenter pool limited as servestack renders its NodePool (maxSize
    x the largest type's cpu, memory and accelerators)."""
    found = []
    for pool in configured_pools(stack_config).values():
        specs = catalog_entries(pool.instance_types)
        kind = specs[0].kind if specs else AcceleratorKind.NONE
        limits: dict[str, Decimal] = {}
        if pool.is_karpenter and specs:
            for spec in specs:
                for resource, amount in node_resources(spec).items():
                    limits[resource] = max(limits.get(resource, Decimal(0)), amount * pool.max_size)
        found.append(Pool(
            urn=f"config:servestack:nodePools.{pool.name}", name=pool.name, instance_types=pool.instance_types,
            min_size=pool.min_size, max_size=pool.max_size, kind=kind,
            resource_name=catalog.ACCELERATORS[kind].resource_name, taints=(), labels={catalog.POOL_LABEL: pool.name},
            accelerators_per_node=min((s.accelerators for s in specs), default=0), capacity_type=pool.capacity_type,
            provisioner=pool.provisioner, limit_values=tuple(sorted(limits.items()))))
    return found
