"""Monitoring objects of endpoints and accelerator pools, as Kubernetes objects (dicts). Pure.

Every name and label comes from :mod:`components.core.metrics`; every object is a Prometheus Operator
``monitoring.coreos.com/v1`` PodMonitor or PrometheusRule (kube-prometheus-stack 88.5.3's CRDs), or, under
Amazon Managed Service for Prometheus, the same rule groups as a rules file and one scrape configuration.

What is scraped, per family (:data:`metrics.FAMILIES`):

- ``knative`` (InferenceService in Knative mode): the queue-proxy's ``http-usermetric`` port (9091), where
  Knative 1.21 serves its OpenTelemetry request metrics once ``config-observability`` says
  ``request-metrics-protocol: prometheus`` (the platform sets it), and the model server's own port.
- ``standard`` (Standard mode): the model server's own port, the one its ServingRuntime annotates
  (``prometheus.kserve.io/port``, which KServe copies onto the pod; KServe's default 8080 without one).
- ``llm`` (LLMInferenceService): vLLM's ``/metrics`` on the workload's port 8000 (KServe v0.20.0's presets).

Only the predictor's pods are selected (KServe's ``component: predictor``): a transformer's queue-proxy
would count each request twice. Each series gets the endpoint and model version of its pod
(:func:`metrics.version_relabelings`), so stable and candidate are apart in every rule.
"""

from __future__ import annotations

from typing import Any

from ..core import metrics as m

API_VERSION = "monitoring.coreos.com/v1"
MANAGED_BY = {"app.kubernetes.io/managed-by": "servestack"}
#: KServe's pod label naming the InferenceService component (constants.KServiceComponentLabel).
KSERVE_COMPONENT_LABEL = "component"
#: Knative's queue-proxy port of user request metrics (``http-usermetric``, 9091).
QUEUE_PROXY_METRICS_PORT = "http-usermetric"
KSERVE_CONTAINER = "kserve-container"
#: The runtime's metrics port annotation, which KServe copies onto the predictor's pod, and KServe's
#: default when a runtime has none (webhook ``defaultKserveContainerPrometheusPort``).
KSERVE_PORT_ANNOTATION = "prometheus.kserve.io/port"
KSERVE_PATH_ANNOTATION = "prometheus.kserve.io/path"
KSERVE_DEFAULT_METRICS_PORT = "8080"
#: LLMInferenceService workload pods (KServe v0.20.0 llmisvc singleNodeLabels) and vLLM's port in its presets.
LLM_WORKLOAD_LABELS = {"app.kubernetes.io/component": "llminferenceservice-workload",
                       "app.kubernetes.io/part-of": "llminferenceservice"}
VLLM_PORT = 8000
#: The window of the recording rules (and what the alerting rules read).
RULE_WINDOW = "5m"
#: Alert thresholds (README "Metrics and alerts").
ERROR_RATIO_ALERT = 0.05
SUCCESS_RATIO_ALERT = 0.95
CANDIDATE_LATENCY_FACTOR = 1.5
GPU_MEMORY_ALERT = 0.95
_BY = f"{m.NAMESPACE_LABEL}, {m.ENDPOINT_LABEL}, {m.VERSION_LABEL}"


