"""Conformance fixtures and the terminal summary: one line of figures per check.

A check records its figures with the ``conformance_line`` fixture before it asserts, so the
summary shows them whether the check passes or fails (under xdist too: the line travels to the
controller as a ``user_properties`` entry of the test's report).
"""

from __future__ import annotations

import pytest

SUMMARY_KEY = "conformance"


@pytest.fixture
def conformance_line(record_property):
    """``conformance_line("InferenceServices: 41/41 accepted by KServe v0.20.0 CRD")``."""

    def record(line: str) -> None:
        record_property(SUMMARY_KEY, line)

    return record


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    lines = []
    for outcome in ("passed", "failed", "error"):
        for report in terminalreporter.stats.get(outcome, []):
            if getattr(report, "when", None) != "call":
                continue
            for key, value in getattr(report, "user_properties", []):
                if key == SUMMARY_KEY:
                    mark = "ok  " if report.passed else "FAIL"
                    lines.append((report.nodeid, f"{mark} {value}"))
    if lines:
        terminalreporter.section("conformance")
        for _, line in sorted(lines):
            terminalreporter.write_line(line)
