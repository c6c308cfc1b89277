"""Every metric name and label that servestack's monitoring rules and rollout analysis use, each with
the upstream file (and version) it comes from, and the PromQL of the built-in analysis checks. Pure.

Helper modules build on this one: the PrometheusRules (recording and alerting rules per endpoint and
pool) and the scrape objects use :data:`METRICS`, :data:`SCRAPE_LABELS` and :func:`version_relabelings`;
``servestack rollout analyze`` uses :func:`check_query`. Nothing else spells a metric name.

How the names reach Prometheus, per family:

* **Knative queue-proxy** (InferenceService in Knative mode). Knative 1.21 instruments requests with
  OpenTelemetry (``queue/request_metric.go``: histogram ``kn.serving.invocation.duration``, unit
  ``s``, attribute ``http.response.status_code``) and exposes them for Prometheus on the queue-proxy's
  ``http-usermetric`` port when ``config-observability`` sets ``request-metrics-protocol: prometheus``.
  The OpenTelemetry Go Prometheus exporter's default translation (``UnderscoreEscapingWithSuffixes``)
  turns ``.`` into ``_``, appends the unit (``s`` -> ``_seconds``) and, for a histogram, writes
  ``_bucket``/``_sum``/``_count`` series with ``le``; attributes become labels the same way
  (``http.response.status_code`` -> ``http_response_status_code``). So: one histogram,
  ``kn_serving_invocation_duration_seconds``, whose ``_count`` is the request count.
* **KServe model server** (InferenceService in Standard mode, KServe's Python model servers): the
  ``prometheus_client`` histograms of ``python/kserve/kserve/metrics.py`` (label ``model_name``), on
  the port the ServingRuntime annotates (``prometheus.kserve.io/port``, 8080 in v0.20.0's runtimes).
  They carry no status code: an error rate is not observable there (config refuses ``errorRate`` in
  Standard mode and says so).
* **vLLM** (LLMInferenceService): KServe v0.20.0's LLMInferenceServiceConfig presets run
  ``ghcr.io/llm-d/llm-d-cuda:v0.8.0``, whose scheduler preset pairs it with the tokenizer image
  ``llm-d-uds-tokenizer:vllm-v0.19.1``: vLLM 0.19.1. Its ``PrometheusStatLogger``
  (``vllm/v1/metrics/loggers.py``) labels every series ``model_name`` and ``engine``; a
  ``prometheus_client`` Counter is exposed with ``_total``.
* **DCGM exporter** (GPU pools): ``default-counters.csv`` of dcgm-exporter 4.5.3-4.8.2, labels
  ``gpu``, ``UUID``, ``modelName``, ``Hostname`` (and ``namespace``/``pod``/``container`` of the pod
  holding the GPU when its Kubernetes mapping is on).

Which model version a series belongs to is not in any of those exporters: it comes from the pod.
servestack labels every model pod ``servestack.io/endpoint`` and ``servestack.io/model-version``; the
scrape objects copy them onto every series as :data:`ENDPOINT_LABEL` and :data:`VERSION_LABEL`
(:func:`version_relabelings`), beside the Prometheus Operator's own ``namespace`` and ``pod``.
"""

from __future__ import annotations

from dataclasses import dataclass

# --------------------------------------------------------------------------- sources


@dataclass(frozen=True)
class Source:
    """Where a metric is defined upstream: project, the version servestack runs, file."""

    project: str
    version: str
    path: str
    why_this_version: str

    def __str__(self) -> str:
        return f"{self.project} {self.version}: {self.path}"


KNATIVE_QUEUE = Source(
    "knative/serving", "knative-v1.21.2", "pkg/queue/request_metric.go",
    "the Knative Serving servestack installs (components/core/versions.py KNATIVE_SERVING)")
OTEL_PROMETHEUS = Source(
    "open-telemetry/opentelemetry-go", "exporters/prometheus (UnderscoreEscapingWithSuffixes)",
    "exporters/prometheus/config.go",
    "the exporter Knative 1.21's observability package uses for the prometheus protocol")
KSERVE_MODEL_SERVER = Source(
    "kserve/kserve", "v0.20.0", "python/kserve/kserve/metrics.py",
    "the KServe servestack installs; its Python model servers export these")
VLLM = Source(
    "vllm-project/vllm", "v0.19.1", "vllm/v1/metrics/loggers.py",
    "KServe v0.20.0's LLMInferenceServiceConfig presets run llm-d-cuda:v0.8.0 (vLLM 0.19.1, as the "
    "preset's llm-d-uds-tokenizer:vllm-v0.19.1 image says)")
DCGM = Source(
    "NVIDIA/dcgm-exporter", "4.5.3-4.8.2", "etc/default-counters.csv",
    "the dcgm-exporter chart servestack pins for GPU pools")
