"""``servestack:llmEndpoints.<name>.rollout``: a candidate LLMInferenceService taking a weighted share.

KServe v0.20.0's LLMInferenceServices that name the same ``spec.router.route.group`` in one namespace
share one route: the controller (``llmisvc/router_group.go``) writes every member's backend into
each member's HTTPRoute with the member's ``spec.router.route.weight`` (Gateway API backendRef
weights, proportional; a member without a weight counts as 0, a member not yet ready is left out).
So during a rollout the stable LLMInferenceService joins the group named after the endpoint with
weight ``100 - stage``, and the candidate (its own LLMInferenceService, same served model name)
joins it with the stage's percent (:func:`components.core.llm_rollout.group_weights`).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from ..core.llm_rollout import llm_stages_problem
from ..core.rollout import Stages
from .analysis import LlmAnalysisConfig, family_problems
from .base import ConfigModel, Finding
from .values import LABEL_VALUE, checked_storage_uri


class LlmCandidateConfig(ConfigModel):
    """The model an LLM rollout moves traffic to: the stable endpoint with these fields replaced."""

    version: str = Field(pattern=LABEL_VALUE)
    """The candidate's model version; must differ from the stable one. Required."""
    uri: str
    """Where the candidate's weights are (the schemes of ``model.uri``); must differ from the stable's. Required."""

    @field_validator("uri")
    @classmethod
    def _uri(cls, value: str) -> str:
        return checked_storage_uri(value) or value  # its scheme: llm_rollout_problems (the endpoint's schemes)


class LlmRolloutConfig(ConfigModel):
    """A candidate LLM model taking a weighted share of the endpoint's route. Edited by ``servestack rollout``."""

    candidate: LlmCandidateConfig
    """The model being rolled out. Required."""
    stages: list[int] = Field(min_length=1)
    """Percent of requests to the candidate at each stage (its route weight; the stable model gets the
    rest): strictly increasing, from 0 to 100, ending at 100. A 0% stage runs the candidate with no
    shared traffic, reachable at its own path. Required."""
    stage: int = Field(default=1, ge=1)
    """The current stage, counted from 1. Default 1."""
    rolled_back: bool = False
    """The rollout was rolled back: the candidate is removed, all traffic to the stable model. Default false."""
    analysis: LlmAnalysisConfig | None = None
    """The checks each stage must pass before it moves (vLLM metrics). Default: none."""
    last_analysis: dict[str, Any] | None = None
    """Written by ``servestack rollout advance --require-analysis``. Not edited by hand. Default: none."""

    @field_validator("stages")
    @classmethod
    def _stages(cls, stages: list[int]) -> list[int]:
        return list(Stages.of(*stages))

    def problems(self) -> list[Finding]:
        found = []
        problem = llm_stages_problem(Stages.of(*self.stages))
        if problem:
            found.append(Finding(("stages",), problem, list(self.stages)))
        if self.stage > len(self.stages):
            found.append(Finding(("stage",), f"must be between 1 and {len(self.stages)} (the number of stages)", self.stage))
        if self.analysis is not None:
            found += family_problems(self.analysis, "llm", ("analysis",))
        return found


def llm_rollout_problems(rollout: LlmRolloutConfig | None, version: str, uri: str,
                         schemes: tuple[str, ...]) -> list[Finding]:
    """The candidate against the stable model it replaces (loc relative to the endpoint)."""
    if rollout is None:
        return []
    found = []
    if not rollout.candidate.uri.startswith(schemes):
        found.append(Finding(("rollout", "candidate", "uri"), f"must start with one of {', '.join(schemes)}",
                             rollout.candidate.uri))
    if rollout.candidate.version == version:
        found.append(Finding(("rollout", "candidate", "version"), "must differ from the stable model's version", version))
    if rollout.candidate.uri == uri:
        found.append(Finding(("rollout", "candidate", "uri"), "must differ from the stable model's uri: otherwise "
                                                              "the candidate serves the stable model", uri))
    return found
