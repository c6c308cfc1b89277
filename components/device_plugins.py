"""Accelerator device plugins: installed only where a pool needs them, nowhere else.

The catalog says which plugin each accelerator kind has (:attr:`catalog.Accelerator.plugin`):
a Helm chart servestack pins, installed by one release builder with the kind's values from
:data:`CHART_VALUES`, or a plugin the stack declares, run as a DaemonSet of the stack's image.
Each plugin serves the pools of one accelerator kind. It tolerates exactly the taints of those
pools (no blanket ``operator: Exists``) and runs only on nodes labelled with its kind
(``servestack.io/accelerator``), so it never lands on a CPU node or another kind's node.

- NVIDIA: the ``nvidia-device-plugin`` Helm chart. Its default affinity expects labels from
  Node Feature Discovery, which servestack does not install; it is replaced by the catalog label.
- Neuron: the ``neuron-helm-chart`` (device plugin only). Its node problem detector tolerates
  every taint of every node and its scheduler extension is optional, so both are off. The chart
  builds the plugin's node affinity itself, from ``neuronInstances`` (instance type In that list);
  its values have no ``devicePlugin.affinity`` to replace it (tests/conformance/data). So
  ``neuronInstances`` is set to exactly the instance types of the Neuron pools (the chart's own
  list lacks newer ones, such as trn2: their nodes would get no plugin) and
  ``devicePlugin.nodeSelector`` to the catalog label. (The vendored values are main at the commit
  the upstream set holds, whose Chart.yaml says 1.0.0; later charts add a ``devicePlugin.affinity``
  whose default fills in ``neuronInstances`` the same way, so these values place the plugin alike.)
- FPGA: a DaemonSet of the image the stack declares; no vendor publishes a plugin for EC2 F2.
  The image learns the extended resource it must advertise from ``RESOURCE_NAME``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from .core import catalog
from .core.catalog import AcceleratorKind
from .core.placement import PoolPlacement
from .core.pod_security import EXCEPTIONS_ANNOTATION

NAMESPACE = "kube-system"
PRIORITY_CLASS = "system-node-critical"
KUBELET_DEVICE_PLUGINS = "/var/lib/kubelet/device-plugins"


# ----------------------------------------------------------------------------- pure decisions


def pools_served(placements: dict[str, PoolPlacement], kind: AcceleratorKind) -> list[PoolPlacement]:
    return [placements[name] for name in sorted(placements) if placements[name].kind is kind]


def tolerations(pools: list[PoolPlacement]) -> list[dict[str, str]]:
    """Exactly the taints of the pools served, once each, in a stable order."""
    unique = {(t["key"], t["value"], t["effect"]): t for pool in pools for t in pool.tolerations()}
    return [unique[k] for k in sorted(unique)]


def node_selector(kind: AcceleratorKind) -> dict[str, str]:
    return {catalog.ACCELERATOR_LABEL: kind.value}


def node_affinity(kind: AcceleratorKind) -> dict[str, Any]:
    """Required node affinity on the catalog label (replaces a chart's default affinity)."""
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": catalog.ACCELERATOR_LABEL, "operator": "In", "values": [kind.value]}]},
    ]}}}


def nvidia_values(pools: list[PoolPlacement]) -> dict[str, Any]:
    return {
        "affinity": node_affinity(AcceleratorKind.NVIDIA),
        "nodeSelector": node_selector(AcceleratorKind.NVIDIA),
        "tolerations": tolerations(pools),
        "priorityClassName": PRIORITY_CLASS,
        "gfd": {"enabled": False},
    }


def neuron_instance_types(pools: list[PoolPlacement]) -> list[str]:
    """The instance types of the pools served, sorted: the chart's ``neuronInstances``, from which it
    builds the plugin's node affinity (``node.kubernetes.io/instance-type`` In the list)."""
    return sorted({t for pool in pools for t in pool.instance_types})


def neuron_values(pools: list[PoolPlacement]) -> dict[str, Any]:
    return {
        "neuronInstances": neuron_instance_types(pools),
        "devicePlugin": {
            "nodeSelector": node_selector(AcceleratorKind.NEURON),
            "tolerations": tolerations(pools),
            "priorityClassName": PRIORITY_CLASS,
        },
        "npd": {"enabled": False},
        "scheduler": {"enabled": False},
    }


