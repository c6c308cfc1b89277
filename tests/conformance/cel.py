"""Evaluate a CRD's CEL rules (``x-kubernetes-validations``) on an object, as the API server does on create.

The evaluator is cel-python (``celpy``, standard CEL) with the Kubernetes CEL libraries it lacks,
written here from their specifications (k8s.io/apiserver/pkg/cel/library and cel-go's strings
extension, as Kubernetes 1.35 enables them): the strings extension (``charAt``, ``indexOf``,
``lastIndexOf``, ``lowerAscii``, ``upperAscii``, ``replace``, ``split``, ``substring``, ``trim``,
``join``), the regex library (``find``, ``findAll``), the lists library (``isSorted``, ``sum``,
``min``, ``max``, ``indexOf``, ``lastIndexOf``) and the IP library's ``isIP`` / ``isCIDR``.

What the API server does, and this module with it:

- defaulting runs first (:func:`apply_defaults`), so a rule sees the defaulted object;
- a rule runs where it is declared, once for each value present there (each list item, map value);
  a rule whose field is absent does not run;
- property names that are CEL keywords or hold other characters are escaped (``namespace`` ->
  ``__namespace__``, ``-`` -> ``__dash__``, ...); map keys (``additionalProperties``) are not;
- a rule that returns false, or fails to evaluate (no such key, a type error), refuses the object
  with the rule's message (``messageExpression`` when it evaluates to a string).

Not evaluable, and said so with the reason (:func:`not_evaluable`), never skipped silently: a
transition rule (one that reads ``oldSelf``) runs only on update, against the stored object, so a
plan (every object created) has none to compare with; and a rule calling a function none of the
libraries above provides.
"""

from __future__ import annotations

import copy
import ipaddress
import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import celpy
import lark
import re2  # RE2, the regular expressions of CEL (a dependency of cel-python)
from celpy import celtypes
from celpy.evaluation import base_functions

#: CEL's reserved words: a property named so is reached as ``__<name>__`` (apiserver's CEL escaping).
_RESERVED = {"true", "false", "null", "in", "as", "break", "const", "continue", "else", "for", "function", "if",
             "import", "let", "loop", "package", "namespace", "return", "var", "void", "while"}
_MACROS = {"has", "all", "exists", "exists_one", "map", "filter"}


def escape_property(name: str) -> str:
    """The name a CEL rule uses for the property ``name`` (k8s.io/apiserver/pkg/cel/escaping.go)."""
    if name in _RESERVED:
        return f"__{name}__"
    out = name.replace("__", "__underscores__")
    for char, word in (("-", "__dash__"), (".", "__dot__"), ("/", "__slash__")):
        out = out.replace(char, word)
    return out


# --- the Kubernetes libraries cel-python lacks ----------------------------------------------------

def _s(value: Any) -> str:
    return str(value)


def _index_of(target: Any, sub: Any, offset: Any = 0) -> celtypes.IntType:
    if isinstance(target, celtypes.ListType):
        return celtypes.IntType(next((i for i, v in enumerate(target) if i >= int(offset) and v == sub), -1))
    return celtypes.IntType(_s(target).find(_s(sub), int(offset)))


def _last_index_of(target: Any, sub: Any, offset: Any = None) -> celtypes.IntType:
    if isinstance(target, celtypes.ListType):
        return celtypes.IntType(max((i for i, v in enumerate(target) if v == sub), default=-1))
    end = None if offset is None else int(offset) + len(_s(sub))
    return celtypes.IntType(_s(target).rfind(_s(sub), 0, end))


def _split(target: Any, sep: Any, limit: Any = -1) -> celtypes.ListType:
    limit = int(limit)
    if limit == 0:
        return celtypes.ListType([])
    parts = _s(target).split(_s(sep), limit - 1) if limit > 0 else _s(target).split(_s(sep))
    return celtypes.ListType([celtypes.StringType(p) for p in parts])


def _substring(target: Any, start: Any, end: Any = None) -> celtypes.StringType:
    text = _s(target)
    start, stop = int(start), len(text) if end is None else int(end)
    if not 0 <= start <= stop <= len(text):
        raise ValueError(f"substring({start}, {stop}) out of range for a string of length {len(text)}")
    return celtypes.StringType(text[start:stop])


def _replace(target: Any, old: Any, new: Any, limit: Any = -1) -> celtypes.StringType:
    return celtypes.StringType(_s(target).replace(_s(old), _s(new), int(limit)))


