"""``servestack diff``: what changes between two plans, and which changes are unsafe.

Resources are matched by URN without stack and project and compared on their inputs
(:mod:`.changes`: nested paths, lists of named things by name). Each endpoint gets a rollout summary,
model versions and the traffic the platform really routes before -> after (:mod:`plandoc.rollouts`).
Unsafe transitions are the rules of :mod:`.flags` (one registry; README's review section lists
them); other checks add report sections through :mod:`.sections`. ``diff`` exits 1 when any rule flags.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from plandoc.cost import CostEstimate, cost_delta_text, estimate
from plandoc.document import PlanDoc
from plandoc.values import dig

from .changes import FieldChange, ResourceChange, field_changes, resource_changes
from .fields import rollout_relevant, show, whole_lines
from .flags import Flag, Review, collect_flags
from .rollout_changes import RolloutChange, rollout_changes
from .sections import Section, collect_sections
from ..analysis.report import evidence_markdown

__all__ = ["FieldChange", "Flag", "PlanDiff", "ResourceChange", "RolloutChange", "VersionChange", "diff_plans",
           "field_changes", "preview_as_diff", "render_json", "render_markdown", "resource_changes", "rollout_changes"]


@dataclass(frozen=True)
class VersionChange:
    name: str
    """``python`` or an SDK's package name (``pulumi``, ``pulumi-aws``, ...)."""
    base: str
    head: str


@dataclass
class PlanDiff:
    stack: str
    changes: list[ResourceChange] = field(default_factory=list)
    rollouts: list[RolloutChange] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    cost_before: CostEstimate | None = None
    cost_after: CostEstimate | None = None
    versions_before: dict[str, Any] | None = None
    versions_after: dict[str, Any] | None = None
    version_changes: list[VersionChange] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    """Markdown of the analyses recorded by the rollout moves of this change (servestack.analysis.report)."""

    def count(self, op: str) -> int:
        return sum(1 for c in self.changes if c.op == op)


# --------------------------------------------------------------------------- versions


def version_changes(base: dict[str, Any] | None, head: dict[str, Any] | None) -> list[VersionChange]:
    """Python, then each SDK both plans were made with, where the two differ.

    Only plans that both record their versions are compared (a real preview records none). An SDK
    that only one side used comes with a resource type only that side declares, a change the
    resource list already shows.
    """
    if base is None or head is None:
        return []
    changes = [VersionChange("python", base["python"], head["python"])] if base["python"] != head["python"] else []
    return changes + [VersionChange(name, base["sdks"][name], head["sdks"][name])
                      for name in sorted(set(base["sdks"]) & set(head["sdks"])) if base["sdks"][name] != head["sdks"][name]]


# --------------------------------------------------------------------------- the diff


def diff_plans(base: PlanDoc, head: PlanDoc) -> PlanDiff:
    result = PlanDiff(head.stack or base.stack)
    result.changes = resource_changes(base, head)
    result.rollouts = rollout_changes(base, head)
    review = Review(base, head, tuple(result.changes), tuple(result.rollouts))
    result.flags = collect_flags(review)
    result.sections = collect_sections(review)
    result.cost_before = estimate(base.resource_list(), base.config)
    result.cost_after = estimate(head.resource_list(), head.config)
    result.versions_before, result.versions_after = base.versions, head.versions
    result.version_changes = version_changes(base.versions, head.versions)
    result.evidence = evidence_markdown(base.config, head.config)
    return result


def preview_as_diff(plan: PlanDoc) -> tuple[PlanDoc, PlanDoc]:
    """A real preview of a deployed stack already is a diff: its oldStates against its newStates.

    Its config is the new one only, so the deployed side keeps just the declared stages and reads
    versions, traffic and stage from the deployed InferenceServices themselves.
    """
    config = {k: v for k, v in plan.config.items() if k != "servestack:endpoints"}
    declared = plan.config.get("servestack:endpoints")
    if isinstance(declared, dict):
        config["servestack:endpoints"] = {
            name: {"rollout": {"stages": list(dig(endpoint, "rollout", "stages") or [])}}
            for name, endpoint in declared.items() if isinstance(dig(endpoint, "rollout"), dict)}
    base = PlanDoc(plan.source, plan.stack, plan.project, config, dict(plan.previous))
    return base, plan


