"""What a document must look like before anything reads it as a plan.

A reader that trusted any JSON would fail with a traceback deep inside a rule; these checks
name the first thing out of shape instead (``steps[3].newState.inputs must be an object``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from .values import decode_json

#: Deepest nesting a plan may have (Kubernetes objects in a plan nest about 15 levels).
MAX_DEPTH = 200
#: Longest integer a plan may hold (Python refuses to convert more than 4300 digits).
MAX_INT_DIGITS = 4300


def parse_json(data: bytes | str) -> Any:
    """Strict, bounded JSON: ``NaN``/``Infinity``, numbers out of range and nesting deeper than
    :data:`MAX_DEPTH` are ValueErrors (JSON has no such numbers; ``json`` would accept or overflow)."""
    def constant(name: str) -> Any:
        raise ValueError(f"{name} is not a JSON number")

    def integer(text: str) -> int:
        if len(text.lstrip("-")) > MAX_INT_DIGITS:
            raise ValueError(f"an integer of {len(text.lstrip('-'))} digits (at most {MAX_INT_DIGITS})")
        return int(text)

    def number(text: str) -> float:
        value = float(text)
        if not math.isfinite(value):
            raise ValueError(f"{text} is out of the range of a number")
        return value

    try:
        document = json.loads(data, parse_constant=constant, parse_int=integer, parse_float=number)
    except RecursionError:
        raise ValueError(f"nested more than {MAX_DEPTH} levels deep") from None
    if _depth(document) > MAX_DEPTH:
        raise ValueError(f"nested more than {MAX_DEPTH} levels deep")
    return document


def _depth(document: Any) -> int:
    """How deep ``document`` nests, without recursion."""
    deepest, todo = 0, [(document, 1)]
    while todo:
        node, depth = todo.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, depth)
            if depth > MAX_DEPTH:
                return depth
            todo += [(child, depth + 1) for child in (node.values() if isinstance(node, dict) else node)]
    return deepest


#: Keys that say what a JSON document is when it is not a plan: (keys, what it is).
_OTHER_DOCUMENTS = (
    (("terraform_version", "format_version", "resource_changes", "planned_values"), "it is a Terraform plan or state"),
    (("AWSTemplateFormatVersion", "Resources"), "it is a CloudFormation template"),
    (("apiVersion", "kind"), "it is a Kubernetes object or list"),
    (("dependencies", "devDependencies", "scripts"), "it is an npm package.json"),
    (("packages", "lockfileVersion"), "it is an npm lockfile"),
)


def not_a_plan(document: Any) -> str | None:
    """What ``document`` is when it is not a plan (servestack's or ``pulumi preview --json``), else None.

    A preview always has ``steps`` or a ``changeSummary`` (Pulumi omits an empty ``steps``)."""
    if isinstance(document, dict) and ("steps" in document or "changeSummary" in document):
        return None
    if not isinstance(document, dict):
        kind = {list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(type(document), "a number")
        return f"it is {kind}, not an object with steps"
    for keys, what in _OTHER_DOCUMENTS:
        if any(key in document for key in keys):
            return f"{what}, not an object with steps"
    return "it has neither steps nor changeSummary"


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


def one_line(text: str) -> str:
    """``text`` with control characters escaped: a key or value from the document cannot forge a line."""
    return "".join(c.encode("unicode_escape").decode("ascii") if c.isprintable() is False and c != " " else c for c in text)


def _finite(value: Any) -> bool:
    todo = [value]
    while todo:
        node = todo.pop()
        if isinstance(node, float) and not math.isfinite(node):
            return False
        if isinstance(node, dict | list):
            todo += node.values() if isinstance(node, dict) else node
    return True


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
                except (TypeError, ValueError, OverflowError):
                    return f"config.{key}.{name}.{size} must be a whole number (got {entry[size]!r})"
            types = entry.get("instanceTypes", []) if key == "servestack:nodePools" else []
            if not (isinstance(types, list) and all(isinstance(t, str) for t in types)):
                return f"config.{key}.{name}.instanceTypes must be a list of instance types (got {types!r})"
    for key, value in config.items():
        if not _finite(decode_json(value)):
            return f"config.{key} holds a number out of range (NaN or Infinity)"
    return None
