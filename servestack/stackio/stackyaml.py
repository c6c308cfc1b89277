"""The one reader of stack files (``stacks/Pulumi.<stack>.yaml``) for every command: bounded and strict.

A stack file is YAML, but what Pulumi hands a program is JSON-like config, so this reader accepts
exactly what can become config and refuses the rest with one line that says where:

- bounded before anything is built: file size (:data:`MAX_BYTES`), nesting depth (:data:`MAX_DEPTH`)
  and the size of the document with every alias expanded (:data:`MAX_NODES`; an alias bomb is
  refused, however small the file), recursive aliases; a first pass over the parser's flat event
  stream measures all of these without recursion, so nothing deep or huge is ever composed;
- a key given twice in one mapping is refused naming both lines (Pulumi's YAML reader and
  ruamel refuse it too; PyYAML alone would keep the last one silently);
- a date or timestamp (``version: 2026-05-01``) is the text the user wrote; binary data, sets,
  ordered maps, non-finite numbers and integers beyond Python's 4300-digit limit are refused with
  their path.

:class:`StackYamlError` carries the one-line reason, already naming the file; control characters
from the file are escaped (:func:`one_line`), so no value can forge a line of the message.
"""

from __future__ import annotations

import datetime
import functools
import json
import math
import re
from pathlib import Path
from typing import Any

import yaml

#: Largest stack file read (a stack of a thousand endpoints is well under 2 MiB).
MAX_BYTES = 16 * 1024 * 1024
#: Deepest nesting of mappings and lists (the schema needs fewer than 10 levels).
MAX_DEPTH = 100
#: Most values (scalars, mappings, lists) in the document with every alias expanded (a stack of a
#: thousand endpoints has about 30,000).
MAX_NODES = 100_000
#: Longest integer written in a stack file (Python refuses to convert more than 4300 digits).
MAX_INT_DIGITS = 4300

_JSON_SCALARS = (str, int, float, bool, type(None))
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class StackYamlError(ValueError):
    """The stack file cannot be read as config; the message is one line naming the file."""


def one_line(text: str) -> str:
    """``text`` with every control character (newline included) escaped as ``\\n`` / ``\\x1b``."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def read_stack_yaml(path: Path, shown_as: str) -> Any:
    """The document of the stack file at ``path`` (``shown_as`` names it in messages)."""
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise StackYamlError(f"{shown_as} is not a file")
        if size > MAX_BYTES:
            raise StackYamlError(f"{shown_as} is {size} bytes; a stack file may hold at most {MAX_BYTES}")
        data = path.read_bytes()
    except OSError as error:
        raise StackYamlError(one_line(f"{shown_as} cannot be read: {error.strerror or error}")) from None
    return load_stack_yaml(data, shown_as)


def load_stack_yaml(data: bytes | str, shown_as: str) -> Any:
    """Parse a stack file's text (bytes must be UTF-8) into plain dicts, lists and JSON scalars."""
    if len(data) > MAX_BYTES:
        raise StackYamlError(f"{shown_as} is {len(data)} bytes; a stack file may hold at most {MAX_BYTES}")
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise StackYamlError(f"{shown_as} is not UTF-8 text (byte 0x{data[error.start]:02x} at offset {error.start})") from None
    else:
        text = data
    try:
        _measure(text, shown_as)
        document = yaml.load(text, Loader=_loader())  # noqa: S506 - a SafeLoader subclass
    except StackYamlError:
        raise
    except yaml.YAMLError as error:
        raise StackYamlError(one_line(f"{shown_as} is not valid YAML: {_yaml_reason(error)}")) from None
    except (ValueError, RecursionError) as error:  # what PyYAML does not wrap (defensive: _measure bounds it)
        raise StackYamlError(one_line(f"{shown_as} cannot be read: {error}")) from None
    _check_values(document, (), shown_as, set())
    return document


