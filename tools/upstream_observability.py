"""Derived data for the metrics platform: the Prometheus Operator CRDs that kube-prometheus-stack
88.5.3 ships (ServiceMonitor, PodMonitor, PrometheusRule: what servestack renders) and the value trees
of the kube-prometheus-stack and dcgm-exporter charts the platform installs. tools/vendor_upstream.py
derives them with its CRD and chart-value derivations."""

from __future__ import annotations

from upstream_common import Source

KPS_VERSION = "88.5.3"
DCGM_VERSION = "4.5.3-4.8.2"
KPS = Source("https://github.com/prometheus-community/helm-charts", f"kube-prometheus-stack-{KPS_VERSION}",
             f"kube-prometheus-stack/{KPS_VERSION}")
DCGM = Source("https://github.com/NVIDIA/dcgm-exporter", DCGM_VERSION, f"dcgm-exporter/{DCGM_VERSION}")
KPS_CHART_DIR = "charts/kube-prometheus-stack"

#: (name, source, files under the source folder, their folder in the repository, kinds, note):
#: vendor_upstream.CrdSet arguments.
OBSERVABILITY_CRDS = (
    ("prometheus-operator-kube-prometheus-stack-88.5.3", KPS,
     ("crds/crd-servicemonitors.yaml", "crds/crd-podmonitors.yaml", "crds/crd-prometheusrules.yaml"),
     f"{KPS_CHART_DIR}/charts/crds/crds", ("ServiceMonitor", "PodMonitor", "PrometheusRule"),
     "the Prometheus Operator v0.93.1 CRDs the chart installs (operator.prometheus.io/version annotation)"),
)

#: (chart, version servestack pins, source, file under the source folder, path in the repository, note):
#: vendor_upstream.ChartValues arguments.
OBSERVABILITY_CHARTS = (
    ("kube-prometheus-stack", KPS_VERSION, KPS, "values.yaml", f"{KPS_CHART_DIR}/values.yaml", None),
    ("dcgm-exporter", "4.8.2", DCGM, "values.yaml", "deployment/values.yaml",
     "the release tag is 4.5.3-4.8.2 (DCGM 4.5.3, exporter 4.8.2); Chart.yaml at the tag says version 4.8.2"),
)
