"""The metrics platform (servestack:observability) as the real program plans it, and its config.

Each variant stack is planned fresh (module fixtures; tests only read the plans). The monitoring objects are
also judged by the conformance layer (tests/conformance/test_conformance_monitoring.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
import yaml

from components.config.observability import ObservabilityConfig, duration_seconds
from components.config.stack import StackConfig
from components.core import catalog
from components.core import metrics as m
from components.render import monitoring
from components.render.amp_scrape import scrape_configuration
from harness import plan_config, repository_plan, resource, resources, stack_config

RELEASE = "kubernetes:helm.sh/v3:Release"
PODMONITOR = "kubernetes:monitoring.coreos.com/v1:PodMonitor"
RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule"
PATCH = "kubernetes:core/v1:ConfigMapPatch"
AMP = "aws:amp/"


# --- config ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("tier", "retention", "size"), [("dev", "7d", "20Gi"), ("staging", "15d", "50Gi"),
                                                         ("prod", "30d", "100Gi")])
def test_retention_and_volume_default_per_tier_and_yield_to_the_stack(tier, retention, size):
    config = ObservabilityConfig()
    assert (config.effective_retention(tier), config.effective_storage_size(tier)) == (retention, size)
    own = ObservabilityConfig.model_validate({"retention": "90d", "storageSize": "1Ti"})
    assert (own.effective_retention(tier), own.effective_storage_size(tier)) == ("90d", "1Ti")


def test_defaults():
    config = ObservabilityConfig()
    assert (config.prometheus, config.scrape_interval, config.alertmanager, config.grafana) == (
        "kube-prometheus-stack", "30s", False, False)
    assert config.neuron_monitor_image == "public.ecr.aws/neuron/neuron-monitor:1.3.0"


@pytest.mark.parametrize(("value", "seconds"), [("30s", 30), ("10m", 600), ("15d", 1296000), ("500ms", 0.5)])
def test_durations(value, seconds):
    assert duration_seconds(value) == seconds


@pytest.mark.parametrize(("observability", "problem"), [
    ({"retention": "two weeks"}, "retention"),
    ({"scrapeInterval": "1.5m"}, "scrapeInterval"),
    ({"storageSize": "lots"}, "storageSize"),
    ({"prometheus": "victoria"}, "prometheus"),
    ({"neuronMonitorImage": "public.ecr.aws/neuron/neuron-monitor"}, "neuronMonitorImage"),
    ({"neuronMonitorImage": "public.ecr.aws/neuron/neuron-monitor:latest"}, "neuronMonitorImage"),
    ({"alertManager": True}, "alertManager"),
])
def test_bad_values_are_refused_at_their_path(observability, problem):
    with pytest.raises(Exception) as error:
        ObservabilityConfig.model_validate(observability)
    assert problem in str(error.value)


def test_in_cluster_settings_under_amp_and_a_tiny_volume_are_problems_all_at_once():
    config = ObservabilityConfig.model_validate({"prometheus": "amp", "retention": "30d", "grafana": True})
    assert [(f.loc, f.message) for f in config.problems()] == [
        (("retention",), "applies to the in-cluster Prometheus only; prometheus: amp installs none (remove it, or use "
                         "prometheus: kube-prometheus-stack)"),
        (("grafana",), "applies to the in-cluster Prometheus only; prometheus: amp installs none (remove it, or use "
                       "prometheus: kube-prometheus-stack)"),
    ]
    small = ObservabilityConfig.model_validate({"storageSize": "512Mi", "scrapeInterval": "1s"})
    assert [(f.loc, f.message, f.value) for f in small.problems()] == [
        (("storageSize",), "must be at least 1Gi (an EBS volume's minimum)", "512Mi"),
        (("scrapeInterval",), "must be at least 5s", "1s"),
    ]


# --- the repository's stacks --------------------------------------------------------------------------------

@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_every_endpoint_of_every_stack_has_its_monitor_and_rules(stack):
    plan, config = repository_plan(stack), stack_config(stack)
    endpoints = sorted([*config.get("servestack:endpoints", {}), *config.get("servestack:llmEndpoints", {})])
    monitors = sorted(o["metadata"]["name"] for _, o in plan.manifests() if o["kind"] == "PodMonitor")
    rules = sorted(o["metadata"]["name"] for _, o in plan.manifests() if o["kind"] == "PrometheusRule")
    assert [n for n in monitors if n.endswith("-model-metrics")] == sorted(f"{e}-model-metrics" for e in endpoints)
    assert [n for n in rules if n.endswith("-model-rules")] == sorted(f"{e}-model-rules" for e in endpoints)


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_every_accelerator_pool_kind_has_its_exporter_and_only_those(stack):
    plan, config = repository_plan(stack), StackConfig.model_validate(
        {"region": "us-east-1", **{k.split(":", 1)[1]: v for k, v in stack_config(stack).items()
                                   if k.startswith("servestack:")}})
    kinds = {pool.kind for pool in config.node_pools.values()}
    releases = {s["inputs"]["name"] for s in resources(plan, RELEASE).values()}
    daemons = {o["metadata"]["name"] for _, o in plan.manifests() if o["kind"] == "DaemonSet"}
    assert ("dcgm-exporter" in releases) == (catalog.AcceleratorKind.NVIDIA in kinds)
    assert ("neuron-monitor" in daemons) == (catalog.AcceleratorKind.NEURON in kinds)
    if catalog.AcceleratorKind.NVIDIA in kinds:
        rules = next(o for _, o in plan.manifests() if o["metadata"]["name"] == "servestack-accelerator-pools")
        gpu_pools = sorted(n for n, p in config.node_pools.items() if p.kind is catalog.AcceleratorKind.NVIDIA)
        assert rules["spec"]["groups"][0]["rules"][0]["expr"] == (
            f'avg by (servestack_pool) (DCGM_FI_DEV_GPU_UTIL{{servestack_pool=~"{"|".join(gpu_pools)}"}})')


def test_prod_runs_kube_prometheus_stack_sized_for_prod_on_the_system_pool():
    plan = repository_plan("prod")
    values = resource(plan, RELEASE, "servestack-metrics-kube-prometheus-stack")["inputs"]
    assert (values["chart"], values["version"], values["namespace"]) == ("kube-prometheus-stack", "88.5.3", "monitoring")
    assert values["values"] == {
        "alertmanager": {"enabled": False},
        "grafana": {"enabled": False},
        "prometheusOperator": {"nodeSelector": {"servestack.io/pool": "system"}},
        "prometheus": {"prometheusSpec": {
            "nodeSelector": {"servestack.io/pool": "system"},
            "retention": "30d", "scrapeInterval": "30s", "evaluationInterval": "30s",
            "storageSpec": {"volumeClaimTemplate": {"spec": {
                "storageClassName": "servestack-metrics", "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "100Gi"}}}}},
            "podMonitorSelectorNilUsesHelmValues": False, "serviceMonitorSelectorNilUsesHelmValues": False,
            "ruleSelectorNilUsesHelmValues": False}},
    }
    storage = next(o for _, o in plan.manifests() if o["kind"] == "StorageClass")
    assert (storage["provisioner"], storage["parameters"]) == ("ebs.csi.aws.com", {"type": "gp3", "encrypted": "true"})


def test_the_exporters_tolerate_exactly_their_pools_taints():
    plan, config = repository_plan("prod"), stack_config("prod")
    dcgm = resource(plan, RELEASE, "servestack-metrics-dcgm-exporter")["inputs"]
    plugin = resource(plan, RELEASE, "servestack-device-plugins-nvidia")["inputs"]
    assert dcgm["values"] == {"nodeSelector": {"servestack.io/accelerator": "nvidia"},
                              "tolerations": plugin["values"]["tolerations"], "serviceMonitor": {"enabled": False}}
    neuron = next(o for _, o in plan.manifests() if o["kind"] == "DaemonSet" and o["metadata"]["name"] == "neuron-monitor")
    spec = neuron["spec"]["template"]["spec"]
    assert spec["nodeSelector"] == {"servestack.io/accelerator": "neuron"}
    assert spec["tolerations"] == resource(plan, RELEASE, "servestack-device-plugins-neuron")["inputs"]["values"][
        "devicePlugin"]["tolerations"]
    assert spec["containers"][0]["image"] == config["servestack:observability"]["neuronMonitorImage"]


def test_knative_stacks_turn_on_the_queue_proxys_request_metrics_and_standard_stacks_do_not():
    for stack, expected in (("dev", True), ("staging", True), ("prod", False)):
        patches = {s["inputs"]["metadata"]["name"]: s["inputs"]["data"] for s in resources(repository_plan(stack), PATCH).values()}
        assert patches.get("config-observability") == ({"request-metrics-protocol": "prometheus"} if expected else None)


def test_the_platform_exports_its_metrics_backend_for_serving_stacks():
    assert repository_plan("dev").document["outputs"]["observability"] == {
        "prometheus": "kube-prometheus-stack", "scrapeInterval": "30s", "ampWorkspaceId": None}


# --- AMP ----------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def amp_plan():
    config = stack_config("dev")
    config["servestack:observability"] = {"prometheus": "amp", "scrapeInterval": "60s"}
    return plan_config(config, "dev")


def test_amp_creates_a_workspace_a_scraper_its_access_and_rules_and_no_prometheus(amp_plan):
    types = sorted({s["type"] for s in resources(amp_plan, "aws:amp/workspace:Workspace").values()})
    assert types == ["aws:amp/workspace:Workspace"]
    releases = {s["inputs"]["name"] for s in resources(amp_plan, RELEASE).values()}
    assert "kube-prometheus-stack" not in releases and "dcgm-exporter" in releases
    assert not [o for _, o in amp_plan.manifests() if o["kind"] in ("PodMonitor", "PrometheusRule")]
    scraper = resource(amp_plan, "aws:amp/scraper:Scraper", "servestack-metrics-amp-scraper")
    assert scraper["inputs"]["scrapeConfiguration"] == scrape_configuration("60s", ("knative", "llm"), nvidia=True,
                                                                             neuron=False)
    entry = resource(amp_plan, "aws:eks/accessEntry:AccessEntry", "servestack-metrics-amp-scraper")["inputs"]
    assert (entry["userName"], entry["type"]) == ("aps-collector-user", "STANDARD")
    binding = next(o for _, o in amp_plan.manifests() if o["kind"] == "ClusterRoleBinding"
                   and o["metadata"]["name"] == "aps-collector-user-role-binding")
    assert binding["subjects"] == [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "aps-collector-user"}]
    groups = {s["inputs"]["name"] for s in resources(amp_plan, "aws:amp/ruleGroupNamespace:RuleGroupNamespace").values()}
    assert groups == {"models.chat", "models.iris", "models.qwen-chat", "servestack-accelerator-pools"}


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} is not installed (CI installs the Debian package prometheus in .ci/run)")
        pytest.skip(f"{name} is not installed (apt-get install prometheus); CI runs this check")
    return path


@pytest.mark.parametrize("families", [("knative",), ("standard", "llm"), ("knative", "standard", "llm")])
def test_the_amp_scrape_configuration_is_a_valid_prometheus_configuration(families, tmp_path):
    promtool = _tool("promtool")
    config = yaml.safe_load(scrape_configuration("30s", families, nvidia=True, neuron=True))
    for job in config["scrape_configs"]:
        # Debian's promtool is built without Kubernetes discovery: check each job with a static target list instead
        # (the relabelings, intervals and the rest are checked as written).
        assert job.pop("kubernetes_sd_configs")[0]["role"] == "pod"
        job["static_configs"] = [{"targets": ["10.0.0.1:8080"]}]
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    result = subprocess.run([promtool, "check", "config", "--syntax-only", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    jobs = [job["job_name"] for job in config["scrape_configs"]]
    expected = ["servestack-queue-proxy"] if "knative" in families else []
    expected += ["servestack-model-server"] + (["servestack-vllm"] if "llm" in families else [])
    assert jobs == [*expected, "dcgm-exporter", "neuron-monitor"]


# --- the rendered objects -----------------------------------------------------------------------------------

def test_a_standard_mode_endpoint_is_scraped_on_its_runtimes_port_and_has_no_error_ratio():
    monitor = monitoring.model_pod_monitor("fraud", "serving", m.STANDARD, "30s")
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    assert monitor["spec"]["selector"] == {"matchLabels": {"component": "predictor", "servestack.io/endpoint": "fraud"}}
    assert endpoint["relabelings"][:5] == [
        {"action": "keep", "sourceLabels": ["__meta_kubernetes_pod_container_name"], "regex": "kserve-container"},
        {"action": "replace", "targetLabel": "__tmp_metrics_port", "replacement": "8080"},
        {"action": "replace", "sourceLabels": ["__meta_kubernetes_pod_annotation_prometheus_kserve_io_port"],
         "regex": "([0-9]+)", "targetLabel": "__tmp_metrics_port"},
        {"action": "replace", "sourceLabels": ["__meta_kubernetes_pod_ip", "__tmp_metrics_port"], "separator": ";",
         "regex": "(.+);([0-9]+)", "replacement": "$1:$2", "targetLabel": "__address__"},
        {"action": "replace", "sourceLabels": ["__meta_kubernetes_pod_annotation_prometheus_kserve_io_path"],
         "regex": "(/.*)", "targetLabel": "__metrics_path__"},
    ]
    assert endpoint["relabelings"][5:] == m.version_relabelings()
    records = [r["record"] for r in monitoring.recording_rules("fraud", "serving", m.STANDARD)]
    assert records == ["servestack:model_requests:rate5m", "servestack:model_latency_seconds:p50_rate5m",
                       "servestack:model_latency_seconds:p95_rate5m", "servestack:model_latency_seconds:p99_rate5m"]


def test_a_knative_endpoints_rules_read_the_queue_proxys_histogram_per_version():
    rules = monitoring.recording_rules("iris", "models", m.KNATIVE)
    by = "sum by (namespace, servestack_endpoint, servestack_model_version)"
    sel = '{namespace="models",servestack_endpoint="iris"}'
    assert rules[0] == {"record": "servestack:model_requests:rate5m",
                        "expr": f"{by} (rate(kn_serving_invocation_duration_seconds_count{sel}[5m]))"}
    assert rules[1] == {"record": "servestack:model_errors:ratio_rate5m", "expr": (
        f'{by} (rate(kn_serving_invocation_duration_seconds_count{{namespace="models",servestack_endpoint="iris",'
        f'http_response_status_code=~"5.."}}[5m])) / {by} (rate(kn_serving_invocation_duration_seconds_count{sel}[5m]))')}
    monitor = monitoring.model_pod_monitor("iris", "models", m.KNATIVE, "30s")
    assert [e.get("port") for e in monitor["spec"]["podMetricsEndpoints"]] == ["http-usermetric", None]


def test_candidate_alerts_exist_only_while_a_rollout_is_in_progress():
    steady = [a["alert"] for a in monitoring.alerting_rules("iris", "models", m.KNATIVE, None)]
    rolling = monitoring.alerting_rules("iris", "models", m.KNATIVE, ("1.3.0", "1.4.0"))
    assert steady == ["ServestackModelErrorRatioHigh"]
    assert [a["alert"] for a in rolling] == ["ServestackModelErrorRatioHigh", "ServestackCandidateLatencyAboveStable",
                                             "ServestackCandidateErrorRatioAboveStable"]
    assert rolling[1]["expr"] == (
        'servestack:model_latency_seconds:p95_rate5m{namespace="models",servestack_endpoint="iris",'
        'servestack_model_version="1.4.0"} > ignoring (servestack_model_version) 1.5 * '
        'servestack:model_latency_seconds:p95_rate5m{namespace="models",servestack_endpoint="iris",'
        'servestack_model_version="1.3.0"}')


def test_llm_pods_carry_the_endpoint_label_the_monitor_selects():
    plan = repository_plan("prod")
    for _, llm in ((f, o) for f, o in plan.manifests() if o["kind"] == "LLMInferenceService"):
        name = llm["metadata"]["name"]
        assert llm["spec"]["labels"]["servestack.io/endpoint"] == name
        monitor = next(o for _, o in plan.manifests() if o["kind"] == "PodMonitor"
                       and o["metadata"]["name"] == f"{name}-model-metrics")
        assert monitor["spec"]["selector"]["matchLabels"] == {
            "app.kubernetes.io/component": "llminferenceservice-workload",
            "app.kubernetes.io/part-of": "llminferenceservice", "servestack.io/endpoint": name}


def test_the_pool_label_comes_from_the_node_label_servestack_puts_on_every_node():
    assert m.NODE_LABEL_TO_SERIES == {catalog.POOL_LABEL: m.POOL_LABEL}
