"""``servestack diff``: what changes between two plans, and which changes are unsafe.

Resources are matched by URN without stack and project (so plans of the same stack at two
commits line up), and compared on their inputs: created, deleted and updated resources with
every changed field as a nested path (``spec.predictor.canaryTrafficPercent: 10 -> 50``).
Each endpoint (KServe InferenceService) gets a rollout summary, model versions and the traffic
the platform really routes before -> after (:mod:`plandoc.rollouts`); unsafe
transitions are flagged: a rollout that skips a stage, a promotion before the last stage, a
Knative-mode InferenceService created with its rollout already in place (its candidate would
take all traffic), an accelerator pool shrunk below what its endpoints need, a protected
resource deleted.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from plandoc.cost import CostEstimate, estimate, money, money_range
from plandoc.document import PlanDoc
from plandoc.endpoints import accelerator_demand_by_pool, default_mode, endpoint_of
from plandoc.pools import Pool, pools
from plandoc.rollouts import RolloutState, rollout_records, rollout_states
from plandoc.tokens import INFERENCE_SERVICE, REPLACE_OPS
from plandoc.values import dig, name_of
from policies.rules.serving import created_mid_rollout

from ..analysis.report import evidence_markdown
from .fields import is_rollout_record, rollout_relevant, show, whole_lines

_MISSING = object()


@dataclass(frozen=True)
class FieldChange:
    path: str
    old: Any
    new: Any


@dataclass(frozen=True)
class ResourceChange:
    op: str
    """``create``, ``delete`` or ``update``."""
    key: str
    type: str
    name: str
    fields: tuple[FieldChange, ...] = ()
    protect: bool = False
    rollout_record: bool = False
    """The endpoint's rollout record ConfigMap: its data is never cut in the markdown."""


@dataclass(frozen=True)
class RolloutChange:
    endpoint: str
    """``namespace/name``."""
    before: RolloutState | None
    after: RolloutState | None


@dataclass(frozen=True)
class Flag:
    kind: str
    """``rollout-skips-stage``, ``premature-promotion``, ``created-mid-rollout``, ``pool-below-demand``,
    ``protected-resource-deleted``."""
    subject: str
    message: str


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
    cost_before: CostEstimate | None = None
    cost_after: CostEstimate | None = None
    versions_before: dict[str, Any] | None = None
    versions_after: dict[str, Any] | None = None
    version_changes: list[VersionChange] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    """Markdown of the analyses recorded by the rollout moves of this change (servestack.analysis.report)."""

    def count(self, op: str) -> int:
        return sum(1 for c in self.changes if c.op == op)


# --------------------------------------------------------------------------- field diffs


def field_changes(old: Any, new: Any, path: str = "") -> list[FieldChange]:
    """Every leaf that differs, as nested paths (``a.b[2].c``); added or removed keys included."""
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        found = []
        for key in sorted(set(old) | set(new), key=str):
            part = f'["{key}"]' if "." in str(key) else (f".{key}" if path else str(key))
            here = f"{path}{part}"
            found += field_changes(old.get(key, _MISSING), new.get(key, _MISSING), here)
        return found
    if isinstance(old, list) and isinstance(new, list) and old != new:
        if len(old) != len(new) and not all(isinstance(v, (Mapping, list)) for v in old + new):
            return [FieldChange(path, old, new)]  # a list of scalars reads best whole
        found = []
        for i in range(max(len(old), len(new))):
            found += field_changes(old[i] if i < len(old) else _MISSING, new[i] if i < len(new) else _MISSING, f"{path}[{i}]")
        return found
    if old == new:
        return []
    return [FieldChange(path, None if old is _MISSING else old, None if new is _MISSING else new)]


def resource_changes(base: PlanDoc, head: PlanDoc) -> list[ResourceChange]:
    changes = []
    for key in sorted(set(base.resources) | set(head.resources)):
        old, new = base.resources.get(key), head.resources.get(key)
        if old is None:
            changes.append(ResourceChange("create", key, new["type"], name_of(new["urn"])))
        elif new is None:
            changes.append(ResourceChange("delete", key, old["type"], name_of(old["urn"]), protect=old["protect"]))
        else:
            fields = field_changes(old["inputs"], new["inputs"])
            if old["protect"] != new["protect"]:
                fields.append(FieldChange("(protect)", old["protect"], new["protect"]))
            if fields:
                changes.append(ResourceChange("update", key, new["type"], name_of(new["urn"]), tuple(fields),
                                              rollout_record=is_rollout_record(new) or is_rollout_record(old)))
    return changes


# --------------------------------------------------------------------------- rollouts


def rollout_changes(base: PlanDoc, head: PlanDoc) -> list[RolloutChange]:
    before, after = rollout_states(base), rollout_states(head)
    return [RolloutChange(k, before.get(k), after.get(k)) for k in sorted(set(before) | set(after))
            if before.get(k) != after.get(k)]