#: Helm values of each kind whose device plugin is a chart: the pools it serves -> the values.
CHART_VALUES: dict[AcceleratorKind, Callable[[list[PoolPlacement]], dict[str, Any]]] = {
    AcceleratorKind.NVIDIA: nvidia_values,
    AcceleratorKind.NEURON: neuron_values,
}


#: Checks of manifest scanners (Checkov's ids) that a device plugin cannot pass, and why; the
#: DaemonSet carries them as Checkov's skip annotations so that a scan documents them.
UNAVOIDABLE_FINDINGS = {
    "CKV_K8S_8": "no liveness probe: a device plugin serves gRPC on a unix socket to the kubelet, which re-registers "
                 "it when it restarts; there is no HTTP or TCP endpoint to probe",
    "CKV_K8S_9": "no readiness probe: the kubelet learns readiness from the plugin's registration on its socket",
    "CKV_K8S_23": "runs as root: it creates its socket in the kubelet's root-owned /var/lib/kubelet/device-plugins "
                  "and opens the FPGA devices under /dev (privileged access to the device, through hostPath)",
    "CKV_K8S_40": "runs as UID 0, for the same reason as CKV_K8S_23",
    "CKV_K8S_15": "imagePullPolicy IfNotPresent: the image is pinned, so Always would only make node start-up "
                  "depend on the registry",
}


#: Checks of the restricted Pod Security Standard a device plugin cannot pass, and why: the DaemonSet
#: carries them as servestack's exceptions annotation (policy ``pod-security-standards`` reads it).
POD_SECURITY_EXCEPTIONS = {
    "hostPath": "mounts the kubelet's /var/lib/kubelet/device-plugins (where it registers over a unix socket) and "
                "/dev (the FPGA devices) from the node: a device plugin's job",
    "runAsNonRoot": "runs as root: it creates its socket in the kubelet's root-owned directory and opens the "
                    "root-owned device files under /dev",
}


def unavoidable_findings(image: str) -> dict[str, str]:
    """Checkov skip annotations (``checkov.io/skipN: <id>=<why>``) of a declared plugin's DaemonSet."""
    findings = dict(UNAVOIDABLE_FINDINGS)
    if "@sha256:" not in image:
        findings["CKV_K8S_43"] = ("the stack gives the image by tag, not digest (prod stacks must give a digest: "
                                  "policy declared-plugin-image-digest)")
    return {f"checkov.io/skip{i}": f"{check}={why}" for i, (check, why) in enumerate(sorted(findings.items()), start=1)}


def declared_daemon_set(kind: AcceleratorKind, pools: list[PoolPlacement], image: str, resource_name: str) -> dict[str, Any]:
    """The DaemonSet of a device plugin the stack declares (FPGA's), as a Kubernetes object."""
    plugin_name = catalog.ACCELERATORS[kind].plugin.name.value
    labels = {"app.kubernetes.io/name": plugin_name, "app.kubernetes.io/managed-by": "servestack"}
    selector = {"app.kubernetes.io/name": plugin_name}
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": plugin_name, "namespace": NAMESPACE, "labels": labels,
                     "annotations": {**unavoidable_findings(image),
                                     EXCEPTIONS_ANNOTATION: json.dumps(POD_SECURITY_EXCEPTIONS, sort_keys=True)}},
        "spec": {
            "selector": {"matchLabels": selector},
            "updateStrategy": {"type": "RollingUpdate"},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "priorityClassName": PRIORITY_CLASS,
                    "nodeSelector": node_selector(kind),
                    "tolerations": tolerations(pools),
                    "automountServiceAccountToken": False,
                    "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [{
                        "name": plugin_name,
                        "image": image,
                        "imagePullPolicy": "IfNotPresent",
                        "env": [{"name": "RESOURCE_NAME", "value": resource_name}],
                        "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"cpu": "100m", "memory": "64Mi"}},
                        "securityContext": {
                            "allowPrivilegeEscalation": False,
                            "readOnlyRootFilesystem": True,
                            "capabilities": {"drop": ["ALL"]},
                            "seccompProfile": {"type": "RuntimeDefault"},
                        },
                        "volumeMounts": [
                            {"name": "device-plugins", "mountPath": KUBELET_DEVICE_PLUGINS},
                            {"name": "dev", "mountPath": "/dev", "readOnly": True},
                        ],
                    }],
                    "volumes": [
                        {"name": "device-plugins", "hostPath": {"path": KUBELET_DEVICE_PLUGINS, "type": "Directory"}},
                        {"name": "dev", "hostPath": {"path": "/dev", "type": "Directory"}},
                    ],
                },
            },
        },
    }


