"""Round-trip editing of a stack file (``stacks/Pulumi.<stack>.yaml``): read it, find its endpoints,
change them, write it back, with comments, key order, quoting and layout kept as they were.

Commands change a stack file only through :func:`update` (read, change, write in one call), and
:func:`write` is the only function that writes one. Both are serialized and atomic
(:mod:`servestack.stackio.atomic`): :func:`update` holds the file's lock across the read, the change and
the write, so a change is always computed from what the last writer left; the new text is
renamed into place, so a killed writer or a full disk leaves the file as it was.
"""

from __future__ import annotations

import datetime
import io
import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, Protocol, TypeVar

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark
from ruamel.yaml.scalarstring import DoubleQuotedScalarString
from ruamel.yaml.tokens import CommentToken

from . import atomic

ENDPOINTS_KEY = "servestack:endpoints"
LLM_ENDPOINTS_KEY = "servestack:llmEndpoints"


class StackFileError(Exception):
    """A stack file that cannot be read or is not a stack file; the message names the file."""


# --------------------------------------------------------------------------- read and write


class Change(Protocol):
    after: str
    """The stack file's new text."""


C = TypeVar("C", bound=Change)


def update(path: Path, shown_as: str, change: Callable[[str], C], *,
           timeout: float | None = None) -> C:
    """Read the stack file at ``path``, compute its new text with ``change`` and write it, holding
    the file's lock throughout (another writer waits; after ``timeout`` seconds, default
    :data:`servestack.stackio.atomic.LOCK_TIMEOUT_SECONDS`, StackFileError says the file is busy).

    ``change`` gets the current text and returns the change (its ``after`` is written), or raises
    to leave the file as it is. It must depend only on the text it is given: it runs on what the
    file holds once the lock is taken, so a change made meanwhile by another writer is kept.
    """
    with _locked(path, shown_as, atomic.LOCK_TIMEOUT_SECONDS if timeout is None else timeout) as real:
        result = change(read(real, shown_as))
        _write(real, shown_as, result.after)
    return result


def read(path: Path, shown_as: str) -> str:
    """The text of a stack file; ``shown_as`` is its name in messages."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:  # the words of the reader every command uses (stackyaml)
        raise StackFileError(f"{shown_as} is not UTF-8 text (byte 0x{error.object[error.start]:02x} at offset {error.start})") from None
    except OSError as error:  # a directory, unreadable: one line, never a traceback
        raise StackFileError(f"{shown_as} cannot be read: {error.strerror or error}") from None


def write(path: Path, shown_as: str, text: str) -> None:
    """Replace a stack file's text (atomically, under its lock): the one place a stack file is written."""
    with _locked(path, shown_as, atomic.LOCK_TIMEOUT_SECONDS) as real:
        _write(real, shown_as, text)


@contextmanager
def _locked(path: Path, shown_as: str, timeout: float) -> Iterator[Path]:
    with ExitStack() as held:
        try:
            real = held.enter_context(atomic.locked(path, timeout))
        except atomic.FileBusy:
            raise StackFileError(f"{shown_as} is being changed by another command (waited {timeout:g}s for its "
                                 "lock); nothing was written: run this again when it has finished") from None
        except FileNotFoundError:
            raise StackFileError(f"{shown_as} does not exist") from None
        except OSError as error:
            raise StackFileError(f"cannot open {shown_as}: {error.strerror}") from None
        if not os.access(real, os.W_OK):
            raise StackFileError(f"{shown_as} is read-only; nothing was written")
        yield real


def _write(path: Path, shown_as: str, text: str) -> None:
    try:
        atomic.replace(path, text)
    except OSError as error:
        reason = error.strerror or str(error)
        raise StackFileError(f"could not write {shown_as} ({reason}); it was left as it was") from None


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


def endpoint(document: CommentedMap, name: str, project: str = "servestack", shown_as: str = "the stack file",
             section: str = ENDPOINTS_KEY) -> CommentedMap:
    """The mapping of endpoint ``name`` under ``config:`` / ``servestack:endpoints`` (or
    ``endpoints``, which Pulumi reads as project ``project``'s own key; ``section``:
    :data:`LLM_ENDPOINTS_KEY` for an LLM endpoint)."""
    return document["config"][config_key(document["config"], section, project, shown_as)][name]


def config_key(config: CommentedMap, key: str, project: str, shown_as: str) -> str:
    """``key`` (``namespace:name``) as the ``config:`` mapping spells it: Pulumi reads a key without
    a namespace as the project's own, so ``endpoints`` is ``servestack:endpoints`` in project
    ``servestack``. StackFileError if both spellings are there (see :func:`check_keys`)."""
    check_keys(config, project, shown_as)
    bare = key.partition(":")[2]
    return bare if key not in config and key.startswith(f"{project}:") and bare in config else key


def check_keys(config: CommentedMap, project: str, shown_as: str) -> None:
    """StackFileError if two keys of ``config:`` are one key to Pulumi (``endpoints`` and
    ``servestack:endpoints`` in project ``servestack``): which one a reader takes is not clear."""
    seen: dict[str, str] = {}
    for key in map(str, config):
        qualified = key if ":" in key else f"{project}:{key}"
        if qualified in seen:
            raise StackFileError(f"{shown_as} sets {qualified} twice, as '{seen[qualified]}' and as '{key}' (Pulumi "
                                 f"reads a key without a namespace as project {project}'s own); keep one")
        seen[qualified] = key


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

    try:
        plain_text = isinstance(pyyaml.safe_load(value), str)
    except pyyaml.YAMLError:  # '[', '*a', '!!python/name:x': not a plain scalar at all
        plain_text = False
    return value if plain_text else DoubleQuotedScalarString(value)


def block(value: Any) -> Any:
    """Plain dicts and lists as ruamel nodes (block mappings; lists of scalars on one line)."""
    if isinstance(value, dict):
        mapping = CommentedMap()
        for key, item in value.items():
            mapping[key] = block(item)
        return mapping
    if isinstance(value, list):
        if all(not isinstance(v, (dict, list)) for v in value):
            return flow_list(value)
        return CommentedSeq([block(v) for v in value])
    if isinstance(value, str):
        return scalar(value)
    return value


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