def _yaml_reason(error: yaml.YAMLError) -> str:
    if isinstance(error, yaml.MarkedYAMLError):
        parts = [error.context, str(error.context_mark).strip() if error.context_mark else None,
                 error.problem, str(error.problem_mark).strip() if error.problem_mark else None]
        return "; ".join(" ".join(p.replace('in "<unicode string>", ', "").split()) for p in parts if p)
    return " ".join(str(error).split())


def _line(mark: Any) -> str:
    return f"line {mark.line + 1}" if mark is not None else "an unknown line"


# --------------------------------------------------------------------------- pass 1: bounds


def _measure(text: str, shown_as: str) -> None:
    """Refuse a document too deep or too large once aliases are expanded, or one with a recursive alias.

    Walks the parser's flat event stream: each open collection counts the values inside it; an
    anchor remembers the size and depth of what it names, so an alias adds them without expanding.
    """
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    anchors: dict[str, tuple[int, int]] = {}  # anchor -> (expanded values, depth below it)
    stack: list[list[Any]] = []  # open collections: [anchor, values inside, deepest depth below, start mark]
    total = 0

    def add(count: int, depth: int, mark: Any) -> None:
        nonlocal total
        total += count
        if total > MAX_NODES:
            raise StackYamlError(f"{shown_as}: more than {MAX_NODES} values once aliases are expanded (near {_line(mark)}); "
                                 "an alias bomb or a document far larger than any stack")
        if len(stack) + depth > MAX_DEPTH:
            raise StackYamlError(f"{shown_as}: nested more than {MAX_DEPTH} levels deep (at {_line(mark)})")
        if stack:
            stack[-1][1] += count
            stack[-1][2] = max(stack[-1][2], depth)

    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            add(0, 0, event.start_mark)
            stack.append([event.anchor, 1, 0, event.start_mark])
            if len(stack) > MAX_DEPTH:
                raise StackYamlError(f"{shown_as}: nested more than {MAX_DEPTH} levels deep (at {_line(event.start_mark)})")
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            anchor, count, depth, _ = stack.pop()
            if anchor is not None:
                anchors[anchor] = (count, depth + 1)
            total -= count  # counted again, whole, in its parent
            add(count, depth + 1, event.start_mark)
        elif isinstance(event, yaml.ScalarEvent):
            if event.anchor is not None:
                anchors[event.anchor] = (1, 0)
            add(1, 0, event.start_mark)
        elif isinstance(event, yaml.AliasEvent):
            if any(frame[0] == event.anchor for frame in stack):
                raise StackYamlError(one_line(f"{shown_as}: the alias *{event.anchor} at {_line(event.start_mark)} refers to "
                                              "a mapping or list that contains it (a recursive alias)"))
            if event.anchor not in anchors:
                continue  # the composer names an undefined alias with its line
            count, depth = anchors[event.anchor]
            add(count, depth, event.start_mark)


# --------------------------------------------------------------------------- pass 2: construct


class _StrictConstructor(yaml.constructor.SafeConstructor):
    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, Any] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.setdefault(key, key_node)
                except TypeError:
                    continue  # an unhashable key: SafeConstructor names it
                if first is not key_node:
                    raise yaml.constructor.ConstructorError(
                        None, None, one_line(f"the key {_quote(key)} is given twice in one mapping: at {_line(first.start_mark)} "
                                             f"and {_line(key_node.start_mark)} (Pulumi refuses that; keep one)"),
                        key_node.start_mark)
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_timestamp(self, node):
        return self.construct_scalar(node)  # the date as written: config values are text

    def construct_yaml_int(self, node):
        digits = self.construct_scalar(node)
        if "_" in digits or ":" in digits:  # YAML 1.1 reads 10_0 as 100 and 1:40 as 100: one typo, another number
            raise yaml.constructor.ConstructorError(
                None, None, f"the integer {digits} is written with {'_' if '_' in digits else ':'}, which YAML 1.1 "
                            "reads as another number; write the plain digits (or quote it if it is text)", node.start_mark)
        if len(digits) > MAX_INT_DIGITS:
            raise yaml.constructor.ConstructorError(
                None, None, f"an integer of {len(digits)} digits; at most {MAX_INT_DIGITS} are allowed", node.start_mark)
        return super().construct_yaml_int(node)


