"""The rollout driver on a temporary git repository (a bare ``origin`` beside it) with a stack in rollout,
a real Prometheus holding the analysis scenarios, and GitHub's REST API replaced at the HTTP boundary by a
local server that records each call."""

from __future__ import annotations

import json
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

import analysis_series as s
import prometheus_server
from analysis_stack import STACK, knative_endpoint, llm_endpoint, write_project
from endpoint_fixtures import config
from servestack.cli import cli


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory):
    server = prometheus_server.start(tmp_path_factory.mktemp("prometheus"), s.openmetrics())
    yield server.url
    server.stop()


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, Path]:
    """A work tree on ``main`` with the stack committed, and its bare ``origin``."""
    origin, work = tmp_path / "origin.git", tmp_path / "work"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    work.mkdir()
    raw = config({"kn-healthy": knative_endpoint("kn-healthy"), "kn-quiet": knative_endpoint("kn-quiet")})
    last_stage = llm_endpoint("llm-healthy")
    last_stage["rollout"]["stage"] = 3
    raw["servestack:llmEndpoints"] = {"llm-errors": llm_endpoint("llm-errors"), "llm-healthy": last_stage}
    write_project(work, raw)
    git(work, "init", "-q", "-b", "main")
    git(work, "-c", "user.name=t", "-c", "user.email=t@example.com", "add", ".")
    git(work, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "stack in rollout")
    git(work, "remote", "add", "origin", str(origin))
    git(work, "push", "-q", "origin", "main")
    return work, origin


