"""A real Prometheus server for tests: series written as OpenMetrics, backfilled with ``promtool tsdb
create-blocks-from openmetrics``, served by the ``prometheus`` binary on a free loopback port.

Outside CI a missing binary skips the tests that need it (with that reason); in CI (``CI=true``) it
fails them: ``.ci/run`` installs the Debian package ``prometheus``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest


def binaries() -> tuple[str, str]:
    prometheus, promtool = shutil.which("prometheus"), shutil.which("promtool")
    if prometheus and promtool:
        return prometheus, promtool
    reason = "the prometheus and promtool binaries are not on PATH (Debian package prometheus; .ci/run installs it)"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, url: str, process: subprocess.Popen):
        self.url, self.process = url, process

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start(workdir: Path, openmetrics: str) -> Server:
    """Backfill ``openmetrics`` (ending with ``# EOF``) into a new TSDB under ``workdir`` and serve it."""
    prometheus, promtool = binaries()
    data = workdir / "data"
    data.mkdir(parents=True)
    source = workdir / "series.om"
    source.write_text(openmetrics)
    subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", str(source), str(data)],
                   check=True, capture_output=True, timeout=300)
    config = workdir / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 30s\n")
    port = _free_port()
    log = open(workdir / "prometheus.log", "wb")
    process = subprocess.Popen(
        [prometheus, f"--config.file={config}", f"--storage.tsdb.path={data}", f"--web.listen-address=127.0.0.1:{port}",
         "--storage.tsdb.retention.time=100y", "--web.enable-lifecycle"],
        stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"prometheus exited: {(workdir / 'prometheus.log').read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as response:
                if response.status == 200:
                    return Server(url, process)
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("prometheus did not become ready in 60s")