def _join(target: Any, sep: Any = "") -> celtypes.StringType:
    return celtypes.StringType(_s(sep).join(_s(v) for v in target))


def _find(target: Any, pattern: Any) -> celtypes.StringType:
    match = re2.search(_s(pattern), _s(target))
    return celtypes.StringType(match.group(0) if match else "")


def _find_all(target: Any, pattern: Any, limit: Any = -1) -> celtypes.ListType:
    found = [m.group(0) for m in re2.finditer(_s(pattern), _s(target))]
    if int(limit) >= 0:
        found = found[:int(limit)]
    return celtypes.ListType([celtypes.StringType(f) for f in found])


def _is_sorted(target: Any) -> celtypes.BoolType:
    return celtypes.BoolType(all(a <= b for a, b in zip(target, list(target)[1:])))


def _sum(target: Any) -> Any:
    """The sum of a list of numbers (0 of the list's number type; an empty list sums to int 0)."""
    if not target:
        return celtypes.IntType(0)
    total = target[0]
    for item in list(target)[1:]:
        total = total + item
    return total


def _min(target: Any) -> Any:
    if not target:
        raise ValueError("min of an empty list")
    return min(target)


def _max(target: Any) -> Any:
    if not target:
        raise ValueError("max of an empty list")
    return max(target)


def _is_ip(target: Any) -> celtypes.BoolType:
    """apiserver's library.IP: an IPv4 or IPv6 address; no zone, no IPv4-mapped IPv6 form."""
    text = _s(target)
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return celtypes.BoolType(False)
    return celtypes.BoolType(not (isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None))


def _is_cidr(target: Any) -> celtypes.BoolType:
    try:
        ipaddress.ip_network(_s(target), strict=False)
    except ValueError:
        return celtypes.BoolType(False)
    return celtypes.BoolType("/" in _s(target))


KUBERNETES_FUNCTIONS: dict[str, Any] = {
    "charAt": lambda s, i: celtypes.StringType(_s(s)[int(i)] if int(i) < len(_s(s)) else ""),
    "indexOf": _index_of,
    "lastIndexOf": _last_index_of,
    "lowerAscii": lambda s: celtypes.StringType("".join(c.lower() if c.isascii() else c for c in _s(s))),
    "upperAscii": lambda s: celtypes.StringType("".join(c.upper() if c.isascii() else c for c in _s(s))),
    "replace": _replace,
    "split": _split,
    "substring": _substring,
    "trim": lambda s: celtypes.StringType(_s(s).strip()),
    "join": _join,
    "find": _find,
    "findAll": _find_all,
    "isSorted": _is_sorted,
    "sum": _sum,
    "min": _min,
    "max": _max,
    "isIP": _is_ip,
    "isCIDR": _is_cidr,
}
SUPPORTED_FUNCTIONS = frozenset(base_functions) | _MACROS | frozenset(KUBERNETES_FUNCTIONS)


# --- compiling rules ------------------------------------------------------------------------------

_ENV = celpy.Environment()


def called_functions(tree: lark.Tree) -> set[str]:
    """Every function or method name a compiled rule calls (macros included)."""
    names = set()
    for node in tree.iter_subtrees():
        if node.data == "member_dot_arg":
            names.add(str(node.children[1]))
        elif node.data == "ident_arg":
            names.add(str(node.children[0]))
    return names


@cache
def _compiled(rule: str) -> tuple[Any, str | None]:
    """(program, None), or (None, why the rule is not evaluable)."""
    if re.search(r"\boldSelf\b", rule):
        return None, "transition rule (reads oldSelf): runs only on update, against the stored object"
    try:
        tree = _ENV.compile(rule)
    except celpy.CELParseError as error:
        return None, f"cel-python cannot parse it: {str(error).splitlines()[0]}"
    missing = sorted(called_functions(tree) - SUPPORTED_FUNCTIONS)
    if missing:
        return None, f"calls {', '.join(missing)}, which no library here provides"
    return _ENV.program(tree, functions=KUBERNETES_FUNCTIONS), None


def not_evaluable(rule: str) -> str | None:
    """Why ``rule`` cannot be evaluated on a created object (None when it can)."""
    return _compiled(rule)[1]


# --- objects as the rules see them ----------------------------------------------------------------