class FakeGitHub(BaseHTTPRequestHandler):
    calls: list = []
    open_prs: dict = {}

    def _answer(self, payload) -> None:
        data = json.dumps(payload).encode()
        self.send_response(201 if self.command == "POST" else 200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(data)

    def _record(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        type(self).calls.append((self.command, self.path, body, self.headers.get("Authorization")))
        return body

    def do_GET(self):  # noqa: N802
        self._record()
        head = self.path.split("head=", 1)[1].split(":", 1)[1]
        number = type(self).open_prs.get(head)
        self._answer([] if number is None else [{"number": number}])

    def do_POST(self):  # noqa: N802
        body = self._record()
        number = len(type(self).open_prs) + 1
        type(self).open_prs[body["head"]] = number
        self._answer({"number": number, "html_url": f"https://github.example/acme/models/pull/{number}"})

    def do_PATCH(self):  # noqa: N802
        self._record()
        number = int(self.path.rsplit("/", 1)[1])
        self._answer({"number": number, "html_url": f"https://github.example/acme/models/pull/{number}"})

    def log_message(self, *args):
        pass


@pytest.fixture
def github():
    handler = type("GitHub", (FakeGitHub,), {"calls": [], "open_prs": {}})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", handler
    server.shutdown()
    server.server_close()


def drive(work: Path, prometheus: str, api: str, monkeypatch, *extra: str):
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_test_token")
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    return CliRunner().invoke(cli, ["rollout", "drive", "--prometheus", prometheus, "--at", s.AT, "--repo",
                                    "acme/models", "--github-api", api, "--project", str(work), *extra],
                              catch_exceptions=False)


def test_list_names_the_rollouts_with_an_analysis(repo):
    result = CliRunner().invoke(cli, ["rollout", "drive", "--list", "--project", str(repo[0])])
    assert result.exit_code == 0
    assert result.output == ('targets=[{"stack":"test","endpoint":"kn-healthy"},{"stack":"test","endpoint":"kn-quiet"},'
                             '{"stack":"test","endpoint":"llm-errors"},{"stack":"test","endpoint":"llm-healthy"}]\n')


def test_the_driver_proposes_each_supported_move_as_one_commit_and_one_pull_request(prometheus, repo, github,
                                                                                     monkeypatch):
    work, origin = repo
    api, handler = github
    stack_path = f"stacks/Pulumi.{STACK}.yaml"
    before = (work / stack_path).read_text()
    result = drive(work, prometheus, api, monkeypatch)
    assert result.exit_code == 0, result.output
    assert result.output == (
        "## Rollout driver\n\n| Stack | Endpoint | Verdict | Action | Detail |\n|---|---|---|---|---|\n"
        "| test | kn-healthy | pass | advance | https://github.example/acme/models/pull/1 |\n"
        "| test | kn-quiet | inconclusive | none | too little traffic: candidate 1.1.0 served 120 requests in the "
        "last 10m, fewer than minRequests 200 |\n"
        "| test | llm-errors | fail | rollback | https://github.example/acme/models/pull/2 |\n"
        "| test | llm-healthy | pass | promote | https://github.example/acme/models/pull/3 |\n")
    # The work tree is back on main, untouched; the branches are on origin, each one commit on main.
    assert git(work, "rev-parse", "--abbrev-ref", "HEAD") == "main"
    assert (work / stack_path).read_text() == before
    main = git(origin, "rev-parse", "main")
    assert git(origin, "for-each-ref", "--format=%(refname:short)", "refs/heads/").splitlines() == [
        "main", "servestack/rollout/test/kn-healthy", "servestack/rollout/test/llm-errors",
        "servestack/rollout/test/llm-healthy"]
    for endpoint in ("kn-healthy", "llm-errors", "llm-healthy"):
        branch = f"servestack/rollout/test/{endpoint}"
        assert git(origin, "rev-list", "--parents", "-n", "1", branch).split()[1:] == [main]
        assert git(origin, "diff", "--name-only", main, branch) == stack_path
    diff = git(origin, "diff", "-U0", main, "servestack/rollout/test/kn-healthy", "--", stack_path)
    changed = [line for line in diff.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    assert changed[:2] == ["-        stage: 1", "+        stage: 2"]
    assert changed[2:5] == ["+        lastAnalysis:", '+          at: "2026-11-02T12:00:00Z"', "+          verdict: pass"]
    assert all(line.startswith("+") for line in changed[2:])
    assert git(origin, "log", "-1", "--format=%s", "servestack/rollout/test/kn-healthy") == (
        "rollout(test/kn-healthy): advance 1.1.0 to stage 2 of 3 (stable 50% / candidate 50%)")
    rollback = git(origin, "diff", "-U0", main, "servestack/rollout/test/llm-errors", "--", stack_path)
    assert "+        rolledBack: true" in rollback and "+          verdict: fail" in rollback
    assert [line for line in rollback.splitlines() if line.startswith("-") and not line.startswith("---")] == []
    assert git(origin, "log", "-1", "--format=%s", "servestack/rollout/test/llm-healthy") == (
        "rollout(test/llm-healthy): promote 3.2-8b to stable (replaces 3.1-8b)")
    promoted = git(origin, "show", f"servestack/rollout/test/llm-healthy:{stack_path}")
    assert "uri: s3://acme-models/models/llm-healthy/3.2-8b\n        version: 3.2-8b\n" in promoted
    assert "llm-healthy:\n      pool: gpu\n      model:" in promoted
    # One pull request per endpoint with a move; its body is the analysis as markdown.
    posts = [call for call in handler.calls if call[0] == "POST"]
    assert [(path, body["head"], body["base"], body["title"]) for _, path, body, _ in posts] == [
        ("/repos/acme/models/pulls", "servestack/rollout/test/kn-healthy", "main",
         "rollout(test/kn-healthy): advance 1.1.0 to stage 2 of 3 (stable 50% / candidate 50%)"),
        ("/repos/acme/models/pulls", "servestack/rollout/test/llm-errors", "main",
         "rollout(test/llm-errors): roll back 3.2-8b (stable 100% / candidate 0%)"),
        ("/repos/acme/models/pulls", "servestack/rollout/test/llm-healthy", "main",
         "rollout(test/llm-healthy): promote 3.2-8b to stable (replaces 3.1-8b)"),
    ]
    assert all(auth == "Bearer ghs_test_token" for *_, auth in handler.calls)
    body = posts[0][2]["body"]
    assert body.startswith("### Rollout analysis: `kn-healthy` (test) — ✅ pass\n\nCandidate `1.1.0` against stable "
                           "`1.0.0`, evaluated at 2026-11-02T12:00:00Z.\n\n| Check | Candidate | Stable | Threshold | "
                           "Verdict |\n|---|---|---|---|---|\n| requests | 600 | 5400 | ≥ 200 | pass |\n")
    assert body.endswith("This pull request advances the rollout one stage. It was opened by the rollout driver from the "
                         "analysis above; merging it (after review) applies it with `pulumi up`.\n")


def test_a_second_run_updates_the_open_pull_request_instead_of_opening_another(prometheus, repo, github, monkeypatch):
    work, origin = repo
    api, handler = github
    assert drive(work, prometheus, api, monkeypatch, "--stack", STACK, "--endpoint", "kn-healthy").exit_code == 0
    first = git(origin, "rev-parse", "servestack/rollout/test/kn-healthy")
    again = drive(work, prometheus, api, monkeypatch, "--stack", STACK, "--endpoint", "kn-healthy")
    assert again.exit_code == 0, again.output
    assert [(method, path) for method, path, *_ in handler.calls] == [
        ("GET", "/repos/acme/models/pulls?state=open&head=acme:servestack/rollout/test/kn-healthy"),
        ("POST", "/repos/acme/models/pulls"),
        ("GET", "/repos/acme/models/pulls?state=open&head=acme:servestack/rollout/test/kn-healthy"),
        ("PATCH", "/repos/acme/models/pulls/1"),
    ]
    # Same base, same analysis: the force-pushed branch holds the same change.
    assert git(origin, "diff", first, "servestack/rollout/test/kn-healthy") == ""
