"""The project's derived copies of upstream data (tests/conformance/data and the runtime data),
with the lookups the conformance checks need. Nothing here reads the upstream reference folder
itself."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "data"


@cache
def _read(relpath: str) -> dict[str, Any]:
    path = DATA / relpath
    if not path.exists():
        raise KeyError(f"no conformance data {relpath} (regenerate with tools/vendor_upstream.py); "
                       f"have: {', '.join(sorted(str(p.relative_to(DATA)) for p in DATA.rglob('*.json')))}")
    return json.loads(path.read_text(encoding="utf-8"))


def provenance(relpath: str) -> dict[str, Any]:
    return _read(relpath)["provenance"]


def _expand(node: Any, defs: dict[str, Any], memo: dict[str, Any]) -> Any:
    """Resolve the tool's ``{"$ref": "#/$defs/<digest>"}`` sharing (the CRD as upstream wrote it)."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if ref is not None and len(node) == 1:
            key = ref.removeprefix("#/$defs/")
            if key not in memo:
                memo[key] = _expand(defs[key], defs, memo)
            return memo[key]
        return {k: _expand(v, defs, memo) for k, v in node.items()}
    if isinstance(node, list):
        return [_expand(v, defs, memo) for v in node]
    return node


@cache
def crd_set(name: str) -> dict[str, dict[str, Any]]:
    """``crds/<name>.json`` as kind -> CustomResourceDefinition (descriptions stripped)."""
    data = _read(f"crds/{name}.json")
    memo: dict[str, Any] = {}
    return {kind: _expand(crd, data["$defs"], memo) for kind, crd in data["crds"].items()}


def crd(name: str, kind: str) -> dict[str, Any]:
    crds = crd_set(name)
    if kind not in crds:
        raise KeyError(f"{name} has no CRD of kind {kind}; kinds: {', '.join(sorted(crds))}")
    return crds[kind]


def crd_version_schema(crd_: dict[str, Any], version: str) -> dict[str, Any] | None:
    """The openAPIV3Schema of a served version, None when the CRD does not serve it."""
    for entry in crd_["spec"]["versions"]:
        if entry["name"] == version and entry["served"]:
            return entry["schema"]["openAPIV3Schema"]
    return None


def kserve_crds(version: str) -> str:
    """The crd set name of a KServe version (``v0.20.0`` -> ``kserve-v0.20.0``)."""
    return f"kserve-{version}"


def gateway_api_crds(envoy_gateway_version: str) -> str:
    return f"gateway-api-envoy-gateway-{envoy_gateway_version}"


def chart_values(chart: str, version: str) -> dict[str, Any]:
    """The key tree of a chart's values.yaml (leaves are type names; ``{}`` takes any keys)."""
    return _read(f"charts/{chart}-{version}.json")["values"]


def chart_aliases(chart: str, version: str) -> dict[str, str]:
    """Top-level keys the chart's templates merge elsewhere (istiod: ``pilot`` -> the top level)."""
    return _read(f"charts/{chart}-{version}.json").get("aliases", {})


def unaliased(path: tuple[str, ...], aliases: dict[str, str]) -> tuple[str, ...]:
    if path and path[0] in aliases:
        target = tuple(p for p in aliases[path[0]].split(".") if p)
        return (*target, *path[1:])
    return path


def chart_values_file(chart: str, version: str) -> str:
    return f"charts/{chart}-{version}.json"


def kubeflow_targets(ref: str) -> frozenset[str]:
    return frozenset(_read(f"kubeflow-manifests-{ref}-kustomize-targets.json")["kustomizeTargets"])


def knative_feature_defaults(ref: str) -> dict[str, str]:
    return _read(f"knative-serving-{ref}-features.json")["defaults"]


def kserve_isvc_config(version: str) -> dict[str, Any]:
    return _read(f"kserve-{version}-inferenceservice-config.json")


def value_paths(values: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    """Every leaf (path, value) a values mapping sets; an empty map is a leaf."""
    if not isinstance(values, dict) or (not values and path):
        return [(path, values)]
    return [leaf for key, value in sorted(values.items()) for leaf in value_paths(value, (*path, str(key)))]


def value_path_problem(inventory: Any, path: tuple[str, ...], value: Any) -> str | None:
    """Why the chart's values have no ``path`` (None when they have it).

    Below an empty map (``nodeSelector: {}``) or a ``null`` the chart takes any keys, so the walk
    stops there; a map where the chart has a scalar (or the reverse) is a mismatch.
    """
    node = inventory
    for depth, key in enumerate(path):
        if node == {} or node == "null":
            return None
        if not isinstance(node, dict):
            return f"{'.'.join(path[:depth])} is a {node} in the chart, not a map"
        if key not in node:
            known = ", ".join(sorted(node)) or "none"
            return f"the chart has no key {key!r} under {'.'.join(path[:depth]) or 'the top level'} (keys there: {known})"
        node = node[key]
    if isinstance(node, dict) and node and not isinstance(value, dict):
        return f"{'.'.join(path)} is a map in the chart (keys {', '.join(sorted(node))}), set here to {value!r}"
    return None
