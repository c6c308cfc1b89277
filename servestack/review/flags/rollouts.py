"""Rollout transitions: a skipped stage, an early promotion, an endpoint created mid-rollout, a rollout
rewritten mid-way (stages, candidate or stable model changed) and a rollout started at 100%.

Traffic is always the traffic the platform really routes to the candidate (:class:`plandoc.rollouts.RolloutState`),
before -> after, never the stage index alone: ``[10, 50, 100]`` at stage 1 rewritten to ``[100]`` at
stage 1 keeps the index and moves the candidate from 10% to 100% of requests.
"""

from __future__ import annotations

from plandoc.endpoints import default_mode, endpoint_of
from plandoc.rollouts import RolloutState, rollout_records
from plandoc.tokens import INFERENCE_SERVICE, REPLACE_OPS
from policies.rules.serving import created_mid_rollout

from ..rollout_changes import RolloutChange, in_progress, move
from .model import Flag, Review


def _skips_and_promotions(change: RolloutChange) -> list[Flag]:
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
                              f"rollout of {a.candidate} moves from {start} to stage {a.stage} ({a.traffic}%), "
                              f"skipping stage {', '.join(skipped)} of {', '.join(map(str, a.stages))}; advance one "
                              "stage per change"))
    if b.candidate and b.candidate != "?" and a.candidate is None and a.stable == b.candidate:
        last = len(b.stages) if b.stages else None
        at_last = (b.stage == last) if (b.stage and last) else b.traffic == 100
        if not at_last:
            where = f"stage {b.stage} of {last} ({b.traffic}%)" if b.stage and last else f"{b.traffic}% of traffic"
            final = f"{b.stages[-1]}%" if b.stages else "100%"
            flags.append(Flag("premature-promotion", change.endpoint,
                              f"{b.candidate} is promoted to stable from {where}; promote only from the last stage "
                              f"({final})"))
    return flags


def rollout_flags(review: Review) -> list[Flag]:
    """``rollout-skips-stage`` and ``premature-promotion``."""
    return [flag for change in review.rollouts for flag in _skips_and_promotions(change)]


def _stages(state: RolloutState) -> str:
    if not (state.stage and state.stages):
        return f"no stage, {state.traffic}% of requests"
    return f"stage {state.stage} of [{', '.join(map(str, state.stages))}], {state.traffic}% of requests"


def _next_stage(state: RolloutState) -> int:
    """The most traffic one reviewed advance of ``state``'s own stages may route to its candidate."""
    return next((s for s in state.stages if s > state.traffic), 100 if not state.stages else state.traffic)


def _rewrite(change: RolloutChange) -> list[Flag]:
    b, a = change.before, change.after
    if b is None or a is None:
        return []
    kind = move(b, a)
    flags = []
    if kind == "start" and a.traffic == 100:
        flags.append(Flag("rollout-starts-at-full-traffic", change.endpoint,
                          f"a rollout of {a.candidate} starts at {_stages(a)}: 0% -> 100% of requests at once, a "
                          "full cutover with no stage that a part of the traffic could judge; start at a first stage "
                          "below 100"))
    if not in_progress(b) or not in_progress(a):
        return flags
    if b.candidate != a.candidate:
        flags.append(Flag("rollout-rewritten", change.endpoint,
                          f"the candidate is swapped mid-rollout from {b.candidate} ({_stages(b)}) to {a.candidate} "
                          f"({_stages(a)}): {a.candidate} takes {a.traffic}% of requests without having run at any "
                          f"lower stage; roll {b.candidate} back, then start {a.candidate} at the first stage"))
    if b.stable != a.stable:
        flags.append(Flag("rollout-rewritten", change.endpoint,
                          f"the stable model is swapped mid-rollout from {b.stable} to {a.stable} (candidate "
                          f"{a.candidate}, {_stages(a)}): {a.stable} takes the stable share ({100 - a.traffic}% of "
                          "requests) at once and a rollback would return to a model that never served; finish or roll "
                          "back the rollout first"))
    if b.candidate == a.candidate and b.stages != a.stages and a.traffic > _next_stage(b):
        flags.append(Flag("rollout-rewritten", change.endpoint,
                          f"the stages of {a.candidate}'s rollout are rewritten mid-way from {_stages(b)} to "
                          f"{_stages(a)}: "
                          f"the candidate's traffic jumps from {b.traffic}% to {a.traffic}%, beyond the next reviewed "
                          f"stage ({_next_stage(b)}%); advance to the next stage of the rollout as declared"))
    return flags


def rollout_rewrites(review: Review) -> list[Flag]:
    """``rollout-rewritten`` (stages, candidate or stable changed mid-way) and ``rollout-starts-at-full-traffic``."""
    return [flag for change in review.rollouts for flag in _rewrite(change)]


def created_mid_rollout_flags(review: Review) -> list[Flag]:
    """InferenceServices really created (absent from the base, or replaced) with a Knative-mode rollout in place."""
    base, head = review.base, review.head
    records = rollout_records(head.resource_list())
    mode = default_mode(head.config)
    flags = []
    for key, resource in sorted(head.resources.items()):
        if resource["type"] != INFERENCE_SERVICE or (key in base.resources and head.ops.get(key) not in REPLACE_OPS):
            continue
        endpoint = endpoint_of(resource, mode)
        message = created_mid_rollout(endpoint, records.get((endpoint.namespace, endpoint.name)))
        if message:
            flags.append(Flag("created-mid-rollout", f"{endpoint.namespace}/{endpoint.name}",
                              f"{endpoint.name} {message}"))
    return flags
