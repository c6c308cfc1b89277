"""``servestack:endpoints.<name>.rollout``: a candidate model taking traffic in stages.

What ``servestack rollout`` edits. The stages and their moves are the pure state machine of
:mod:`components.core.rollout`; which stages a deployment mode's KServe honours is checked with the
endpoint's mode in :mod:`.endpoint_fit`.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from ..core.rollout import Stages
from .analysis import AnalysisConfig
from .base import ConfigModel, Finding
from .values import LABEL_VALUE, checked_image, checked_storage_uri


class CandidateConfig(ConfigModel):
    """The model a rollout moves traffic to: the stable model with these fields replaced."""

    version: str = Field(pattern=LABEL_VALUE)
    """The candidate's model version; must differ from the stable one. Required."""
    storage_uri: str | None = None
    """Where the candidate is. Default: the stable model's (e.g. a new container image instead)."""
    image: str | None = None
    """A new image for a custom predictor container. Default: the stable container's."""

    @field_validator("storage_uri")
    @classmethod
    def _storage_uri(cls, value: str | None) -> str | None:
        return checked_storage_uri(value)

    @field_validator("image")
    @classmethod
    def _pinned(cls, image: str | None) -> str | None:
        return image if image is None else checked_image(image)


class RolloutConfig(ConfigModel):
    """A candidate model taking traffic in stages. Edited by ``servestack rollout``."""

    candidate: CandidateConfig
    """The model being rolled out. Required."""
    stages: list[int] = Field(min_length=1)
    """Percent of traffic to the candidate at each stage, strictly increasing. Knative mode: from 1
    to 100, ending at 100. Standard mode: ``[0]`` only, the candidate beside the stable model with
    no traffic, and ``promote`` the cutover (KServe v0.20.0 routes no traffic to ``spec.canary[]``).
    Required."""
    stage: int = Field(default=1, ge=1)
    """The current stage, counted from 1. Default 1."""
    rolled_back: bool = False
    """The rollout was rolled back: all traffic to the stable model. Default false."""
    candidate_replicas: int | None = Field(default=None, ge=1)
    """Standard mode only: replicas of the candidate's Deployment, at most the stable
    ``autoscaling.minReplicas``; KServe lowers the stable minimum by as many while the candidate
    exists. Default 1."""
    analysis: AnalysisConfig | None = None
    """The checks each stage must pass before it moves (``servestack rollout analyze``, ``advance
    --require-analysis``, the rollout driver). Default: none."""
    last_analysis: dict[str, Any] | None = None
    """Written by ``servestack rollout advance --require-analysis``: the analysis that let the last move
    happen (time, verdict, figures). Not edited by hand. Default: none."""

    @field_validator("stages")
    @classmethod
    def _stages(cls, stages: list[int]) -> list[int]:
        return list(Stages.of(*stages))

    def problems(self) -> list[Finding]:
        if self.stage > len(self.stages):
            return [Finding(("stage",), f"must be between 1 and {len(self.stages)} (the number of stages)", self.stage)]
        return []

    def candidate_problems(self, stable_version: str, stable_storage_uri: str | None, *,
                           custom_container: bool) -> list[Finding]:
        """The candidate against the stable model it replaces (loc relative to the rollout)."""
        found = []
        candidate = self.candidate
        if candidate.version == stable_version:
            found.append(Finding(("candidate", "version"), "must differ from the stable model's version", candidate.version))
        if candidate.image is not None and not custom_container:
            found.append(Finding(("candidate", "image"), "is for a custom predictor container; this model has a format", candidate.image))
        if candidate.storage_uri is None and candidate.image is None:
            found.append(Finding(("candidate",), "must change storageUri or image: otherwise the candidate serves the stable model"))
        elif candidate.storage_uri == stable_storage_uri and candidate.image is None:
            found.append(Finding(("candidate", "storageUri"), "must differ from the stable model's storageUri", candidate.storage_uri))
        return found
