"""Turn a recorded program run into the plan files: ``preview.json`` and ``manifests/``.

``preview.json`` has the shape of ``pulumi preview --json`` (see DESIGN.md), so that
``check``, ``diff`` and ``cost`` read servestack's offline plans and real previews alike.
Steps are ordered parents and dependencies first, ties broken by URN, so the file is
byte-identical for identical input whatever order the program's RPCs completed in.
"""

from __future__ import annotations

import heapq
import importlib.metadata
import json
import platform
import re
from pathlib import Path
from typing import Any

import yaml

from plandoc.document import VERSIONS_FILE

from .engine import ProgramRun
from .monitor import Registration

#: ``yaml.safe_dump``'s dumper, emitting through libyaml when PyYAML has it (the same bytes, faster).
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class ManifestDumper(_DUMPER):
    """``yaml.safe_dump`` for the plan's manifests: the same text, in half the time.

    A manifest is a tree of fresh JSON values, so no node needs an anchor (and none is written:
    a repeated object is written out again); the commonest node types skip the representer's
    lookup by type. Everything else goes through ``SafeDumper`` as before.
    """

    def ignore_aliases(self, data: Any) -> bool:
        return True

    def represent_data(self, data: Any) -> yaml.Node:
        kind = type(data)
        if kind is str:
            return self.represent_str(data)
        if kind is dict:
            return self.represent_dict(data)
        if kind is list:
            return self.represent_list(data)
        return super().represent_data(data)


# Types whose inputs are not one Kubernetes object (providers, Helm releases, kustomize, yaml).

_NOT_AN_OBJECT = re.compile(r"^(pulumi:providers:|kubernetes:helm\.sh/|kubernetes:kustomize:|kubernetes:yaml:)")


def ordered(registrations: list[Registration]) -> list[Registration]:
    """Topological order (parent, provider and dependencies first), ties by URN."""
    by_urn = {r.urn: r for r in registrations}
    deps = {
        r.urn: {d for d in (r.parent, r.provider.rsplit("::", 1)[0] if r.provider else "", *r.dependencies) if d in by_urn and d != r.urn}
        for r in registrations
    }
    waiting = {urn: len(d) for urn, d in deps.items()}
    users: dict[str, list[str]] = {urn: [] for urn in by_urn}
    for urn, d in deps.items():
        for dep in d:
            users[dep].append(urn)
    # The stack comes first, as in a real preview; everything else by dependencies, then URN.
    rank = {urn: (0 if r.type == "pulumi:pulumi:Stack" else 1, urn) for urn, r in by_urn.items()}
    ready = [rank[urn] for urn, n in waiting.items() if n == 0]
    heapq.heapify(ready)
    result = []
    while ready:
        _, urn = heapq.heappop(ready)
        result.append(by_urn[urn])
        for user in users[urn]:
            waiting[user] -= 1
            if waiting[user] == 0:
                heapq.heappush(ready, rank[user])
    if len(result) != len(registrations):  # a cycle cannot happen in Pulumi, but never drop a step
        # (Also reached for the stack, which the program registers and the plan adds: the same
        # registration twice, kept once.) An equal registration has the same URN, so look there
        # instead of comparing with every step: this ran in quadratic time.
        placed = {r.urn: r for r in result}
        result += sorted((r for r in registrations if not (r.urn in placed and placed[r.urn] == r)), key=lambda r: r.urn)
    return result


def _provider_registrations(run: ProgramRun) -> list[Registration]:
    providers = []
    for package, ref in sorted(run.default_providers.items()):
        urn = ref.rsplit("::", 1)[0]
        providers.append(Registration(
            type=f"pulumi:providers:{package}", name=urn.rsplit("::", 1)[1], urn=urn, custom=True, parent="",
            provider="", dependencies=[], property_dependencies={}, protect=False, retain_on_delete=False, inputs={},
        ))
    return providers


def _stack_registration(run: ProgramRun) -> Registration:
    urn = f"urn:pulumi:{run.stack}::{run.project}::pulumi:pulumi:Stack::{run.project}-{run.stack}"
    return Registration("pulumi:pulumi:Stack", f"{run.project}-{run.stack}", urn, False, "", "", [], {}, False, False, {})


