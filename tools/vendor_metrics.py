"""The metric names servestack's rules and rollout analysis may use, as the upstream sources define them.

Derived (read from the upstream reference folder): the DCGM exporter's default counters
(``default-counters.csv``) and the Knative queue-proxy's OpenTelemetry instruments
(``queue/request_metric.go``: name, instrument kind, unit, attributes). Transcribed (their source
files are not in the upstream folder; checked in the repositories at the versions named): the
KServe Python model server's histograms and vLLM's Prometheus metrics. One file:
``tests/conformance/data/metric-sources.json``, read by ``tests/test_metrics_sources.py``.
"""
from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

from upstream_common import TEST_DATA, Source, provenance

KNATIVE_REF = "knative-v1.21.2"
DCGM_REF = "4.5.3-4.8.2"

#: knative.dev/pkg/observability/semconv function -> the OpenTelemetry attribute key it writes
#: (OpenTelemetry semantic conventions, HTTP: ``http.response.status_code``).
SEMCONV_ATTRIBUTES = {"HTTPResponseStatusCode": "http.response.status_code"}

#: Transcribed: kserve/kserve v0.20.0 python/kserve/kserve/metrics.py (prometheus_client Histograms,
#: label names PROM_LABELS = ["model_name"]).
KSERVE_MODEL_SERVER = {
    "source": {"repository": "https://github.com/kserve/kserve", "ref": "v0.20.0",
               "paths": ["python/kserve/kserve/metrics.py"], "transcribed": True},
    "metrics": {name: {"kind": "histogram", "labels": ["model_name"]} for name in (
        "request_preprocess_seconds", "request_postprocess_seconds", "request_predict_seconds",
        "request_explain_seconds")},
}

#: Transcribed: vllm-project/vllm v0.19.1 vllm/v1/metrics/loggers.py (PrometheusStatLogger; labelnames
#: ["model_name", "engine"], request_success adds "finished_reason"; prometheus_client adds "_total" to
#: a Counter's exposed name). vLLM 0.19.1 is what KServe v0.20.0's llm-d-cuda:v0.8.0 presets run.
VLLM = {
    "source": {"repository": "https://github.com/vllm-project/vllm", "ref": "v0.19.1",
               "paths": ["vllm/v1/metrics/loggers.py", "docs/design/metrics.md"], "transcribed": True},
    "metrics": {
        **{name: {"kind": "histogram", "labels": ["model_name", "engine"]} for name in (
            "vllm:time_to_first_token_seconds", "vllm:inter_token_latency_seconds",
            "vllm:e2e_request_latency_seconds", "vllm:request_queue_time_seconds",
            "vllm:request_inference_time_seconds", "vllm:request_prefill_time_seconds",
            "vllm:request_decode_time_seconds")},
        **{name: {"kind": "gauge", "labels": ["model_name", "engine"]} for name in (
            "vllm:num_requests_running", "vllm:num_requests_waiting", "vllm:kv_cache_usage_perc")},
        "vllm:request_success": {"kind": "counter", "labels": ["model_name", "engine", "finished_reason"]},
        "vllm:prompt_tokens": {"kind": "counter", "labels": ["model_name", "engine"]},
        "vllm:generation_tokens": {"kind": "counter", "labels": ["model_name", "engine"]},
    },
    "finishedReasons": ["stop", "length", "abort", "error"],
}

_INSTRUMENT = re.compile(r'meter\.(?P<kind>\w+)\(\s*"(?P<name>[^"]+)"(?P<options>.*?)\n\t\)', re.S)
_UNIT = re.compile(r'metric\.WithUnit\("(?P<unit>[^"]*)"\)')
_ATTRIBUTE = re.compile(r"semconv\.(?P<fn>\w+)\(")


def knative_instruments(text: str) -> dict[str, Any]:
    """The OpenTelemetry instruments a Knative Go file declares, and the attributes it records."""
    attributes = sorted({SEMCONV_ATTRIBUTES[m["fn"]] for m in _ATTRIBUTE.finditer(text) if m["fn"] in SEMCONV_ATTRIBUTES})
    out = {}
    for m in _INSTRUMENT.finditer(text):
        unit = _UNIT.search(m["options"])
        out[m["name"]] = {"instrument": m["kind"], "unit": unit["unit"] if unit else ""}
    return {"instruments": out, "recordedAttributes": attributes}


def dcgm_counters(text: str) -> dict[str, str]:
    """``default-counters.csv``: DCGM field -> Prometheus type (comments and blank lines skipped)."""
    rows = csv.reader(line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#"))
    return {row[0].strip(): row[1].strip() for row in rows if len(row) >= 2}


def derive_metric_sources(upstream: Path) -> tuple[Path, dict[str, Any]]:
    request_metric = upstream / "knative-serving" / KNATIVE_REF / "queue" / "request_metric.go"
    counters = upstream / "dcgm-exporter" / DCGM_REF / "default-counters.csv"
    data = {
        # The file's own provenance names the derived Knative part; each part carries its own below.
        "provenance": provenance(Source("https://github.com/knative/serving", KNATIVE_REF, f"knative-serving/{KNATIVE_REF}"),
                                 ["pkg/queue/request_metric.go"],
                                 parts="knative and dcgm: derived (their provenance); kserveModelServer and vllm: "
                                       "transcribed at the refs their source names"),
        "knative": {
            "provenance": provenance(Source("https://github.com/knative/serving", KNATIVE_REF,
                                            f"knative-serving/{KNATIVE_REF}"), ["pkg/queue/request_metric.go"]),
            **knative_instruments(request_metric.read_text(encoding="utf-8")),
        },
        "dcgm": {
            "provenance": provenance(Source("https://github.com/NVIDIA/dcgm-exporter", DCGM_REF,
                                            f"dcgm-exporter/{DCGM_REF}"), ["etc/default-counters.csv"]),
            "counters": dcgm_counters(counters.read_text(encoding="utf-8")),
        },
        "kserveModelServer": KSERVE_MODEL_SERVER,
        "vllm": VLLM,
    }
    return TEST_DATA / "metric-sources.json", data
