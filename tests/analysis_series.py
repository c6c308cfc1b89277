"""Series for the rollout-analysis tests, with the names and labels the real exporters write
(components.core.metrics): the Knative queue-proxy's request histogram and vLLM's histograms and
success counter, each labelled with namespace, pod and the endpoint/version labels servestack's scrape
relabelings add. Five scenarios per kind of endpoint, each under its own endpoint name:

* ``healthy``: the candidate serves its share as well as the stable model;
* ``errors``: the candidate's error ratio is 5% (stable 0.2%);
* ``slow``: the candidate's latency is far above the stable's;
* ``quiet``: too few candidate requests for minRequests;
* ``missing``: no candidate series at all.

Counters grow linearly from ``T0 - 20m`` to ``T0`` every 30s, so every figure is exact.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from components.core import metrics as m

T0 = datetime(2026, 11, 2, 12, 0, tzinfo=timezone.utc)
AT = "2026-11-02T12:00:00Z"
START = T0 - timedelta(minutes=20)
STEP = 30
NAMESPACE = "models"
SCENARIOS = ("healthy", "errors", "slow", "quiet", "missing")
KN_STABLE, KN_CANDIDATE = "1.0.0", "1.1.0"
LLM_STABLE, LLM_CANDIDATE = "3.1-8b", "3.2-8b"

KNATIVE_BOUNDS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10)
TTFT_BOUNDS = (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
ITL_BOUNDS = (0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5)
E2E_BOUNDS = (0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0)

#: Cumulative share of requests at or under each bound (bounds not named: the last share below them).
FAST = {0.05: 0.1, 0.075: 0.3, 0.1: 0.5, 0.25: 0.9, 0.5: 0.99, 0.75: 1.0}      # p95 388.9 ms, p50 100 ms
SLOW = {0.1: 0.05, 0.25: 0.2, 0.5: 0.6, 0.75: 0.9, 1.0: 1.0}                    # p95 875 ms
ITL = {0.01: 0.1, 0.025: 0.6, 0.05: 0.96, 0.075: 1.0}                           # p95 49.31 ms
E2E = {1.0: 0.2, 2.0: 0.7, 5.0: 1.0}


def _cumulative(shares: dict[float, float], bounds: tuple[float, ...]) -> list[float]:
    out, last = [], 0.0
    for bound in bounds:
        last = shares.get(bound, last)
        out.append(last)
    return out


def _labels(**labels: str) -> str:
    return "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"


def _times() -> list[float]:
    total = int((T0 - START).total_seconds())
    return [START.timestamp() + s for s in range(0, total + 1, STEP)]


def _counter_lines(name: str, labels: dict[str, str], per_second: float) -> list[str]:
    start = START.timestamp()
    return [f"{name}{_labels(**labels)} {per_second * (t - start):.6f} {t:.0f}" for t in _times()]


def _histogram(out: dict[str, list[str]], name: str, labels: dict[str, str], rps: float,
               shares: dict[float, float], bounds: tuple[float, ...], mean: float) -> None:
    for bound, share in zip((*bounds, "+Inf"), (*_cumulative(shares, bounds), 1.0)):
        le = bound if isinstance(bound, str) else repr(float(bound))
        out.setdefault(f"{name}_bucket", []).extend(_counter_lines(f"{name}_bucket", {**labels, "le": le}, rps * share))
    out.setdefault(f"{name}_count", []).extend(_counter_lines(f"{name}_count", labels, rps))
    out.setdefault(f"{name}_sum", []).extend(_counter_lines(f"{name}_sum", labels, rps * mean))


def _base(endpoint: str, version: str) -> dict[str, str]:
    return {m.NAMESPACE_LABEL: NAMESPACE, m.POD_LABEL: f"{endpoint}-{version.replace('.', '-')}-0",
            m.ENDPOINT_LABEL: endpoint, m.VERSION_LABEL: version}


def knative_series(out: dict[str, list[str]], endpoint: str, version: str, rps: float, error_ratio: float,
                   shares: dict[float, float]) -> None:
    name = m.KNATIVE_INVOCATION.name
    for code, share in (("200", 1 - error_ratio), ("500", error_ratio)):
        labels = {**_base(endpoint, version), "http_response_status_code": code,
                  "otel_scope_name": "knative.dev/serving/pkg/queue"}
        _histogram(out, name, labels, rps * share, shares, KNATIVE_BOUNDS, 0.15)


def vllm_series(out: dict[str, list[str]], endpoint: str, version: str, rps: float, abort_ratio: float,
                ttft: dict[float, float]) -> None:
    labels = {**_base(endpoint, version), "model_name": "qwen-chat", "engine": "0"}
    _histogram(out, m.VLLM_E2E.name, labels, rps, E2E, E2E_BOUNDS, 1.8)
    _histogram(out, m.VLLM_TTFT.name, labels, rps, ttft, TTFT_BOUNDS, 0.15)
    _histogram(out, m.VLLM_INTER_TOKEN.name, labels, rps * 200, ITL, ITL_BOUNDS, 0.03)
    for reason, share in (("stop", (1 - abort_ratio) * 0.9), ("length", (1 - abort_ratio) * 0.1),
                          ("abort", abort_ratio)):
        out.setdefault(m.VLLM_REQUEST_SUCCESS.name, []).extend(
            _counter_lines(m.VLLM_REQUEST_SUCCESS.name, {**labels, "finished_reason": reason}, rps * share))


def openmetrics() -> str:
    """Every scenario's series, for both kinds of endpoint, as one OpenMetrics text."""
    out: dict[str, list[str]] = {}
    for scenario in SCENARIOS:
        kn, llm = f"kn-{scenario}", f"llm-{scenario}"
        knative_series(out, kn, KN_STABLE, 9, 0.002, FAST)
        vllm_series(out, llm, LLM_STABLE, 2, 0.002, FAST)
        if scenario == "missing":
            continue
        rps = 0.2 if scenario == "quiet" else 1
        knative_series(out, kn, KN_CANDIDATE, rps, 0.05 if scenario == "errors" else 0.002,
                       SLOW if scenario == "slow" else FAST)
        vllm_series(out, llm, LLM_CANDIDATE, rps * 0.5, 0.05 if scenario == "errors" else 0.002,
                    SLOW if scenario == "slow" else FAST)
    lines = [line for name in sorted(out) for line in _grouped(out[name])]
    return "\n".join(lines) + "\n# EOF\n"


def _grouped(lines: list[str]) -> list[str]:
    """One series' samples together, in time order (OpenMetrics wants each series contiguous)."""
    by_series: dict[str, list[str]] = {}
    for line in lines:
        by_series.setdefault(line.rsplit(" ", 2)[0], []).append(line)
    return [line for series in by_series.values() for line in series]


KNATIVE_ANALYSIS = {"window": "10m", "minRequests": 200, "checks": [
    {"errorRate": {"max": 0.01, "maxVsStable": 2}},
    {"latencyP95": {"maxMs": 400, "maxVsStable": 1.2}},
    {"latencyP50": {"maxMs": 150}},
    {"query": 'sum(rate(kn_serving_invocation_duration_seconds_count{namespace="{{namespace}}",'
              'servestack_endpoint="{{endpoint}}",servestack_model_version="{{version}}"}[{{window}}]))',
     "name": "throughput", "maxVsStable": 1.0},
]}
LLM_ANALYSIS = {"window": "10m", "minRequests": 100, "checks": [
    {"successRate": {"min": 0.99}},
    {"errorRate": {"max": 0.01}},
    {"ttftP95": {"maxMs": 500, "maxVsStable": 1.5}},
    {"interTokenP95": {"maxMs": 60}},
]}
