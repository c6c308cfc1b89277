"""Every external version servestack installs, in one place, each with where it comes from.

Changing a version is a one-line diff here, and ``servestack plan`` shows which resources it
moves. Nothing else in the code base may spell a chart version, image tag or manifest release.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Pinned:
    """One pinned artifact: a Helm chart, a container image or a manifest release."""

    name: str
    version: str
    source: str
    """Where the artifact is published (chart repository, registry or release page)."""


# --- EKS control plane and managed add-ons (issue: accelerated cluster) -------------------
# Kubernetes 1.35 reached EKS on 2026-01-28; standard support until 2027-03-27 (1.34: until
# 2026-12-02). Source: https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html
DEFAULT_KUBERNETES_VERSION = "1.35"

_ADDON_SOURCE = "aws eks describe-addon-versions --kubernetes-version {k8s} --addon-name {name}"


def _addons(k8s: str, **pins: str) -> dict[str, Pinned]:
    return {
        name.replace("_", "-"): Pinned(name.replace("_", "-"), version, _ADDON_SOURCE.format(k8s=k8s, name=name.replace("_", "-")))
        for name, version in sorted(pins.items())
    }


#: EKS managed add-on versions per Kubernetes minor version (kube-proxy follows the minor).
#: The default versions EKS reported for each minor in October 2026.
EKS_ADDONS: dict[str, dict[str, Pinned]] = {
    "1.34": _addons(
        "1.34",
        vpc_cni="v1.22.4-eksbuild.3",
        coredns="v1.13.2-eksbuild.11",
        kube_proxy="v1.34.6-eksbuild.18",
        eks_pod_identity_agent="v1.3.10-eksbuild.3",
        aws_ebs_csi_driver="v1.63.0-eksbuild.1",
    ),
    "1.35": _addons(
        "1.35",
        vpc_cni="v1.22.4-eksbuild.3",
        coredns="v1.13.2-eksbuild.31",
        kube_proxy="v1.35.3-eksbuild.29",
        eks_pod_identity_agent="v1.3.10-eksbuild.3",
        aws_ebs_csi_driver="v1.64.0-eksbuild.1",
    ),
}

# --- device plugins (issue: accelerated cluster) ---------------------------------------------
NVIDIA_DEVICE_PLUGIN_CHART = Pinned(
    "nvidia-device-plugin", "0.20.0", "https://nvidia.github.io/k8s-device-plugin (chart nvidia-device-plugin)"
)
NEURON_HELM_CHART = Pinned(
    "neuron-helm-chart", "1.7.0", "oci://public.ecr.aws/neuron/neuron-helm-chart (github.com/aws-neuron/neuron-helm-charts)"
)

# --- serving platform: cert-manager, KServe, Knative, Kubeflow (issue: serving platform) -----

# --- endpoints: model server and helper images (issue: endpoints) ---------------------------
