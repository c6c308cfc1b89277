"""``servestack:observability:Metrics``: the metrics platform of a cluster stack (``servestack:observability``).

- ``kube-prometheus-stack`` (default): an encrypted gp3 StorageClass, the kube-prometheus-stack chart on the
  managed CPU pool (Prometheus with the tier's retention and volume; Alertmanager and Grafana only when
  configured), selecting every PodMonitor, ServiceMonitor and PrometheusRule of the cluster, so that serving
  stacks' endpoints are scraped too.
- ``amp``: an Amazon Managed Service for Prometheus workspace and its managed scraper for the cluster (one
  scrape configuration that finds every model pod and exporter by label: :mod:`components.render.amp_scrape`),
  the RBAC the scraper's user needs and its EKS access entry; no Prometheus in the cluster.

Exporters follow the pool kinds, like the device plugins (:mod:`components.device_plugins`: the same
tolerations and node selectors): the DCGM exporter chart on NVIDIA pools, neuron-monitor on Neuron pools.
Their series carry the node's pool (:func:`metrics.pool_relabelings`); the GPU pools' rules are here too.
"""

from __future__ import annotations

import json

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import yaml

from .config.observability import ObservabilityConfig
from .core import versions
from .core.catalog import AcceleratorKind
from .core.placement import PoolPlacement
from .core.pod_security import EXCEPTIONS_ANNOTATION
from .core.plugin_values import node_selector, tolerations
from .render.device_plugins import pools_served
from .handles import MetricsHandle
from .render import monitoring
from .render.amp_scrape import AMP_COLLECTOR_USER, amp_collector_rbac, scrape_configuration

NAMESPACE = "monitoring"
KPS_RELEASE = "kube-prometheus-stack"
DCGM_RELEASE = "dcgm-exporter"
NEURON_MONITOR = "neuron-monitor"
NEURON_MONITOR_PORT = 8000
#: The DCGM exporter chart's pod label (its selectorLabels) and container port name.
DCGM_POD_LABELS = {"app.kubernetes.io/name": "dcgm-exporter"}
DCGM_PORT = "metrics"
EBS_CSI_PROVISIONER = "ebs.csi.aws.com"
#: Knative Serving's config-observability keys servestack sets (knative-v1.21.2 config/core/configmaps/observability.yaml).
KNATIVE_OBSERVABILITY = {"request-metrics-protocol": "prometheus"}


# --------------------------------------------------------------------------- pure decisions


def storage_class(name: str) -> dict[str, Any]:
    """The encrypted gp3 StorageClass of Prometheus's volume (EBS CSI driver, a managed add-on)."""
    return {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": {"name": name, "labels": dict(monitoring.MANAGED_BY)},
            "provisioner": EBS_CSI_PROVISIONER, "parameters": {"type": "gp3", "encrypted": "true"},
            "reclaimPolicy": "Delete", "allowVolumeExpansion": True, "volumeBindingMode": "WaitForFirstConsumer"}


def kube_prometheus_stack_values(config: ObservabilityConfig, tier: str, system: PoolPlacement) -> dict[str, Any]:
    """Values of the kube-prometheus-stack chart: Prometheus and its operator sized for the tier on the managed CPU
    pool, selecting monitors and rules in every namespace (not only the release's). The subcharts (kube-state-metrics,
    node exporter) keep their defaults: their values are not in the vendored tree, so none is set."""
    on_system = {"nodeSelector": system.node_selector()}
    claim = {"spec": {"storageClassName": config.storage_class_name, "accessModes": ["ReadWriteOnce"],
                      "resources": {"requests": {"storage": config.effective_storage_size(tier)}}}}
    return {
        "alertmanager": {"enabled": config.alertmanager,
                         **({"alertmanagerSpec": on_system} if config.alertmanager else {})},
        "grafana": {"enabled": config.grafana, **(on_system if config.grafana else {})},
        "prometheusOperator": on_system,
        "prometheus": {"prometheusSpec": {
            **on_system,
            "retention": config.effective_retention(tier),
            "scrapeInterval": config.scrape_interval,
            "evaluationInterval": config.scrape_interval,
            "storageSpec": {"volumeClaimTemplate": claim},
            # Monitors and rules of every namespace, whatever their labels: endpoints' own and serving stacks'.
            "podMonitorSelectorNilUsesHelmValues": False,
            "serviceMonitorSelectorNilUsesHelmValues": False,
            "ruleSelectorNilUsesHelmValues": False,
        }},
    }


