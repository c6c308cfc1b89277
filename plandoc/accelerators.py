"""What in a plan means "an accelerator": extended resource names and device plugins.

Derived from the accelerator catalog (:mod:`components.core.catalog`), so a reader of a plan knows
exactly the kinds, resources and plugins of the program that wrote it; a new kind in the
catalog needs nothing here.
"""

from __future__ import annotations

from collections.abc import Iterable

from components.core import catalog
from components.core.catalog import AcceleratorKind

def catalog_resources() -> dict[str, AcceleratorKind]:
    """Every extended resource a catalog kind's device plugin advertises -> that kind."""
    return {name: accelerator.kind for accelerator in catalog.ACCELERATORS.values() for name in accelerator.resource_names}


def declared_plugin_kinds() -> frozenset[AcceleratorKind]:
    """Kinds whose device plugin the stack declares, with a resource name of the stack's choosing."""
    return frozenset(accelerator.kind for accelerator in catalog.ACCELERATORS.values()
                     if accelerator.plugin is not None and accelerator.plugin.declared_by_stack)


def declared_resource(kind: AcceleratorKind, taint_keys: Iterable[str]) -> str | None:
    """The extended resource of a pool of ``kind``: the catalog's, unless the stack declares the
    plugin and with it another name, which the pool's taint key then carries (no other kind's)."""
    default = catalog.ACCELERATORS[kind].resource_name
    if kind not in declared_plugin_kinds():
        return default
    resources = catalog_resources()
    return next((key for key in taint_keys if resources.get(key, kind) == kind), default)


def plugin_kind(name: str) -> AcceleratorKind | None:
    """The kind of device plugin a release, chart or DaemonSet name stands for: one that contains
    the name or chart name of a catalog kind's plugin (``servestack-nvidia-device-plugin``)."""
    last = name.rstrip("/").rsplit("/", 1)[-1]
    for accelerator in catalog.ACCELERATORS.values():
        if accelerator.plugin is not None and any(known in last for known in accelerator.plugin.chart_names):
            return accelerator.kind
    return None
