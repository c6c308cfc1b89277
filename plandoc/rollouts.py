"""Where each endpoint's rollout stands: its rollout record, else what config and the
InferenceService say (plans of other tools, or of servestack releases that wrote the rollout on
the InferenceService).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from components.render import inference_service
from components.core.rollout import STANDARD_CANARY_UNROUTED_IN
from components.core.rollout_record import RECORD_COMPONENT, RolloutRecord

from .document import PlanDoc, Resource, of_type
from .endpoints import Endpoint, endpoints
from .tokens import CONFIG_MAP
from .values import decode_json, dig, mapping

#: Labels (then annotations) an InferenceService may carry its model version under, in order. servestack
#: itself no longer writes one there (it would restart the pods at every promotion; its rollout record
#: has the versions), but other tools and older servestack releases did.
MODEL_VERSION_KEYS = (inference_service.LABEL_MODEL_VERSION, "app.kubernetes.io/version", "serving.kserve.io/model-version")
#: What servestack releases before the rollout record wrote on the InferenceService (and KServe then
#: copied into every pod): read only to describe stacks deployed by them.
LEGACY_CANDIDATE_VERSION_KEYS = ("servestack.io/candidate-version",)
LEGACY_ROLLOUT_STAGES_ANNOTATION = "servestack.io/rollout-stages"
"""Percent per stage, comma-separated: ``10,50,100``."""
LEGACY_ROLLOUT_STAGE_LABEL = "servestack.io/rollout-stage"
"""``2-of-3`` while a rollout ran, else ``steady`` or ``rolled-back``."""

def rollout_records(resources: Iterable[Resource]) -> dict[tuple[str, str], RolloutRecord]:
    """(namespace, endpoint) -> the rollout record servestack's ModelEndpoint keeps in a ConfigMap."""
    found = {}
    for resource in of_type(resources, CONFIG_MAP):
        inputs = resource.get("inputs") or {}
        metadata = mapping(inputs.get("metadata"))
        labels = mapping(metadata.get("labels"))
        endpoint = labels.get(inference_service.LABEL_ENDPOINT)
        if labels.get(inference_service.LABEL_COMPONENT) != RECORD_COMPONENT or not isinstance(endpoint, str):
            continue
        record = RolloutRecord.from_data(endpoint, inputs.get("data"))
        if record is not None:
            found[str(metadata.get("namespace") or "default"), endpoint] = record
    return found


@dataclass(frozen=True)
class RolloutState:
    mode: str
    stable: str | None
    candidate: str | None
    traffic: int
    """Percent of requests the platform really sends to the candidate (0 without one)."""
    stage: int | None = None
    stages: tuple[int, ...] = ()
    unrouted: int = 0
    """Standard mode: the spec.canary[] trafficPercent KServe does not route (0 when none is declared)."""
    stable_min: int | None = None
    """Standard mode with a canary: the stable predictor's minReplicas as configured..."""
    stable_min_during_canary: int | None = None
    """...and the minimum KServe really keeps while the canary exists."""
    candidate_replicas: int | None = None
    """Standard mode with a canary: the candidate Deployment's replicas."""

    def describe(self) -> str:
        if self.candidate is None or self.traffic == 0 and self.stage is None:
            return f"{self.stable or '?'} (100%)"
        stage = f", stage {self.stage} of {len(self.stages)}" if self.stage and self.stages else ""
        stable = f"{100 - self.traffic}%"
        if self.stable_min_during_canary is not None and self.stable_min is not None \
                and self.stable_min_during_canary != self.stable_min:
            stable += f", minReplicas {self.stable_min} → {self.stable_min_during_canary} while the canary runs"
        candidate = f"{self.traffic}%"
        if self.unrouted:
            candidate += f": its trafficPercent {self.unrouted} is not routed by KServe {STANDARD_CANARY_UNROUTED_IN}"
        elif self.mode == "Standard":
            candidate += ", own service only"
        if self.candidate_replicas is not None:
            candidate += f", {self.candidate_replicas} replica{'s' if self.candidate_replicas != 1 else ''}"
        return f"{self.stable or '?'} ({stable}) + candidate {self.candidate} ({candidate}{stage})"


