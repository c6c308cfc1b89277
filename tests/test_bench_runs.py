"""`make bench` keeps working: the benchmark runs end to end on its smallest size (one run, no start-up
timings), so a change that makes its generated stack invalid or a command fail shows here, not on the
next person's `make bench`. Timings are not asserted (they are measured by the bench, not by tests)."""

from __future__ import annotations

import json
import subprocess
import sys

from harness import REPO


def test_the_benchmark_runs_end_to_end_on_ten_endpoints(tmp_path):
    out = tmp_path / "results.json"
    run = subprocess.run([sys.executable, str(REPO / "bench" / "bench.py"), "--sizes", "10", "--runs", "1",
                          "--startup-runs", "0", "--json", str(out)], capture_output=True, text=True, cwd=REPO, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    results = json.loads(out.read_text())
    row = results["sizes"]["10"]
    assert row["endpoints"] == 10 and row["resources"] > 100
    assert {"plan", "baseline", "check", "diff"} <= set(row) and results["startup"] == {}
