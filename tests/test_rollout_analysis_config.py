"""``rollout.analysis`` in the stack model: every problem at once with its path, value and what is
allowed; the smoke Job a Standard-mode analysis renders."""

from __future__ import annotations

import copy

import pytest

from components.config import ConfigError, parse_stack_config
from components.render.smoke_job import render_smoke_job, smoke_job_of
from endpoint_fixtures import LLM_URI, config

P = "servestack:endpoints.iris.rollout.analysis"
ISVC = {"pool": "system", "model": {"format": "sklearn", "storageUri": "s3://acme-models/models/iris/1", "version": "1"},
        "rollout": {"candidate": {"version": "2", "storageUri": "s3://acme-models/models/iris/2"}, "stages": [10, 100]}}


def stack(analysis: dict, mode: str = "Knative", stages: list[int] | None = None):
    endpoint = copy.deepcopy(ISVC)
    endpoint["rollout"]["analysis"] = analysis
    if stages is not None:
        endpoint["rollout"]["stages"] = stages
    return parse_stack_config("test", config({"iris": endpoint}, mode))


def problems(analysis: dict, mode: str = "Knative", stages: list[int] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as error:
        stack(analysis, mode, stages)
    return [p.render() for p in error.value.problems]


def test_the_issues_example_is_valid():
    parsed = stack({"window": "10m", "minRequests": 200, "checks": [
        {"errorRate": {"max": 0.01}}, {"latencyP95": {"maxMs": 400, "maxVsStable": 1.2}},
        {"query": 'sum(rate(my_app_errors_total{version="{{version}}"}[{{window}}]))', "name": "app-errors",
         "max": 0.5}]})
    analysis = parsed.endpoints["iris"].rollout.analysis
    assert [(c.check_name, c.thresholds()) for c in analysis.checks] == [
        ("errorRate", {"max": 0.01}), ("latencyP95", {"maxMs": 400.0, "maxVsStable": 1.2}), ("app-errors", {"max": 0.5})]


def test_every_problem_of_a_bad_analysis_at_once():
    assert problems({"window": "45s", "checks": [
        {"latencyP96": {"maxMs": 1}},
        {"errorRate": {"max": 1.5, "maxVsStable": -1}},
        {"latencyP99": {"max": 0.3}},
        {"successRate": {}},
        {"query": "sum(rate(x[{{window}}])", "name": "broken", "max": 1},
        {"query": 'sum(x{v="{{version}}",t="{{team}}"})', "name": "team"},
    ]}) == [
        f"{P}.checks[0].latencyP96: is not a known check; built-in checks: errorRate, latencyP50, latencyP95, latencyP99, "
        "successRate, ttftP95, interTokenP95; or a custom query (query, name, max/maxVsStable)",
        f"{P}.checks[1].errorRate.max: must be a ratio from 0 to 1 (got 1.5)",
        f"{P}.checks[1].errorRate.maxVsStable: must be greater than 0 (a ratio to the stable model's value) (got -1.0)",
        f"{P}.checks[2].latencyP99: needs a threshold: maxMs and/or maxVsStable",
        f"{P}.checks[2].latencyP99.max: does not apply here; this check takes maxMs and/or maxVsStable (got 0.3)",
        f"{P}.checks[3].successRate: needs a threshold: min and/or minVsStable",
        f'{P}.checks[4].query: must use {{{{version}}}}: it is evaluated once with the candidate\'s model version and '
        'once with the stable\'s (got "sum(rate(x[{{window}}])")',
        f'{P}.checks[4].query: of check broken is not valid PromQL: unclosed left parenthesis '
        '(got "sum(rate(x[{{window}}])")',
        f"{P}.checks[5]: needs a threshold: max and/or maxVsStable",
        f'{P}.checks[5].query: uses unknown placeholders [\'team\']; known: {{{{endpoint}}}}, {{{{namespace}}}}, '
        '{{version}}, {{window}} (got "sum(x{v=\\"{{version}}\\",t=\\"{{team}}\\"})")',
        f'{P}.window: must be at least 60s, twice the scrape interval (30s): rate() needs two samples in the window '
        '(got "45s")',
    ]


@pytest.mark.parametrize("window", ["10", "5 m", "1.5h", "10M"])
def test_a_window_that_is_no_duration(window):
    assert problems({"window": window, "checks": [{"latencyP50": {"maxMs": 10}}]}) == [
        f'{P}.window: must be a Prometheus duration such as 30s, 10m or 1h30m (got "{window}")']


def test_a_standard_mode_analysis_cannot_use_an_error_rate_and_a_knative_one_cannot_smoke():
    assert problems({"checks": [{"errorRate": {"max": 0.01}}, {"latencyP95": {"maxMs": 100}}]}, "Standard", [0]) == [
        f"{P}.checks[0].errorRate: cannot be evaluated for this endpoint: the KServe model server's metrics "
        "(kserve/kserve v0.20.0: python/kserve/kserve/metrics.py) carry no status code; use a custom query on a "
        "metric that does"]
    assert problems({"checks": [{"latencyP95": {"maxMs": 100}}], "smoke": {"payload": "{}"}}) == [
        f"{P}.smoke: is for Standard-mode candidates, which get no live traffic; this endpoint's candidate takes a "
        "share of real requests"]


def test_an_inferenceservice_cannot_use_the_vllm_checks():
    assert problems({"checks": [{"ttftP95": {"maxMs": 300}}, {"interTokenP95": {"maxMs": 50}}]}) == [
        f"{P}.checks[0].ttftP95: cannot be evaluated for this endpoint: ttftP95 is vLLM's (LLM endpoints only)",
        f"{P}.checks[1].interTokenP95: cannot be evaluated for this endpoint: interTokenP95 is vLLM's (LLM endpoints "
        "only)"]


def test_repeated_checks_are_refused():
    assert problems({"checks": [{"latencyP95": {"maxMs": 100}}, {"latencyP95": {"maxMs": 200}}]}) == [
        f"{P}.checks[1]: repeats check 'latencyP95'; each check appears once (got \"latencyP95\")"]


def test_an_llm_rollouts_analysis_takes_the_vllm_checks():
    llm = {"pool": "gpu", "model": {"uri": LLM_URI, "version": "1"},
           "rollout": {"candidate": {"version": "2", "uri": "s3://acme-models/models/llm/2"}, "stages": [0, 25, 100],
                       "analysis": {"checks": [{"ttftP95": {"maxMs": 300}}, {"successRate": {"min": 0.99}}],
                                    "smoke": {"payload": "{}"}}}}
    with pytest.raises(ConfigError) as error:
        parse_stack_config("test", {**config({}), "servestack:llmEndpoints": {"chat": llm}})
    assert [p.render() for p in error.value.problems] == [
        "servestack:llmEndpoints.chat.rollout.analysis.smoke: is not a known setting; allowed here: window, "
        "minRequests, checks (got {\"payload\": \"{}\"})"]


def test_the_smoke_job_is_bounded_pinned_and_unprivileged():
    parsed = stack({"checks": [{"latencyP95": {"maxMs": 100}}],
                    "smoke": {"payload": '{"instances": [[1, 2]]}', "count": 100, "rate": 4}}, "Standard", [0])
    job = smoke_job_of("iris", parsed.endpoints["iris"], "Standard")
    assert job["metadata"] == {"name": "iris-smoke-v2", "namespace": "models", "labels": {
        "app.kubernetes.io/managed-by": "servestack", "servestack.io/endpoint": "iris",
        "app.kubernetes.io/component": "rollout-smoke"}}
    spec = job["spec"]
    assert (spec["backoffLimit"], spec["activeDeadlineSeconds"], spec["ttlSecondsAfterFinished"]) == (0, 325, 86400)
    pod = spec["template"]["spec"]
    assert (pod["restartPolicy"], pod["automountServiceAccountToken"]) == ("Never", False)
    assert pod["securityContext"] == {"runAsNonRoot": True, "runAsUser": 100, "runAsGroup": 101,
                                      "seccompProfile": {"type": "RuntimeDefault"}}
    (container,) = pod["containers"]
    assert container["image"] == "curlimages/curl:8.17.0"
    assert container["env"] == [
        {"name": "SMOKE_URL", "value": "http://iris-v2-predictor.models.svc.cluster.local/v1/models/iris:predict"},
        {"name": "SMOKE_PAYLOAD", "value": '{"instances": [[1, 2]]}'},
        {"name": "SMOKE_COUNT", "value": "100"}, {"name": "SMOKE_INTERVAL", "value": "0.250"}]
    assert container["securityContext"] == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                            "capabilities": {"drop": ["ALL"]}}
    assert smoke_job_of("iris", parsed.endpoints["iris"], "Knative") is None


def test_the_smoke_path_follows_the_protocol_unless_given():
    class Smoke:
        payload, count, rate, path = "{}", 10, 1.0, None
    assert render_smoke_job("fraud", "models", "2.4.0", Smoke, "v2")["spec"]["template"]["spec"]["containers"][0][
        "env"][0]["value"] == "http://fraud-v2-4-0-predictor.models.svc.cluster.local/v2/models/fraud/infer"
    Smoke.path = "/v1/models/{model}:explain"
    assert render_smoke_job("fraud", "models", "2.4.0", Smoke, "v2")["spec"]["template"]["spec"]["containers"][0][
        "env"][0]["value"] == "http://fraud-v2-4-0-predictor.models.svc.cluster.local/v1/models/fraud:explain"
