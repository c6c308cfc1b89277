"""Evaluate a rollout's declared analysis against Prometheus: per check the candidate's and the stable's
value, the threshold and a verdict; then the overall verdict.

* ``fail``: a check's candidate value breaks its threshold (with enough traffic to judge).
* ``inconclusive``: too few candidate requests in the window (``minRequests``), no request series
  at all for the candidate, a check without data (or without the stable value its ``maxVsStable``
  needs), or a Standard-mode candidate without ``analysis.smoke`` (KServe v0.20.0 sends it no live
  traffic). Each reason is said.
* ``pass``: every check within its thresholds.

The PromQL of built-in checks is :func:`components.core.metrics.check_query`'s; custom queries get
their placeholders filled once per model version.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from components.core import metrics

PASS, FAIL, INCONCLUSIVE = "pass", "fail", "inconclusive"
EXIT_CODES = {PASS: 0, FAIL: 1, INCONCLUSIVE: 3}


class AnalysisInputError(Exception):
    """The endpoint has nothing to analyze (no rollout in progress, no analysis declared...)."""


@dataclass(frozen=True)
class Target:
    """What one analysis looks at: an endpoint's stable and candidate model versions and its checks."""

    stack: str
    endpoint: str
    namespace: str
    family: str
    """metrics.KNATIVE, STANDARD or LLM: which metrics the endpoint's model server exports."""
    stable: str
    candidate: str
    analysis: Any
    """The endpoint's components.config.analysis.AnalysisConfig."""


def target_of(typed, stack: str, endpoint: str) -> Target:
    """The analysis target of ``endpoint`` in a validated stack config; AnalysisInputError if none."""
    if endpoint in typed.endpoints:
        config = typed.endpoints[endpoint]
        family = typed.deployment_mode_of(endpoint).lower()
    elif endpoint in getattr(typed, "llm_endpoints", {}):
        config, family = typed.llm_endpoints[endpoint], metrics.LLM
    else:
        known = ", ".join(sorted([*typed.endpoints, *getattr(typed, "llm_endpoints", {})])) or "none"
        raise AnalysisInputError(f"stack {stack} has no endpoint {endpoint!r} (endpoints: {known})")
    rollout = config.rollout
    if rollout is None or rollout.rolled_back:
        state = "was rolled back" if rollout is not None else "has no rollout"
        raise AnalysisInputError(f"{endpoint} {state}: there is no candidate to analyze")
    if rollout.analysis is None:
        raise AnalysisInputError(f"{endpoint}'s rollout declares no analysis (rollout.analysis in "
                                 f"stacks/Pulumi.{stack}.yaml; see README, Rollouts decided by evidence)")
    return Target(stack, endpoint, config.namespace, family, config.model.version, rollout.candidate.version,
                  rollout.analysis)


@dataclass(frozen=True)
class CheckResult:
    name: str
    candidate: float | None
    stable: float | None
    threshold: dict[str, float]
    verdict: str
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "candidate": _figure(self.candidate), "stable": _figure(self.stable),
                "threshold": dict(self.threshold), "verdict": self.verdict}


@dataclass(frozen=True)
class Result:
    endpoint: str
    stack: str
    at: str
    verdict: str
    checks: list[CheckResult]
    reasons: list[str] = field(default_factory=list)
    stable: str = ""
    candidate: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "stack": self.stack, "at": self.at, "verdict": self.verdict,
                "checks": [c.to_json() for c in self.checks], "reasons": list(self.reasons)}


Query = Callable[[str, datetime], list]


def _figure(value: float | None) -> float | None:
    """A figure as reports show it: 6 significant digits (599.9999999999998 is 600)."""
    return None if value is None else float(f"{value:.6g}")


def rfc3339(at: datetime) -> str:
    return at.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _one(query: Query, expr: str, at: datetime) -> tuple[float | None, str]:
    """(value, why there is none): one series with a number, else None and the reason."""
    samples = query(expr, at)
    if not samples:
        return None, "no data (missing series)"
    if len(samples) > 1:
        return None, f"the query returned {len(samples)} series; a check needs one number"
    value = samples[0].value
    if math.isnan(value):
        return None, "no data in the window (NaN: no requests to divide by)"
    return value, ""