def dcgm_exporter_values(pools: list[PoolPlacement]) -> dict[str, Any]:
    """Values of the dcgm-exporter chart: on NVIDIA nodes only, tolerating exactly their pools' taints; the
    chart's ServiceMonitor is off (a PodMonitor with the pool label replaces it)."""
    return {"nodeSelector": node_selector(AcceleratorKind.NVIDIA), "tolerations": tolerations(pools),
            "serviceMonitor": {"enabled": False}}


def neuron_monitor_daemon_set(pools: list[PoolPlacement], image: str) -> dict[str, Any]:
    """neuron-monitor as the AWS Neuron SDK runs it on Kubernetes (its Prometheus exporter on port 8000), on
    Neuron nodes only, tolerating exactly their pools' taints. It reads the Neuron devices: privileged."""
    labels = {"app.kubernetes.io/name": NEURON_MONITOR, **monitoring.MANAGED_BY}
    return {
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": NEURON_MONITOR, "namespace": NAMESPACE, "labels": dict(sorted(labels.items())),
                     "annotations": {EXCEPTIONS_ANNOTATION: json.dumps(NEURON_MONITOR_EXCEPTIONS, sort_keys=True)}},
        "spec": {
            "selector": {"matchLabels": {"app.kubernetes.io/name": NEURON_MONITOR}},
            "template": {
                "metadata": {"labels": dict(sorted(labels.items()))},
                "spec": {
                    "nodeSelector": node_selector(AcceleratorKind.NEURON),
                    "tolerations": tolerations(pools),
                    "automountServiceAccountToken": False,
                    "containers": [{
                        "name": NEURON_MONITOR,
                        "image": image,
                        "imagePullPolicy": "IfNotPresent",
                        "command": ["/opt/bin/entrypoint.sh"],
                        "args": ["--port", str(NEURON_MONITOR_PORT)],
                        "ports": [{"name": "metrics", "containerPort": NEURON_MONITOR_PORT}],
                        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                                      "limits": {"cpu": "500m", "memory": "256Mi"}},
                        "securityContext": {"privileged": True, "seccompProfile": {"type": "RuntimeDefault"}},
                    }],
                },
            },
        },
    }


#: Checks of the restricted Pod Security Standard neuron-monitor cannot pass, and why (policy
#: ``pod-security-standards`` reads them from the DaemonSet's exceptions annotation).
NEURON_MONITOR_EXCEPTIONS = {
    "privileged": "reads the Neuron devices' counters through the Neuron runtime's device files, which AWS's "
                  "neuron-monitor DaemonSet for EKS opens privileged",
    "allowPrivilegeEscalation": "implied by privileged (Kubernetes refuses privileged with allowPrivilegeEscalation: false)",
    "capabilities": "a privileged container holds every capability; dropping them would not apply",
    "runAsNonRoot": "the Neuron device files are root-owned; AWS's image runs as root",
}


def exporter_monitors(placements: dict[str, PoolPlacement], interval: str) -> list[dict[str, Any]]:
    """The PodMonitors of the exporters the pools need (none without accelerator pools)."""
    found = []
    if pools_served(placements, AcceleratorKind.NVIDIA):
        found.append(monitoring.exporter_pod_monitor(DCGM_RELEASE, NAMESPACE, DCGM_POD_LABELS, DCGM_PORT, interval))
    if pools_served(placements, AcceleratorKind.NEURON):
        found.append(monitoring.exporter_pod_monitor(NEURON_MONITOR, NAMESPACE, {"app.kubernetes.io/name": NEURON_MONITOR},
                                                     "metrics", interval))
    return found


