"""The LLMInferenceServices of an LLM endpoint, with its rollout: the stable one alone when steady (or
rolled back), the stable and the candidate as members of the endpoint's routing group while a rollout
is in progress (:mod:`components.core.llm_rollout` says what KServe v0.20.0 does with the group).

Both carry ``servestack.io/endpoint`` and ``servestack.io/model-version`` on their pods, so that the
scraped vLLM series say which endpoint and version they are (:mod:`components.core.metrics`).
"""

from __future__ import annotations

import copy
from typing import Any

from ..core.llm_rollout import candidate_name, group_route, group_weights
from ..core.placement import PoolPlacement
from .inference_service import LABEL_ENDPOINT
from .llm_inference_service import render_llm_inference_service


def candidate_config(config):
    """The endpoint's config with the rollout's candidate model in place of the stable one."""
    candidate = config.rollout.candidate
    model = config.model.model_copy(update={"uri": candidate.uri, "version": candidate.version})
    return config.model_copy(update={"model": model, "rollout": None})


def in_progress(config) -> bool:
    return config.rollout is not None and not config.rollout.rolled_back


def render_llm_endpoint(name: str, config, placement: PoolPlacement) -> list[dict[str, Any]]:
    """The stable LLMInferenceService, then (rollout in progress) the candidate."""
    stable = _labelled(render_llm_inference_service(name, config, placement), name)
    if not in_progress(config):
        return [stable]
    percent = config.rollout.stages[config.rollout.stage - 1]
    stable_weight, candidate_weight = group_weights(percent)
    stable["spec"]["router"]["route"] = group_route(name, stable_weight)
    candidate = _labelled(render_llm_inference_service(name, candidate_config(config), placement), name)
    candidate = copy.deepcopy(candidate)
    candidate["metadata"]["name"] = candidate_name(name, config.rollout.candidate.version)
    # The same served model name as the stable one: KServe groups only members serving the same names.
    # (the stable one's defaults to its own name, the endpoint's: the candidate names it explicitly).
    candidate["spec"]["model"].setdefault("name", config.model.name or name)
    candidate["spec"]["router"]["route"] = group_route(name, candidate_weight)
    return [stable, candidate]


def _labelled(manifest: dict[str, Any], endpoint: str) -> dict[str, Any]:
    manifest["spec"]["labels"] = {LABEL_ENDPOINT: endpoint, **manifest["spec"].get("labels", {})}
    return manifest
