"""Device plugins as a plan declares them: Helm releases and charts, or DaemonSets."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from components.core import catalog
from components.core.catalog import AcceleratorKind

from .accelerators import plugin_kind
from .document import Resource, of_type
from .tokens import DAEMON_SET, HELM_CHART, HELM_RELEASE
from .values import dig, items, mapping, name_of


@dataclass(frozen=True)
class DevicePlugin:
    urn: str
    kind: AcceleratorKind
    tolerations: tuple[Mapping[str, Any], ...]


def collect_tolerations(value: Any) -> list[Mapping[str, Any]]:
    """Every toleration under any ``tolerations`` key (chart values nest them differently)."""
    found: list[Mapping[str, Any]] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key == "tolerations" and isinstance(item, list):
                found += [t for t in item if isinstance(t, Mapping)]
            else:
                found += collect_tolerations(item)
    elif isinstance(value, list):
        for item in value:
            found += collect_tolerations(item)
    return found


def device_plugin_of(resource: Resource) -> DevicePlugin | None:
    inputs = resource.get("inputs") or {}
    if resource["type"] in (HELM_RELEASE, HELM_CHART):
        kind = catalog.kind_of_plugin(str(inputs.get("chart") or ""))
        if kind is None:
            return None
        return DevicePlugin(resource["urn"], kind, tuple(collect_tolerations(inputs.get("values") or {})))
    if resource["type"] == DAEMON_SET:
        pod = mapping(dig(inputs, "spec", "template", "spec"))
        selector = mapping(pod.get("nodeSelector"))
        kind_label = selector.get(catalog.ACCELERATOR_LABEL)
        name = str(dig(inputs, "metadata", "name") or name_of(resource["urn"]))
        devices = {k.value for k in catalog.device_kinds()}
        kind = AcceleratorKind(kind_label) if isinstance(kind_label, str) and kind_label in devices else plugin_kind(name)
        if kind is None:
            return None
        return DevicePlugin(resource["urn"], kind, tuple(t for t in items(pod.get("tolerations")) if isinstance(t, Mapping)))
    return None


def device_plugins(resources: Iterable[Resource]) -> list[DevicePlugin]:
    found = (device_plugin_of(r) for r in of_type(resources, HELM_RELEASE, HELM_CHART, DAEMON_SET))
    return [p for p in found if p is not None]
