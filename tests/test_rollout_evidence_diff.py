"""The markdown diff of a rollout move shows the analysis the move recorded (``rollout.lastAnalysis``)
next to the traffic change, for InferenceService and LLM endpoints alike."""

from __future__ import annotations

import copy

from plandoc.document import PlanDoc
from servestack.review.diff import diff_plans, render_markdown

LAST = {"at": "2026-11-02T12:00:00Z", "verdict": "pass", "stable": "1.0.0", "candidate": "1.1.0",
        "checks": [{"name": "requests", "candidate": 600.0, "stable": 5400.0, "verdict": "pass"},
                   {"name": "latencyP95", "candidate": 388.889, "stable": 388.889, "verdict": "pass"}]}


def config(stage: int, last: dict | None, section: str = "servestack:endpoints") -> dict:
    rollout = {"candidate": {"version": "1.1.0"}, "stages": [10, 50, 100], "stage": stage}
    if last is not None:
        rollout["lastAnalysis"] = copy.deepcopy(last)
    return {"aws:region": "us-east-1", section: {"fraud": {"model": {"version": "1.0.0"}, "rollout": rollout}}}


def plan(cfg: dict) -> PlanDoc:
    return PlanDoc("test", "prod", "servestack", cfg, {})


EXPECTED = [
    "### Rollout evidence",
    "",
    "Latest analysis of `fraud`: **pass** at 2026-11-02T12:00:00Z (candidate `1.1.0` vs stable `1.0.0`)",
    "",
    "| Check | Candidate | Stable | Verdict |",
    "|---|---|---|---|",
    "| requests | 600 | 5400 | pass |",
    "| latencyP95 | 388.9 | 388.9 | pass |",
]


def evidence_lines(markdown: str) -> list[str]:
    lines = markdown.splitlines()
    if "### Rollout evidence" not in lines:
        return []
    start = lines.index("### Rollout evidence")
    return lines[start:start + len(EXPECTED)]


def test_an_advance_that_records_an_analysis_shows_it():
    assert evidence_lines(render_markdown(diff_plans(plan(config(1, None)), plan(config(2, LAST))))) == EXPECTED


def test_an_llm_endpoints_recorded_analysis_shows_too():
    base, head = config(1, None, "servestack:llmEndpoints"), config(2, LAST, "servestack:llmEndpoints")
    assert evidence_lines(render_markdown(diff_plans(plan(base), plan(head)))) == EXPECTED


def test_an_unchanged_record_is_not_repeated_and_a_new_one_replaces_it():
    assert evidence_lines(render_markdown(diff_plans(plan(config(2, LAST)), plan(config(2, LAST))))) == []
    newer = {**LAST, "at": "2026-11-02T13:00:00Z"}
    shown = evidence_lines(render_markdown(diff_plans(plan(config(2, LAST)), plan(config(3, newer)))))
    assert shown[2] == "Latest analysis of `fraud`: **pass** at 2026-11-02T13:00:00Z (candidate `1.1.0` vs stable `1.0.0`)"