def apply_defaults(schema: dict[str, Any], value: Any) -> Any:
    """``value`` with the schema's defaults filled in, as the API server defaults before validating."""
    if isinstance(value, dict):
        out = dict(value)
        props = schema.get("properties") or {}
        for name, sub in props.items():
            if name not in out and "default" in sub:
                out[name] = copy.deepcopy(sub["default"])
        for key, sub_value in out.items():
            sub_schema = props.get(key) if key in props else schema.get("additionalProperties")
            if isinstance(sub_schema, dict):
                out[key] = apply_defaults(sub_schema, sub_value)
        return out
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [apply_defaults(schema["items"], item) for item in value]
    return value


def to_cel(schema: dict[str, Any] | None, value: Any) -> Any:
    """The CEL value of ``value``: declared properties under their escaped names, map keys as they are."""
    schema = schema or {}
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        out = {}
        for key, sub in value.items():
            if key in props:
                out[celtypes.StringType(escape_property(key))] = to_cel(props[key], sub)
            else:
                out[celtypes.StringType(key)] = to_cel(extra if isinstance(extra, dict) else None, sub)
        return celtypes.MapType(out)
    if isinstance(value, list):
        return celtypes.ListType([to_cel(schema.get("items"), item) for item in value])
    return celpy.json_to_cel(value)


# --- walking an object ----------------------------------------------------------------------------

@dataclass
class Outcome:
    """What the rules of one schema did on the objects given to :func:`evaluate`."""

    evaluations: int = 0
    failures: list[str] = field(default_factory=list)
    evaluated: set[str] = field(default_factory=set)
    """Rules (text) that ran at least once."""
    skipped: dict[str, str] = field(default_factory=dict)
    """Rules that were reached but are not evaluable, with the reason."""


def _message(program_rule: dict[str, Any], activation: dict[str, Any]) -> str:
    expression = program_rule.get("messageExpression")
    if expression:
        program, why = _compiled(expression)
        if program is not None:
            try:
                result = program.evaluate(activation)
                if isinstance(result, celtypes.StringType) and str(result):
                    return str(result)
            except celpy.CELEvalError:
                pass
    return program_rule.get("message") or f"failed rule: {program_rule['rule']}"


def evaluate(schema: dict[str, Any], value: Any, outcome: Outcome, path: str = "") -> None:
    """Run every CEL rule of ``schema`` on ``value`` (already defaulted), recording into ``outcome``."""
    rules = schema.get("x-kubernetes-validations") or []
    if rules and value is not None:
        activation = {"self": to_cel(schema, value)}
        for rule in rules:
            program, why = _compiled(rule["rule"])
            if program is None:
                outcome.skipped[rule["rule"]] = why or ""
                continue
            outcome.evaluations += 1
            outcome.evaluated.add(rule["rule"])
            try:
                result = program.evaluate(activation)
            except celpy.CELEvalError as error:
                outcome.failures.append(f"{path or '(root)'}: {rule['rule']!r} could not be evaluated: {error.args[0]}")
                continue
            if isinstance(result, celpy.CELEvalError):
                outcome.failures.append(f"{path or '(root)'}: {rule['rule']!r} could not be evaluated: {result.args[0]}")
            elif not (isinstance(result, celtypes.BoolType) and bool(result)):
                outcome.failures.append(f"{path or '(root)'}: {_message(rule, activation)}")
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        for key, sub in value.items():
            sub_schema = props.get(key) if key in props else (extra if isinstance(extra, dict) else None)
            if sub_schema is not None:
                evaluate(sub_schema, sub, outcome, f"{path}.{key}" if path else key)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            evaluate(schema["items"], item, outcome, f"{path}[{index}]")


def declared_rules(schema: Any) -> list[str]:
    """Every rule text declared anywhere in a schema (each occurrence)."""
    found: list[str] = []
    if isinstance(schema, dict):
        found += [rule["rule"] for rule in schema.get("x-kubernetes-validations") or []]
        for value in schema.values():
            found += declared_rules(value)
    elif isinstance(schema, list):
        for value in schema:
            found += declared_rules(value)
    return found


def check(schema: dict[str, Any], obj: dict[str, Any], outcome: Outcome | None = None) -> Outcome:
    """Default ``obj`` with ``schema`` (a CRD version's openAPIV3Schema) and run its CEL rules."""
    outcome = outcome or Outcome()
    evaluate(schema, apply_defaults(schema, obj), outcome)
    return outcome