def pool_rules(placements: dict[str, PoolPlacement]) -> dict[str, Any] | None:
    """The PrometheusRule of the GPU pools (None without NVIDIA pools)."""
    groups = monitoring.gpu_pool_rule_groups([p.name for p in pools_served(placements, AcceleratorKind.NVIDIA)])
    if not groups:
        return None
    return {"apiVersion": monitoring.API_VERSION, "kind": "PrometheusRule",
            "metadata": {"name": "servestack-accelerator-pools", "namespace": NAMESPACE,
                         "labels": dict(monitoring.MANAGED_BY)},
            "spec": {"groups": groups}}


# --------------------------------------------------------------------------- component


@dataclass(frozen=True, kw_only=True)
class MetricsArgs:
    config: ObservabilityConfig
    tier: str
    placements: dict[str, PoolPlacement]
    system_pool: str
    """The managed CPU pool Prometheus and its operator run on."""
    provider: k8s.Provider
    cluster_name: pulumi.Input[str]
    cluster_arn: pulumi.Input[str]
    subnet_ids: pulumi.Input[list[str]]
    cluster_security_group_id: pulumi.Input[str]
    families: tuple[str, ...] = ()
    """The model families the cluster's own endpoints have (the AMP scraper's jobs)."""
    knative_ready: list[pulumi.Resource] | None = None
    """The platform installs after which Knative's ``config-observability`` exists; None without Knative."""
    tags: dict[str, str] = field(default_factory=dict)
    depends_on: list[pulumi.Resource] = field(default_factory=list)


