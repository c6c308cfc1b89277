"""What a document must look like before anything reads it as a plan.

A reader that trusted any JSON would fail with a traceback deep inside a rule; these checks
name the first thing out of shape instead (``steps[3].newState.inputs must be an object``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .values import decode_json


def shape_problem(document: Any) -> str | None:
    """What keeps ``document`` from having the shape every reader of a plan relies on, if anything."""
    if not isinstance(document, dict) or not isinstance(document.get("steps", []), list):
        return "expected an object with a steps list"
    if not isinstance(document.get("config") or {}, dict):
        return "config must be an object"
    problem = config_problem(document.get("config") or {})
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


def config_problem(config: Mapping[str, Any]) -> str | None:
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
