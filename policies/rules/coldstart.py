"""Cold-start rule: the estimated time to a first answer on a new node stays under a per-tier budget."""

from __future__ import annotations

from collections.abc import Iterable

from components.core.coldstart import duration
from plandoc.coldstart import cold_starts
from plandoc.document import Resource
from plandoc.endpoints import endpoints

from .model import Context, Rule

#: Minutes per tier (policy setting maxColdStartMinutes): dev tolerates waits between tests; prod's users
#: feel a scale-up, so its budget is what a GPU node with a mid-size model can meet (README "Cold-start estimate").
DEFAULT_BUDGET = {"dev": 15, "staging": 10, "prod": 5}


def cold_start_budget(resources: list[Resource], ctx: Context) -> Iterable[tuple[str, str]]:
    budget = ctx["maxColdStartMinutes"].get(ctx.tier, DEFAULT_BUDGET[ctx.tier])
    urns = {e.name: e.urn for e in endpoints(resources, ctx.stack_config)}
    for start in cold_starts(resources, ctx.stack_config):
        if start.total_seconds > budget * 60:
            yield urns.get(start.endpoint, ""), (
                f"endpoint {start.endpoint} can start a pod on a new node ({start.reason}); its cold start is "
                f"estimated at {duration(start.total_seconds)} ({start.text().split(' = ', 1)[1]}); allowed: at most {budget} "
                f"minutes in tier {ctx.tier} (policy setting maxColdStartMinutes), so keep replicas warm, use a "
                "smaller model or image, or raise the budget in review")


RULES = [
    Rule("cold-start-budget", "serving",
         "An endpoint that can start a pod on a node that does not exist yet has a cold-start estimate "
         "within its tier's budget.",
         "advisory", cold_start_budget, tiered=True,
         settings={"maxColdStartMinutes": {
             "type": "object", "default": DEFAULT_BUDGET,
             "properties": {tier: {"type": "number", "minimum": 0} for tier in DEFAULT_BUDGET},
             "additionalProperties": False,
             "description": "Most minutes of estimated cold start per tier (dev, staging, prod)."}}),
]
