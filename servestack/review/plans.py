"""Read a plan: a plan directory, servestack's ``preview.json`` or a real ``pulumi preview --json``.

Both have the shape of Pulumi's ``PreviewDigest``: ``steps[]`` of ``{op, urn, oldState?,
newState?}``, ``config`` (a real preview gives structured values as JSON text; servestack
gives them decoded) and ``changeSummary``. A step's ``newState`` is what the stack will be;
delete steps carry only ``oldState``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from policies.rules.model import decode_json

#: Beside a plan's ``preview.json``: the Python and Pulumi SDK versions it was made with (``servestack plan`` writes it).
VERSIONS_FILE = "versions.json"

#: Steps after which the resource no longer exists (or never did).
GONE_OPS = {"delete", "delete-replaced", "discard", "discard-replaced", "remove-pending-replace", "read-discard"}


class PlanInputError(ValueError):
    """The path is not a plan directory or a preview JSON document."""


@dataclass
class PlanDoc:
    source: str
    stack: str
    project: str
    config: dict[str, Any]
    """Stack config, structured values decoded."""
    resources: dict[str, dict[str, Any]]
    """Resource key (URN without the stack and project) -> ``{type, urn, inputs, protect, parent, dependencies, op}``:
    the stack after the change."""
    previous: dict[str, dict[str, Any]] = field(default_factory=dict)
    """The same for ``oldState`` (only a real preview of a deployed stack has it)."""
    ops: dict[str, str] = field(default_factory=dict)
    """Resource key -> the step's op."""
    versions: dict[str, Any] | None = None
    """What the plan was made with (its ``versions.json``: python, sdks); None for a real preview or an older plan."""

    def resource_list(self) -> list[dict[str, Any]]:
        return [self.resources[k] for k in sorted(self.resources)]


def resource_key(urn: str) -> str:
    """``urn:pulumi:dev::servestack::type::name`` -> ``type::name`` (stable across stacks)."""
    parts = urn.split("::", 2)
    return parts[2] if len(parts) == 3 else urn


def _state(state: Mapping[str, Any], urn: str) -> dict[str, Any]:
    return {
        "type": state.get("type") or urn.split("::")[2].rsplit("$", 1)[-1],
        "urn": state.get("urn") or urn,
        "inputs": dict(state.get("inputs") or {}),
        "protect": bool(state.get("protect", False)),
        "parent": state.get("parent") or "",
        # What this resource's inputs were computed from (a RolePolicy's role, say): rules link resources by it.
        "dependencies": sorted({*(state.get("dependencies") or []),
                                *(u for urns in (state.get("propertyDependencies") or {}).values() for u in urns)}),
    }


def read_document(path: Path | str) -> tuple[dict[str, Any], str]:
    path = Path(path)
    if path.is_dir():
        path = path / "preview.json"
        if not path.is_file():
            raise PlanInputError(f"{path.parent} is not a plan directory (no preview.json); run `servestack plan` or pass "
                                 "the JSON of `pulumi preview --json`")
    if not path.is_file():
        raise PlanInputError(f"no plan at {path} (run `servestack plan` or `pulumi preview --json > {path}`)")
    try:
        document = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise PlanInputError(f"{path} is not JSON ({error}); expected the output of `pulumi preview --json`") from None
    problem = shape_problem(document)
    if problem:
        raise PlanInputError(f"{path} is not a preview document: {problem}")
    return document, str(path)


def shape_problem(document: Any) -> str | None:
    """What keeps ``document`` from having the shape every reader of a plan relies on, if anything."""
    if not isinstance(document, dict) or not isinstance(document.get("steps", []), list):
        return "expected an object with a steps list"
    if not isinstance(document.get("config") or {}, dict):
        return "config must be an object"
    problem = _config_problem(document.get("config") or {})
    if problem:
        return problem
    for index, step in enumerate(document.get("steps") or []):
        if not isinstance(step, dict):
            return f"steps[{index}] must be an object with op, urn and newState or oldState"
        for key in ("op", "urn"):
            if not isinstance(step.get(key) or "", str):
                return f"steps[{index}].{key} must be a string"
        for key in ("newState", "oldState"):
            state = step.get(key)
            if state is None:
                continue
            if not isinstance(state, dict):
                return f"steps[{index}].{key} must be an object"
            if not isinstance(state.get("urn") or "", str):
                return f"steps[{index}].{key}.urn must be a string"
            for name, kind in (("inputs", dict), ("outputs", dict), ("dependencies", list), ("propertyDependencies", dict)):
                if not isinstance(state.get(name) or kind(), kind):
                    return f"steps[{index}].{key}.{name} must be {'an object' if kind is dict else 'a list'}"
    return None


