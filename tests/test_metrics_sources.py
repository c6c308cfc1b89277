"""Every metric name and label in components/core/metrics.py exists in its pinned upstream source.

The sources are tests/conformance/data/metric-sources.json (tools/vendor_upstream.py derives the Knative
and DCGM parts from the upstream files, and records the KServe and vLLM parts transcribed at their tags).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from components.core import metrics as m

SOURCES = json.loads((Path(__file__).parent / "conformance" / "data" / "metric-sources.json").read_text())
KIND_OF_OTEL_INSTRUMENT = {"Float64Histogram": "histogram", "Int64Histogram": "histogram",
                           "Int64Gauge": "gauge", "Float64Gauge": "gauge", "Int64Counter": "counter"}


def _otel_label(attribute: str) -> str:
    return attribute.replace(".", "_")


def where(metric: m.Metric) -> str:
    """Which upstream file (and version) defines ``metric``: the answer the test checks."""
    if metric.source is m.KNATIVE_QUEUE:
        instrument = SOURCES["knative"]["instruments"][metric.upstream_name]
        assert KIND_OF_OTEL_INSTRUMENT[instrument["instrument"]] == metric.kind
        assert instrument["unit"] == (metric.unit or instrument["unit"])
        assert set(metric.labels) <= {_otel_label(a) for a in SOURCES["knative"]["recordedAttributes"]}
        return "knative/serving knative-v1.21.2 pkg/queue/request_metric.go"
    if metric.source is m.DCGM:
        assert SOURCES["dcgm"]["counters"][metric.upstream_name] == metric.kind
        return "NVIDIA/dcgm-exporter 4.5.3-4.8.2 etc/default-counters.csv"
    if metric.source is m.KSERVE_MODEL_SERVER:
        entry = SOURCES["kserveModelServer"]["metrics"][metric.upstream_name]
        assert (entry["kind"], tuple(entry["labels"])) == (metric.kind, metric.labels)
        return "kserve/kserve v0.20.0 python/kserve/kserve/metrics.py"
    if metric.source is m.VLLM:
        entry = SOURCES["vllm"]["metrics"][metric.upstream_name]
        assert (entry["kind"], tuple(entry["labels"])) == (metric.kind, metric.labels)
        exposed = metric.upstream_name + ("_total" if metric.kind == "counter" else "")
        assert exposed == metric.name
        return "vllm-project/vllm v0.19.1 vllm/v1/metrics/loggers.py"
    raise AssertionError(f"{metric.name}: no known source")


EXPECTED_SOURCES = {
    "kn_serving_invocation_duration_seconds": "knative/serving knative-v1.21.2 pkg/queue/request_metric.go",
    "kn_serving_queue_depth": "knative/serving knative-v1.21.2 pkg/queue/request_metric.go",
    "request_predict_seconds": "kserve/kserve v0.20.0 python/kserve/kserve/metrics.py",
    "request_preprocess_seconds": "kserve/kserve v0.20.0 python/kserve/kserve/metrics.py",
    "request_postprocess_seconds": "kserve/kserve v0.20.0 python/kserve/kserve/metrics.py",
    **{name: "vllm-project/vllm v0.19.1 vllm/v1/metrics/loggers.py" for name in (
        "vllm:time_to_first_token_seconds", "vllm:inter_token_latency_seconds", "vllm:e2e_request_latency_seconds",
        "vllm:request_queue_time_seconds", "vllm:request_success_total", "vllm:num_requests_running",
        "vllm:num_requests_waiting", "vllm:kv_cache_usage_perc")},
    **{name: "NVIDIA/dcgm-exporter 4.5.3-4.8.2 etc/default-counters.csv" for name in (
        "DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_FREE", "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE",
        "DCGM_FI_DEV_XID_ERRORS")},
}


@pytest.mark.parametrize("name", sorted(m.METRICS))
def test_every_metric_comes_from_its_pinned_source(name):
    assert where(m.METRICS[name]) == EXPECTED_SOURCES[name]


def test_the_table_names_exactly_the_metrics_of_the_module():
    assert set(EXPECTED_SOURCES) == set(m.METRICS)


@pytest.mark.parametrize(("instrument", "unit", "kind", "expected"), [
    ("kn.serving.invocation.duration", "s", "histogram", "kn_serving_invocation_duration_seconds"),
    ("kn.serving.queue.depth", "{request}", "gauge", "kn_serving_queue_depth"),
    ("kn.activator.connection_errors", "{error}", "counter", "kn_activator_connection_errors_total"),
    ("kn.autoscaler.scrape.duration", "s", "histogram", "kn_autoscaler_scrape_duration_seconds"),
    ("http.server.request.body.size", "By", "histogram", "http_server_request_body_size_bytes"),
])
def test_opentelemetry_names_reach_prometheus_with_the_exporters_translation(instrument, unit, kind, expected):
    assert m._otel_prometheus_name(instrument, unit, kind) == expected


def test_every_knative_instrument_upstream_declares_has_its_prometheus_name_here():
    for instrument, spec in SOURCES["knative"]["instruments"].items():
        kind = KIND_OF_OTEL_INSTRUMENT[spec["instrument"]]
        assert m._otel_prometheus_name(instrument, spec["unit"], kind) in m.METRICS


def test_vllm_normal_finish_reasons_are_vllms_own():
    assert set(m.VLLM_NORMAL_FINISH) < set(SOURCES["vllm"]["finishedReasons"])


def test_the_version_and_endpoint_labels_come_from_the_pod_labels_servestack_renders():
    from components.render.inference_service import LABEL_ENDPOINT, LABEL_MODEL_VERSION

    assert m.POD_LABEL_TO_SERIES == {LABEL_ENDPOINT: m.ENDPOINT_LABEL, LABEL_MODEL_VERSION: m.VERSION_LABEL}
    assert m.version_relabelings() == [
        {"action": "replace", "sourceLabels": ["__meta_kubernetes_pod_label_servestack_io_endpoint"],
         "targetLabel": "servestack_endpoint"},
        {"action": "replace", "sourceLabels": ["__meta_kubernetes_pod_label_servestack_io_model_version"],
         "targetLabel": "servestack_model_version"},
    ]


def test_built_in_check_queries_use_only_known_metric_series():
    import re

    known = {m.METRICS[n].series(s) for n in m.METRICS for s in
             (("_bucket", "_count", "_sum") if m.METRICS[n].kind == "histogram" else ("",))}
    for family, checks in m.BUILTIN_CHECKS.items():
        for check in checks:
            query = m.check_query(family, check, "ns", "ep", "1.0", "10m")
            names = set(re.findall(r"([A-Za-z_:][A-Za-z0-9_:]*)\{", query))
            assert names and names <= known, (family, check, names)


def test_check_query_of_a_knative_error_rate_is_exact():
    assert m.check_query(m.KNATIVE, "errorRate", "serving", "fraud", "1.4.0", "10m") == (
        'sum(rate(kn_serving_invocation_duration_seconds_count{namespace="serving",servestack_endpoint="fraud",'
        'servestack_model_version="1.4.0",http_response_status_code=~"5.."}[10m])) / '
        'sum(rate(kn_serving_invocation_duration_seconds_count{namespace="serving",servestack_endpoint="fraud",'
        'servestack_model_version="1.4.0"}[10m]))')


def test_a_check_a_family_cannot_measure_says_why():
    with pytest.raises(ValueError, match="carry no status code"):
        m.check_query(m.STANDARD, "errorRate", "ns", "ep", "1", "5m")
