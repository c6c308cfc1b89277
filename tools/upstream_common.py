"""What every derivation of tools/vendor_upstream.py shares: where things are, provenance, the
deterministic JSON dump, and the shape reductions (CRD schemas without descriptions and with
repeated subtrees stored once; chart values reduced to their key tree)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
DEFAULT_UPSTREAM = REPO.parent / "shared" / "upstream"
RUNTIME_DATA = Path("components/data/upstream")
TEST_DATA = Path("tests/conformance/data")
GENERATED_BY = "tools/vendor_upstream.py"
LICENSE = "Apache-2.0"

KSERVE_REPO = "https://github.com/kserve/kserve"


@dataclass(frozen=True)
class Source:
    """Where one derived file comes from."""

    repository: str
    ref: str
    """The tag (or commit) of the upstream files, as the folder under ``shared/upstream`` names it."""
    folder: str
    """The folder under ``shared/upstream`` holding the files of that ref."""
    commit: str | None = None


def provenance(source: Source, paths: list[str], **extra: Any) -> dict[str, Any]:
    """The provenance block every derived file carries: ``paths`` are paths inside the upstream
    repository at ``ref``; ``vendoredAs`` is the folder of ``shared/upstream`` they were read from."""
    block: dict[str, Any] = {
        "repository": source.repository,
        "ref": source.ref,
        "vendoredAs": source.folder,
        "paths": sorted(paths),
        "license": LICENSE,
        "generatedBy": GENERATED_BY,
    }
    if source.commit:
        block["commit"] = source.commit
    block.update(extra)
    return block


def dump(data: Any) -> str:
    """The one serialization of derived data: sorted keys, one-space indent, trailing newline."""
    return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=True) + "\n"


#: PyYAML's safe loader, through libyaml when available (the same documents, much faster).
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml_documents(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [doc for doc in yaml.load_all(handle, Loader=_LOADER) if doc]


# --- CRD schemas (test data) -------------------------------------------------------------------

#: Subtrees of a CRD larger than this (compact JSON characters) that occur more than once are
#: stored once under ``$defs`` and referenced with ``{"$ref": "#/$defs/<digest>"}``: the pod and
#: container schemas repeat dozens of times in KServe's and LWS's CRDs.
_SHARED_SUBTREE_CHARS = 1500


def strip_descriptions(schema: Any) -> Any:
    """An OpenAPI v3 schema without ``description`` fields (a property *named* description stays)."""
    if isinstance(schema, dict):
        out = {}
        for key, value in schema.items():
            if key == "description":
                continue
            if key == "properties" and isinstance(value, dict):
                out[key] = {name: strip_descriptions(sub) for name, sub in value.items()}
            else:
                out[key] = strip_descriptions(value)
        return out
    if isinstance(schema, list):
        return [strip_descriptions(item) for item in schema]
    return schema


def _compact(node: Any) -> str:
    return json.dumps(node, sort_keys=True, separators=(",", ":"))


def share_subtrees(tree: Any) -> tuple[Any, dict[str, Any]]:
    """Replace every large subtree that occurs more than once by a ``$ref`` into ``$defs``."""

    texts: dict[int, str] = {}

    def text(node: Any) -> str:
        """``_compact(node)``, built bottom-up once per node (the tree is not modified)."""
        if isinstance(node, dict):
            if id(node) not in texts:
                texts[id(node)] = "{" + ",".join(f"{json.dumps(k)}:{text(node[k])}" for k in sorted(node)) + "}"
            return texts[id(node)]
        if isinstance(node, list):
            return "[" + ",".join(text(v) for v in node) + "]"
        return json.dumps(node)

    def digest(node: Any) -> str | None:
        body = text(node)
        return hashlib.sha256(body.encode()).hexdigest()[:16] if len(body) > _SHARED_SUBTREE_CHARS else None

    counts: dict[str, int] = {}
    first: dict[str, Any] = {}

    def count(node: Any) -> None:
        if isinstance(node, dict):
            key = digest(node)
            if key is not None:
                counts[key] = counts.get(key, 0) + 1
                first.setdefault(key, node)
            for value in node.values():
                count(value)
        elif isinstance(node, list):
            for value in node:
                count(value)

    count(tree)
    shared = {key for key, n in counts.items() if n > 1}

    def replace(node: Any, top: bool = False) -> Any:
        if isinstance(node, dict):
            key = None if top else digest(node)
            if key in shared:
                return {"$ref": f"#/$defs/{key}"}
            return {k: replace(v) for k, v in node.items()}
        if isinstance(node, list):
            return [replace(v) for v in node]
        return node

    return replace(tree, top=True), {key: replace(first[key], top=True) for key in sorted(shared)}


def _crd_entry(doc: dict[str, Any]) -> dict[str, Any]:
    spec = doc["spec"]
    annotations = (doc.get("metadata") or {}).get("annotations") or {}
    return {
        "apiVersion": doc["apiVersion"],
        "kind": doc["kind"],
        "metadata": {"name": doc["metadata"]["name"],
                     "annotations": {k: v for k, v in sorted(annotations.items())
                                     if k.startswith(("gateway.networking.k8s.io/", "controller-gen.kubebuilder.io/"))}},
        "spec": {
            "group": spec["group"],
            "names": spec["names"],
            "scope": spec["scope"],
            "versions": [
                {"name": v["name"], "served": v["served"], "storage": v["storage"],
                 "schema": strip_descriptions(v.get("schema", {}))}
                for v in spec["versions"]
            ],
        },
    }


# --- Helm chart value inventories (test data) ----------------------------------------------------

def value_inventory(values: Any) -> Any:
    """The key tree of a chart's values: maps stay maps; every other value becomes its type name
    (``bool``, ``int``, ``float``, ``string``, ``list``, ``null``). An empty map stays ``{}``: the
    chart takes any keys there (``nodeSelector: {}``)."""
    if isinstance(values, dict):
        return {str(k): value_inventory(v) for k, v in values.items()}
    if isinstance(values, bool):
        return "bool"
    if isinstance(values, int):
        return "int"
    if isinstance(values, float):
        return "float"
    if isinstance(values, str):
        return "string"
    if isinstance(values, list):
        return "list"
    if values is None:
        return "null"
    return type(values).__name__


