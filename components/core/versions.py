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
#: The EFA device plugin, which advertises vpc.amazonaws.com/efa on nodes whose EFA interfaces Karpenter
#: attached (LLM endpoints with ``efa: true``): aws/eks-charts at bfe91c4 (2026-07-21), image v0.5.20.
EFA_DEVICE_PLUGIN_CHART = Pinned(
    "aws-efa-k8s-device-plugin", "v0.5.30", "https://aws.github.io/eks-charts (chart aws-efa-k8s-device-plugin)"
)
NEURON_HELM_CHART = Pinned(
    "neuron-helm-chart", "1.7.0", "oci://public.ecr.aws/neuron/neuron-helm-chart (github.com/aws-neuron/neuron-helm-charts)"
)

# --- serving platform: cert-manager, KServe, Knative, Kubeflow (issue: serving platform) -----

# cert-manager: the Jetstack chart is the only supported source. v1.20.2 is the latest patch of
# the newest minor (release notes: cert-manager/website PR #2054, 2026-04).
CERT_MANAGER = Pinned("cert-manager", "v1.20.2", "https://charts.jetstack.io")

# KServe v0.20.0 (kserve/kserve PR #5962 "prepare release v0.20.0", 2026-08): three OCI charts,
# installed in this order. The controller chart is `kserve-resources` since v0.17.
KSERVE_CRD = Pinned("kserve-crd", "v0.20.0", "oci://ghcr.io/kserve/charts/kserve-crd")
KSERVE_RESOURCES = Pinned("kserve-resources", "v0.20.0", "oci://ghcr.io/kserve/charts/kserve-resources")
KSERVE_RUNTIME_CONFIGS = Pinned("kserve-runtime-configs", "v0.20.0", "oci://ghcr.io/kserve/charts/kserve-runtime-configs")

# Knative Serving for KServe's Knative mode. KServe's kserve-deps.env pins Knative Serving 1.21
# for this release line; 1.21.2 is its latest patch. Installed from the upstream release
# manifests (Knative publishes no Helm chart for Serving itself).
KNATIVE_SERVING = Pinned("knative-serving", "knative-v1.21.2", "https://github.com/knative/serving/releases/download")
KNATIVE_NET_KOURIER = Pinned("net-kourier", "knative-v1.21.1", "https://github.com/knative-extensions/net-kourier/releases/download")
KNATIVE_NET_ISTIO = Pinned("net-istio", "knative-v1.21.1", "https://github.com/knative-extensions/net-istio/releases/download")

# Istio, when Knative networks through it: KServe's kserve-deps.env ISTIO_VERSION.
ISTIO = Pinned("istio", "1.27.1", "https://istio-release.storage.googleapis.com/charts")

# Envoy Gateway (bundles the Gateway API CRDs): the Gateway API implementation of Standard mode and
# of LLM endpoints, installed once per cluster. KServe v0.20.0's kserve-deps.env pins
# ENVOY_GATEWAY_VERSION v1.8.1 and GATEWAY_API_VERSION v1.5.1, the bundle v1.8.1 ships (v1.7.2
# bundled Gateway API v1.4.1, older than LLMInferenceService's routing is tested with).
ENVOY_GATEWAY = Pinned("gateway-helm", "v1.8.1", "oci://docker.io/envoyproxy/gateway-helm")

# LLM endpoints (LLMInferenceService), installed only when a stack declares servestack:llmEndpoints,
# pinned as KServe v0.20.0's kserve-deps.env says (GIE_VERSION, LWS_VERSION).
KSERVE_LLMISVC_CRD = Pinned("kserve-llmisvc-crd", "v0.20.0", "oci://ghcr.io/kserve/charts/kserve-llmisvc-crd")
KSERVE_LLMISVC_RESOURCES = Pinned("kserve-llmisvc-resources", "v0.20.0", "oci://ghcr.io/kserve/charts/kserve-llmisvc-resources")
GATEWAY_API_INFERENCE_EXTENSION = Pinned(
    "gateway-api-inference-extension", "v1.5.0",
    "https://github.com/kubernetes-sigs/gateway-api-inference-extension/releases/download")
