"""Staged model rollouts: the state machine, what KServe really does with it, and its record. Pure Python.

A rollout moves an endpoint from its stable model to a candidate model through declared stages
(percent of traffic to the candidate, strictly increasing, each from 0 to 100). Its state lives
in stack config, so every move is a reviewed commit; ``servestack rollout`` makes the moves with
:class:`Rollout`'s methods, which refuse illegal ones with :class:`RolloutRefused`.

What a stage may be depends on what the deployment mode really routes (:func:`stages_problem`):

* ``Knative``: the predictor carries the candidate with ``canaryTrafficPercent`` = the stage's
  traffic; KServe splits traffic between the latest ready revision (the candidate) and the last
  rolled-out one (the stable model). Stages run from 1 to 100 and end at 100 (the candidate takes
  all traffic before it is promoted). Promotion removes the field; rollback sets it to 0.
* ``Standard``: the predictor keeps the stable model under a ``name``; one ``spec.canary[]`` entry
  carries the candidate as a named predictor with its own Deployment and Service. KServe v0.20.0
  (the pinned release) sizes that Deployment but routes every request to the stable predictor:
  weighted HTTPRoute backends for ``spec.canary[]`` came after it (kserve/kserve#5912). So the only
  honest Standard-mode stage is 0%: the candidate runs beside the stable model, reachable only
  through its own predictor Service, and ``promote`` is the cutover (blue/green). Rollback removes
  the canary entry.

The rollout's record (versions, stages, stage, phase, the traffic that really flows) is not
written on the InferenceService, whose labels and annotations KServe copies into the pods: any
value there that moved with a stage would restart every pod, stable ones included. It goes to
a ConfigMap of its own, which nothing mounts (:mod:`.rollout_record`).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from enum import Enum

from .canary_replicas import (  # noqa: F401  (re-exported: readers import them from here)
    kserve_canary_replicas,
    stable_min_during_canary,
    stable_min_to_render,
)


class RolloutRefused(ValueError):
    """An illegal rollout move (advancing past the last stage, promoting early...)."""


class Mode(str, Enum):
    KNATIVE = "Knative"
    STANDARD = "Standard"


_STAGES_TEXT = re.compile(r"[0-9]+(?:,[0-9]+)*")


@dataclass(frozen=True)
class Stages:
    """Percent of traffic to the candidate at each stage: whole percents from 0 to 100, strictly
    increasing. What a deployment mode allows on top of that is :func:`stages_problem`'s."""

    percents: tuple[int, ...]

    def __post_init__(self) -> None:
        if not self.percents:
            raise ValueError("must list at least one stage")
        if any(isinstance(p, bool) or not isinstance(p, int) for p in self.percents):
            raise ValueError("must be whole percents")
        if any(not 0 <= p <= 100 for p in self.percents):
            raise ValueError("must be percents from 0 to 100")
        if any(b <= a for a, b in zip(self.percents, self.percents[1:])):
            raise ValueError("must be strictly increasing")

    @classmethod
    def of(cls, *percents: int) -> "Stages":
        """``Stages.of(10, 50, 100)``."""
        return cls(tuple(percents))

    @classmethod
    def parse(cls, text: str) -> "Stages":
        """``Stages.parse("10,50,100")`` (``--stages``): ASCII digits and commas only, not all that
        ``int`` takes (``10_0`` is 100 to it: an instant cutover from a typo; ``+10``, spaces)."""
        shown = text if len(text) <= 60 else text[:57] + "..."
        if not _STAGES_TEXT.fullmatch(text):
            raise ValueError(f"must be comma-separated whole percents such as 10,50,100 (digits 0-9 only, "
                             f"no spaces); got {shown!r}")
        # a percent has at most 3 digits (leading zeros aside): longer is out of range, whatever its size
        # (and int() refuses over 4300 digits with advice meant for Python programmers)
        if any(len(part.lstrip("0")) > 3 for part in text.split(",")):
            raise ValueError(f"must be percents from 0 to 100; got {shown!r}")
        return cls(tuple(int(part.lstrip("0") or "0") for part in text.split(",")))

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
    """The candidate runs and takes the current stage's share of traffic (what the mode routes)."""
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
                                 f"({self.stages.traffic_at(self.stage)}%); advance it to the last stage ({self.stages.percents[-1]}%) "
                                 "before promoting")
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


#: The KServe release whose routing of Standard-mode canaries :func:`stages_problem` describes.
#: ``spec.canary[].trafficPercent`` routes nothing there; weighted backends came with kserve#5912,
#: after it. A test fails when the pinned KServe moves past it, so that these rules are revisited.
STANDARD_CANARY_UNROUTED_IN = "v0.20.0"
STANDARD_CANARY_ROUTING_PR = "kserve/kserve#5912"
#: Replicas of a Standard-mode candidate when ``rollout.candidateReplicas`` is not set. KServe's own
#: default is the stable minReplicas times trafficPercent, rounded up: 0 replicas at a 0% stage.
DEFAULT_CANDIDATE_REPLICAS = 1


def stages_problem(mode: Mode | str, stages: Stages) -> str | None:
    """Why ``stages`` are not what ``mode`` really routes (None when they are)."""
    if Mode(mode) is Mode.KNATIVE:
        if stages.percents[0] == 0:
            return ("must be percents from 1 to 100 in Knative mode: a candidate revision at 0% receives no requests "
                    "and has no address of its own (KServe tags it only with tag routing, which servestack does not "
                    "enable); 0 is Standard mode's blue/green stage")
        if stages.percents[-1] != 100:
            return "must end at 100 in Knative mode (the candidate takes all traffic before it is promoted)"
        return None
    if any(stages.percents):
        return (f"must all be 0 in Standard mode: KServe {STANDARD_CANARY_UNROUTED_IN} routes no traffic to "
                f"spec.canary[] (every request goes to the stable predictor; weighted routing came later, with "
                f"{STANDARD_CANARY_ROUTING_PR}). Use stages [0] for a blue/green cutover (the candidate runs beside "
                "the stable model, reachable through its own predictor service, and promote switches all traffic), "
                "or Knative mode for traffic stages")
    return None


def routed_percent(mode: Mode | str, declared: int) -> int:
    """Percent of requests KServe really sends to a canary that declares ``declared`` percent."""
    return declared if Mode(mode) is Mode.KNATIVE else 0






def predictor_service(endpoint: str, version: str) -> str:
    """The Service KServe creates for a named Standard-mode predictor: ``<isvc>-<name>-predictor``."""
    return f"{endpoint}-{predictor_name(version)}-predictor"


#: Longest Standard-mode predictor name (KServe's ``<isvc>-<name>-predictor`` must stay a DNS label).
PREDICTOR_NAME_MAX = 20


def predictor_name(version: str) -> str:
    """The Standard-mode predictor name of a model version: ``1.4.0`` -> ``v1-4-0`` (a DNS label).

    A name longer than :data:`PREDICTOR_NAME_MAX` is cut and ends with 6 hex digits of the version's
    SHA-256, so ``2.5-7b-instruct-awq-r2`` and ``2.5-7b-instruct-awq`` differ; versions differing
    only in punctuation or case (``1.4.0``, ``1-4-0``) still share a name."""
    name = "v" + re.sub(r"[^a-z0-9]+", "-", version.lower()).strip("-")
    if len(name) <= PREDICTOR_NAME_MAX:
        return name
    suffix = hashlib.sha256(version.encode()).hexdigest()[:6]
    return f"{name[:PREDICTOR_NAME_MAX - len(suffix) - 1].rstrip('-')}-{suffix}"