def declared_network_policy(kind: AcceleratorKind) -> dict[str, Any]:
    """A NetworkPolicy that admits no traffic to or from a declared plugin's pods: a device plugin
    talks to the kubelet over a unix socket under /var/lib/kubelet and needs no pod network. (It takes
    effect where the cluster enforces NetworkPolicies; elsewhere it is inert and harmless.)"""
    plugin_name = catalog.ACCELERATORS[kind].plugin.name.value
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": plugin_name, "namespace": NAMESPACE,
                     "labels": {"app.kubernetes.io/name": plugin_name, "app.kubernetes.io/managed-by": "servestack"}},
        "spec": {"podSelector": {"matchLabels": {"app.kubernetes.io/name": plugin_name}},
                 "policyTypes": ["Ingress", "Egress"]},
    }


# ----------------------------------------------------------------------------- component


@dataclass(frozen=True, kw_only=True)
class DeclaredPlugin:
    """A device plugin the stack declares (the catalog has no chart for its kind): the image and
    the extended resource it advertises."""

    image: str
    resource_name: str


@dataclass(frozen=True, kw_only=True)
class DevicePluginsArgs:
    placements: dict[str, PoolPlacement]
    provider: k8s.Provider
    declared: dict[AcceleratorKind, DeclaredPlugin] = field(default_factory=dict)
    """The plugin of each kind the stack declares; required for such a kind's pools (FPGA)."""
    depends_on: list[pulumi.Resource] = field(default_factory=list)


class DevicePlugins(pulumi.ComponentResource):
    """The device plugin of every accelerator kind the pools have, keyed by plugin name."""

    plugins: dict[str, pulumi.CustomResource]

    def __init__(self, name: str, args: DevicePluginsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("servestack:device_plugins:DevicePlugins", name, None, opts)
        self._name = name
        self._child = pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=args.depends_on)
        self.plugins = {}
        for kind in catalog.DEVICE_KINDS:
            served = pools_served(args.placements, kind)
            if not served:
                continue
            plugin = catalog.ACCELERATORS[kind].plugin
            if plugin.declared_by_stack:
                self.plugins[plugin.name.value] = self._daemon_set(kind, served, args.declared.get(kind))
            else:
                self.plugins[plugin.name.value] = self._release(kind, plugin, served)
        self.register_outputs({"plugins": sorted(self.plugins)})

    def _release(self, kind: AcceleratorKind, plugin: catalog.PluginSpec, served: list[PoolPlacement]) -> k8s.helm.v3.Release:
        """The Helm release of a plugin the catalog pins, with the kind's values."""
        return k8s.helm.v3.Release(
            f"{self._name}-{kind.value}",
            name=plugin.name.value,
            chart=plugin.chart,
            version=plugin.pin.version,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=plugin.repository) if plugin.repository else None,
            namespace=NAMESPACE,
            values=CHART_VALUES[kind](served),
            cleanup_on_fail=True,
            opts=self._child,
        )

    def _daemon_set(self, kind: AcceleratorKind, served: list[PoolPlacement],
                    declared: DeclaredPlugin | None) -> k8s.apps.v1.DaemonSet:
        """The DaemonSet of a plugin the stack declares."""
        if declared is None:
            title = catalog.ACCELERATORS[kind].title
            raise ValueError(f"{title} pools {', '.join(p.name for p in served)} need an {title} device plugin "
                             "(image and resource name)")
        manifest = declared_daemon_set(kind, served, declared.image, declared.resource_name)
        policy = declared_network_policy(kind)
        k8s.networking.v1.NetworkPolicy(f"{self._name}-{kind.value}-network-policy", metadata=policy["metadata"],
                                        spec=policy["spec"], opts=self._child)
        return k8s.apps.v1.DaemonSet(
            f"{self._name}-{kind.value}",
            metadata=manifest["metadata"],
            spec=manifest["spec"],
            opts=self._child,
        )
