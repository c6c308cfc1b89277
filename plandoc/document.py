"""Read a plan: a plan directory, servestack's ``preview.json`` or a real ``pulumi preview --json``.

Both have the shape of Pulumi's ``PreviewDigest``: ``steps[]`` of ``{op, urn, oldState?,
newState?}``, ``config`` (a real preview gives structured values as JSON text; servestack
gives them decoded) and ``changeSummary``. A step's ``newState`` is what the stack will be;
delete steps carry only ``oldState``. The stack and project a plan belongs to are the ones its
URNs name (``urn:pulumi:<stack>::<project>::...``), never a caller's guess.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .shape import not_a_plan, one_line, parse_json, shape_problem
from .tokens import CREATE_OPS, GONE_OPS, STACK
from .values import decode_json, resource_key, stack_and_project, type_of

Resource = Mapping[str, Any]
"""``{"type": ..., "urn": ..., "inputs": {...}}`` and, read from a plan, ``protect``, ``parent``,
``dependencies``, ``propertyDependencies`` and the step's ``op`` (CrossGuard gives fewer)."""

#: Beside a plan's ``preview.json``: the Python and Pulumi SDK versions it was made with (``servestack plan`` writes it).
VERSIONS_FILE = "versions.json"


class PlanInputError(ValueError):
    """The path is not a plan directory or a preview JSON document."""


@dataclass
class PlanDoc:
    source: str
    stack: str
    """The stack the plan's URNs name; empty for a plan without resources."""
    project: str
    config: dict[str, Any]
    """Stack config, structured values decoded."""
    resources: dict[str, dict[str, Any]]
    """Resource key (URN without the stack and project) -> ``{type, urn, inputs, protect, parent, dependencies,
    propertyDependencies, op}``: the stack after the change, in the order of the plan's steps."""
    previous: dict[str, dict[str, Any]] = field(default_factory=dict)
    """The same for ``oldState`` (only a real preview of a deployed stack has it)."""
    ops: dict[str, str] = field(default_factory=dict)
    """Resource key -> the step's op."""
    versions: dict[str, Any] | None = None
    """What the plan was made with (its ``versions.json``: python, sdks); None for a real preview or an older plan."""
    offline: bool = False
    """servestack's offline plan (:func:`is_offline_plan`): its every step is a create because it knows nothing
    deployed, so its resources carry no ``op`` and no rule reads a creation from it."""

    def resource_list(self) -> list[dict[str, Any]]:
        """The resources sorted by key (the order rules and reports use)."""
        return [self.resources[k] for k in sorted(self.resources)]


def of_type(resources: Iterable[Resource], *types: str) -> list[Resource]:
    """The resources of these types, in their order."""
    return [r for r in resources if r["type"] in types]


def _state(state: Mapping[str, Any], urn: str) -> dict[str, Any]:
    by_property = {str(k): list(v or []) for k, v in (state.get("propertyDependencies") or {}).items()}
    return {
        "type": state.get("type") or type_of(urn),
        "urn": state.get("urn") or urn,
        "inputs": dict(state.get("inputs") or {}),
        "protect": bool(state.get("protect", False)),
        "parent": state.get("parent") or "",
        # What this resource's inputs were computed from (a RolePolicy's role, say): rules link resources by it.
        "dependencies": sorted({*(state.get("dependencies") or []), *(u for urns in by_property.values() for u in urns)}),
        "propertyDependencies": by_property,
        **({"outputs": dict(state["outputs"])} if state.get("outputs") else {}),
    }


def read_document(path: Path | str) -> tuple[dict[str, Any], str]:
    """The preview document at ``path`` (a plan directory or a JSON file) and where it was read."""
    path = Path(path)
    if path.is_dir():
        path = path / "preview.json"
        if not path.is_file():
            raise PlanInputError(f"{path.parent} is not a plan directory (no preview.json); run `servestack plan` or pass "
                                 "the JSON of `pulumi preview --json`")
    if not path.is_file():
        raise PlanInputError(f"no plan at {path} (run `servestack plan` or `pulumi preview --json > {path}`)")
    try:
        document = parse_json(path.read_bytes())
    except (ValueError, UnicodeDecodeError) as error:
        raise PlanInputError(f"{path} is not JSON ({error}); expected the output of `pulumi preview --json`") from None
    except OSError as error:
        raise PlanInputError(f"{path} cannot be read: {error.strerror or error}") from None
    what = not_a_plan(document)
    if what:
        raise PlanInputError(f"{path} is not a servestack plan or the JSON of `pulumi preview --json`: {what}")
    problem = shape_problem(document)
    if problem:
        raise PlanInputError(one_line(f"{path} is not a preview document: {problem}"))
    return document, str(path)


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


def is_offline_plan(document: Mapping[str, Any]) -> bool:
    """Whether ``document`` is servestack's offline plan: it has the top-level ``outputs`` that only
    ``servestack plan`` writes (a real preview has its outputs on the Stack step) and no ``oldState``."""
    return isinstance(document.get("outputs"), Mapping) and not any(
        isinstance(step, Mapping) and step.get("oldState") for step in document.get("steps") or [])


def plan_from_document(document: Mapping[str, Any], source: str = "<memory>") -> PlanDoc:
    offline = is_offline_plan(document)
    resources: dict[str, dict[str, Any]] = {}
    previous: dict[str, dict[str, Any]] = {}
    ops: dict[str, str] = {}
    stack = project = ""
    for step in document.get("steps") or []:
        urn = step.get("urn") or (step.get("newState") or step.get("oldState") or {}).get("urn", "")
        if not urn:
            continue
        names = stack_and_project(urn)
        if names and not stack:
            stack, project = names
        key = resource_key(urn)
        op = step.get("op", "create")
        if step.get("oldState") and op not in ("create-replacement",):
            previous[key] = _state(step["oldState"], urn)
        if op in GONE_OPS:
            ops.setdefault(key, op)
            continue
        if step.get("newState"):
            resources[key] = _state(step["newState"], urn)
            if not offline:  # rules that judge a creation read it (CrossGuard's resources have none)
                resources[key]["op"] = op
            ops[key] = op
    # The stack's outputs: a servestack plan's top-level ``outputs``, else the Stack step's (a real preview's).
    # Kept on the Stack resource, where a rule that reads resources finds them (plandoc.pools.placement_pools).
    outputs = document.get("outputs")
    for resource in resources.values():
        if resource["type"] == STACK:
            if isinstance(outputs, Mapping):
                resource["outputs"] = dict(outputs)
            break
    config = {str(k): decode_json(v) for k, v in (document.get("config") or {}).items()}
    return PlanDoc(source, stack, project, config, resources, previous, ops, offline=offline)


def created(resource: Resource) -> bool:
    """Whether the step that holds ``resource`` creates it (False when the caller does not say: CrossGuard)."""
    return resource.get("op") in CREATE_OPS