PROMETHEUS_OPERATOR = Source(
    "prometheus-operator/prometheus-operator", "kube-prometheus-stack 88.5.3",
    "PodMonitor/ServiceMonitor target labels",
    "the operator adds namespace and pod to every scraped series")
SERVESTACK = Source(
    "servestack", "this repository", "components/render/inference_service.py (pod labels)",
    "servestack's own pod labels, copied onto series by the scrape objects' relabelings")


# --------------------------------------------------------------------------- scraping

#: The interval at which servestack's scrape objects scrape model servers and exporters; analysis
#: windows must hold at least two samples of it (rate() needs two).
SCRAPE_INTERVAL = "30s"
SCRAPE_INTERVAL_SECONDS = 30

# --------------------------------------------------------------------------- labels

NAMESPACE_LABEL = "namespace"
POD_LABEL = "pod"
ENDPOINT_LABEL = "servestack_endpoint"
VERSION_LABEL = "servestack_model_version"
#: Pod label -> series label, copied by every model scrape object (:func:`version_relabelings`).
POD_LABEL_TO_SERIES = {"servestack.io/endpoint": ENDPOINT_LABEL, "servestack.io/model-version": VERSION_LABEL}
#: Labels every model series carries whatever its exporter, and where each comes from.
SCRAPE_LABELS: dict[str, Source] = {NAMESPACE_LABEL: PROMETHEUS_OPERATOR, POD_LABEL: PROMETHEUS_OPERATOR,
                                    ENDPOINT_LABEL: SERVESTACK, VERSION_LABEL: SERVESTACK}


def version_relabelings() -> list[dict]:
    """The Prometheus Operator ``relabelings`` that put the endpoint and model version on every series
    of a model pod (``__meta_kubernetes_pod_label_<name>``: non-alphanumerics become ``_``)."""
    out = []
    for pod_label, series_label in POD_LABEL_TO_SERIES.items():
        meta = "__meta_kubernetes_pod_label_" + "".join(c if c.isalnum() else "_" for c in pod_label)
        out.append({"action": "replace", "sourceLabels": [meta], "targetLabel": series_label})
    return out


# --------------------------------------------------------------------------- metrics


@dataclass(frozen=True)
class Metric:
    """One metric as Prometheus stores it."""

    name: str
    """The Prometheus name (a histogram's base name, without ``_bucket``/``_sum``/``_count``)."""
    kind: str
    """``histogram``, ``counter`` or ``gauge``."""
    labels: tuple[str, ...]
    """Labels the exporter itself writes (scrape labels come on top: :data:`SCRAPE_LABELS`)."""
    source: Source
    upstream_name: str
    """The name in the upstream source (an OpenTelemetry instrument, a prometheus_client name)."""
    unit: str = ""

    def series(self, suffix: str = "") -> str:
        """``name`` + ``_bucket``/``_count``/``_sum`` for a histogram."""
        if suffix and self.kind != "histogram":
            raise ValueError(f"{self.name} is a {self.kind}; only histograms have {suffix} series")
        return self.name + suffix


def _otel_prometheus_name(instrument: str, unit: str, kind: str) -> str:
    """The OpenTelemetry Go Prometheus exporter's default name: dots to underscores, the unit's
    Prometheus word appended, ``_total`` for a counter."""
    units = {"s": "seconds", "ms": "milliseconds", "By": "bytes", "1": "ratio"}
    name = instrument.replace(".", "_")
    word = units.get(unit, "")
    if word and not name.endswith("_" + word):
        name += "_" + word
    return name + ("_total" if kind == "counter" else "")


KNATIVE_INVOCATION = Metric(
    _otel_prometheus_name("kn.serving.invocation.duration", "s", "histogram"), "histogram",
    ("http_response_status_code",), KNATIVE_QUEUE, "kn.serving.invocation.duration", "s")
KNATIVE_QUEUE_DEPTH = Metric(
    _otel_prometheus_name("kn.serving.queue.depth", "{request}", "gauge"), "gauge", (), KNATIVE_QUEUE,
    "kn.serving.queue.depth")
KSERVE_PREDICT = Metric("request_predict_seconds", "histogram", ("model_name",), KSERVE_MODEL_SERVER,
                        "request_predict_seconds", "s")
KSERVE_PREPROCESS = Metric("request_preprocess_seconds", "histogram", ("model_name",), KSERVE_MODEL_SERVER,
                           "request_preprocess_seconds", "s")
KSERVE_POSTPROCESS = Metric("request_postprocess_seconds", "histogram", ("model_name",), KSERVE_MODEL_SERVER,
                            "request_postprocess_seconds", "s")
