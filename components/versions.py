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

# --- device plugins (issue: accelerated cluster) ---------------------------------------------

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

# Standard mode: Envoy Gateway (bundles the Gateway API CRDs) is the Gateway API implementation
# KServe tests Standard mode with (kserve-deps.env ENVOY_GATEWAY_VERSION).
ENVOY_GATEWAY = Pinned("gateway-helm", "v1.7.0", "oci://docker.io/envoyproxy/gateway-helm")

# Kubeflow AI reference platform 26.03 (kubeflow/website releases/kubeflow-26.03.md): manifests
# tag `26.03`, which bundles KServe v0.16.0 (with Knative 1.20.0, Istio 1.29.0).
KUBEFLOW_MANIFESTS = Pinned("kubeflow-manifests", "26.03", "https://github.com/kubeflow/manifests")
KUBEFLOW_KSERVE = Pinned("kserve (bundled by Kubeflow)", "v0.16.0", "https://github.com/kubeflow/manifests/tree/26.03/applications/kserve")

# --- endpoints: model server and helper images (issue: endpoints) ---------------------------
