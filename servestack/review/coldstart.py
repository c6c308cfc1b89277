"""The cold-start section of ``servestack diff``'s markdown: each endpoint's estimate before and after.

Kept beside ``diff.py`` (owned by the review work) and called once by the ``diff`` command, so that a change
that lengthens a cold start (a bigger model, a slower instance type, scale to zero) shows in review.
"""

from __future__ import annotations

from components.core.coldstart import ColdStart, duration
from plandoc.coldstart import cold_starts
from plandoc.document import PlanDoc


def _cell(c: ColdStart | None) -> str:
    return "-" if c is None else duration(c.total_seconds)


def cold_start_markdown(base: PlanDoc, head: PlanDoc) -> str:
    """A ``### Cold starts`` table (empty string when neither plan has an endpoint that can cold-start)."""
    before = {c.endpoint: c for c in cold_starts(base.resource_list(), base.config)}
    after = {c.endpoint: c for c in cold_starts(head.resource_list(), head.config)}
    if not before and not after:
        return ""
    lines = ["", "### Cold starts (estimate: README \"Cold-start estimate\")", "",
             "| Endpoint | Before | After | Stages (after) |", "| --- | --- | --- | --- |"]
    for name in sorted(before.keys() | after.keys()):
        stages = after[name].text().split(" = ", 1)[1] if name in after else "(no cold start)"
        lines.append(f"| `{name}` | {_cell(before.get(name))} | {_cell(after.get(name))} | {stages} |")
    return "\n".join(lines) + "\n"