_VLLM_LABELS = ("model_name", "engine")
VLLM_TTFT = Metric("vllm:time_to_first_token_seconds", "histogram", _VLLM_LABELS, VLLM,
                   "vllm:time_to_first_token_seconds", "s")
VLLM_INTER_TOKEN = Metric("vllm:inter_token_latency_seconds", "histogram", _VLLM_LABELS, VLLM,
                          "vllm:inter_token_latency_seconds", "s")
VLLM_E2E = Metric("vllm:e2e_request_latency_seconds", "histogram", _VLLM_LABELS, VLLM,
                  "vllm:e2e_request_latency_seconds", "s")
VLLM_QUEUE_TIME = Metric("vllm:request_queue_time_seconds", "histogram", _VLLM_LABELS, VLLM,
                         "vllm:request_queue_time_seconds", "s")
VLLM_REQUEST_SUCCESS = Metric("vllm:request_success_total", "counter", _VLLM_LABELS + ("finished_reason",), VLLM,
                              "vllm:request_success")
VLLM_RUNNING = Metric("vllm:num_requests_running", "gauge", _VLLM_LABELS, VLLM, "vllm:num_requests_running")
VLLM_WAITING = Metric("vllm:num_requests_waiting", "gauge", _VLLM_LABELS, VLLM, "vllm:num_requests_waiting")
VLLM_KV_CACHE = Metric("vllm:kv_cache_usage_perc", "gauge", _VLLM_LABELS, VLLM, "vllm:kv_cache_usage_perc")
#: vLLM's FinishReason values (lower-cased by ``str()``) that end a request normally.
VLLM_NORMAL_FINISH = ("stop", "length")
_DCGM_LABELS = ("gpu", "UUID", "modelName", "Hostname")
DCGM_GPU_UTIL = Metric("DCGM_FI_DEV_GPU_UTIL", "gauge", _DCGM_LABELS, DCGM, "DCGM_FI_DEV_GPU_UTIL", "%")
DCGM_FB_USED = Metric("DCGM_FI_DEV_FB_USED", "gauge", _DCGM_LABELS, DCGM, "DCGM_FI_DEV_FB_USED", "MiB")
DCGM_FB_FREE = Metric("DCGM_FI_DEV_FB_FREE", "gauge", _DCGM_LABELS, DCGM, "DCGM_FI_DEV_FB_FREE", "MiB")
DCGM_TENSOR_ACTIVE = Metric("DCGM_FI_PROF_PIPE_TENSOR_ACTIVE", "gauge", _DCGM_LABELS, DCGM,
                            "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE")
DCGM_XID = Metric("DCGM_FI_DEV_XID_ERRORS", "gauge", _DCGM_LABELS, DCGM, "DCGM_FI_DEV_XID_ERRORS")

METRICS: dict[str, Metric] = {m.name: m for m in (
    KNATIVE_INVOCATION, KNATIVE_QUEUE_DEPTH, KSERVE_PREDICT, KSERVE_PREPROCESS, KSERVE_POSTPROCESS,
    VLLM_TTFT, VLLM_INTER_TOKEN, VLLM_E2E, VLLM_QUEUE_TIME, VLLM_REQUEST_SUCCESS, VLLM_RUNNING, VLLM_WAITING,
    VLLM_KV_CACHE, DCGM_GPU_UTIL, DCGM_FB_USED, DCGM_FB_FREE, DCGM_TENSOR_ACTIVE, DCGM_XID)}


# --------------------------------------------------------------------------- families and checks

KNATIVE = "knative"
"""InferenceService in Knative mode: the queue-proxy's request histogram."""
STANDARD = "standard"
"""InferenceService in Standard mode: the KServe model server's predict histogram."""
LLM = "llm"
"""LLMInferenceService: vLLM."""
FAMILIES = (KNATIVE, STANDARD, LLM)

#: The request histogram per family: its ``_count`` is the request count (minRequests), its buckets
#: the latency quantiles.
REQUEST_HISTOGRAM = {KNATIVE: KNATIVE_INVOCATION, STANDARD: KSERVE_PREDICT, LLM: VLLM_E2E}

QUANTILE_CHECKS = {"latencyP50": 0.50, "latencyP95": 0.95, "latencyP99": 0.99}
LLM_QUANTILE_CHECKS = {"ttftP95": (VLLM_TTFT, 0.95), "interTokenP95": (VLLM_INTER_TOKEN, 0.95)}
#: Built-in checks each family can evaluate; what a check measures (its unit) is :data:`CHECK_UNITS`.
BUILTIN_CHECKS: dict[str, tuple[str, ...]] = {
    KNATIVE: ("errorRate", *QUANTILE_CHECKS),
    STANDARD: tuple(QUANTILE_CHECKS),
    LLM: ("errorRate", "successRate", *QUANTILE_CHECKS, *LLM_QUANTILE_CHECKS),
}
ALL_BUILTIN_CHECKS = tuple(dict.fromkeys(c for checks in BUILTIN_CHECKS.values() for c in checks))
CHECK_UNITS = {"errorRate": "ratio", "successRate": "ratio",
               **{name: "ms" for name in (*QUANTILE_CHECKS, *LLM_QUANTILE_CHECKS)}}
