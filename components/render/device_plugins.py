"""The device plugin objects servestack renders itself (pure): the DaemonSet of a plugin the stack
declares (FPGA's: no vendor publishes one for EC2 F2) and the NetworkPolicy that admits no traffic
to it, and the values of a chart the catalog pins (each kind's builder in ``core/plugin_values.py``).

A declared plugin learns the extended resource it must advertise from ``RESOURCE_NAME``; it runs only
on nodes labelled with its kind and tolerates exactly the taints of the pools it serves.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ..core import catalog
from ..core.catalog import AcceleratorKind
from ..core.placement import PoolPlacement
from ..core.pod_security import EXCEPTIONS_ANNOTATION
from ..core.plugin_values import PRIORITY_CLASS, node_selector, tolerations

NAMESPACE = "kube-system"
KUBELET_DEVICE_PLUGINS = "/var/lib/kubelet/device-plugins"


def pools_served(placements: dict[str, PoolPlacement], kind: AcceleratorKind) -> list[PoolPlacement]:
    return [placements[name] for name in sorted(placements) if placements[name].kind == kind]


def chart_values(kind: AcceleratorKind, pools: Sequence[PoolPlacement]) -> dict[str, Any]:
    """The Helm values of the chart the catalog pins for ``kind``, for the pools it serves."""
    plugin = catalog.ACCELERATORS[kind].plugin
    assert plugin is not None and plugin.values is not None, f"the catalog pins no chart with values for {kind}"
    return plugin.values(kind, pools)


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
