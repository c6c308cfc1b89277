"""What a check finds: a problem relative to the value it checked. Plain data, shared by the config
model (which turns findings into problems with full field paths) and the pure decisions in ``core``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: A finding's value when it names no value (a missing field, a combination of fields).
MISSING: Any = object()


@dataclass(frozen=True)
class Finding:
    """A semantic problem found by a check, relative to the value it checked (``loc`` is a path inside it)."""

    loc: tuple[Any, ...]
    message: str
    value: Any = MISSING