def preview_document(run: ProgramRun, config: dict[str, Any]) -> dict[str, Any]:
    registrations = [_stack_registration(run), *_provider_registrations(run), *run.registrations]
    steps = []
    for r in ordered(registrations):
        new_state = {
            "type": r.type,
            "urn": r.urn,
            "custom": r.custom,
            "parent": r.parent,
            "provider": r.provider,
            "dependencies": r.dependencies,
            "propertyDependencies": r.property_dependencies,
            "protect": r.protect,
            "retainOnDelete": r.retain_on_delete,
            "inputs": r.inputs,
        }
        if not r.provider:
            del new_state["provider"]
        steps.append({"op": "create", "urn": r.urn, **({"provider": r.provider} if r.provider else {}), "newState": new_state})
    return {
        "config": dict(sorted(config.items())),
        "steps": steps,
        "changeSummary": {"create": len(steps)},
        "outputs": run.outputs,
    }


def kubernetes_objects(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(file name, object) for every Kubernetes object the plan declares, by file name."""
    objects = []
    for step in document["steps"]:
        state = step["newState"]
        if not state["type"].startswith("kubernetes:") or _NOT_AN_OBJECT.match(state["type"]):
            continue
        inputs = state["inputs"]
        if "apiVersion" not in inputs or "kind" not in inputs:
            continue
        metadata = dict(inputs.get("metadata") or {})
        metadata.setdefault("name", step["urn"].rsplit("::", 1)[1])
        obj = {"apiVersion": inputs["apiVersion"], "kind": inputs["kind"], "metadata": metadata}
        obj.update({k: v for k, v in sorted(inputs.items()) if k not in obj})
        namespace = metadata.get("namespace", "_cluster")
        filename = f"{namespace}__{inputs['kind']}__{metadata['name']}.yaml".lower()
        objects.append((filename, obj))
    return sorted(objects, key=lambda item: item[0])


def preview_json(document: dict[str, Any]) -> str:
    """``json.dumps(document, indent=2, sort_keys=True)``, byte for byte, through orjson when it can.

    Python's encoder is pure Python once it indents. orjson differs from it in a few places
    (non-ASCII text, DEL, some float formats, non-string keys): it is used only when its compact
    output equals the C encoder's compact output (ASCII-only, as ``ensure_ascii`` writes it), and
    the two indent alike. Otherwise, or without orjson, the standard encoder writes it.
    """
    try:
        import orjson
    except ImportError:  # pragma: no cover - a dependency; the standard encoder gives the same text
        orjson = None
    if orjson is not None:
        try:
            compact = orjson.dumps(document, option=orjson.OPT_SORT_KEYS)
        except TypeError:  # orjson.JSONEncodeError: a non-string key, an integer beyond 64 bits, ...
            compact = None
        if compact is not None and compact == json.dumps(document, sort_keys=True, separators=(",", ":")).encode():
            return orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode()
    return json.dumps(document, indent=2, sort_keys=True)


def sdk_versions(document: dict[str, Any]) -> dict[str, Any]:
    """The Python and the Pulumi SDKs a plan was made with: ``{"python": "3.11.7", "sdks": {name: version}}``.

    The SDKs are the core SDK (``pulumi``) and the SDK of every provider package whose resources
    or providers the plan declares (``aws`` -> ``pulumi-aws``), as installed; a type package with
    no such SDK (servestack's own components) has none. A provider SDK release can change the
    inputs a plan records, so the plan says which ones it ran with; kept out of ``preview.json``,
    which stays the same for the same program and config wherever it was planned.
    """
    packages = {"pulumi"}
    for step in document["steps"]:
        kind = step["newState"]["type"]
        packages.add(kind.split(":")[2] if kind.startswith("pulumi:providers:") else kind.split(":", 1)[0])
    sdks = {}
    for package in sorted(packages):
        name = "pulumi" if package == "pulumi" else f"pulumi-{package}"
        try:
            sdks[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return {"python": platform.python_version(), "sdks": dict(sorted(sdks.items()))}


def write_plan(document: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "preview.json").write_text(preview_json(document) + "\n")
    (out / VERSIONS_FILE).write_text(json.dumps(sdk_versions(document), indent=2, sort_keys=True) + "\n")
    manifests = out / "manifests"
    if manifests.exists():
        for old in manifests.glob("*.yaml"):
            old.unlink()
    manifests.mkdir(exist_ok=True)
    for filename, obj in kubernetes_objects(document):
        (manifests / filename).write_text(yaml.dump(obj, Dumper=ManifestDumper, sort_keys=False, default_flow_style=False))