_StrictConstructor.add_constructor("tag:yaml.org,2002:timestamp", _StrictConstructor.construct_yaml_timestamp)
_StrictConstructor.add_constructor("tag:yaml.org,2002:int", _StrictConstructor.construct_yaml_int)


@functools.cache
def _loader() -> type:
    if getattr(yaml, "__with_libyaml__", False):
        from yaml.cyaml import CParser

        class Loader(CParser, _StrictConstructor, yaml.resolver.Resolver):
            def __init__(self, stream):
                CParser.__init__(self, stream)
                _StrictConstructor.__init__(self)
                yaml.resolver.Resolver.__init__(self)
    else:
        class Loader(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser, yaml.composer.Composer,
                     _StrictConstructor, yaml.resolver.Resolver):
            def __init__(self, stream):
                yaml.reader.Reader.__init__(self, stream)
                yaml.scanner.Scanner.__init__(self)
                yaml.parser.Parser.__init__(self)
                yaml.composer.Composer.__init__(self)
                _StrictConstructor.__init__(self)
                yaml.resolver.Resolver.__init__(self)
    return Loader


# --------------------------------------------------------------------------- pass 3: values


_NOT_CONFIG = {
    bytes: "binary data (!!binary) is not a config value; write the text itself",
    set: "a set (!!set) is not a config value; write a list",
    tuple: "a pair (!!omap or !!pairs) is not a config value; write a mapping",
}


def _check_values(node: Any, loc: tuple[Any, ...], shown_as: str, seen: set[int]) -> None:
    """Refuse values that JSON config cannot hold, naming their path (depth is bounded by pass 1).

    A mapping or list that aliases share is checked once (``seen``)."""
    if isinstance(node, dict | list):
        if id(node) in seen:
            return
        seen.add(id(node))
    if isinstance(node, dict):
        for key, value in node.items():
            if not isinstance(key, _JSON_SCALARS) or (isinstance(key, float) and not math.isfinite(key)):
                _refuse(shown_as, loc, f"the key {_quote(key)} is not text; write it as a string")
            _check_values(value, (*loc, key), shown_as, seen)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            _check_values(value, (*loc, index), shown_as, seen)
    elif isinstance(node, float) and not math.isfinite(node):
        _refuse(shown_as, loc, f"{node} is not a number a config value can hold; write a finite number")
    elif isinstance(node, (datetime.date, datetime.datetime)):
        _refuse(shown_as, loc, "a date is not a config value; quote it")  # explicit !!timestamp: not reached today
    elif not isinstance(node, _JSON_SCALARS):
        reason = next((text for kind, text in _NOT_CONFIG.items() if isinstance(node, kind)),
                      f"a {type(node).__name__} is not a config value")
        _refuse(shown_as, loc, reason)


def _refuse(shown_as: str, loc: tuple[Any, ...], reason: str) -> None:
    raise StackYamlError(one_line(f"{shown_as}: {location(loc)}: {reason}"))


def location(loc: tuple[Any, ...]) -> str:
    """``("config", "servestack:tags", "a.b")`` -> ``config["servestack:tags"]["a.b"]``-like, one line."""
    text = ""
    for part in loc:
        if isinstance(part, int) and not isinstance(part, bool):
            text += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z0-9_:/-]+", str(part)):
            text += f".{part}" if text else str(part)
        else:
            text += f"[{_quote(part)}]"
    return text or "the document"


def _quote(value: Any) -> str:
    try:
        return json.dumps(value if isinstance(value, _JSON_SCALARS) else str(value))
    except ValueError:
        return repr(value)