def rollout_flags(change: RolloutChange) -> list[Flag]:
    b, a = change.before, change.after
    if b is None or a is None:
        return []
    flags = []
    same_candidate = b.candidate is not None and b.candidate == a.candidate
    if a.candidate and a.stages and a.stage:
        from_stage = 0
        if same_candidate:  # the base's own stage, else where its traffic sits in the declared stages
            from_stage = b.stage or (a.stages.index(b.traffic) + 1 if b.traffic in a.stages else 0)
        if a.stage > from_stage + 1:
            skipped = [f"{i} ({a.stages[i - 1]}%)" for i in range(from_stage + 1, a.stage)]
            start = f"stage {from_stage} ({b.traffic}%)" if from_stage else "no rollout"
            flags.append(Flag("rollout-skips-stage", change.endpoint,
                              f"rollout of {a.candidate} moves from {start} to stage {a.stage} ({a.traffic}%), skipping "
                              f"stage {', '.join(skipped)} of {', '.join(map(str, a.stages))}; advance one stage per change"))
    if b.candidate and b.candidate != "?" and a.candidate is None and a.stable == b.candidate:
        last = len(b.stages) if b.stages else None
        at_last = (b.stage == last) if (b.stage and last) else b.traffic == 100
        if not at_last:
            where = f"stage {b.stage} of {last} ({b.traffic}%)" if b.stage and last else f"{b.traffic}% of traffic"
            final = f"{b.stages[-1]}%" if b.stages else "100%"
            flags.append(Flag("premature-promotion", change.endpoint,
                              f"{b.candidate} is promoted to stable from {where}; promote only from the last stage ({final})"))
    return flags


def created_mid_rollout_flags(base: PlanDoc, head: PlanDoc) -> list[Flag]:
    """InferenceServices that come into being with a Knative-mode rollout already in place."""
    resources = head.resource_list()
    records = rollout_records(resources)
    mode = default_mode(head.config)
    flags = []
    for key, resource in sorted(head.resources.items()):
        if resource["type"] != INFERENCE_SERVICE or (key in base.resources and head.ops.get(key) not in REPLACE_OPS):
            continue
        endpoint = endpoint_of(resource, mode)
        message = created_mid_rollout(endpoint, records.get((endpoint.namespace, endpoint.name)))
        if message:
            flags.append(Flag("created-mid-rollout", f"{endpoint.namespace}/{endpoint.name}", f"{endpoint.name} {message}"))
    return flags


# --------------------------------------------------------------------------- pools, protection


def _bound(old: Pool, new: Pool) -> str:
    """``maxSize 4 to 2``; ``NodePool limits nvidia.com/gpu=4 to NodePool limits nvidia.com/gpu=2`` (a Karpenter pool)."""
    if not (old.is_karpenter or new.is_karpenter):
        return f"maxSize {old.max_size} to {new.max_size}"
    return f"{old.size_text} to {new.size_text}"


def pool_flags(base: PlanDoc, head: PlanDoc) -> list[Flag]:
    flags = []
    before = {p.name: p for p in pools(base.resource_list())}
    after = {p.name: p for p in pools(head.resource_list())}
    demand = accelerator_demand_by_pool(head.resource_list(), head.config)
    for name, needs in sorted(demand.items()):
        needed = sum(n for _, n in needs)
        old, new = before.get(name), after.get(name)
        if old is None or (old.capacity is not None and old.capacity < needed):
            continue  # not a shrink: an unmet demand that was already there is check's business
        users = ", ".join(e.name for e, _ in needs)
        if new is None:
            flags.append(Flag("pool-below-demand", name, f"pool {name} is removed while its endpoints ({users}) need "
                                                         f"up to {needed} {old.resource_name}"))
        elif new.capacity is not None and new.capacity < needed:
            flags.append(Flag("pool-below-demand", name,
                              f"pool {name} shrinks from {_bound(old, new)} ({new.capacity} "
                              f"{new.resource_name}) while its endpoints ({users}) need up to {needed} at max replicas"))
    return flags


def protection_flags(changes: list[ResourceChange]) -> list[Flag]:
    return [Flag("protected-resource-deleted", c.name, f"{c.type} {c.name} is protected and would be deleted; "
                                                       "remove protect in a separate, reviewed change first")
            for c in changes if c.op == "delete" and c.protect]


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
    for change in result.rollouts:
        result.flags += rollout_flags(change)
    result.flags += created_mid_rollout_flags(base, head)
    result.flags += pool_flags(base, head)
    result.flags += protection_flags(result.changes)
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
    b, a = d.cost_before, d.cost_after
    delta_h = a.hourly_max - b.hourly_max
    delta_m = a.monthly_max - b.monthly_max
    sign = "+" if delta_h >= 0 else "-"
    line = (f"**Estimated cost** ({a.region} on-demand prices of {a.price_date}): "
            f"{money_range(b.hourly_min, b.hourly_max)}/h → {money_range(a.hourly_min, a.hourly_max)}/h "
            f"(at max size {sign}{money(abs(delta_h))}/h, {sign}{money(abs(delta_m))}/month)")
    if a.unpriced:
        line += f"; unpriced: {', '.join(a.unpriced)}"
    return line


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
        "versions": {"base": d.versions_before, "head": d.versions_after,
                     "changed": [v.__dict__ for v in d.version_changes]},
        "cost": {"before": cost(d.cost_before), "after": cost(d.cost_after),
                 "hourlyMaxDelta": round(d.cost_after.hourly_max - d.cost_before.hourly_max, 4),
                 "monthlyMaxDelta": round(d.cost_after.monthly_max - d.cost_before.monthly_max, 2)},
    }, indent=2, sort_keys=True, default=list) + "\n"