def _config_problem(config: Mapping[str, Any]) -> str | None:
    """What in the stack config that the readers use (region, node pools, endpoints) has the wrong shape."""
    region = config.get("aws:region")
    if region is not None and not isinstance(region, str):
        return f"config.aws:region must be a string (got {region!r})"
    for key in ("servestack:nodePools", "servestack:endpoints"):
        entries = decode_json(config.get(key))
        if not isinstance(entries, dict):
            continue  # absent, or not something they read
        for name, entry in entries.items():
            if not isinstance(entry, dict):
                return f"config.{key}.{name} must be an object"
            if key == "servestack:endpoints" and not isinstance(entry.get("rollout") or {}, dict):
                return f"config.{key}.{name}.rollout must be an object"
            for size in ("minSize", "maxSize") if key == "servestack:nodePools" else ():
                try:
                    int(entry.get(size, 0))
                except (TypeError, ValueError):
                    return f"config.{key}.{name}.{size} must be a whole number (got {entry[size]!r})"
    return None


def read_versions(path: Path | str) -> dict[str, Any] | None:
    """The ``versions.json`` of a plan directory (or beside its ``preview.json``), None where there is none."""
    path = Path(path)
    if path.is_dir():
        path = path / "preview.json"
    if path.name != "preview.json":
        return None  # a preview saved under another name: whatever lies beside it is not its record
    versions_path = path.with_name(VERSIONS_FILE)
    if not versions_path.is_file():
        return None
    try:
        versions = json.loads(versions_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise PlanInputError(f"{versions_path} is not JSON ({error}); `servestack plan` writes it") from None
    if not isinstance(versions, dict):
        raise PlanInputError(f"{versions_path}: expected an object with python and sdks (got {versions!r})")
    if not isinstance(versions.get("python"), str):
        raise PlanInputError(f"{versions_path}: python must be a version string (got {versions.get('python')!r})")
    sdks = versions.get("sdks")
    if not isinstance(sdks, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in sdks.items()):
        raise PlanInputError(f"{versions_path}: sdks must map package names to version strings (got {sdks!r})")
    return {"python": versions["python"], "sdks": dict(sdks)}


def load_plan(path: Path | str) -> PlanDoc:
    document, source = read_document(path)
    plan = plan_from_document(document, source)
    plan.versions = read_versions(path)
    return plan


def plan_from_document(document: Mapping[str, Any], source: str = "<memory>") -> PlanDoc:
    resources: dict[str, dict[str, Any]] = {}
    previous: dict[str, dict[str, Any]] = {}
    ops: dict[str, str] = {}
    stack = project = ""
    for step in document.get("steps") or []:
        urn = step.get("urn") or (step.get("newState") or step.get("oldState") or {}).get("urn", "")
        if not urn:
            continue
        parts = urn.split("::")
        if len(parts) >= 2 and not stack:
            stack, project = parts[0].removeprefix("urn:pulumi:"), parts[1]
        key = resource_key(urn)
        op = step.get("op", "create")
        if step.get("oldState") and op not in ("create-replacement",):
            previous[key] = _state(step["oldState"], urn)
        if op in GONE_OPS:
            ops.setdefault(key, op)
            continue
        if step.get("newState"):
            resources[key] = _state(step["newState"], urn)
            resources[key]["op"] = op  # rules that judge a creation read it (CrossGuard's resources have none)
            ops[key] = op
    config = {str(k): decode_json(v) for k, v in (document.get("config") or {}).items()}
    return PlanDoc(source, stack, project, config, resources, previous, ops)
