"""What changed between two plans, resource by resource and field by field.

Resources are matched by URN without stack and project (so plans of the same stack at two commits
line up) and compared on their inputs: every changed leaf as a nested path. Lists of named things
are compared by name, not by position, wherever they appear in any resource's inputs: a list of
mappings whose items all carry a name-like key (:data:`.names.IDENTITY_KEYS`, the first one whose values
are unique on both sides: ``name`` for env, containers, ports, volumes, volumeMounts,
initContainers, imagePullSecrets; ``key`` for tolerations and Karpenter requirements; ``mountPath``,
``deviceName``...) shows each item as ``env[name=STORAGE_URI]``: added (``(none) -> {...}``),
removed (``{...} -> (none)``) or changed field by field; a change of their order alone is one line
``env (order)``. A list of command-line flags (every item a ``--flag`` or ``--flag=value``, each flag
once) is compared by flag: ``args[--max-model-len]: "--max-model-len=8192" -> "--max-model-len=16384"``.
Lists without names keep their positions (``spec.canary[0]``), except that items equal on both sides
are matched first when their lengths differ, so one added toleration is one added item, not a shift
of every item after it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from plandoc.document import PlanDoc
from plandoc.values import name_of

from .fields import is_rollout_record
from .names import FLAG, flag_names, identity_key, label

_MISSING = object()


@dataclass(frozen=True)
class FieldChange:
    path: str
    old: Any
    new: Any


@dataclass(frozen=True)
class ResourceChange:
    op: str
    """``create``, ``delete`` or ``update``."""
    key: str
    type: str
    name: str
    fields: tuple[FieldChange, ...] = ()
    protect: bool = False
    rollout_record: bool = False
    """The endpoint's rollout record ConfigMap: its data is never cut in the markdown."""


def _join(path: str, key: Any) -> str:
    return f'{path}["{key}"]' if "." in str(key) else (f"{path}.{key}" if path else str(key))


def _named(old: list[Any], new: list[Any], path: str, key: str) -> list[FieldChange]:
    before = {json.dumps(v[key]): v for v in old}
    after = {json.dumps(v[key]): v for v in new}
    found = []
    if [k for k in before if k in after] != [k for k in after if k in before]:
        found.append(FieldChange(f"{path} (order)", [v[key] for v in old], [v[key] for v in new]))
    for name in [*before, *(k for k in after if k not in before)]:
        found += field_changes(before.get(name, _MISSING), after.get(name, _MISSING),
                               f"{path}{label(key, json.loads(name))}")
    return found


def _flags(old: list[str], new: list[str], path: str) -> list[FieldChange]:
    before = {FLAG.match(v).group(1): v for v in old}
    after = {FLAG.match(v).group(1): v for v in new}
    found = []
    if [k for k in before if k in after] != [k for k in after if k in before]:
        found.append(FieldChange(f"{path} (order)", old, new))
    for flag in [*before, *(k for k in after if k not in before)]:
        if before.get(flag) != after.get(flag):
            found.append(FieldChange(f"{path}[{flag}]", before.get(flag), after.get(flag)))
    return found


def _positional(old: list[Any], new: list[Any], path: str) -> list[FieldChange]:
    if len(old) != len(new):  # match equal items first: one added item is one change, not a shift of the rest
        rest_new = list(range(len(new)))
        unmatched_old = []
        for i, item in enumerate(old):
            j = next((j for j in rest_new if new[j] == item), None)
            if j is None:
                unmatched_old.append(i)
            else:
                rest_new.remove(j)
        if len(unmatched_old) + len(rest_new) < max(len(old), len(new)):
            return ([FieldChange(f"{path}[{i}]", old[i], None) for i in unmatched_old]
                    + [FieldChange(f"{path}[{j}]", None, new[j]) for j in rest_new])
    found = []
    for i in range(max(len(old), len(new))):
        before = old[i] if i < len(old) else _MISSING
        found += field_changes(before, new[i] if i < len(new) else _MISSING, f"{path}[{i}]")
    return found


def field_changes(old: Any, new: Any, path: str = "") -> list[FieldChange]:
    """Every leaf that differs, as nested paths (``a.b[2].c``, ``env[name=X].value``); added and removed keys too."""
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        found = []
        for key in sorted(set(old) | set(new), key=str):
            found += field_changes(old.get(key, _MISSING), new.get(key, _MISSING), _join(path, key))
        return found
    if isinstance(old, list) and isinstance(new, list) and old != new:
        key = identity_key(old, new)
        if key is not None:
            return _named(old, new, path, key)
        if flag_names(old, new):
            return _flags(old, new, path)
        if len(old) != len(new) and not all(isinstance(v, (Mapping, list)) for v in old + new):
            return [FieldChange(path, old, new)]  # a list of scalars reads best whole
        return _positional(old, new, path)
    if old == new:
        return []
    return [FieldChange(path, None if old is _MISSING else old, None if new is _MISSING else new)]


def resource_changes(base: PlanDoc, head: PlanDoc) -> list[ResourceChange]:
    changes = []
    for key in sorted(set(base.resources) | set(head.resources)):
        old, new = base.resources.get(key), head.resources.get(key)
        if old is None:
            changes.append(ResourceChange("create", key, new["type"], name_of(new["urn"])))
        elif new is None:
            changes.append(ResourceChange("delete", key, old["type"], name_of(old["urn"]), protect=old["protect"]))
        else:
            fields = field_changes(old["inputs"], new["inputs"])
            if old["protect"] != new["protect"]:
                fields.append(FieldChange("(protect)", old["protect"], new["protect"]))
            if fields:
                changes.append(ResourceChange("update", key, new["type"], name_of(new["urn"]), tuple(fields),
                                              rollout_record=is_rollout_record(new) or is_rollout_record(old)))
    return changes