class Metrics(pulumi.ComponentResource):
    """The metrics platform; :attr:`ready` is what endpoints' monitoring objects wait for."""

    ready: list[pulumi.Resource]
    workspace: aws.amp.Workspace | None
    handle: MetricsHandle

    def __init__(self, name: str, args: MetricsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("servestack:observability:Metrics", name, None, opts)
        self._name, self._args = name, args
        self._child = pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=args.depends_on)
        self.workspace = None
        namespace = k8s.core.v1.Namespace(f"{name}-ns", metadata=k8s.meta.v1.ObjectMetaArgs(
            name=NAMESPACE, labels={**monitoring.MANAGED_BY, "pod-security.kubernetes.io/enforce": "privileged"}),
            opts=self._child)
        installs: list[pulumi.Resource] = [namespace]
        if args.config.prometheus == "amp":
            installs += self._amp()
        else:
            installs += self._kube_prometheus_stack(namespace)
        self.ready = installs[-1:]
        installs += self._exporters(namespace, self.ready)
        self.knative_patch: list[pulumi.Resource] = []
        if args.knative_ready is not None:
            # Knative 1.21's queue-proxy exports no request metrics unless config-observability names a protocol
            # (request-metrics-protocol is "none" by default); "prometheus" serves them on its http-usermetric port.
            self.knative_patch.append(k8s.core.v1.ConfigMapPatch(
                f"{name}-knative-config-observability",
                metadata=k8s.meta.v1.ObjectMetaPatchArgs(name="config-observability", namespace="knative-serving",
                                                         annotations={"pulumi.com/patchForce": "true"}),
                data=KNATIVE_OBSERVABILITY, opts=self._opts(list(args.knative_ready))))
        self.handle = MetricsHandle(prometheus=args.config.prometheus, scrape_interval=args.config.scrape_interval,
                                    amp_workspace_id=self.workspace.id if self.workspace else None, ready=self.ready)
        self.register_outputs({"prometheus": args.config.prometheus,
                               "ampWorkspaceId": self.workspace.id if self.workspace else None})

    def _opts(self, depends_on: list[pulumi.Resource]) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, provider=self._args.provider, depends_on=[*self._args.depends_on, *depends_on])

    def _object(self, key: str, body: dict[str, Any], depends_on: list[pulumi.Resource]) -> k8s.apiextensions.CustomResource:
        return k8s.apiextensions.CustomResource(
            f"{self._name}-{key}", api_version=body["apiVersion"], kind=body["kind"],
            metadata=k8s.meta.v1.ObjectMetaArgs(**body["metadata"]), spec=body["spec"], opts=self._opts(depends_on))

    def _kube_prometheus_stack(self, namespace: pulumi.Resource) -> list[pulumi.Resource]:
        args = self._args
        sc = storage_class(args.config.storage_class_name)
        klass = k8s.storage.v1.StorageClass(
            f"{self._name}-storage-class", metadata=k8s.meta.v1.ObjectMetaArgs(**sc["metadata"]),
            provisioner=sc["provisioner"], parameters=sc["parameters"], reclaim_policy=sc["reclaimPolicy"],
            allow_volume_expansion=sc["allowVolumeExpansion"], volume_binding_mode=sc["volumeBindingMode"],
            opts=self._opts([]))
        pinned = versions.KUBE_PROMETHEUS_STACK
        release = k8s.helm.v3.Release(
            f"{self._name}-{KPS_RELEASE}", name=KPS_RELEASE, chart=pinned.name, version=pinned.version,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=pinned.source), namespace=NAMESPACE,
            values=kube_prometheus_stack_values(args.config, args.tier, args.placements[args.system_pool]),
            atomic=True, cleanup_on_fail=True, max_history=10, opts=self._opts([namespace, klass]))
        return [klass, release]

    def _amp(self) -> list[pulumi.Resource]:
        args = self._args
        self.workspace = aws.amp.Workspace(f"{self._name}-amp", alias=pulumi.Output.concat(args.cluster_name, "-metrics"),
                                           tags=args.tags, opts=pulumi.ResourceOptions(parent=self))
        rbac = amp_collector_rbac()
        role = k8s.rbac.v1.ClusterRole(f"{self._name}-amp-collector", metadata=rbac[0]["metadata"], rules=rbac[0]["rules"],
                                       opts=self._opts([]))
        binding = k8s.rbac.v1.ClusterRoleBinding(f"{self._name}-amp-collector", metadata=rbac[1]["metadata"],
                                                 role_ref=rbac[1]["roleRef"], subjects=rbac[1]["subjects"], opts=self._opts([role]))
        kinds = {p.kind for p in self._args.placements.values()}
        scraper = aws.amp.Scraper(
            f"{self._name}-amp-scraper", alias=pulumi.Output.concat(args.cluster_name, "-scraper"),
            source=aws.amp.ScraperSourceArgs(eks=aws.amp.ScraperSourceEksArgs(
                cluster_arn=args.cluster_arn, subnet_ids=args.subnet_ids,
                security_group_ids=[args.cluster_security_group_id])),
            destination=aws.amp.ScraperDestinationArgs(amp=aws.amp.ScraperDestinationAmpArgs(
                workspace_arn=self.workspace.arn)),
            scrape_configuration=scrape_configuration(args.config.scrape_interval, args.families,
                                                      nvidia=AcceleratorKind.NVIDIA in kinds,
                                                      neuron=AcceleratorKind.NEURON in kinds),
            tags=args.tags, opts=pulumi.ResourceOptions(parent=self, depends_on=[binding]))
        # The scraper reaches the Kubernetes API as its role (the AMP service-linked role), mapped to the user
        # the ClusterRoleBinding names.
        entry = aws.eks.AccessEntry(f"{self._name}-amp-scraper", cluster_name=args.cluster_name,
                                    principal_arn=scraper.role_arn, user_name=AMP_COLLECTOR_USER, type="STANDARD",
                                    tags=args.tags, opts=pulumi.ResourceOptions(parent=self))
        rules = pool_rules(args.placements)
        installed: list[pulumi.Resource] = [role, binding, scraper, entry]
        if rules is not None:
            installed.append(aws.amp.RuleGroupNamespace(
                f"{self._name}-amp-pool-rules", name="servestack-accelerator-pools", workspace_id=self.workspace.id,
                data=yaml.safe_dump(monitoring.rules_file(rules["spec"]["groups"]), sort_keys=False),
                opts=pulumi.ResourceOptions(parent=self)))
        return [*installed, self.workspace]

    def _exporters(self, namespace: pulumi.Resource, ready: list[pulumi.Resource]) -> list[pulumi.Resource]:
        args = self._args
        installed: list[pulumi.Resource] = []
        nvidia = pools_served(args.placements, AcceleratorKind.NVIDIA)
        if nvidia:
            pinned = versions.DCGM_EXPORTER
            installed.append(k8s.helm.v3.Release(
                f"{self._name}-{DCGM_RELEASE}", name=DCGM_RELEASE, chart=pinned.name, version=pinned.version,
                repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=pinned.source), namespace=NAMESPACE,
                values=dcgm_exporter_values(nvidia), cleanup_on_fail=True, opts=self._opts([namespace])))
        neuron = pools_served(args.placements, AcceleratorKind.NEURON)
        if neuron:
            body = neuron_monitor_daemon_set(neuron, args.config.neuron_monitor_image)
            installed.append(k8s.apps.v1.DaemonSet(f"{self._name}-{NEURON_MONITOR}", metadata=body["metadata"],
                                                   spec=body["spec"], opts=self._opts([namespace])))
        if args.config.prometheus == "kube-prometheus-stack":
            for monitor in exporter_monitors(args.placements, args.config.scrape_interval):
                installed.append(self._object(monitor["metadata"]["name"] + "-monitor", monitor, ready))
            rules = pool_rules(args.placements)
            if rules is not None:
                installed.append(self._object("pool-rules", rules, ready))
        return installed


