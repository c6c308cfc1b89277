"""Shared machinery of the typed stack configuration.

Every section of ``servestack:*`` config is a :class:`ConfigModel`: strict (unknown keys are
errors), camelCase on the outside, snake_case in Python, and every field documented with its
default. Problems are collected as :class:`ConfigProblem` values, each naming its config path
(``servestack:nodePools.gpu.maxSize``), the bad value and what is allowed, so that a stack with
five mistakes reports all five at once.
"""

from __future__ import annotations

import json
import re
import types
import typing
from dataclasses import dataclass
from typing import Any

import pulumi
from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel

from ..core.findings import MISSING, Finding
from ..core.stack_keys import NAMESPACE

_MISSING = MISSING  # marks a problem that has no offending value (a required key that is absent)


class ConfigModel(BaseModel):
    """Base of every config section: strict, camelCase keys, immutable after validation."""

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
        validate_default=True,
        use_attribute_docstrings=True,
    )

    def problems(self) -> "list[Finding]":
        """Semantic checks across this model's fields; override to add them. Runs after parsing."""
        return []


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong with a stack's config."""

    path: str
    """Full config path, e.g. ``servestack:nodePools.gpu.maxSize``."""
    message: str
    """What is wrong and what is allowed."""
    value: Any = _MISSING
    """The offending value, when there is one."""

    def render(self) -> str:
        """One line, whatever the file held: control characters (a newline in a key, a value or a
        message quoting one) are escaped, so no value can forge another problem line."""
        path = self.path if _PLAIN_PATH.match(self.path) else _escaped(self.path)
        if self.value is _MISSING:
            return f"{path}: {_escaped(self.message)}"
        return f"{path}: {_escaped(self.message)} (got {_show(self.value)})"


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _escaped(text: str) -> str:
    """``text`` with every control character written as its escape (``\\n``, ``\\x1b``)."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def _show(value: Any) -> str:
    try:
        text = json.dumps(value, sort_keys=True, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def join_path(key: str, loc: tuple[Any, ...] | list[Any]) -> str:
    """``("servestack:nodePools", ("gpu", "maxSize"))`` -> ``servestack:nodePools.gpu.maxSize``.

    A key that is not a plain word (a dot, a bracket, a control character) is shown quoted,
    ``servestack:tags["a.b"]``, so that every problem stays one unambiguous line.
    """
    path = key
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif _PLAIN_KEY.match(str(part)):
            path += f".{part}"
        else:
            path += f"[{json.dumps(str(part))}]"
    return path


_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_:/-]+$")
_PLAIN_PATH = re.compile(r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029]*$")


# pydantic's messages are good but speak Python; say them the way a config author reads them.
_TYPE_WORDS = {
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "string_type": "must be a string",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "dict_type": "must be a mapping",
    "model_type": "must be a mapping",
    "model_attributes_type": "must be a mapping",
    "list_type": "must be a list",
    "missing": "is required",
    "extra_forbidden": "is not a known setting",
}


def problems_from_validation_error(key: str, error: ValidationError, model: type[BaseModel] | Any = None,
                                   prefix: tuple[Any, ...] = ()) -> list[ConfigProblem]:
    """Translate a pydantic error into config problems under ``key`` (and ``prefix`` inside it)."""
    problems = []
    for item in error.errors(include_url=False):
        loc = tuple(p for p in item["loc"] if not _is_union_tag(p))
        kind = item["type"]
        message = _TYPE_WORDS.get(kind, item["msg"])
        if kind.startswith("value_error") or kind == "assertion_error":
            message = item["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
        elif kind == "literal_error":
            message = "must be one of " + item["ctx"]["expected"].replace("'", "")
        elif kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
            word = {"greater_than_equal": ">=", "less_than_equal": "<=", "greater_than": ">", "less_than": "<"}[kind]
            bound = next(iter(item["ctx"].values()))
            message = f"must be {word} {bound}"
        elif kind == "too_short":
            message = f"must hold at least {item['ctx']['min_length']} entr{'y' if item['ctx']['min_length'] == 1 else 'ies'}"
        elif kind == "string_pattern_mismatch":
            message = f"must match the pattern {item['ctx']['pattern']}"
        elif kind == "extra_forbidden" and model is not None:
            allowed = allowed_keys(model, loc[:-1])
            if allowed:
                message = f"is not a known setting; allowed here: {', '.join(allowed)}"
        value = item.get("input", _MISSING) if kind != "missing" else _MISSING
        problems.append(ConfigProblem(join_path(key, prefix + loc), message, value))
    return problems


def _is_union_tag(part: Any) -> bool:
    # pydantic inserts the union member's name ("function-after[...]" or a model name) into loc.
    return isinstance(part, str) and ("[" in part and "]" in part and "(" not in part)


class ConfigError(pulumi.RunError):
    """The stack's config is invalid. Raised before any resource exists; lists every problem."""

    def __init__(self, stack: str, problems: list[ConfigProblem]):
        self.stack = stack
        unique = {(p.path, p.render()): p for p in problems}
        self.problems = [unique[k] for k in sorted(unique)]
        lines = [f"stack {stack!r} has {len(self.problems)} config problem(s); nothing was created:"]
        lines += [f"  - {p.render()}" for p in self.problems]
        super().__init__("\n".join(lines))


def allowed_keys(annotation: Any, loc: tuple[Any, ...]) -> list[str]:
    """The camelCase keys a config author may write at ``loc`` inside ``annotation``."""
    current = annotation
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = next((f for n, f in current.model_fields.items() if (f.alias or n) == part), None)
            if field is None:
                return []
            current = field.annotation
        elif typing.get_origin(current) in (dict, list, tuple):
            current = typing.get_args(current)[-1]
        else:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or n for n, f in current.model_fields.items()]
    return []


def _unwrap(annotation: Any) -> Any:
    """``Optional[X]`` / ``Annotated[X, ...]`` -> ``X``."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation



def check_tree(key: str, node: Any, loc: tuple[Any, ...] = ()) -> list[ConfigProblem]:
    """Run ``problems()`` of every model in a parsed config tree, turning findings into problems."""
    found: list[ConfigProblem] = []
    if isinstance(node, BaseModel):
        for name, field in type(node).model_fields.items():
            found += check_tree(key, getattr(node, name), loc + (field.alias or name,))
        check = getattr(node, "problems", None)
        if check is not None:
            found += [ConfigProblem(join_path(key, loc + f.loc), f.message, f.value) for f in check()]
    elif isinstance(node, dict):
        for k, v in node.items():
            found += check_tree(key, v, loc + (k,))
    elif isinstance(node, (list, tuple)):
        for i, v in enumerate(node):
            found += check_tree(key, v, loc + (i,))
    return found
