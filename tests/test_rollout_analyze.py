"""``servestack rollout analyze`` and ``advance --require-analysis`` against a real Prometheus server
holding every scenario of :mod:`analysis_series` (one server for the module; each test its own project
copy when it writes). AMP signing: a local HTTP server that checks the SigV4 signature with botocore's
own signer before it forwards the query to that Prometheus."""

from __future__ import annotations

import json
import threading
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

import analysis_series as s
import prometheus_server
from analysis_stack import STACK, write_project
from servestack.cli import cli


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory):
    server = prometheus_server.start(tmp_path_factory.mktemp("prometheus"), s.openmetrics())
    yield server.url
    server.stop()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_project(tmp_path)


def run(project: Path, *args: str):
    return CliRunner().invoke(cli, [*args, "--project", str(project)], catch_exceptions=False)


def analyze(project: Path, prometheus: str, endpoint: str, fmt: str = "json"):
    return run(project, "rollout", "analyze", endpoint, "--stack", STACK, "--prometheus", prometheus, "--at", s.AT,
               "--format", fmt)


KN_THRESHOLDS = {"errorRate": {"max": 0.01, "maxVsStable": 2.0}, "latencyP95": {"maxMs": 400.0, "maxVsStable": 1.2},
                 "latencyP50": {"maxMs": 150.0}, "throughput": {"maxVsStable": 1.0}}
LLM_THRESHOLDS = {"successRate": {"min": 0.99}, "errorRate": {"max": 0.01},
                  "ttftP95": {"maxMs": 500.0, "maxVsStable": 1.5}, "interTokenP95": {"maxMs": 60.0}}


def checks(thresholds: dict, requests: tuple, gate: float, rows: dict) -> list[dict]:
    out = [{"name": "requests", "candidate": requests[0], "stable": requests[1], "threshold": {"min": gate},
            "verdict": requests[2]}]
    return out + [{"name": name, "candidate": rows[name][0], "stable": rows[name][1], "threshold": thresholds[name],
                   "verdict": rows[name][2]} for name in thresholds]


KN_OK = {"errorRate": (0.002, 0.002, "pass"), "latencyP95": (388.889, 388.889, "pass"),
         "latencyP50": (100.0, 100.0, "pass"), "throughput": (1.0, 9.0, "pass")}
LLM_OK = {"successRate": (0.998, 0.998, "pass"), "errorRate": (0.002, 0.002, "pass"),
          "ttftP95": (388.889, 388.889, "pass"), "interTokenP95": (49.3056, 49.3056, "pass")}
NO_DATA = "candidate: no data (missing series)"

EXPECTED = {
    "kn-healthy": ("pass", 0, checks(KN_THRESHOLDS, (600.0, 5400.0, "pass"), 200.0, KN_OK), []),
    "kn-errors": ("fail", 1, checks(KN_THRESHOLDS, (600.0, 5400.0, "pass"), 200.0,
                                    {**KN_OK, "errorRate": (0.05, 0.002, "fail")}), []),
    "kn-slow": ("fail", 1, checks(KN_THRESHOLDS, (600.0, 5400.0, "pass"), 200.0,
                                  {**KN_OK, "latencyP95": (875.0, 388.889, "fail"), "latencyP50": (437.5, 100.0, "fail")}), []),
    "kn-quiet": ("inconclusive", 3, checks(KN_THRESHOLDS, (120.0, 5400.0, "inconclusive"), 200.0,
                                           {**KN_OK, "throughput": (0.2, 9.0, "pass")}),
                 ["too little traffic: candidate 1.1.0 served 120 requests in the last 10m, fewer than minRequests 200"]),
    "kn-missing": ("inconclusive", 3, checks(KN_THRESHOLDS, (None, 5400.0, "inconclusive"), 200.0,
                                             {k: (None, v[1], "inconclusive") for k, v in KN_OK.items()}),
                   ["no request series for candidate 1.1.0 in the last 10m: no data (missing series)",
                    *(f"{k}: {NO_DATA}" for k in KN_OK)]),
    "llm-healthy": ("pass", 0, checks(LLM_THRESHOLDS, (300.0, 1200.0, "pass"), 100.0, LLM_OK), []),
    "llm-errors": ("fail", 1, checks(LLM_THRESHOLDS, (300.0, 1200.0, "pass"), 100.0,
                                     {**LLM_OK, "successRate": (0.95, 0.998, "fail"),
                                      "errorRate": (0.05, 0.002, "fail")}), []),
    "llm-slow": ("fail", 1, checks(LLM_THRESHOLDS, (300.0, 1200.0, "pass"), 100.0,
                                   {**LLM_OK, "ttftP95": (875.0, 388.889, "fail")}), []),
    "llm-quiet": ("inconclusive", 3, checks(LLM_THRESHOLDS, (60.0, 1200.0, "inconclusive"), 100.0, LLM_OK),
                  ["too little traffic: candidate 3.2-8b served 60 requests in the last 10m, fewer than minRequests 100"]),
    "llm-missing": ("inconclusive", 3, checks(LLM_THRESHOLDS, (None, 1200.0, "inconclusive"), 100.0,
                                              {k: (None, v[1], "inconclusive") for k, v in LLM_OK.items()}),
                    ["no request series for candidate 3.2-8b in the last 10m: no data (missing series)",
                     *(f"{k}: {NO_DATA}" for k in LLM_OK)]),
}


