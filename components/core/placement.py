"""Where pods of a node pool may run: the pure contract between node pools and endpoints.

A :class:`PoolPlacement` is derived once from a pool's config and the accelerator catalog.
The node group is created with its labels and taints; the device plugin tolerates exactly
its taints; an endpoint placed on the pool gets its node selector, tolerations and
accelerator limits from it. A platform stack exports its placements so that serving stacks
that reference its cluster place endpoints the same way (:meth:`to_output`/:meth:`from_output`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import catalog
from .catalog import AcceleratorKind

# Kubernetes taint effect -> the EKS API's spelling of it.
EKS_TAINT_EFFECTS = {"NoSchedule": "NO_SCHEDULE", "NoExecute": "NO_EXECUTE", "PreferNoSchedule": "PREFER_NO_SCHEDULE"}


@dataclass(frozen=True)
class Taint:
    key: str
    value: str
    effect: str = "NoSchedule"
    """Kubernetes spelling: NoSchedule, NoExecute or PreferNoSchedule."""

    @property
    def eks_effect(self) -> str:
        return EKS_TAINT_EFFECTS[self.effect]

    def toleration(self) -> dict[str, str]:
        """The Kubernetes toleration that tolerates exactly this taint."""
        return {"key": self.key, "operator": "Equal", "value": self.value, "effect": self.effect}


@dataclass(frozen=True)
class PoolPlacement:
    name: str
    kind: AcceleratorKind
    resource_name: str | None
    """Extended resource of the pool's accelerator (``nvidia.com/gpu``); None for CPU pools."""
    accelerators_per_node: int
    """Fewest accelerators any node of the pool has (the pool may mix sizes)."""
    labels: dict[str, str]
    taints: tuple[Taint, ...]
    max_size: int
    instance_types: tuple[str, ...]

    @property
    def has_accelerator(self) -> bool:
        return self.kind != AcceleratorKind.NONE

    def node_selector(self) -> dict[str, str]:
        return {catalog.POOL_LABEL: self.name}

    def tolerations(self) -> list[dict[str, str]]:
        return [t.toleration() for t in self.taints]

    def pod_spec_fields(self) -> dict[str, Any]:
        """The pod-spec fields that place a workload on this pool: ``nodeSelector`` always,
        ``tolerations`` when the pool is tainted. Endpoints render exactly these, and the platform
        turns on exactly the Knative ``kubernetes.podspec-*`` features they need."""
        fields: dict[str, Any] = {"nodeSelector": self.node_selector()}
        if self.taints:
            fields["tolerations"] = self.tolerations()
        return fields

    def to_output(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind.value,
            "resourceName": self.resource_name,
            "acceleratorsPerNode": self.accelerators_per_node,
            "labels": dict(sorted(self.labels.items())),
            "taints": [{"key": t.key, "value": t.value, "effect": t.effect} for t in self.taints],
            "maxSize": self.max_size,
            "instanceTypes": list(self.instance_types),
        }

    @classmethod
    def from_output(cls, value: dict[str, Any]) -> "PoolPlacement":
        return cls(
            name=value["name"],
            kind=catalog.kind_named(value["kind"]),
            resource_name=value.get("resourceName"),
            accelerators_per_node=int(value["acceleratorsPerNode"]),
            labels=dict(value["labels"]),
            taints=tuple(Taint(t["key"], t["value"], t["effect"]) for t in value["taints"]),
            max_size=int(value["maxSize"]),
            instance_types=tuple(value["instanceTypes"]),
        )


def placement_for(name: str, instance_types: list[str], max_size: int, *, resource_name: str | None = None,
                  extra_labels: dict[str, str] | None = None) -> PoolPlacement:
    """The placement of a pool of these instance types (which must all be in the catalog, one kind).

    ``resource_name`` overrides the catalog's extended resource (the FPGA plugin's is declared
    by the stack).
    """
    specs = [catalog.lookup(t) for t in instance_types]
    accelerator = specs[0].accelerator
    resource = resource_name or accelerator.resource_name
    labels = {**(extra_labels or {}), catalog.POOL_LABEL: name, **accelerator.node_labels()}
    taints = (Taint(resource, "true", "NoSchedule"),) if resource else ()
    return PoolPlacement(
        name=name,
        kind=accelerator.kind,
        resource_name=resource,
        accelerators_per_node=min(s.accelerators for s in specs),
        labels=labels,
        taints=taints,
        max_size=max_size,
        instance_types=tuple(instance_types),
    )
