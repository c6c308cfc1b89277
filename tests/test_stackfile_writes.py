"""Stack-file writes with real processes: concurrent rollout moves lose nothing, and a writer killed
mid-write or out of space leaves the file as it was. Faults come from ``stackfile_faults.py``,
which wraps ``open`` in the child process (no hook in servestack itself)."""

from __future__ import annotations

import fcntl
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from harness import REPO
from servestack.stackio import atomic
from servestack.cli import cli

FAULTS = Path(__file__).with_name("stackfile_faults.py")
NAMES = ("iris", "wine", "cart", "fern", "lynx", "opal")
ENDPOINT = """\
    {name}:
      pool: system
      model:
        format: sklearn
        storageUri: s3://acme-models/models/{name}/1.0.0
        version: "1.0.0"
"""
STACK = """\
config:
  aws:region: us-east-1
  servestack:nodePools:
    system:
      instanceTypes: [m7i.large]
      minSize: 2
      maxSize: 2
  servestack:endpoints:
""" + "".join(ENDPOINT.format(name=name) for name in NAMES)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copy(REPO / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "Pulumi.dev.yaml").write_text(STACK)
    return tmp_path


def stack_path(project: Path) -> Path:
    return project / "stacks" / "Pulumi.dev.yaml"


def endpoints(project: Path) -> dict:
    return yaml.safe_load(stack_path(project).read_text())["config"]["servestack:endpoints"]


def spawn(project: Path, *args: str, fault: str | None = None, **popen) -> subprocess.Popen:
    """``servestack rollout ARGS --stack dev`` in a new process running this worktree's code."""
    prefix = [str(FAULTS), fault, str(project / "stacks"), "--"] if fault else ["-c", "from servestack.cli import main; main()"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, *prefix, "rollout", *args, "--stack", "dev", "--project", str(project)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, **popen)


def finish(process: subprocess.Popen) -> tuple[int, str]:
    _, stderr = process.communicate(timeout=120)
    return process.returncode, stderr


def start_args(name: str, version: str = "1.1.0", stages: str = "10,50,100") -> list[str]:
    return ["start", name, "--model-version", version, "--storage-uri", f"s3://acme-models/models/{name}/{version}",
            "--stages", stages]


def wait_for_line(stream, expected: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = stream.readline()
        if line.rstrip("\n") == expected:
            return
        assert line, f"the writer ended before {expected!r}"
    raise AssertionError(f"no {expected!r} within {timeout}s")


def test_concurrent_moves_of_different_endpoints_all_land(project):
    # every write waits 0.3 s, so unserialized writers would all read the file before any wrote it
    moved = NAMES[:4]
    processes = [spawn(project, *start_args(name), fault="slow=0.3") for name in moved]
    results = [finish(p) for p in processes]
    assert results == [(0, "")] * len(moved)
    assert {name: endpoint.get("rollout") for name, endpoint in endpoints(project).items()} == {
        name: {"candidate": {"version": "1.1.0", "storageUri": f"s3://acme-models/models/{name}/1.1.0"},
               "stages": [10, 50, 100], "stage": 1} if name in moved else None for name in NAMES}


def test_the_same_advance_at_once_moves_one_stage_per_success_and_refuses_the_rest(project):
    assert finish(spawn(project, *start_args("iris"))) == (0, "")
    processes = [spawn(project, "advance", "iris", fault="slow=0.3") for _ in range(3)]
    results = sorted(finish(p) for p in processes)
    assert results == [(0, ""), (0, ""), (2, "refused: iris: 1.1.0 is at the last stage (100%); promote it or roll it back\n")]
    assert endpoints(project)["iris"]["rollout"]["stage"] == 3


def test_a_writer_killed_mid_write_leaves_the_file_as_it_was_and_the_next_one_writes(project):
    before = stack_path(project).read_bytes()
    writer = spawn(project, *start_args("iris"), fault="die")
    wait_for_line(writer.stderr, "FAULT: paused mid-write")
    waiting = spawn(project, *start_args("wine"))  # blocks on the killed writer's lock until it dies
    time.sleep(1.0)
    assert waiting.poll() is None
    writer.send_signal(signal.SIGKILL)
    writer.wait(timeout=60)
    assert stack_path(project).read_bytes() == before  # never a partial file
    assert finish(waiting) == (0, "")
    after = endpoints(project)
    assert "rollout" not in after["iris"] and after["wine"]["rollout"]["candidate"]["version"] == "1.1.0"
    assert sorted(p.name for p in (project / "stacks").iterdir()) == ["Pulumi.dev.yaml"]  # the dead writer's temp file went


def test_a_full_disk_leaves_the_file_as_it_was_and_exits_2(project):
    before = stack_path(project).read_bytes()
    assert finish(spawn(project, *start_args("iris"), fault="enospc")) == (
        2, "error: could not write stacks/Pulumi.dev.yaml (No space left on device); it was left as it was\n")
    assert stack_path(project).read_bytes() == before
    assert sorted(p.name for p in (project / "stacks").iterdir()) == ["Pulumi.dev.yaml"]


def test_a_file_size_limit_hit_mid_write_leaves_the_file_as_it_was_and_exits_2(project):
    """A real kernel limit (RLIMIT_FSIZE): the write fails with EFBIG part of the way through."""
    before = stack_path(project).read_bytes()
    limit = len(before) // 2

    def limit_file_size():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    assert finish(spawn(project, *start_args("iris"), preexec_fn=limit_file_size)) == (
        2, "error: could not write stacks/Pulumi.dev.yaml (File too large); it was left as it was\n")
    assert stack_path(project).read_bytes() == before


def run(project: Path, *args: str):
    return CliRunner().invoke(cli, ["rollout", *args, "--stack", "dev", "--project", str(project)], catch_exceptions=False)


def test_a_second_writer_gives_up_after_the_timeout_with_exit_2(project, monkeypatch):
    monkeypatch.setattr(atomic, "LOCK_TIMEOUT_SECONDS", 0.3)
    before = stack_path(project).read_bytes()
    with open(stack_path(project)) as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # another writer holds the lock
        result = run(project, *start_args("iris"))
    assert (result.exit_code, result.stderr) == (
        2, "error: stacks/Pulumi.dev.yaml is being changed by another command (waited 0.3s for its lock); nothing was "
           "written: run this again when it has finished\n")
    assert stack_path(project).read_bytes() == before


def test_a_write_keeps_the_files_mode_and_replaces_a_symlinks_target(project):
    target = project / "shared.yaml"
    stack_path(project).rename(target)
    stack_path(project).symlink_to(target)
    target.chmod(0o640)
    assert run(project, *start_args("iris")).exit_code == 0
    assert stack_path(project).is_symlink() and (target.stat().st_mode & 0o777) == 0o640
    assert endpoints(project)["iris"]["rollout"]["stage"] == 1


def test_a_read_only_stack_file_is_refused(project, monkeypatch):
    before = stack_path(project).read_bytes()
    monkeypatch.setattr(os, "access", lambda path, mode: mode != os.W_OK)  # as for a non-root user on a 0444 file
    result = run(project, *start_args("iris"))
    assert (result.exit_code, result.stderr) == (2, "error: stacks/Pulumi.dev.yaml is read-only; nothing was written\n")
    assert stack_path(project).read_bytes() == before