@pytest.mark.parametrize("endpoint", sorted(EXPECTED))
def test_analyze_gives_the_verdict_and_figures_of_each_scenario(prometheus, project, endpoint):
    verdict, code, expected_checks, reasons = EXPECTED[endpoint]
    result = analyze(project, prometheus, endpoint)
    assert result.exit_code == code, result.output
    assert json.loads(result.output) == {"endpoint": endpoint, "stack": STACK, "at": s.AT, "verdict": verdict,
                                         "checks": expected_checks, "reasons": reasons}


def test_markdown_report_is_a_table_with_the_reasons(prometheus, project):
    result = analyze(project, prometheus, "kn-slow", "markdown")
    assert result.exit_code == 1
    assert result.output == (
        "### Rollout analysis: `kn-slow` (test) — ❌ fail\n\n"
        "Candidate `1.1.0` against stable `1.0.0`, evaluated at 2026-11-02T12:00:00Z.\n\n"
        "| Check | Candidate | Stable | Threshold | Verdict |\n|---|---|---|---|---|\n"
        "| requests | 600 | 5400 | ≥ 200 | pass |\n"
        "| errorRate | 0.002 | 0.002 | ≤ 0.01, ≤ 2 × stable | pass |\n"
        "| latencyP95 | 875 ms | 388.9 ms | ≤ 400 ms, ≤ 1.2 × stable | fail |\n"
        "| latencyP50 | 437.5 ms | 100 ms | ≤ 150 ms | fail |\n"
        "| throughput | 1 | 9 | ≤ 1 × stable | pass |\n\n"
        "- latencyP95 fails: 875 ms > maxMs 400; 875 > 1.2 x stable 388.9\n"
        "- latencyP50 fails: 437.5 ms > maxMs 150\n")


def test_an_earlier_instant_has_no_candidate_data_yet(prometheus, project):
    result = run(project, "rollout", "analyze", "kn-healthy", "--stack", STACK, "--prometheus", prometheus,
                 "--at", "2026-11-02T10:00:00+00:00", "--format", "json")
    assert result.exit_code == 3
    assert json.loads(result.output)["verdict"] == "inconclusive"


@pytest.mark.parametrize(("args", "message"), [
    (["kn-nope", "--prometheus", "http://127.0.0.1:9"],
     "error: stack test has no endpoint 'kn-nope' (endpoints: kn-errors, kn-healthy, kn-missing, kn-quiet, kn-slow, "
     "llm-errors, llm-healthy, llm-missing, llm-quiet, llm-slow)\n"),
    (["kn-healthy", "--prometheus", "http://127.0.0.1:9", "--at", "yesterday"],
     "error: --at must be an RFC 3339 time such as 2026-12-07T10:00:00Z; got 'yesterday'\n"),
    (["kn-healthy", "--prometheus", "http://127.0.0.1:9", "--at", "2026-11-02T12:00:00"],
     "error: --at needs a time zone (Z or +hh:mm); got '2026-11-02T12:00:00'\n"),
    (["kn-healthy"], "error: give exactly one of --prometheus URL and --amp WORKSPACE_ID\n"),
    (["kn-healthy", "--prometheus", "ftp://x"],
     "error: --prometheus must be an http(s) URL such as http://prometheus:9090; got 'ftp://x'\n"),
])
def test_bad_input_exits_2_with_one_line(project, args, message):
    result = run(project, "rollout", "analyze", *args, "--stack", STACK)
    assert (result.exit_code, result.output) == (2, message)


def test_an_unreachable_prometheus_exits_2_with_one_line(project):
    result = run(project, "rollout", "analyze", "kn-healthy", "--stack", STACK, "--prometheus", "http://127.0.0.1:9")
    assert result.exit_code == 2
    assert result.output.startswith("error: cannot reach http://127.0.0.1:9: ") and result.output.count("\n") == 1


