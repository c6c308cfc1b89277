"""Shared fixtures. Every plan is made fresh by tests/harness.py; nothing here holds Pulumi state.

Also the conformance summary (tests/conformance): a check records one line of figures with the
``conformance_line`` fixture before it asserts, and the terminal summary prints them whether the
check passes or fails. Under xdist the line travels to the controller as a ``user_properties``
entry of the test's report; the hook lives here, not in tests/conformance/conftest.py, because the
xdist controller collects nothing and so loads only the conftest files of its arguments (``tests``
for ``make test``): a hook below them would never run there.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness import REPO


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    """A scratch copy of the project's stack files whose program is the repository's __main__.py."""
    (tmp_path / "Pulumi.yaml").write_text(
        (REPO / "Pulumi.yaml").read_text() + f"main: {REPO}\n"
    )
    shutil.copytree(REPO / "stacks", tmp_path / "stacks")
    return tmp_path


#: The user_properties key of a conformance figure line.
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
