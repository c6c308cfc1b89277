"""LLM rollouts through KServe v0.20.0's LLMInferenceService routing groups. Pure.

What KServe v0.20.0 does (``llmisvc/router_group.go``, ``router_group_routing.go``,
``api/llm_inference_service_types.go``): LLMInferenceServices of one namespace that set the same
``spec.router.route.group`` are members of one group. The controller rewrites the controller-managed
rules of *every* member's HTTPRoute so that each carries the backends of all members that serve the
same model names, each weighted by its member's ``spec.router.route.weight`` (Gateway API backendRef
weights: proportional, not percent). A member without a weight has weight 0; a force-stopped member
gets 0; a member that is not routable yet (router not ready, or a workload without a ready replica) is
left out of the other members' routes. The per-member path ``/<namespace>/<name>/...`` stays each
member's own. Adding a member therefore rewrites the stable's own route: it keeps serving at the same
address, now split by weight.

So a rollout renders the stable LLMInferenceService with ``group: <endpoint>`` and weight
``100 - percent``, and the candidate, a second LLMInferenceService serving the same model name, with
``group: <endpoint>`` and weight ``percent``.
"""

from __future__ import annotations

import hashlib

from .rollout import Stages, predictor_name

#: Longest LLM endpoint name (components.config.endpoints: KServe derives longer names from it).
NAME_MAX = 45


def llm_stages_problem(stages: Stages) -> str | None:
    """Why ``stages`` are not a weighted LLM rollout (None when they are)."""
    if stages.percents[-1] != 100:
        return "must end at 100 (the candidate takes all traffic before it is promoted)"
    return None


def candidate_name(endpoint: str, version: str) -> str:
    """The candidate LLMInferenceService's name: ``<endpoint>-<predictor name of the version>``,
    shortened with a hash of the endpoint when it would pass :data:`NAME_MAX`."""
    suffix = predictor_name(version)
    name = f"{endpoint}-{suffix}"
    if len(name) <= NAME_MAX:
        return name
    digest = hashlib.sha256(endpoint.encode()).hexdigest()[:6]
    return f"{endpoint[:NAME_MAX - len(suffix) - len(digest) - 2].rstrip('-')}-{digest}-{suffix}"


def group_weights(percent: int) -> tuple[int, int]:
    """(stable weight, candidate weight) at a stage sending ``percent`` to the candidate."""
    if not 0 <= percent <= 100:
        raise ValueError(f"percent must be from 0 to 100; got {percent}")
    return 100 - percent, percent


def group_route(endpoint: str, weight: int) -> dict:
    """``spec.router.route`` members of the endpoint's routing group add to KServe's managed route."""
    return {"group": endpoint, "weight": weight}
