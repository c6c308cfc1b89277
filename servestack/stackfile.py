"""Round-trip editing of a stack file (``stacks/Pulumi.<stack>.yaml``): read it, find its endpoints,
change them, write it back, with comments, key order, quoting and layout kept as they were.

Commands change a stack file only through :func:`update` (read, change, write in one call), and
:func:`write` is the only function that writes one: making writes atomic and serialized (a lock
held across the re-read, the change and the write; a temp file renamed into place) changes
these two and no caller.
"""

from __future__ import annotations

import datetime
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark
from ruamel.yaml.scalarstring import DoubleQuotedScalarString
from ruamel.yaml.tokens import CommentToken

ENDPOINTS_KEY = "servestack:endpoints"


class StackFileError(Exception):
    """A stack file that cannot be read or is not a stack file; the message names the file."""


# --------------------------------------------------------------------------- read and write


class Change(Protocol):
    after: str
    """The stack file's new text."""


C = TypeVar("C", bound=Change)


def update(path: Path, shown_as: str, change: Callable[[str], C]) -> C:
    """Read the stack file at ``path``, compute its new text with ``change`` and write it.

    ``change`` gets the current text and returns the change (its ``after`` is written), or raises
    to leave the file as it is. It must depend only on the text it is given: a serialized
    :func:`update` re-reads the file and runs it on what it finds there.
    """
    result = change(read(path, shown_as))
    write(path, result.after)
    return result


def read(path: Path, shown_as: str) -> str:
    """The text of a stack file; ``shown_as`` is its name in messages."""
    try:
        return path.read_text()
    except UnicodeDecodeError as error:  # the words of the reader every command uses (stackyaml)
        raise StackFileError(f"{shown_as} is not UTF-8 text (byte 0x{error.object[error.start]:02x} at offset {error.start})") from None
    except OSError as error:  # a directory, unreadable: one line, never a traceback
        raise StackFileError(f"{shown_as} cannot be read: {error.strerror or error}") from None


def write(path: Path, text: str) -> None:
    """Write a stack file's new text: the one place a stack file is written."""
    path.write_text(text)


# --------------------------------------------------------------------------- parse and render


def _yaml() -> YAML:
    yaml = YAML()  # round-trip mode: keeps comments, key order, quotes and flow/block style
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def parse(text: str, shown_as: str) -> CommentedMap:
    """The stack file's document, for editing; its ``config:`` mapping is ``document["config"]``."""
    from ruamel.yaml import YAMLError

    from .stackyaml import StackYamlError, load_stack_yaml

    try:
        load_stack_yaml(text, shown_as)  # the bounds and checks every reader of a stack file applies
    except StackYamlError as error:
        raise StackFileError(str(error)) from None
    try:
        document = _yaml().load(text)
    except YAMLError as error:  # also a key given twice, which ruamel refuses and PyYAML lets pass
        raise StackFileError(f"{shown_as} is not valid YAML: {error}") from None
    if not isinstance(document, CommentedMap) or not isinstance(document.get("config"), CommentedMap):
        raise StackFileError(f"{shown_as} must be a mapping with a 'config:' mapping inside")
    return document


def render(document: CommentedMap, original: str) -> str:
    """The text of the edited ``document`` that was parsed from ``original``."""
    out = io.StringIO()
    _yaml().dump(document, out)
    text = out.getvalue()
    if original.endswith("\n") and not text.endswith("\n"):
        text += "\n"  # removing the last key can take the file's final newline with it
    return text


def endpoint(document: CommentedMap, name: str) -> CommentedMap:
    """The mapping of endpoint ``name`` under ``config:`` / ``servestack:endpoints``."""
    return document["config"][ENDPOINTS_KEY][name]


def plain(node: Any) -> Any:
    """The parsed value as plain dicts, lists and scalars (as ``yaml.safe_load`` would give it)."""
    if isinstance(node, dict):
        return {str(k): plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [plain(v) for v in node]
    if isinstance(node, str):
        return str(node)
    if isinstance(node, (datetime.date, datetime.datetime)):
        return node.isoformat()  # a date is config text (stackyaml reads it as written; the same for a plain date)
    return node


# --------------------------------------------------------------------------- edits


def scalar(value: str) -> Any:
    """A string that YAML would read back as a string (``"3.1"`` stays text, not a float)."""
    import yaml as pyyaml

    return value if isinstance(pyyaml.safe_load(value), str) else DoubleQuotedScalarString(value)


def flow_list(values: list[int]) -> CommentedSeq:
    """A list written on one line: ``[10, 50, 100]``."""
    seq = CommentedSeq(values)
    seq.fa.set_flow_style()
    return seq


def put(mapping: CommentedMap, key: str, value: Any) -> None:
    """Set ``key`` (appended if new); the blank lines and comments after ``mapping`` stay after it.

    A mapping ``value`` must be a ``CommentedMap`` (ruamel keeps the trailing lines with the
    deepest last key, which a plain dict cannot hold).
    """
    trailing = _split_trailing(mapping)
    mapping[key] = value
    _add_trailing(mapping, trailing)


def delete(mapping: CommentedMap, key: str) -> None:
    """Remove ``key``; the blank lines and comments after ``mapping`` stay after it."""
    trailing = _split_trailing(mapping)
    del mapping[key]
    _add_trailing(mapping, trailing)


def replace(mapping: CommentedMap, key: str, value: Any) -> None:
    """Set ``key``, dropping a comment at the end of its line: it described the value replaced."""
    mapping[key] = value
    entry = mapping.ca.items.get(key)
    if entry and len(entry) > 2 and entry[2] is not None and entry[2].value.lstrip(" ").startswith("#"):
        _, newline, rest = entry[2].value.partition("\n")
        entry[2].value = newline + rest


def _last_leaf(mapping: CommentedMap) -> tuple[CommentedMap, Any]:
    key = list(mapping)[-1]
    value = mapping[key]
    if isinstance(value, CommentedMap) and len(value) and not value.fa.flow_style():
        return _last_leaf(value)
    return mapping, key


def _split_trailing(mapping: CommentedMap) -> str:
    """Detach what follows the last line of ``mapping`` (blank lines, comment lines) and return it.

    ruamel keeps those with the deepest last key, so appending or deleting a key would otherwise
    move a blank line between two endpoints into the middle of one.
    """
    holder, key = _last_leaf(mapping)
    entry = holder.ca.items.get(key)
    if not entry or len(entry) < 3 or entry[2] is None:
        return ""
    head, newline, rest = entry[2].value.partition("\n")
    entry[2].value = head + newline
    return rest


def _add_trailing(mapping: CommentedMap, text: str) -> None:
    if not text:
        return
    holder, key = _last_leaf(mapping)
    entry = holder.ca.items.setdefault(key, [None, None, None, None])
    if entry[2] is None:
        entry[2] = CommentToken("\n" + text, CommentMark(0), None)
    else:
        entry[2].value += text