# --------------------------------------------------------------------------- per endpoint


@dataclass(frozen=True, kw_only=True)
class EndpointMetricsArgs:
    endpoint: str
    namespace: str
    family: str
    """:data:`metrics.KNATIVE`, :data:`metrics.STANDARD` or :data:`metrics.LLM`."""
    metrics: MetricsHandle
    provider: k8s.Provider
    versions: tuple[str, str] | None = None
    """(stable, candidate) while a rollout is in progress."""
    depends_on: list[pulumi.Resource] = field(default_factory=list)


class EndpointMetrics(pulumi.ComponentResource):
    """One endpoint's scraping and rules: a PodMonitor and a PrometheusRule in its namespace
    (kube-prometheus-stack), or a rule groups namespace in the AMP workspace (the scraper finds the pods)."""

    def __init__(self, name: str, args: EndpointMetricsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("servestack:observability:EndpointMetrics", name, None, opts)
        handle = args.metrics
        child = pulumi.ResourceOptions(parent=self, provider=args.provider,
                                       depends_on=[*handle.ready, *args.depends_on])
        rule = monitoring.endpoint_prometheus_rule(args.endpoint, args.namespace, args.family, args.versions)
        self.objects: list[pulumi.Resource] = []
        if handle.prometheus == "amp":
            self.objects.append(aws.amp.RuleGroupNamespace(
                f"{name}-rules", name=f"{args.namespace}.{args.endpoint}", workspace_id=handle.amp_workspace_id,
                data=yaml.safe_dump(monitoring.rules_file(rule["spec"]["groups"]), sort_keys=False),
                opts=pulumi.ResourceOptions(parent=self)))
        else:
            monitor = monitoring.model_pod_monitor(args.endpoint, args.namespace, args.family, handle.scrape_interval)
            for key, body in (("monitor", monitor), ("rules", rule)):
                self.objects.append(k8s.apiextensions.CustomResource(
                    f"{name}-{key}", api_version=body["apiVersion"], kind=body["kind"],
                    metadata=k8s.meta.v1.ObjectMetaArgs(**body["metadata"]), spec=body["spec"], opts=child))
        self.register_outputs({"family": args.family})
