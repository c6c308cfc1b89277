"""Report sections other checks add to ``servestack diff``: one registry, one place they are collected.

A section is a function of the plan pair (:class:`~servestack.review.flags.Review`) that returns a
:class:`Section` or None; :data:`SECTIONS` lists them in report order. The markdown shows each as
``### <title>`` with its lines after the unsafe transitions; the JSON under ``sections.<key>``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .flags import Review


@dataclass(frozen=True)
class Section:
    key: str
    """The section's name in the JSON output (``analysis``, ...)."""
    title: str
    lines: tuple[str, ...]
    """Markdown lines under the title."""
    data: Any = None
    """What the JSON output carries for it."""


SECTIONS: tuple[Callable[[Review], Section | None], ...] = ()


def collect_sections(review: Review) -> list[Section]:
    return [section for make in SECTIONS if (section := make(review)) is not None]
