"""The scrape configuration of the Amazon Managed Service for Prometheus collector, and the RBAC its user needs.
Pure.

A managed scraper takes one Prometheus configuration for the whole cluster and is replaced when it changes,
so it finds its targets by class, never by endpoint: every model pod by servestack's labels (whichever stack
declared the endpoint), every exporter pod by its app label. The jobs scrape what the PodMonitors of
:mod:`components.render.monitoring` scrape, with the same labels (``namespace``, ``pod``, the endpoint and
model version, the node pool).
"""

from __future__ import annotations

from typing import Any

import yaml

from ..core import metrics as m
from . import monitoring

#: The Kubernetes user the AMP collector acts as, and the ClusterRole AWS's setup binds to it.
AMP_COLLECTOR_USER = "aps-collector-user"
AMP_COLLECTOR_ROLE = "aps-collector-role"


def _meta(label: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in label)


def _keep(label: str, regex: str) -> dict[str, Any]:
    return {"action": "keep", "source_labels": [f"__meta_kubernetes_pod_label_{_meta(label)}"], "regex": regex}


def _snake(relabelings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Prometheus Operator relabelings (camelCase) as a Prometheus configuration spells them."""
    keys = {"sourceLabels": "source_labels", "targetLabel": "target_label"}
    return [{keys.get(k, k): v for k, v in r.items()} for r in relabelings]


_TARGET_LABELS = [
    {"action": "replace", "source_labels": ["__meta_kubernetes_namespace"], "target_label": m.NAMESPACE_LABEL},
    {"action": "replace", "source_labels": ["__meta_kubernetes_pod_name"], "target_label": m.POD_LABEL},
]


def _job(name: str, interval: str, relabel: list[dict[str, Any]], node: bool = False) -> dict[str, Any]:
    sd: dict[str, Any] = {"role": "pod"}
    if node:
        sd["attach_metadata"] = {"node": True}
    return {"job_name": name, "scrape_interval": interval, "kubernetes_sd_configs": [sd],
            "relabel_configs": [*relabel, *_TARGET_LABELS]}


def scrape_jobs(interval: str, families: tuple[str, ...] | list[str], *, nvidia: bool, neuron: bool) -> list[dict[str, Any]]:
    """The scrape jobs: per model family the cluster serves, and per exporter its pools need."""
    predictor = [_keep("servestack.io/endpoint", ".+"), _keep(monitoring.KSERVE_COMPONENT_LABEL, "predictor")]
    versions = _snake(m.version_relabelings())
    jobs = []
    if m.KNATIVE in families:
        jobs.append(_job("servestack-queue-proxy", interval, [
            *predictor,
            {"action": "keep", "source_labels": ["__meta_kubernetes_pod_container_port_name"],
             "regex": monitoring.QUEUE_PROXY_METRICS_PORT}, *versions]))
    if m.KNATIVE in families or m.STANDARD in families:
        model_server = monitoring.model_server_endpoint(interval)["relabelings"]
        jobs.append(_job("servestack-model-server", interval, [*predictor, *_snake(model_server)]))
    if m.LLM in families:
        jobs.append(_job("servestack-vllm", interval, [
            _keep("servestack.io/endpoint", ".+"),
            *(_keep(k, v) for k, v in sorted(monitoring.LLM_WORKLOAD_LABELS.items())),
            {"action": "keep", "source_labels": ["__meta_kubernetes_pod_container_port_number"],
             "regex": str(monitoring.VLLM_PORT)}, *versions]))
    pools = _snake(m.pool_relabelings())
    for enabled, job, app in ((nvidia, "dcgm-exporter", "dcgm-exporter"), (neuron, "neuron-monitor", "neuron-monitor")):
        if enabled:
            jobs.append(_job(job, interval, [
                _keep("app.kubernetes.io/name", app),
                {"action": "keep", "source_labels": ["__meta_kubernetes_pod_container_port_name"], "regex": "metrics"},
                *pools], node=True))
    return jobs


def scrape_configuration(interval: str, families: tuple[str, ...] | list[str], *, nvidia: bool, neuron: bool) -> str:
    """The collector's Prometheus configuration (YAML), deterministic."""
    config = {"global": {"scrape_interval": interval},
              "scrape_configs": scrape_jobs(interval, families, nvidia=nvidia, neuron=neuron)}
    return yaml.safe_dump(config, sort_keys=False, default_flow_style=False)


def amp_collector_rbac() -> list[dict[str, Any]]:
    """The ClusterRole and ClusterRoleBinding AWS's collector setup applies (read-only discovery of pods, nodes,
    services and endpoints, and ``/metrics``), bound to :data:`AMP_COLLECTOR_USER`."""
    labels = dict(monitoring.MANAGED_BY)
    read = ["get", "list", "watch"]
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": AMP_COLLECTOR_ROLE, "labels": labels},
            "rules": [{"apiGroups": [""], "resources": ["nodes", "nodes/metrics", "services", "endpoints", "pods"],
                       "verbs": read},
                      {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": read},
                      {"nonResourceURLs": ["/metrics"], "verbs": ["get"]}]}
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
               "metadata": {"name": f"{AMP_COLLECTOR_USER}-role-binding", "labels": labels},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": AMP_COLLECTOR_ROLE},
               "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": AMP_COLLECTOR_USER}]}
    return [role, binding]