def _judge(check: str, candidate: float | None, stable: float | None, threshold: dict[str, float],
           why: str) -> tuple[str, str]:
    if candidate is None:
        return INCONCLUSIVE, f"candidate: {why}"
    broken = []
    if "max" in threshold and candidate > threshold["max"]:
        broken.append(f"{_fmt(candidate)} > max {_fmt(threshold['max'])}")
    if "maxMs" in threshold and candidate > threshold["maxMs"]:
        broken.append(f"{_fmt(candidate)} ms > maxMs {_fmt(threshold['maxMs'])}")
    if "min" in threshold and candidate < threshold["min"]:
        broken.append(f"{_fmt(candidate)} < min {_fmt(threshold['min'])}")
    relative = {k: v for k, v in threshold.items() if k in ("maxVsStable", "minVsStable")}
    if relative and stable is None:
        return (FAIL, "; ".join(broken)) if broken else (INCONCLUSIVE, "stable: no data to compare with")
    for key, ratio in relative.items():
        limit = stable * ratio
        if key == "maxVsStable" and candidate > limit:
            broken.append(f"{_fmt(candidate)} > {_fmt(ratio)} x stable {_fmt(stable)}")
        if key == "minVsStable" and candidate < limit:
            broken.append(f"{_fmt(candidate)} < {_fmt(ratio)} x stable {_fmt(stable)}")
    return (FAIL, "; ".join(broken)) if broken else (PASS, "")


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def analyze(target: Target, query: Query, at: datetime) -> Result:
    """Run every check of ``target`` at instant ``at`` through ``query`` (a Prometheus client's)."""
    analysis, window = target.analysis, target.analysis.window
    results: list[CheckResult] = []
    reasons: list[str] = []

    def value(expr_of: Callable[[str], str], version: str) -> tuple[float | None, str]:
        return _one(query, expr_of(version), at)

    requests_of = lambda v: metrics.requests_query(target.family, target.namespace, target.endpoint, v, window)  # noqa: E731
    cand_requests, why = value(requests_of, target.candidate)
    stable_requests, _ = value(requests_of, target.stable)
    gate = {"min": float(analysis.min_requests)} if analysis.min_requests else {}
    if cand_requests is None:
        reasons.append(f"no request series for candidate {target.candidate} in the last {window}: {why}")
        results.append(CheckResult("requests", None, stable_requests, gate, INCONCLUSIVE, why))
    elif analysis.min_requests and cand_requests < analysis.min_requests:
        reasons.append(f"too little traffic: candidate {target.candidate} served {cand_requests:.0f} requests in the "
                       f"last {window}, fewer than minRequests {analysis.min_requests}")
        results.append(CheckResult("requests", cand_requests, stable_requests, gate, INCONCLUSIVE, reasons[-1]))
    else:
        results.append(CheckResult("requests", cand_requests, stable_requests, gate, PASS))
    if target.family == metrics.STANDARD and getattr(analysis, "smoke", None) is None:
        reasons.append("a Standard-mode candidate gets no live traffic at KServe v0.20.0 (blue/green) and the analysis "
                       "declares no smoke requests (rollout.analysis.smoke): its figures say nothing yet")

    for check in analysis.checks:
        name, threshold = check.check_name, check.thresholds()
        if check.query is not None:
            def expr_of(version: str, q=check.query) -> str:
                return metrics.fill_placeholders(q, endpoint=target.endpoint, namespace=target.namespace,
                                                 version=version, window=window)
        else:
            def expr_of(version: str, c=name) -> str:
                return metrics.check_query(target.family, c, target.namespace, target.endpoint, version, window)
        candidate, why = value(expr_of, target.candidate)
        stable, _ = value(expr_of, target.stable)
        verdict, reason = _judge(name, candidate, stable, threshold, why)
        results.append(CheckResult(name, candidate, stable, threshold, verdict, reason))
        if verdict == INCONCLUSIVE:
            reasons.append(f"{name}: {reason}")

    verdicts = {r.verdict for r in results}
    gated = results[0].verdict == INCONCLUSIVE or (target.family == metrics.STANDARD
                                                   and getattr(analysis, "smoke", None) is None)
    overall = INCONCLUSIVE if gated else FAIL if FAIL in verdicts else INCONCLUSIVE if INCONCLUSIVE in verdicts else PASS
    return Result(target.endpoint, target.stack, rfc3339(at), overall, results, reasons, target.stable, target.candidate)
