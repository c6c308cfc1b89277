"""Validate a custom resource the way the Kubernetes API server does with its CRD's schema.

The API server validates a custom resource against the structural OpenAPI v3 schema of the
CRD's version, after defaulting, with strict field validation refusing unknown fields (the
default of ``kubectl`` and of server-side apply since Kubernetes 1.27; without it they would be
pruned silently, which is no better for a plan that means them). :func:`to_json_schema`
translates that schema to JSON Schema (draft 2020-12) for ``jsonschema``:

- ``properties`` without ``x-kubernetes-preserve-unknown-fields`` -> ``additionalProperties: false``;
- ``x-kubernetes-int-or-string`` -> integer or string; ``nullable`` -> also ``null``;
- a ``required`` field that has a ``default`` is not required (defaulting runs first);
- ``x-kubernetes-embedded-resource`` -> ``apiVersion``, ``kind`` and ``metadata`` allowed;
- ``x-kubernetes-list-type: set`` -> unique items; ``map`` -> unique ``x-kubernetes-list-map-keys``
  tuples (checked in :func:`validate`);
- CEL rules (``x-kubernetes-validations``) are evaluated apart, by :mod:`.cel` (test_conformance_cel.py).

ObjectMeta is validated apart, as the API server does (:func:`metadata_problems`).
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import jsonschema

_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")

_STRUCTURAL_KEYS_DROPPED = {
    "x-kubernetes-preserve-unknown-fields", "x-kubernetes-int-or-string", "x-kubernetes-embedded-resource",
    "x-kubernetes-list-type", "x-kubernetes-list-map-keys", "x-kubernetes-map-type", "x-kubernetes-validations",
    "nullable", "format", "default", "example",
}


def to_json_schema(schema: dict[str, Any], memo: dict[int, dict[str, Any]] | None = None) -> dict[str, Any]:
    """The JSON Schema that accepts what the API server accepts for this structural schema node."""
    memo = {} if memo is None else memo
    if id(schema) in memo:  # shared subtrees translate once
        return memo[id(schema)]
    out: dict[str, Any] = {k: v for k, v in schema.items() if k not in _STRUCTURAL_KEYS_DROPPED
                           and k not in ("properties", "items", "additionalProperties", "allOf", "anyOf", "oneOf",
                                         "not", "required", "type")}
    preserve = schema.get("x-kubernetes-preserve-unknown-fields") is True
    if schema.get("x-kubernetes-int-or-string"):
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    elif "type" in schema:
        out["type"] = [schema["type"], "null"] if schema.get("nullable") else schema["type"]
    if "enum" in schema and schema.get("nullable"):
        out["enum"] = [*schema["enum"], None]
    properties = dict(schema.get("properties") or {})
    if schema.get("x-kubernetes-embedded-resource"):
        properties.setdefault("apiVersion", {"type": "string"})
        properties.setdefault("kind", {"type": "string"})
        properties.setdefault("metadata", {"type": "object", "x-kubernetes-preserve-unknown-fields": True})
    if properties:
        out["properties"] = {name: to_json_schema(sub, memo) for name, sub in properties.items()}
    if "required" in schema:
        required = [name for name in schema["required"] if "default" not in (properties.get(name) or {})]
        if required:
            out["required"] = required
    if "additionalProperties" in schema:
        extra = schema["additionalProperties"]
        out["additionalProperties"] = to_json_schema(extra, memo) if isinstance(extra, dict) else extra
    elif schema.get("type") == "object" and not preserve:
        # Strict field validation: a field the schema does not declare is refused.
        out["additionalProperties"] = False
    if "items" in schema:
        out["items"] = to_json_schema(schema["items"], memo)
        if schema.get("x-kubernetes-list-type") == "set":
            out["uniqueItems"] = True
    for key in ("allOf", "anyOf", "oneOf"):
        if key in schema and not schema.get("x-kubernetes-int-or-string"):
            out[key] = [to_json_schema(sub, memo) for sub in schema[key]]
    if "not" in schema:
        out["not"] = to_json_schema(schema["not"], memo)
    memo[id(schema)] = out
    return out


def _root_schema(schema: dict[str, Any]) -> dict[str, Any]:
    root = to_json_schema(schema)
    # The API server validates ObjectMeta itself (metadata_problems), whatever the CRD declares.
    root = {**root, "properties": {**root.get("properties", {}), "metadata": {"type": "object"},
                                   "apiVersion": {"type": "string"}, "kind": {"type": "string"}}}
    return root


@cache
def _validator(key: tuple[str, str, str]) -> jsonschema.Draft202012Validator:
    from .upstream import crd, crd_version_schema

    crd_set, kind, version = key
    schema = crd_version_schema(crd(crd_set, kind), version)
    assert schema is not None
    return jsonschema.Draft202012Validator(_root_schema(schema))


def _list_map_problems(schema: dict[str, Any], value: Any, path: str) -> list[str]:
    """Duplicate keys of ``x-kubernetes-list-type: map`` lists (the API server refuses them)."""
    problems: list[str] = []
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        for key, sub in value.items():
            sub_schema = props.get(key) if key in props else (extra if isinstance(extra, dict) else None)
            if sub_schema is not None:
                problems += _list_map_problems(sub_schema, sub, f"{path}.{key}")
    elif isinstance(value, list):
        items = schema.get("items") or {}
        if schema.get("x-kubernetes-list-type") == "map":
            keys = schema.get("x-kubernetes-list-map-keys") or []
            seen = set()
            for item in value:
                if isinstance(item, dict):
                    ident = tuple(item.get(k) for k in keys)
                    if ident in seen:
                        problems.append(f"{path}: duplicate entry {dict(zip(keys, ident))}")
                    seen.add(ident)
        for index, item in enumerate(value):
            problems += _list_map_problems(items, item, f"{path}[{index}]")
    return problems


def validate(obj: dict[str, Any], crd_set: str) -> list[str]:
    """Every reason the API server (with this CRD set installed) would refuse ``obj``; [] if none."""
    from .upstream import crd_set as load_set
    from .upstream import crd_version_schema

    group, _, version = obj.get("apiVersion", "").rpartition("/")
    kind = obj.get("kind")
    crds = load_set(crd_set)
    match = [c for c in crds.values() if c["spec"]["names"]["kind"] == kind and c["spec"]["group"] == group]
    if not match:
        return [f"no CRD for {group}/{kind} in {crd_set}"]
    schema = crd_version_schema(match[0], version)
    if schema is None:
        served = [v["name"] for v in match[0]["spec"]["versions"] if v["served"]]
        return [f"{group}/{kind} is not served at version {version} by {crd_set} (served: {', '.join(served)})"]
    problems = [f"{'.'.join(str(p) for p in error.absolute_path) or '(root)'}: {error.message}"
                for error in sorted(_validator((crd_set, kind, version)).iter_errors(obj), key=lambda e: list(map(str, e.absolute_path)))]
    problems += _list_map_problems(schema, obj, "")
    problems += metadata_problems(obj.get("metadata") or {}, namespaced=match[0]["spec"]["scope"] == "Namespaced")
    return problems


def metadata_problems(metadata: dict[str, Any], *, namespaced: bool = True) -> list[str]:
    """ObjectMeta as the API server validates it: name, namespace, label and annotation keys/values."""
    problems = []
    name = metadata.get("name")
    if not isinstance(name, str) or not name:
        problems.append("metadata.name: is required")
    elif len(name) > 253 or not _DNS1123_SUBDOMAIN.match(name):
        problems.append(f"metadata.name: {name!r} is not a DNS-1123 subdomain (lowercase alphanumerics, '-' and '.', at most 253)")
    namespace = metadata.get("namespace")
    if namespace is not None and (not isinstance(namespace, str) or len(namespace) > 63 or not _DNS1123_LABEL.match(namespace)):
        problems.append(f"metadata.namespace: {namespace!r} is not a DNS-1123 label")
    if namespaced is False and namespace is not None:
        problems.append("metadata.namespace: set on a cluster-scoped object")
    for field in ("labels", "annotations"):
        entries = metadata.get(field)
        if entries is None:
            continue
        if not isinstance(entries, dict):
            problems.append(f"metadata.{field}: must be a map of strings")
            continue
        for key, value in entries.items():
            key_problem = _qualified_key_problem(key)
            if key_problem:
                problems.append(f"metadata.{field}[{key!r}]: {key_problem}")
            if not isinstance(value, str):
                problems.append(f"metadata.{field}[{key!r}]: value must be a string, got {value!r}")
            elif field == "labels" and (len(value) > 63 or not _LABEL_VALUE.match(value)):
                problems.append(f"metadata.labels[{key!r}]: value {value!r} is not a valid label value "
                                "(at most 63 alphanumerics, '-', '_' or '.', starting and ending alphanumeric)")
    annotations = metadata.get("annotations") or {}
    if isinstance(annotations, dict) and sum(len(k) + len(str(v)) for k, v in annotations.items()) > 256 * 1024:
        problems.append("metadata.annotations: total size exceeds 256 KiB")
    return problems


def _qualified_key_problem(key: Any) -> str | None:
    if not isinstance(key, str) or not key:
        return "key must be a non-empty string"
    prefix, slash, name = key.rpartition("/")
    if slash and (not prefix or len(prefix) > 253 or not _DNS1123_SUBDOMAIN.match(prefix)):
        return f"prefix {prefix!r} is not a DNS-1123 subdomain"
    if len(name) > 63 or not _QUALIFIED_NAME.match(name):
        return f"name part {name!r} is not a qualified name (at most 63 alphanumerics, '-', '_' or '.')"
    return None
