"""Staged model rollouts: the state machine, and its compilation to the KServe API. Pure Python.

A rollout moves traffic from an endpoint's stable model to a candidate model through declared
stages (percent of traffic to the candidate, strictly increasing, ending at 100). Its state
lives in stack config, so every move is a reviewed commit; ``servestack rollout`` makes the
moves with :class:`Rollout`'s methods, which refuse illegal ones with :class:`RolloutRefused`.

KServe spells a canary differently per deployment mode, and silently ignores the other mode's
spelling, so :func:`compile_predictor` emits exactly one of them:

* ``Knative``: the predictor carries the candidate with ``canaryTrafficPercent`` = the stage's
  traffic; KServe routes the rest to the last fully rolled-out revision (the stable model).
  Promotion removes the field; rollback sets it to 0.
* ``Standard`` (KServe v0.20, kserve/kserve#5672): the predictor keeps the stable model under
  a ``name``; one ``spec.canary[]`` entry carries the candidate as a named predictor with the
  stage's ``trafficPercent``. Promotion makes the candidate the (renamed) stable predictor;
  rollback removes the canary entry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Any


class RolloutRefused(ValueError):
    """An illegal rollout move (advancing past the last stage, promoting early...)."""


class Mode(str, Enum):
    KNATIVE = "Knative"
    STANDARD = "Standard"


@dataclass(frozen=True)
class Stages:
    """Percent of traffic to the candidate at each stage: strictly increasing, ending at 100."""

    percents: tuple[int, ...]

    def __post_init__(self) -> None:
        if not self.percents:
            raise ValueError("must list at least one stage")
        if any(isinstance(p, bool) or not isinstance(p, int) for p in self.percents):
            raise ValueError("must be whole percents")
        if any(not 1 <= p <= 100 for p in self.percents):
            raise ValueError("must be percents from 1 to 100")
        if any(b <= a for a, b in zip(self.percents, self.percents[1:])):
            raise ValueError("must be strictly increasing")
        if self.percents[-1] != 100:
            raise ValueError("must end at 100 (the candidate takes all traffic before it is promoted)")

    @classmethod
    def of(cls, *percents: int) -> "Stages":
        """``Stages.of(10, 50, 100)``."""
        return cls(tuple(percents))

    @classmethod
    def parse(cls, text: str) -> "Stages":
        """``Stages.parse("10,50,100")`` (the ``--stages`` option)."""
        try:
            return cls(tuple(int(part) for part in text.split(",")))
        except ValueError as error:
            if "invalid literal" in str(error):
                raise ValueError(f"must be comma-separated whole percents such as 10,50,100; got {text!r}") from None
            raise

    def __iter__(self):
        return iter(self.percents)

    def __len__(self) -> int:
        return len(self.percents)

    def traffic_at(self, stage: int) -> int:
        """Percent to the candidate at ``stage`` (counted from 1)."""
        if not 1 <= stage <= len(self):
            raise ValueError(f"stage must be between 1 and {len(self)}; got {stage}")
        return self.percents[stage - 1]

    def __str__(self) -> str:
        return ",".join(str(p) for p in self.percents)


@dataclass(frozen=True)
class TrafficSplit:
    """Percent of requests to the stable and the candidate model; the two add up to 100."""

    stable: int
    candidate: int

    def __post_init__(self) -> None:
        if self.stable + self.candidate != 100 or min(self.stable, self.candidate) < 0:
            raise ValueError(f"a traffic split must be two non-negative percents adding up to 100; got {self.stable}/{self.candidate}")

    @classmethod
    def all_stable(cls) -> "TrafficSplit":
        return cls(100, 0)

    @classmethod
    def to_candidate(cls, percent: int) -> "TrafficSplit":
        return cls(100 - percent, percent)

    def __str__(self) -> str:
        return f"stable {self.stable}% / candidate {self.candidate}%"


class Phase(str, Enum):
    STEADY = "steady"
    """Only the stable model; no rollout."""
    IN_PROGRESS = "inProgress"
    """The candidate takes the current stage's share of traffic."""
    ROLLED_BACK = "rolledBack"
    """The candidate was rolled back: it takes no traffic, and may be replaced by a new start."""


