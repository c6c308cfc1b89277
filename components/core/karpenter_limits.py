"""How much a Karpenter pool may launch in all: its NodePool's ``limits``, from the catalog. Pure.

``maxSize`` nodes of the largest instance type of the pool (per dimension: vCPUs, memory, devices),
so spend is bounded and ``maxSize`` nodes of any of its types fit. Shared by the NodePool rendering
(:mod:`components.render.karpenter_objects`) and the config checks of endpoints on Karpenter pools.
"""

from __future__ import annotations

from collections.abc import Sequence

from . import catalog


def limits(instance_types: Sequence[str], max_size: int, resource_name: str | None) -> dict[str, int]:
    """``{"cpu": vCPUs, "memory": MiB, <resource>: devices}``: what the NodePool may hold at most."""
    specs = [catalog.lookup(t) for t in instance_types]
    found = {"cpu": max_size * max(s.vcpus for s in specs), "memory": max_size * max(s.memory_mib for s in specs)}
    # Only resources Karpenter knows from the instance type bound launches (catalog: karpenter_counts);
    # cpu and memory bound the rest (a resource only the stack's own plugin advertises).
    if resource_name in catalog.karpenter_counted_resources():
        found[resource_name] = max_size * max(s.accelerators for s in specs)
    return found


def rendered(values: dict[str, int]) -> dict[str, str]:
    """The limits as NodePool quantities (memory in ``Mi``), sorted by resource."""
    return {k: (f"{v}Mi" if k == "memory" else str(v)) for k, v in sorted(values.items())}
