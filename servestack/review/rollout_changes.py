"""Each endpoint's rollout before and after a change (:mod:`plandoc.rollouts`), and what kind of move it is."""

from __future__ import annotations

from dataclasses import dataclass

from plandoc.document import PlanDoc
from plandoc.rollouts import RolloutState, rollout_states


@dataclass(frozen=True)
class RolloutChange:
    endpoint: str
    """``namespace/name``."""
    before: RolloutState | None
    after: RolloutState | None


def rollout_changes(base: PlanDoc, head: PlanDoc) -> list[RolloutChange]:
    before, after = rollout_states(base), rollout_states(head)
    return [RolloutChange(k, before.get(k), after.get(k)) for k in sorted(set(before) | set(after))
            if before.get(k) != after.get(k)]


def in_progress(state: RolloutState | None) -> bool:
    """A candidate is deployed and not rolled back (a stage, or traffic, says so)."""
    return state is not None and state.candidate is not None and (state.stage is not None or state.traffic > 0)


def move(before: RolloutState | None, after: RolloutState | None) -> str:
    """What a change does to an endpoint's rollout.

    ``none`` (same stable and candidate: an advance, or nothing), ``start`` (a candidate where none ran),
    ``promote`` (the candidate becomes the stable model), ``rollback`` (back to the stable model),
    ``rewrite`` (mid-rollout: another candidate or another stable model), ``steady`` (no rollout before or
    after, whatever the stable model), ``create``/``delete`` (the endpoint itself).
    """
    if before is None or after is None:
        return "create" if before is None else "delete"
    was, now = in_progress(before), in_progress(after)
    if not was and not now:
        return "steady" if before.candidate == after.candidate or after.stable != before.stable else "rollback"
    if not was:
        return "start" if after.stable == before.stable else "rewrite"
    if not now:
        if after.stable == before.candidate and after.stable != before.stable:
            return "promote"
        return "rollback" if after.stable == before.stable else "rewrite"
    return "none" if (before.stable, before.candidate) == (after.stable, after.candidate) else "rewrite"
