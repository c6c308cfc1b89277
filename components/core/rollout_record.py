"""An endpoint's rollout record: where its rollout stands and what the platform really does with it
(:class:`RolloutRecord`), written to a ConfigMap of its own (:func:`record_name`) that nothing mounts
(see :mod:`.rollout` for why not on the InferenceService). Pure Python."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from .rollout import (DEFAULT_CANDIDATE_REPLICAS, Mode, Phase, Rollout, TrafficSplit, predictor_service, routed_percent,
                      stable_min_to_render,
                      stable_min_during_canary)

#: Labels of every rollout record ConfigMap (readers find the records by the component label).
RECORD_COMPONENT = "rollout-record"


def record_name(endpoint: str) -> str:
    """The ConfigMap that records an endpoint's rollout, in the endpoint's namespace."""
    return f"{endpoint}-rollout"


@dataclass(frozen=True)
class RolloutRecord:
    """Where an endpoint's rollout stands and what the platform really does with it.

    Written by ModelEndpoint into the ConfigMap :func:`record_name` (``data``, all strings), and
    read back by ``servestack diff``, ``check``, ``plan`` and ``rollout status``.
    """

    endpoint: str
    mode: str
    phase: str
    stable: str
    candidate: str | None = None
    stages: tuple[int, ...] = ()
    stage: int = 0
    """Counted from 1; 0 when steady."""
    candidate_traffic: int = 0
    """Percent of requests the platform really sends to the candidate."""
    stable_min_replicas: int | None = None
    """The stable predictor's minReplicas as configured."""
    candidate_replicas: int | None = None
    """Standard mode with a canary: replicas of the candidate's Deployment."""
    stable_min_during_canary: int | None = None
    """Standard mode with a canary: the stable minimum KServe keeps while the canary exists."""
    candidate_service: str | None = None
    """Standard mode with a canary: the candidate's own predictor Service (its only way in)."""

    @property
    def traffic(self) -> TrafficSplit:
        return TrafficSplit.to_candidate(self.candidate_traffic)

    @property
    def in_progress(self) -> bool:
        return self.phase == Phase.IN_PROGRESS.value

    def to_data(self) -> dict[str, str]:
        data = {"mode": self.mode, "phase": self.phase, "stableVersion": self.stable,
                "traffic": str(self.traffic), "candidateTrafficPercent": str(self.candidate_traffic)}
        optional = {
            "candidateVersion": self.candidate,
            "stages": ",".join(map(str, self.stages)) if self.stages else None,
            "stage": str(self.stage) if self.stage else None,
            "stableMinReplicas": self.stable_min_replicas,
            "candidateReplicas": self.candidate_replicas,
            "stableMinReplicasDuringCanary": self.stable_min_during_canary,
            "candidateService": self.candidate_service,
        }
        data.update({k: str(v) for k, v in optional.items() if v is not None})
        return dict(sorted(data.items()))

    @classmethod
    def from_data(cls, endpoint: str, data: Any) -> "RolloutRecord | None":
        """The record in a ConfigMap's ``data`` (None when it is not one: a reader never fails on it)."""
        if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in ("mode", "phase", "stableVersion")):
            return None

        def number(key: str) -> int | None:
            value = data.get(key)
            return int(value) if isinstance(value, str) and re.fullmatch(r"[0-9]{1,9}", value) else None

        stages = tuple(int(p) for p in str(data.get("stages") or "").split(",") if re.fullmatch(r"[0-9]{1,9}", p.strip()))
        return cls(endpoint, data["mode"], data["phase"], data["stableVersion"],
                   data.get("candidateVersion") if isinstance(data.get("candidateVersion"), str) else None,
                   stages, number("stage") or 0, number("candidateTrafficPercent") or 0, number("stableMinReplicas"),
                   number("candidateReplicas"), number("stableMinReplicasDuringCanary"),
                   data.get("candidateService") if isinstance(data.get("candidateService"), str) else None)

    def describe_stage(self) -> str:
        """``2/3 (10,50,100)``, ``rolled back at 2/3 (10,50,100)`` or ``-``."""
        if not self.stages:
            return "-"
        where = f"{self.stage}/{len(self.stages)} ({','.join(map(str, self.stages))})"
        return f"rolled back at {where}" if self.phase == Phase.ROLLED_BACK.value else where

    def describe_replicas(self) -> str:
        """What runs while a Standard-mode canary exists, e.g. ``stable min 4 kept, candidate 1`` (``stable min 4 → 3``
        when KServe lowers it: a record of a plan servestack did not render)."""
        if self.stable_min_during_canary == self.stable_min_replicas:
            return f"stable min {self.stable_min_replicas} kept, candidate {self.candidate_replicas}"
        if self.candidate_replicas is None or self.stable_min_during_canary is None:
            return "-"
        return f"stable min {self.stable_min_replicas} → {self.stable_min_during_canary}, candidate {self.candidate_replicas}"

    def describe(self) -> str:
        """One line: versions, stage, the traffic really routed and, in Standard mode, the replicas."""
        text = f"{self.stable} ({self.traffic.stable}%)"
        if self.candidate is None:
            return text
        text += f" + candidate {self.candidate} ({self.traffic.candidate}%"
        if self.candidate_service:
            text += f", only at {self.candidate_service}"
        text += ")"
        stage = self.describe_stage()
        text += f", {stage}" if self.phase == Phase.ROLLED_BACK.value else f", stage {stage}"
        if self.candidate_replicas is not None:
            text += f"; {self.describe_replicas()}"
        return text


def rollout_record(endpoint: str, namespace: str, mode: Mode | str, rollout: Rollout, *, stable_min_replicas: int,
                   candidate_replicas: int | None = None) -> RolloutRecord:
    """The record of ``rollout`` as ``mode`` really runs it (``candidate_replicas``: Standard mode's, if set)."""
    mode = Mode(mode)
    record = RolloutRecord(
        endpoint, mode.value, rollout.phase.value, rollout.stable, rollout.candidate,
        tuple(rollout.stages) if rollout.stages else (), rollout.stage,
        routed_percent(mode, rollout.traffic.candidate), stable_min_replicas,
    )
    if mode is Mode.STANDARD and rollout.phase is Phase.IN_PROGRESS:
        replicas = DEFAULT_CANDIDATE_REPLICAS if candidate_replicas is None else candidate_replicas
        rendered = stable_min_to_render(stable_min_replicas, replicas)
        record = replace(record, candidate_replicas=replicas,
                         stable_min_during_canary=stable_min_during_canary(rendered, replicas),
                         candidate_service=f"{predictor_service(endpoint, rollout.candidate)}.{namespace}")
    return record
