"""An analysis result as text, JSON or markdown (the body of a rollout driver's pull request), and as
the record ``rollout advance --require-analysis`` writes into the stack file."""

from __future__ import annotations

import json
from typing import Any

from .engine import CheckResult, Result

ICONS = {"pass": "✅ pass", "fail": "❌ fail", "inconclusive": "⚪ inconclusive"}


def figure(check: CheckResult, value: float | None) -> str:
    if value is None:
        return "-"
    if check.name == "requests":
        return f"{value:.0f}"
    unit = " ms" if "maxMs" in check.threshold else ""
    return f"{value:.4g}{unit}"


def threshold_text(threshold: dict[str, float]) -> str:
    words = {"max": "≤ {}", "min": "≥ {}", "maxMs": "≤ {} ms", "maxVsStable": "≤ {} × stable",
             "minVsStable": "≥ {} × stable"}
    return ", ".join(words[k].format(f"{v:g}") for k, v in threshold.items()) or "-"


def as_json(result: Result) -> str:
    return json.dumps(result.to_json(), indent=2, sort_keys=False)


def as_text(result: Result) -> str:
    lines = [f"Analysis of {result.endpoint} (stack {result.stack}) at {result.at}: candidate {result.candidate} "
             f"vs stable {result.stable}", ""]
    rows = [("check", "candidate", "stable", "threshold", "verdict")]
    rows += [(c.name, figure(c, c.candidate), figure(c, c.stable), threshold_text(c.threshold), c.verdict)
             for c in result.checks]
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines += ["", f"verdict: {result.verdict}"]
    lines += [f"  - {reason}" for reason in result.reasons]
    for check in result.checks:
        if check.verdict == "fail":
            lines.append(f"  - {check.name} fails: {check.reason}")
    return "\n".join(lines)


def as_markdown(result: Result) -> str:
    lines = [f"### Rollout analysis: `{result.endpoint}` ({result.stack}) — {ICONS[result.verdict]}", "",
             f"Candidate `{result.candidate}` against stable `{result.stable}`, evaluated at {result.at}.", "",
             "| Check | Candidate | Stable | Threshold | Verdict |", "|---|---|---|---|---|"]
    lines += [f"| {c.name} | {figure(c, c.candidate)} | {figure(c, c.stable)} | {threshold_text(c.threshold)} | "
              f"{c.verdict} |" for c in result.checks]
    notes = list(result.reasons) + [f"{c.name} fails: {c.reason}" for c in result.checks if c.verdict == "fail"]
    if notes:
        lines += [""] + [f"- {note}" for note in notes]
    return "\n".join(lines) + "\n"


FORMATS = {"text": as_text, "json": as_json, "markdown": as_markdown}


def record(result: Result) -> dict[str, Any]:
    """What ``rollout advance --require-analysis`` keeps in the rollout (``lastAnalysis``)."""
    return {"at": result.at, "verdict": result.verdict, "stable": result.stable, "candidate": result.candidate,
            "checks": [{"name": c.name, "candidate": _round(c.candidate), "stable": _round(c.stable),
                        "verdict": c.verdict} for c in result.checks]}


def _round(value: float | None) -> float | None:
    return None if value is None else float(f"{value:.6g}")


def recorded_markdown(endpoint: str, last: dict[str, Any] | None) -> str:
    """The latest recorded analysis of a rollout, for the markdown diff of a rollout move ('' if none)."""
    if not isinstance(last, dict) or "verdict" not in last:
        return ""
    lines = [f"Latest analysis of `{endpoint}`: **{last.get('verdict')}** at {last.get('at')} "
             f"(candidate `{last.get('candidate')}` vs stable `{last.get('stable')}`)", "",
             "| Check | Candidate | Stable | Verdict |", "|---|---|---|---|"]
    for check in last.get("checks") or []:
        if isinstance(check, dict):
            lines.append(f"| {check.get('name')} | {_show(check.get('candidate'))} | {_show(check.get('stable'))} | "
                         f"{check.get('verdict')} |")
    return "\n".join(lines) + "\n"


def _show(value: Any) -> str:
    return "-" if value is None else f"{value:.4g}" if isinstance(value, (int, float)) else str(value)


def evidence_markdown(base_config: dict[str, Any], head_config: dict[str, Any]) -> list[str]:
    """Markdown lines for the diff of a rollout move: each endpoint (InferenceService or LLM) whose
    recorded analysis (``rollout.lastAnalysis``) the change adds or replaces, with its figures."""
    lines: list[str] = []
    for section in ("servestack:endpoints", "servestack:llmEndpoints"):
        head, base = head_config.get(section), base_config.get(section)
        if not isinstance(head, dict):
            continue
        for name, endpoint in sorted(head.items()):
            last = _last_analysis(endpoint)
            if last is not None and last != _last_analysis((base or {}).get(name) if isinstance(base, dict) else None):
                lines += ["", recorded_markdown(name, last).rstrip("\n")]
    return (["", "### Rollout evidence"] + lines) if lines else []


def _last_analysis(endpoint: Any) -> dict[str, Any] | None:
    rollout = endpoint.get("rollout") if isinstance(endpoint, dict) else None
    last = rollout.get("lastAnalysis") if isinstance(rollout, dict) else None
    return last if isinstance(last, dict) else None