def _endpoint_config(config: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    endpoints_config = decode_json(config.get("servestack:endpoints")) or {}
    return endpoints_config.get(name) or {} if isinstance(endpoints_config, Mapping) else {}


def rollout_state(endpoint: Endpoint, config: Mapping[str, Any], record: RolloutRecord | None = None) -> RolloutState:
    """Versions, stage and real traffic of one endpoint: from its rollout record when the plan has one,
    else from servestack:endpoints and the InferenceService itself (plans of other tools, or of
    servestack releases that wrote the rollout on the InferenceService)."""
    stable_min = endpoint.predictor.min_replicas
    during = endpoint.stable_min_during_canary
    declared = sum(t for _, t in endpoint.canaries if isinstance(t, int)) if endpoint.mode == "Standard" else 0
    unrouted = declared - endpoint.routed_candidate_percent if endpoint.mode == "Standard" else 0
    replicas = sum(p.min_replicas or 0 for p, _ in endpoint.canaries) or None
    if record is not None:
        active = record.in_progress
        return RolloutState(record.mode, record.stable, record.candidate, record.candidate_traffic if active else 0,
                            record.stage if active else None, record.stages, unrouted,
                            record.stable_min_replicas if during is not None else None, during,
                            record.candidate_replicas if active else None)
    declared_config = _endpoint_config(config, endpoint.name)
    rollout = declared_config.get("rollout") or {}
    rolled_back = bool(rollout.get("rolledBack"))
    stable = endpoint.label(MODEL_VERSION_KEYS) or dig(declared_config, "model", "version")
    candidate = endpoint.label(LEGACY_CANDIDATE_VERSION_KEYS) or (None if rolled_back else dig(rollout, "candidate", "version"))
    traffic = endpoint.routed_candidate_percent
    if (traffic or endpoint.canaries) and candidate is None:
        candidate = "?"
    if not traffic and not endpoint.canaries and not rollout:
        candidate = None
    stages = tuple(s for s in rollout.get("stages") or () if isinstance(s, int)) or _annotated_stages(endpoint)
    stage = rollout.get("stage") if candidate and not rolled_back else None
    if stage is None and candidate:
        stage = _labelled_stage(endpoint)
    shown = declared if endpoint.mode == "Standard" else traffic  # where it sits in the declared stages
    if stage is None and candidate and shown in stages:
        stage = stages.index(shown) + 1
    return RolloutState(endpoint.mode, str(stable) if stable else None, str(candidate) if candidate else None,
                        traffic, stage if isinstance(stage, int) else None, stages, unrouted,
                        stable_min if during is not None else None, during, replicas if during is not None else None)


def _annotated_stages(endpoint: Endpoint) -> tuple[int, ...]:
    text = endpoint.annotations.get(LEGACY_ROLLOUT_STAGES_ANNOTATION, "")
    parts = [p.strip() for p in text.split(",") if p.strip()]
    # ASCII digits only: str.isdigit() is true for "²", which int() refuses
    return tuple(int(p) for p in parts) if parts and all(re.fullmatch(r"[0-9]{1,9}", p) for p in parts) else ()


def _labelled_stage(endpoint: Endpoint) -> int | None:
    match = re.fullmatch(r"(\d+)-of-(\d+)", endpoint.labels.get(LEGACY_ROLLOUT_STAGE_LABEL, ""))
    return int(match.group(1)) if match else None


def rollout_states(plan: PlanDoc) -> dict[str, RolloutState]:
    """``namespace/name`` -> the rollout state of every endpoint of the plan."""
    resources = plan.resource_list()
    records = rollout_records(resources)
    return {f"{e.namespace}/{e.name}": rollout_state(e, plan.config, records.get((e.namespace, e.name)))
            for e in endpoints(resources, plan.config)}