def test_advance_with_a_passing_analysis_moves_one_stage_and_records_it(prometheus, project):
    path = project / "stacks" / f"Pulumi.{STACK}.yaml"
    before = path.read_text()
    result = run(project, "rollout", "advance", "llm-healthy", "--stack", STACK, "--require-analysis",
                 "--prometheus", prometheus, "--at", s.AT)
    assert result.exit_code == 0, result.output
    assert "llm-healthy: advance 3.2-8b to stage 2 of 3 (stable 50% / candidate 50%)" in result.output
    at = before.index("    llm-healthy:")
    stage = before.index("        stage: 1\n", at)
    end = before.index("    llm-errors:")
    record = "".join(f"{line}\n" for line in [
        "        lastAnalysis:",
        '          at: "2026-11-02T12:00:00Z"',
        "          verdict: pass",
        "          stable: 3.1-8b",
        "          candidate: 3.2-8b",
        "          checks:",
        *(line for name, cand, stable in (("requests", "300.0", "1200.0"), ("successRate", "0.998", "0.998"),
                                          ("errorRate", "0.002", "0.002"), ("ttftP95", "388.889", "388.889"),
                                          ("interTokenP95", "49.3056", "49.3056"))
          for line in (f"            - name: {name}", f"              candidate: {cand}",
                       f"              stable: {stable}", "              verdict: pass"))])
    expected = before[:stage] + "        stage: 2\n" + before[stage + len("        stage: 1\n"):end] + record + before[end:]
    assert path.read_text() == expected


@pytest.mark.parametrize(("endpoint", "code", "verdict"), [("kn-errors", 1, "fail"), ("kn-quiet", 3, "inconclusive"),
                                                           ("llm-missing", 3, "inconclusive")])
def test_advance_without_a_pass_refuses_and_leaves_the_file_as_it_was(prometheus, project, endpoint, code, verdict):
    path = project / "stacks" / f"Pulumi.{STACK}.yaml"
    before = path.read_bytes()
    result = run(project, "rollout", "advance", endpoint, "--stack", STACK, "--require-analysis",
                 "--prometheus", prometheus, "--at", s.AT)
    assert result.exit_code == code
    assert result.output.endswith(f"refused: {endpoint}'s analysis is {verdict}; the rollout stays at its stage\n")
    assert path.read_bytes() == before


# --------------------------------------------------------------------------- AMP (SigV4)

KEY, SECRET, REGION = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "eu-west-1"


class SigV4Checker(BaseHTTPRequestHandler):
    """Checks each request's SigV4 signature with botocore's signer, then forwards it to Prometheus."""

    upstream = ""
    seen: list = []

    def do_POST(self):  # noqa: N802
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        body = self.rfile.read(int(self.headers["Content-Length"]))
        authorization = self.headers.get("Authorization", "")
        signed = dict(part.split("=", 1) for part in authorization.split(" ", 1)[-1].split(", ") if "=" in part)
        names = signed.get("SignedHeaders", "").split(";")
        headers = {name: self.headers[name] for name in names if name != "host"}
        request = AWSRequest(method="POST", url=f"http://{self.headers['Host']}{self.path}", data=body, headers=headers)
        request.context["timestamp"] = self.headers.get("X-Amz-Date", "")
        signer = SigV4Auth(Credentials(KEY, SECRET), "aps", REGION)
        expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
        scope = f"{KEY}/{self.headers.get('X-Amz-Date', '')[:8]}/{REGION}/aps/aws4_request"
        ok = (authorization.startswith("AWS4-HMAC-SHA256 ") and signed.get("Signature") == expected
              and signed.get("Credential") == scope)
        type(self).seen.append((self.path, ok))
        if not ok:
            self.send_response(403)
            self.end_headers()
            self.wfile.write(b'{"message": "The request signature we calculated does not match"}')
            return
        with urllib.request.urlopen(urllib.request.Request(f"{self.upstream}/api/v1/query", data=body)) as answer:
            payload = answer.read()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def amp(prometheus, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    handler = type("Checker", (SigV4Checker,), {"upstream": prometheus, "seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/workspaces/ws-0123", handler
    server.shutdown()
    server.server_close()


def test_amp_requests_are_signed_with_sigv4_for_aps(project, amp):
    url, handler = amp
    result = run(project, "rollout", "analyze", "llm-slow", "--stack", STACK, "--amp", "ws-0123", "--amp-region",
                 REGION, "--amp-url", url, "--at", s.AT, "--format", "json")
    assert result.exit_code == 1, result.output
    assert json.loads(result.output)["checks"] == EXPECTED["llm-slow"][2]
    assert handler.seen and all(path == "/workspaces/ws-0123/api/v1/query" and ok for path, ok in handler.seen)


def test_amp_with_other_credentials_is_refused_by_the_signature_check(project, amp, monkeypatch):
    url, handler = amp
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    result = run(project, "rollout", "analyze", "llm-slow", "--stack", STACK, "--amp", "ws-0123", "--amp-region",
                 REGION, "--amp-url", url, "--at", s.AT)
    assert result.exit_code == 2
    assert result.output == (f"error: {url} answered HTTP 403: The request signature we calculated does not match\n")
    assert handler.seen == [("/workspaces/ws-0123/api/v1/query", False)]


def test_amp_query_url_is_the_workspace_endpoint_of_its_region():
    from servestack.analysis.prometheus import amp_query_url

    assert amp_query_url("ws-0123", "eu-west-1") == "https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-0123"