# --------------------------------------------------------------------------- rendering


def _cost_line(d: PlanDiff) -> str:
    return cost_delta_text(d.cost_before, d.cost_after)  # plandoc.cost: the capacity model's floor and ceiling


def render_markdown(d: PlanDiff) -> str:
    lines = [f"## servestack diff: stack `{d.stack}`", ""]
    lines.append(f"**{d.count('create')} to create, {d.count('update')} to update, {d.count('delete')} to delete.** "
                 + _cost_line(d))
    if d.version_changes:
        lines += ["", "### Planned with different versions", "",
                  "Base and head were planned with different Python or Pulumi SDK versions: changes in this diff may come "
                  "from these updates rather than from the config or the program.", "",
                  "| | base | head |", "| --- | --- | --- |"]
        lines += [f"| `{v.name}` | {v.base} | {v.head} |" for v in d.version_changes]
    if d.flags:
        lines += ["", "### ⚠️ Unsafe transitions", ""]
        lines += [f"- **{f.kind}** `{f.subject}`: {f.message}" for f in d.flags]
    for section in d.sections:
        lines += ["", f"### {section.title}", "", *section.lines]
    if d.rollouts:
        lines += ["", "### Rollouts", "", "| Endpoint | Mode | Before | After |", "| --- | --- | --- | --- |"]
        for r in d.rollouts:
            modes = [s.mode for s in (r.before, r.after) if s is not None]
            mode = modes[0] if len(set(modes)) == 1 else " → ".join(modes)
            lines.append(f"| `{r.endpoint}` | {mode} | {r.before.describe() if r.before else '(new)'} | "
                         f"{r.after.describe() if r.after else '(deleted)'} |")
    lines += d.evidence  # the recorded analysis next to the traffic change
    for op, title in (("create", "Created"), ("delete", "Deleted"), ("update", "Updated")):
        selected = [c for c in d.changes if c.op == op]
        if not selected:
            continue
        lines += ["", f"### {title} ({len(selected)})", ""]
        for c in selected:
            lines.append(f"- `{c.type}` **{c.name}**" + (" (protected)" if c.protect else ""))
            for f in c.fields:  # rollout-relevant fields whole (review/fields.py), others cut to 100 characters
                if rollout_relevant(c.type, f.path, c.rollout_record):
                    lines += whole_lines(f.path, f.old, f.new)
                else:
                    lines.append(f"  - `{f.path}`: `{show(f.old)}` → `{show(f.new)}`")
    if not d.changes:
        lines += ["", "No resource changes."]
    return "\n".join(lines) + "\n"


def render_json(d: PlanDiff) -> str:
    def cost(c: CostEstimate | None):
        return c.to_json() if c else None

    return json.dumps({
        "stack": d.stack,
        "summary": {op: d.count(op) for op in ("create", "update", "delete")},
        "changes": [{"op": c.op, "key": c.key, "type": c.type, "name": c.name, "protect": c.protect,
                     "fields": [{"path": f.path, "old": f.old, "new": f.new} for f in c.fields]} for c in d.changes],
        "rollouts": [{"endpoint": r.endpoint,
                      "before": r.before.__dict__ if r.before else None,
                      "after": r.after.__dict__ if r.after else None} for r in d.rollouts],
        "flags": [f.__dict__ for f in d.flags],
        "sections": {s.key: s.data for s in d.sections},
        "versions": {"base": d.versions_before, "head": d.versions_after,
                     "changed": [v.__dict__ for v in d.version_changes]},
        "cost": {"before": cost(d.cost_before), "after": cost(d.cost_after),
                 "hourlyMaxDelta": round(d.cost_after.hourly_max - d.cost_before.hourly_max, 4),
                 "monthlyMaxDelta": round(d.cost_after.monthly_max - d.cost_before.monthly_max, 2)},
    }, indent=2, sort_keys=True, default=list) + "\n"
