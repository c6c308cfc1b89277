"""How many replicas KServe v0.20.0 runs of a Standard-mode canary and of the stable predictor beside it, and the
stable minReplicas servestack writes so that the stable keeps its configured minimum while a candidate runs.

Pure arithmetic, shared by the renderer (:mod:`components.render.inference_service`), the rollout record
(:mod:`.rollout`) and the plan readers (:mod:`plandoc.endpoints`, :mod:`plandoc.demand`).
"""

from __future__ import annotations


def kserve_canary_replicas(stable_min: int | None, canary_min: int | None, traffic_percent: int) -> int:
    """Replicas KServe v0.20.0 gives a Standard-mode canary's Deployment: the canary predictor's
    minReplicas, else the stable minReplicas (default 1) times trafficPercent, rounded up."""
    if canary_min is not None:
        return canary_min
    return -(-(1 if stable_min is None else stable_min) * traffic_percent // 100)


def stable_min_during_canary(stable_min: int, canary_replicas: int) -> int:
    """The stable predictor's minimum that KServe keeps while Standard-mode canaries exist: its
    minReplicas lowered by the canaries' replicas, never below 1 (KServe v0.20.0's predictor
    reconciler), although those canaries serve no traffic."""
    return max(stable_min - canary_replicas, 1)


def stable_min_to_render(stable_min: int, canary_replicas: int) -> int:
    """The stable predictor's minReplicas to write while Standard-mode canaries of ``canary_replicas`` exist, so
    that KServe, which lowers it by them (:func:`stable_min_during_canary`), keeps the configured ``stable_min``:
    a blue/green start never takes the stable below its minimum. A minimum of 0 (scale to zero) stays 0."""
    return stable_min + canary_replicas if stable_min >= 1 else stable_min
