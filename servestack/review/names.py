"""Names of the items of a list: which key names the items of a list of mappings (``env[name=X]``), and
whether a list of strings is a list of command-line flags (``args[--max-model-len]``). Read by the field
diff (:mod:`.changes`) and by the markdown's leaf-by-leaf lines (:mod:`.fields`) alike."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

#: Keys that name an item of a list of mappings, in the order they are tried.
IDENTITY_KEYS = ("name", "key", "mountPath", "devicePath", "deviceName", "containerPort", "Sid", "id")

FLAG = re.compile(r"^(--?[A-Za-z0-9][A-Za-z0-9._-]*)(?:=.*)?$", re.S)


def _scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool)) or value is None


def identity_key(*lists: list[Any]) -> str | None:
    """The key that names every item of these lists of mappings (unique in each), None when none does."""
    if not any(lists) or not all(isinstance(v, Mapping) for items in lists for v in items):
        return None
    for key in IDENTITY_KEYS:
        if all(key in v and _scalar(v[key]) for items in lists for v in items) and \
                all(len({json.dumps(v[key]) for v in items}) == len(items) for items in lists):
            return key
    return None


def flag_names(*lists: list[Any]) -> bool:
    """Whether every item of these lists is a ``--flag`` or ``--flag=value``, each flag once per list."""
    if not all(isinstance(v, str) for items in lists for v in items) or not any(lists):
        return False
    for items in lists:
        flags = [FLAG.match(v) for v in items]
        if not all(flags) or len({f.group(1) for f in flags}) != len(items):
            return False
    return True


def label(key: str, value: Any) -> str:
    """``[name=STORAGE_URI]``: an item of a named list in a path (JSON-quoted when the name would be ambiguous)."""
    text = value if isinstance(value, str) and re.fullmatch(r"[^\[\]=\"\s]+", value) else json.dumps(value)
    return f"[{key}={text}]"
