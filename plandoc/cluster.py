"""The EKS cluster as a plan declares it: Kubernetes version, support type and add-on versions.

Resources first (what ``pulumi up`` sends to AWS), ``servestack:cluster`` in config for what
they leave unknown or do not declare (a plan of an existing cluster has no cluster resource).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .document import PlanDoc, of_type
from .tokens import ADDON, CLUSTER
from .values import decode_json, dig, is_known, name_of


@dataclass(frozen=True)
class Addon:
    name: str
    version: str | None
    source: str
    """Where it was found: ``resource coredns`` or ``config servestack:cluster.addons.coredns``."""


@dataclass(frozen=True)
class ClusterVersions:
    kubernetes_version: str | None
    support_type: str | None
    addons: list[Addon]
    """By name."""


def _addons_from_config(cluster: Mapping[str, Any]) -> Iterator[Addon]:
    addons = cluster.get("addons")
    if isinstance(addons, dict):
        entries = list(addons.items())
    elif isinstance(addons, list):
        entries = [(a.get("name") or a.get("addonName"), a) for a in addons if isinstance(a, dict)]
    else:
        return
    for name, value in entries:
        version = value if isinstance(value, str) else (value.get("version") or value.get("addonVersion")) if isinstance(value, dict) else None
        if name:
            yield Addon(str(name), version if is_known(version) else None, f"config servestack:cluster.addons.{name}")


def cluster_versions(plan: PlanDoc) -> ClusterVersions:
    cluster_config = decode_json(plan.config.get("servestack:cluster"))
    cluster_config = cluster_config if isinstance(cluster_config, dict) else {}
    version = support = None
    for cluster in of_type(plan.resources.values(), CLUSTER):
        inputs = cluster["inputs"]
        version = inputs.get("version") if is_known(inputs.get("version")) else None
        support = dig(inputs, "upgradePolicy", "supportType")
    version = version or cluster_config.get("kubernetesVersion")
    support = support if is_known(support) else cluster_config.get("supportType")

    addons: dict[str, Addon] = {}
    for addon in of_type(plan.resources.values(), ADDON):
        inputs = addon["inputs"]
        name = inputs.get("addonName")
        if is_known(name):
            v = inputs.get("addonVersion")
            addons[name] = Addon(name, v if is_known(v) else None, f"resource {name_of(addon['urn'])}")
    for addon in _addons_from_config(cluster_config):
        addons.setdefault(addon.name, addon)
    return ClusterVersions(str(version) if is_known(version) else None, support, [addons[n] for n in sorted(addons)])
