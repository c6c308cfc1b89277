"""Whether a plan installs the controller of each kind of object it declares (pure; the table is
:mod:`components.core.controllers`).

An install is a Helm release of the pinned chart at the pinned version (a pin covering several charts
of one repository, like Istio's, matches any of them), or release manifests or a kustomize target
whose address names the pinned source and version. A setting is read from the Helm values of the
releases of that chart, or from the configuration values of the EKS add-on of that name.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from components.core.controllers import Controller, controllers_for
from components.core.versions import Pinned

from .document import Resource
from .tokens import ADDON, HELM_RELEASE

URL_INSTALLS = ("kubernetes:yaml/v2:ConfigFile", "kubernetes:kustomize/v2:Directory")
#: Kubernetes resource types that are not objects of a kind (installs, patches, providers).
_NOT_OBJECTS = ("kubernetes:helm.sh/", "kubernetes:yaml/", "kubernetes:kustomize/")


def _inputs(resource: Resource) -> dict[str, Any]:
    inputs = resource.get("inputs")
    return inputs if isinstance(inputs, dict) else {}


def chart_name(inputs: dict[str, Any]) -> str:
    """The chart of a Helm release's inputs (``oci://.../kserve-resources`` -> ``kserve-resources``)."""
    chart = inputs.get("chart")
    return chart.rstrip("/").rsplit("/", 1)[-1] if isinstance(chart, str) else ""


def installed(resources: Iterable[Resource], pinned: Pinned) -> bool:
    for resource in resources:
        inputs = _inputs(resource)
        if resource["type"] == HELM_RELEASE and inputs.get("version") == pinned.version:
            options = inputs.get("repositoryOpts")
            repository = options.get("repo") if isinstance(options, dict) else None
            if chart_name(inputs) == pinned.name or repository == pinned.source:
                return True
        elif resource["type"] in URL_INSTALLS:
            target = inputs.get("file") or inputs.get("directory")
            if isinstance(target, str) and target.startswith(pinned.source) and pinned.version in target:
                return True
    return False


def _settings_sources(resources: Iterable[Resource], install: str) -> list[Any]:
    found: list[Any] = []
    for resource in resources:
        inputs = _inputs(resource)
        if resource["type"] == HELM_RELEASE and chart_name(inputs) == install:
            found.append(inputs.get("values") or {})
        elif resource["type"] == ADDON and inputs.get("addonName") == install:
            raw = inputs.get("configurationValues")
            try:
                found.append(json.loads(raw) if isinstance(raw, str) and raw else {})
            except ValueError:
                found.append({})
    return found


def has_setting(values: Any, path: tuple[str, ...], wanted: Any) -> bool:
    for key in path:
        if not isinstance(values, dict) or key not in values:
            return False
        values = values[key]
    if isinstance(values, list) and isinstance(wanted, dict):
        return any(isinstance(v, dict) and all(v.get(k) == w for k, w in wanted.items()) for v in values)
    return values == wanted


def controller_problem(resources: list[Resource], controller: Controller) -> str | None:
    """What the plan lacks for ``controller`` to act (None: it installs all of it)."""
    missing = [f"{p.name} {p.version}" for p in controller.installs if not installed(resources, p)]
    unset = [f"{install} {'.'.join(path)}={wanted}" for install, path, wanted in controller.settings
             if not any(has_setting(v, path, wanted) for v in _settings_sources(resources, install))]
    parts = [f"not installed: {', '.join(missing)}"] if missing else []
    parts += [f"not set: {', '.join(unset)}"] if unset else []
    return "; ".join(parts) or None


def object_kind(resource: Resource) -> tuple[str, str] | None:
    """(apiVersion, kind) of a Kubernetes object resource (``kubernetes:apps/v1:DaemonSet`` -> ``apps/v1``,
    ``DaemonSet``); None for installs (Helm, yaml, kustomize), providers and non-Kubernetes resources."""
    type_ = resource["type"]
    if not isinstance(type_, str) or type_.count(":") != 2 or not type_.startswith("kubernetes:") or type_.startswith(_NOT_OBJECTS) or type_.endswith("Patch"):
        return None
    _, api, kind = type_.split(":", 2)
    group, _, version = api.rpartition("/")
    return (version if group == "core" else api), kind


def choose(resources: list[Resource], api_version: str, kind: str) -> tuple[Controller | None, str | None]:
    """(the first controller of this kind the plan installs, None) or (None, why none acts on it)."""
    candidates = controllers_for(api_version, kind)
    if not candidates:
        return None, f"{api_version} {kind} has no controller servestack knows (components.core.controllers)"
    problems = []
    for controller in candidates:
        problem = controller_problem(resources, controller)
        if problem is None:
            return controller, None
        problems.append(f"{controller.name}: {problem}")
    return None, " | ".join(problems)