def _q(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _meta(name: str, namespace: str, endpoint: str | None = None) -> dict[str, Any]:
    labels = dict(MANAGED_BY)
    if endpoint is not None:
        labels["servestack.io/endpoint"] = endpoint
    return {"name": name, "namespace": namespace, "labels": dict(sorted(labels.items()))}


def model_server_endpoint(interval: str) -> dict[str, Any]:
    """The model server's own metrics: the ``kserve-container`` of the pod, on the port and path its runtime
    annotates (KServe's defaults without them)."""
    pod_annotation = "__meta_kubernetes_pod_annotation_"
    port, path = (pod_annotation + "".join(c if c.isalnum() else "_" for c in a)
                  for a in (KSERVE_PORT_ANNOTATION, KSERVE_PATH_ANNOTATION))
    return {
        "path": "/metrics",
        "interval": interval,
        "relabelings": [
            {"action": "keep", "sourceLabels": ["__meta_kubernetes_pod_container_name"], "regex": KSERVE_CONTAINER},
            {"action": "replace", "targetLabel": "__tmp_metrics_port", "replacement": KSERVE_DEFAULT_METRICS_PORT},
            {"action": "replace", "sourceLabels": [port], "regex": "([0-9]+)", "targetLabel": "__tmp_metrics_port"},
            {"action": "replace", "sourceLabels": ["__meta_kubernetes_pod_ip", "__tmp_metrics_port"], "separator": ";",
             "regex": "(.+);([0-9]+)", "replacement": "$1:$2", "targetLabel": "__address__"},
            {"action": "replace", "sourceLabels": [path], "regex": "(/.*)", "targetLabel": "__metrics_path__"},
            *m.version_relabelings(),
        ],
    }


def model_pod_monitor(endpoint: str, namespace: str, family: str, interval: str) -> dict[str, Any]:
    """The PodMonitor that scrapes one endpoint's model pods (every version)."""
    if family == m.LLM:
        selector = {"servestack.io/endpoint": endpoint, **LLM_WORKLOAD_LABELS}
        endpoints = [{"portNumber": VLLM_PORT, "path": "/metrics", "scheme": "http", "interval": interval,
                      "relabelings": m.version_relabelings()}]
    else:
        selector = {"servestack.io/endpoint": endpoint, KSERVE_COMPONENT_LABEL: "predictor"}
        endpoints = [model_server_endpoint(interval)]
        if family == m.KNATIVE:
            endpoints.insert(0, {"port": QUEUE_PROXY_METRICS_PORT, "path": "/metrics", "interval": interval,
                                 "relabelings": m.version_relabelings()})
    return {
        "apiVersion": API_VERSION,
        "kind": "PodMonitor",
        "metadata": _meta(f"{endpoint}-model-metrics", namespace, endpoint),
        "spec": {"selector": {"matchLabels": dict(sorted(selector.items()))}, "podMetricsEndpoints": endpoints},
    }


# --------------------------------------------------------------------------- rules


def _sel(namespace: str, endpoint: str, **extra: tuple[str, str]) -> str:
    """Label matchers of one endpoint's series; ``extra`` maps a label to (operator, value)."""
    parts = [f'{m.NAMESPACE_LABEL}="{_q(namespace)}"', f'{m.ENDPOINT_LABEL}="{_q(endpoint)}"']
    parts += [f'{label}{op}"{_q(value)}"' for label, (op, value) in extra.items()]
    return "{" + ",".join(parts) + "}"


def _rate(series: str, sel: str) -> str:
    return f"sum by ({_BY}) (rate({series}{sel}[{RULE_WINDOW}]))"


def _quantiles(prefix: str, metric: m.Metric, sel: str, quantiles=(0.5, 0.95, 0.99)) -> list[dict[str, Any]]:
    return [{"record": f"{prefix}:p{round(q * 100)}_rate{RULE_WINDOW}",
             "expr": f"histogram_quantile({q}, sum by (le, {_BY}) (rate({metric.series('_bucket')}{sel}[{RULE_WINDOW}])))"}
            for q in quantiles]


REQUESTS = f"servestack:model_requests:rate{RULE_WINDOW}"
ERRORS = f"servestack:model_errors:ratio_rate{RULE_WINDOW}"
LATENCY = "servestack:model_latency_seconds"
LLM_SUCCESS = f"servestack:llm_request_success:ratio_rate{RULE_WINDOW}"


def recording_rules(endpoint: str, namespace: str, family: str) -> list[dict[str, Any]]:
    """Per model version: request rate, error ratio (where the family has status codes), latency quantiles;
    for LLM endpoints also success ratio, time to first token, inter-token latency and queue time."""
    sel = _sel(namespace, endpoint)
    histogram = m.REQUEST_HISTOGRAM[family]
    rules = [{"record": REQUESTS, "expr": _rate(histogram.series("_count"), sel)}]
    if family == m.KNATIVE:
        errors = _sel(namespace, endpoint, http_response_status_code=("=~", "5.."))
        count = histogram.series("_count")
        rules.append({"record": ERRORS, "expr": f"{_rate(count, errors)} / {_rate(count, sel)}"})
    elif family == m.LLM:
        normal = "|".join(m.VLLM_NORMAL_FINISH)
        total = m.VLLM_REQUEST_SUCCESS.name
        failed = _sel(namespace, endpoint, finished_reason=("!~", normal))
        succeeded = _sel(namespace, endpoint, finished_reason=("=~", normal))
        rules += [{"record": ERRORS, "expr": f"{_rate(total, failed)} / {_rate(total, sel)}"},
                  {"record": LLM_SUCCESS, "expr": f"{_rate(total, succeeded)} / {_rate(total, sel)}"}]
    rules += _quantiles(LATENCY, histogram, sel)
    if family == m.LLM:
        rules += _quantiles("servestack:llm_time_to_first_token_seconds", m.VLLM_TTFT, sel)
        rules += _quantiles("servestack:llm_inter_token_latency_seconds", m.VLLM_INTER_TOKEN, sel)
        rules += _quantiles("servestack:llm_request_queue_time_seconds", m.VLLM_QUEUE_TIME, sel, (0.5, 0.95))
    return rules


def _alert(name: str, expr: str, duration: str, summary: str, endpoint: str | None = None) -> dict[str, Any]:
    labels = {"severity": "warning"}
    if endpoint is not None:
        labels["servestack_endpoint"] = endpoint
    return {"alert": name, "expr": expr, "for": duration, "labels": labels, "annotations": {"summary": summary}}


def alerting_rules(endpoint: str, namespace: str, family: str, versions: tuple[str, str] | None) -> list[dict[str, Any]]:
    """Alerts on the recording rules; ``versions`` (stable, candidate) during a rollout adds the candidate
    against the stable."""
    sel = _sel(namespace, endpoint)
    alerts = []
    if family in (m.KNATIVE, m.LLM):
        alerts.append(_alert("ServestackModelErrorRatioHigh", f"{ERRORS}{sel} > {ERROR_RATIO_ALERT}", "10m",
                             f"{endpoint}: more than {ERROR_RATIO_ALERT:.0%} of a model version's requests fail "
                             f"(version {{{{ $labels.{m.VERSION_LABEL} }}}})", endpoint))
    if family == m.LLM:
        alerts.append(_alert("ServestackLlmRequestSuccessLow", f"{LLM_SUCCESS}{sel} < {SUCCESS_RATIO_ALERT}", "10m",
                             f"{endpoint}: fewer than {SUCCESS_RATIO_ALERT:.0%} of requests finish normally "
                             f"(version {{{{ $labels.{m.VERSION_LABEL} }}}})", endpoint))
    if versions is not None:
        stable, candidate = (_sel(namespace, endpoint, **{m.VERSION_LABEL: ("=", v)}) for v in versions)
        ignoring = f"ignoring ({m.VERSION_LABEL})"
        latency = f"{LATENCY}:p95_rate{RULE_WINDOW}"
        alerts.append(_alert(
            "ServestackCandidateLatencyAboveStable",
            f"{latency}{candidate} > {ignoring} {CANDIDATE_LATENCY_FACTOR} * {latency}{stable}", "10m",
            f"{endpoint}: candidate {versions[1]}'s p95 latency is over {CANDIDATE_LATENCY_FACTOR}x "
            f"stable {versions[0]}'s", endpoint))
        if family in (m.KNATIVE, m.LLM):
            alerts.append(_alert(
                "ServestackCandidateErrorRatioAboveStable",
                f"{ERRORS}{candidate} > {ignoring} ({ERRORS}{stable} + 0.01)", "10m",
                f"{endpoint}: candidate {versions[1]} fails more than stable {versions[0]} (by over 1 point)", endpoint))
    return alerts


def endpoint_rule_groups(endpoint: str, namespace: str, family: str,
                         versions: tuple[str, str] | None = None) -> list[dict[str, Any]]:
    """The rule groups of one endpoint (a PrometheusRule's ``spec.groups``; an AMP rules file's ``groups``)."""
    return [{"name": f"servestack.{namespace}.{endpoint}.recording", "rules": recording_rules(endpoint, namespace, family)},
            {"name": f"servestack.{namespace}.{endpoint}.alerts", "rules": alerting_rules(endpoint, namespace, family, versions)}]


def endpoint_prometheus_rule(endpoint: str, namespace: str, family: str,
                             versions: tuple[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": "PrometheusRule",
        "metadata": _meta(f"{endpoint}-model-rules", namespace, endpoint),
        "spec": {"groups": endpoint_rule_groups(endpoint, namespace, family, versions)},
    }


GPU_UTILIZATION = "servestack:gpu_utilization:avg"
GPU_MEMORY_USED = "servestack:gpu_memory_used:ratio"


def gpu_pool_rule_groups(pools: list[str]) -> list[dict[str, Any]]:
    """Per NVIDIA pool: mean GPU utilization (%) and the share of GPU memory in use; alerts on full memory
    and XID errors. Empty without NVIDIA pools."""
    if not pools:
        return []
    pool_re = "|".join(sorted(pools))
    sel = f'{{{m.POOL_LABEL}=~"{pool_re}"}}'
    by = f"sum by ({m.POOL_LABEL})"
    recording = [
        {"record": GPU_UTILIZATION, "expr": f"avg by ({m.POOL_LABEL}) ({m.DCGM_GPU_UTIL.name}{sel})"},
        {"record": GPU_MEMORY_USED, "expr": f"{by} ({m.DCGM_FB_USED.name}{sel}) / "
                                            f"({by} ({m.DCGM_FB_USED.name}{sel}) + {by} ({m.DCGM_FB_FREE.name}{sel}))"},
    ]
    alerts = [
        _alert("ServestackGpuMemoryNearlyFull", f"{GPU_MEMORY_USED} > {GPU_MEMORY_ALERT}", "15m",
               f"pool {{{{ $labels.{m.POOL_LABEL} }}}}: over {GPU_MEMORY_ALERT:.0%} of GPU memory in use"),
        _alert("ServestackGpuXidError", f"max by ({m.POOL_LABEL}, Hostname, gpu) ({m.DCGM_XID.name}{sel}) > 0", "5m",
               f"pool {{{{ $labels.{m.POOL_LABEL} }}}}: GPU {{{{ $labels.gpu }}}} on {{{{ $labels.Hostname }}}} "
               "reports XID error {{ $value }}"),
    ]
    return [{"name": "servestack.gpu-pools.recording", "rules": recording},
            {"name": "servestack.gpu-pools.alerts", "rules": alerts}]


def exporter_pod_monitor(name: str, namespace: str, match_labels: dict[str, str], port: str,
                         interval: str) -> dict[str, Any]:
    """A PodMonitor of a node exporter (DCGM exporter, neuron-monitor), its series labelled with the node's pool."""
    return {
        "apiVersion": API_VERSION,
        "kind": "PodMonitor",
        "metadata": _meta(name, namespace),
        "spec": {
            "selector": {"matchLabels": dict(sorted(match_labels.items()))},
            "attachMetadata": {"node": True},
            "podMetricsEndpoints": [{"port": port, "path": "/metrics", "interval": interval,
                                     "relabelings": m.pool_relabelings()}],
        },
    }


def rules_file(groups: list[dict[str, Any]]) -> dict[str, Any]:
    """A Prometheus rules file (what ``promtool check rules`` and an AMP rule groups namespace take)."""
    return {"groups": groups}