@dataclass(frozen=True)
class Rollout:
    """Where one endpoint's rollout stands. Every move returns a new value or raises RolloutRefused."""

    stable: str
    """Version of the stable model."""
    candidate: str | None = None
    stages: Stages | None = None
    stage: int = 0
    """Current stage, counted from 1 (0 when steady)."""
    phase: Phase = Phase.STEADY

    def __post_init__(self) -> None:
        if self.phase is Phase.STEADY:
            if self.candidate is not None or self.stages is not None or self.stage != 0:
                raise ValueError("a steady endpoint has no candidate, stages or stage")
            return
        if self.candidate is None or self.stages is None:
            raise ValueError("a rollout needs a candidate and stages")
        if self.candidate == self.stable:
            raise ValueError(f"the candidate version must differ from the stable one ({self.stable})")
        if not 1 <= self.stage <= len(self.stages):
            raise ValueError(f"stage must be between 1 and {len(self.stages)}; got {self.stage}")

    # --- named constructors --------------------------------------------------------------
    @classmethod
    def steady(cls, stable: str) -> "Rollout":
        return cls(stable)

    @classmethod
    def in_progress(cls, stable: str, candidate: str, stages: Stages, stage: int = 1) -> "Rollout":
        return cls(stable, candidate, stages, stage, Phase.IN_PROGRESS)

    @classmethod
    def rolled_back(cls, stable: str, candidate: str, stages: Stages, stage: int) -> "Rollout":
        return cls(stable, candidate, stages, stage, Phase.ROLLED_BACK)

    # --- moves -----------------------------------------------------------------------------
    def start(self, candidate: str, stages: Stages) -> "Rollout":
        if self.phase is Phase.IN_PROGRESS:
            raise RolloutRefused(f"a rollout of {self.candidate} is in progress (stage {self.stage} of {len(self.stages)}); "
                                 "promote or roll it back before starting another")
        if candidate == self.stable:
            raise RolloutRefused(f"version {candidate} is already the stable model")
        return Rollout.in_progress(self.stable, candidate, stages)

    def advance(self) -> "Rollout":
        self._require_in_progress("advance")
        if self.stage == len(self.stages):
            raise RolloutRefused(f"{self.candidate} is at the last stage ({self.stages.traffic_at(self.stage)}%); "
                                 "promote it or roll it back")
        return Rollout.in_progress(self.stable, self.candidate, self.stages, self.stage + 1)

    def promote(self) -> "Rollout":
        self._require_in_progress("promote")
        if self.stage != len(self.stages):
            raise RolloutRefused(f"{self.candidate} is at stage {self.stage} of {len(self.stages)} "
                                 f"({self.stages.traffic_at(self.stage)}%); advance it to the last stage (100%) before promoting")
        return Rollout.steady(self.candidate)

    def rollback(self) -> "Rollout":
        self._require_in_progress("roll back")
        return Rollout.rolled_back(self.stable, self.candidate, self.stages, self.stage)

    def _require_in_progress(self, move: str) -> None:
        if self.phase is Phase.STEADY:
            raise RolloutRefused(f"no rollout to {move}: {self.stable} is the only model (start one first)")
        if self.phase is Phase.ROLLED_BACK:
            raise RolloutRefused(f"no rollout to {move}: the rollout of {self.candidate} was rolled back (start a new one)")

    # --- what it means -------------------------------------------------------------------
    @property
    def traffic(self) -> TrafficSplit:
        if self.phase is Phase.IN_PROGRESS:
            return TrafficSplit.to_candidate(self.stages.traffic_at(self.stage))
        return TrafficSplit.all_stable()

    @property
    def stage_label(self) -> str:
        """``2-of-3`` while in progress, else ``rolled-back`` or ``steady``: the stage as a label value."""
        if self.phase is Phase.IN_PROGRESS:
            return f"{self.stage}-of-{len(self.stages)}"
        return "rolled-back" if self.phase is Phase.ROLLED_BACK else "steady"


def predictor_name(version: str) -> str:
    """The Standard-mode predictor name of a model version: ``1.4.0`` -> ``v1-4-0`` (a DNS label)."""
    slug = re.sub(r"[^a-z0-9]+", "-", version.lower()).strip("-")
    return f"v{slug}"[:20].rstrip("-")


def compile_predictor(mode: Mode | str, rollout: Rollout, *, shared: dict[str, Any], stable: dict[str, Any],
                      candidate: dict[str, Any] | None = None, candidate_replicas: int | None = None) -> dict[str, Any]:
    """The ``predictor`` (and, in Standard mode, ``canary``) part of an InferenceService spec.

    ``stable``/``candidate`` are the model-specific predictor fields of each model (``model`` or
    ``containers``); ``shared`` holds the fields both share (placement, autoscaling, logger...).
    ``candidate_replicas`` is Standard mode's canary replica count (Knative mode has none).
    """
    mode = Mode(mode)
    if rollout.phase is not Phase.STEADY and candidate is None:
        raise ValueError("a rollout needs the candidate's predictor fields")
    if mode is Mode.KNATIVE:
        if candidate_replicas is not None:
            raise ValueError("candidate replicas belong to Standard mode; Knative mode has no such field")
        if rollout.phase is Phase.STEADY:
            return {"predictor": {**shared, **stable}}
        return {"predictor": {**shared, **candidate, "canaryTrafficPercent": rollout.traffic.candidate}}

    predictor = {"name": predictor_name(rollout.stable), **shared, **stable}
    if rollout.phase is not Phase.IN_PROGRESS:
        return {"predictor": predictor}
    canary_predictor = {"name": predictor_name(rollout.candidate), **candidate}
    if candidate_replicas is not None:
        canary_predictor["minReplicas"] = candidate_replicas
    return {"predictor": predictor, "canary": [{"trafficPercent": rollout.traffic.candidate, "predictor": canary_predictor}]}