# Envoy AI Gateway: Envoy Gateway routes an HTTPRoute backend of kind InferencePool (the backend
# KServe's LLM routes name) only through an extension server; KServe v0.20.0's own setup
# (hack/setup/infra/manage.envoy-ai-gateway-helm.sh, ENVOY_AI_GATEWAY_VERSION in kserve-deps.env)
# installs Envoy AI Gateway v1.0.0, its CRDs chart then its controller chart, and reinstalls Envoy
# Gateway with the AI Gateway's values (manifests/envoy-gateway-values.yaml) plus the inference-pool
# addon (examples/inference-pool/envoy-gateway-values-addon.yaml), both at the same tag.
ENVOY_AI_GATEWAY_CRD = Pinned("ai-gateway-crds-helm", "v1.0.0", "oci://docker.io/envoyproxy/ai-gateway-crds-helm")
ENVOY_AI_GATEWAY = Pinned("ai-gateway-helm", "v1.0.0", "oci://docker.io/envoyproxy/ai-gateway-helm")
# LeaderWorkerSet, for multi-node LLM workloads only: the release's chart (registry.k8s.io/lws/charts/lws).
LWS = Pinned("lws", "0.8.0", "oci://registry.k8s.io/lws/charts/lws")

# Kubeflow AI reference platform 26.03 (kubeflow/website releases/kubeflow-26.03.md): manifests
# tag `26.03`, which bundles KServe v0.16.0 (with Knative 1.20.0, Istio 1.29.0).
KUBEFLOW_MANIFESTS = Pinned("kubeflow-manifests", "26.03", "https://github.com/kubeflow/manifests")
KUBEFLOW_KSERVE = Pinned("kserve (bundled by Kubeflow)", "v0.16.0", "https://github.com/kubeflow/manifests/tree/26.03/applications/kserve")

# --- endpoints: model server and helper images (issue: endpoints) ---------------------------

#: The KServe release whose InferenceService API (``serving.kserve.io/v1beta1``, including the
#: Standard-mode ``spec.canary[]`` of kserve/kserve#5672) the endpoints are rendered for and
#: validated against (KServe's own CRD, derived into tests/conformance/data by tools/vendor_upstream.py).
KSERVE_API = Pinned("kserve-inferenceservice-api", "v0.20.0", "https://github.com/kserve/kserve/releases/tag/v0.20.0")

#: The image of a rollout analysis's smoke Job (``rollout.analysis.smoke``): curl and a POSIX shell,
#: running as a non-root user (curl_user, uid 100). Tag = the curl release.
SMOKE_IMAGE = Pinned("curlimages/curl", "8.17.0", "https://hub.docker.com/r/curlimages/curl")

# --- node autoscaling: Karpenter (issue 13) ---------------------------------------------------
# Karpenter v1.14.1 (aws/karpenter-provider-aws): two OCI charts, the CRDs first (so that CRD
# upgrades are Helm-managed), then the controller with skipCrds. Their NodePool/EC2NodeClass v1
# APIs are what servestack renders, checked against the CRDs vendored in tests/conformance/data.
KARPENTER_CRD = Pinned("karpenter-crd", "1.14.1", "oci://public.ecr.aws/karpenter/karpenter-crd")
KARPENTER = Pinned("karpenter", "1.14.1", "oci://public.ecr.aws/karpenter/karpenter")
# The EKS-optimized AL2023 AMI release Karpenter nodes run (EC2NodeClass amiSelectorTerms alias
# ``al2023@<version>``; Karpenter picks the standard, NVIDIA or Neuron variant per instance type).
# Pinned, never ``latest``: a new AMI is a reviewed diff that Karpenter rolls out as drift.
EKS_AL2023_AMI = Pinned("amazon-eks-ami (al2023)", "v20260903", "https://github.com/awslabs/amazon-eks-ami/releases/tag/v20260903")
