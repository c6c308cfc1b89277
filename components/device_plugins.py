"""Accelerator device plugins: installed only where a pool needs them, nowhere else.

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

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from . import catalog, versions
from .catalog import AcceleratorKind
from .placement import PoolPlacement

NAMESPACE = "kube-system"
PRIORITY_CLASS = "system-node-critical"
KUBELET_DEVICE_PLUGINS = "/var/lib/kubelet/device-plugins"
NVIDIA_REPOSITORY = "https://nvidia.github.io/k8s-device-plugin"
NEURON_CHART = "oci://public.ecr.aws/neuron/neuron-helm-chart"
FPGA_PLUGIN_NAME = catalog.DevicePlugin.FPGA.value


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


def fpga_daemon_set(pools: list[PoolPlacement], image: str, resource_name: str) -> dict[str, Any]:
    """The FPGA device plugin DaemonSet, as a Kubernetes object."""
    labels = {"app.kubernetes.io/name": FPGA_PLUGIN_NAME, "app.kubernetes.io/managed-by": "servestack"}
    selector = {"app.kubernetes.io/name": FPGA_PLUGIN_NAME}
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": FPGA_PLUGIN_NAME, "namespace": NAMESPACE, "labels": labels},
        "spec": {
            "selector": {"matchLabels": selector},
            "updateStrategy": {"type": "RollingUpdate"},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "priorityClassName": PRIORITY_CLASS,
                    "nodeSelector": node_selector(AcceleratorKind.FPGA),
                    "tolerations": tolerations(pools),
                    "automountServiceAccountToken": False,
                    "containers": [{
                        "name": FPGA_PLUGIN_NAME,
                        "image": image,
                        "imagePullPolicy": "IfNotPresent",
                        "env": [{"name": "RESOURCE_NAME", "value": resource_name}],
                        "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "64Mi"}},
                        "securityContext": {
                            "allowPrivilegeEscalation": False,
                            "readOnlyRootFilesystem": True,
                            "capabilities": {"drop": ["ALL"]},
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


# ----------------------------------------------------------------------------- component


class FpgaPlugin:
    """The FPGA device plugin a stack declares (image and the resource it advertises)."""

    def __init__(self, image: str, resource_name: str):
        self.image = image
        self.resource_name = resource_name


class DevicePluginsArgs:
    def __init__(self, placements: dict[str, PoolPlacement], provider: k8s.Provider, fpga: FpgaPlugin | None = None,
                 depends_on: list[pulumi.Resource] | None = None):
        self.placements = placements
        self.provider = provider
        self.fpga = fpga
        """Required when a pool is an FPGA pool."""
        self.depends_on = depends_on or []


class DevicePlugins(pulumi.ComponentResource):
    """The device plugin of every accelerator kind the pools have, keyed by plugin name."""

    plugins: dict[str, pulumi.CustomResource]

    def __init__(self, name: str, args: DevicePluginsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("servestack:device_plugins:DevicePlugins", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=args.depends_on)
        self.plugins = {}

        nvidia = pools_served(args.placements, AcceleratorKind.NVIDIA)
        if nvidia:
            chart = versions.NVIDIA_DEVICE_PLUGIN_CHART
            self.plugins[catalog.DevicePlugin.NVIDIA.value] = k8s.helm.v3.Release(
                f"{name}-nvidia",
                name=catalog.DevicePlugin.NVIDIA.value,
                chart=chart.name,
                version=chart.version,
                repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=NVIDIA_REPOSITORY),
                namespace=NAMESPACE,
                values=nvidia_values(nvidia),
                cleanup_on_fail=True,
                opts=child,
            )

        neuron = pools_served(args.placements, AcceleratorKind.NEURON)
        if neuron:
            chart = versions.NEURON_HELM_CHART
            self.plugins[catalog.DevicePlugin.NEURON.value] = k8s.helm.v3.Release(
                f"{name}-neuron",
                name=catalog.DevicePlugin.NEURON.value,
                chart=NEURON_CHART,
                version=chart.version,
                namespace=NAMESPACE,
                values=neuron_values(neuron),
                cleanup_on_fail=True,
                opts=child,
            )

        fpga = pools_served(args.placements, AcceleratorKind.FPGA)
        if fpga:
            if args.fpga is None:
                raise ValueError(f"FPGA pools {', '.join(p.name for p in fpga)} need an FPGA device plugin (image and resource name)")
            manifest = fpga_daemon_set(fpga, args.fpga.image, args.fpga.resource_name)
            self.plugins[FPGA_PLUGIN_NAME] = k8s.apps.v1.DaemonSet(
                f"{name}-fpga",
                metadata=manifest["metadata"],
                spec=manifest["spec"],
                opts=child,
            )

        self.register_outputs({"plugins": sorted(self.plugins)})