#: Why a family cannot evaluate a built-in check it lacks (config errors quote it).
UNAVAILABLE = {
    (STANDARD, "errorRate"): (f"the KServe model server's metrics ({KSERVE_MODEL_SERVER}) carry no status code; "
                              "use a custom query on a metric that does"),
    (STANDARD, "successRate"): "successRate is vLLM's (LLM endpoints only)",
    (KNATIVE, "successRate"): "successRate is vLLM's (LLM endpoints only)",
    (KNATIVE, "ttftP95"): "ttftP95 is vLLM's (LLM endpoints only)",
    (STANDARD, "ttftP95"): "ttftP95 is vLLM's (LLM endpoints only)",
    (KNATIVE, "interTokenP95"): "interTokenP95 is vLLM's (LLM endpoints only)",
    (STANDARD, "interTokenP95"): "interTokenP95 is vLLM's (LLM endpoints only)",
}


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def selector(namespace: str, endpoint: str, version: str, **extra: str) -> str:
    """The label matchers of one model version's series: ``{namespace="..",servestack_endpoint="..",..}``.
    ``extra`` values starting with ``=~`` or ``!~`` are regular-expression matchers."""
    parts = [f'{NAMESPACE_LABEL}="{_escape(namespace)}"', f'{ENDPOINT_LABEL}="{_escape(endpoint)}"',
             f'{VERSION_LABEL}="{_escape(version)}"']
    for label, value in extra.items():
        op = value[:2] if value[:2] in ("=~", "!~") else "="
        parts.append(f'{label}{op}"{_escape(value[len(op) if op != "=" else 0:])}"')
    return "{" + ",".join(parts) + "}"


def requests_query(family: str, namespace: str, endpoint: str, version: str, window: str) -> str:
    """Requests one version served in the window (the ``_count`` of the family's request histogram)."""
    sel = selector(namespace, endpoint, version)
    return f"sum(increase({REQUEST_HISTOGRAM[family].series('_count')}{sel}[{window}]))"


def _quantile(metric: Metric, q: float, sel: str, window: str) -> str:
    # seconds -> milliseconds, so that every latency figure reads in ms
    return f"1000 * histogram_quantile({q}, sum by (le) (rate({metric.series('_bucket')}{sel}[{window}])))"


def check_query(family: str, check: str, namespace: str, endpoint: str, version: str, window: str) -> str:
    """The PromQL of built-in ``check`` for one model version (ratio or milliseconds: CHECK_UNITS)."""
    if check not in BUILTIN_CHECKS[family]:
        raise ValueError(UNAVAILABLE.get((family, check), f"unknown check {check!r}"))
    sel = selector(namespace, endpoint, version)
    if check in QUANTILE_CHECKS:
        return _quantile(REQUEST_HISTOGRAM[family], QUANTILE_CHECKS[check], sel, window)
    if check in LLM_QUANTILE_CHECKS:
        metric, q = LLM_QUANTILE_CHECKS[check]
        return _quantile(metric, q, sel, window)
    if family == KNATIVE:  # errorRate
        count = KNATIVE_INVOCATION.series("_count")
        errors = selector(namespace, endpoint, version, http_response_status_code="=~5..")
        return f"sum(rate({count}{errors}[{window}])) / sum(rate({count}{sel}[{window}]))"
    normal = "|".join(VLLM_NORMAL_FINISH)
    matcher = ("!~" if check == "errorRate" else "=~") + normal
    part = selector(namespace, endpoint, version, finished_reason=matcher)
    total = VLLM_REQUEST_SUCCESS.name
    return f"sum(rate({total}{part}[{window}])) / sum(rate({total}{sel}[{window}]))"


#: Placeholders a custom ``query`` may use (filled per version by :func:`fill_placeholders`).
PLACEHOLDERS = ("endpoint", "namespace", "version", "window")


def fill_placeholders(query: str, *, endpoint: str, namespace: str, version: str, window: str) -> str:
    """A custom query with ``{{endpoint}}``, ``{{namespace}}``, ``{{version}}``, ``{{window}}`` filled
    (values escaped for a PromQL string; the window is a duration and goes in as is)."""
    values = {"endpoint": _escape(endpoint), "namespace": _escape(namespace), "version": _escape(version),
              "window": window}
    for name, value in values.items():
        query = query.replace("{{" + name + "}}", value)
    return query
