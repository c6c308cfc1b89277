"""Kubeflow's install, as servestack applies it: the kustomize targets of the pinned manifests
tag, in layers, in upstream's order. Pure Python; :class:`components.platform.ServingPlatform`
applies the layers, each after the whole layer before it.
"""

from __future__ import annotations

# Kubeflow's manifests at tag 26.03: the targets of upstream's single-command install
# (example/kustomization.yaml at that tag), grouped in layers in the order its README installs
# them; each layer needs the one before (CRDs and namespaces, then the mesh, then what runs in it).
# Every target is a directory with a kustomization at the tag (the conformance tests check them
# against the tag's path list). Left out on purpose:
# - common/cert-manager/overlays/kubeflow: it installs cert-manager itself (../../base); the Helm
#   release below is the cluster's one cert-manager. What the overlay adds is not needed: its
#   ClusterIssuer kubeflow-self-signing-issuer (formerly common/cert-manager/kubeflow-issuer/base,
#   moved here by kubeflow/manifests#3342) is referenced by no kustomization at 26.03 (every
#   component creates its own namespaced self-signed Issuer), and its two NetworkPolicies only
#   restrict ingress into the cert-manager namespace.
# - common/networkpolicies/base: gone at 26.03; kubeflow/manifests#3342 moved each policy into the
#   target of its namespace, all applied here (kubeflow-namespace/base for kubeflow and
#   kubeflow-system, istio-namespace/base, knative-serving via overlays/gateways, oauth2-proxy via
#   overlays/m2m-dex-only, dex/overlays/oauth2-proxy for auth), except cert-manager's (see above).
# - common/user-namespace/base: the example user's profile (user@example.com), not a platform part.
KUBEFLOW_LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("foundation", (
        "common/kubeflow-namespace/base",
        "common/istio/istio-crds/base",
        "common/istio/istio-namespace/base",
    )),
    ("mesh", ("common/istio/istio-install/overlays/oauth2-proxy",)),
    ("auth", ("common/oauth2-proxy/overlays/m2m-dex-only", "common/dex/overlays/oauth2-proxy")),
    ("knative", ("common/knative/knative-serving/overlays/gateways", "common/istio/cluster-local-gateway/base")),
    ("platform", (
        "common/kubeflow-roles/base",
        "common/istio/kubeflow-istio-resources/base",
    )),
    ("kserve", ("applications/kserve/kserve", "applications/kserve/models-web-app/overlays/kubeflow")),
    # The pipeline, profiles and trainer targets are example/kustomization.yaml's overlays of the
    # upstream bases: KFP's pipeline-install-config security context, Pod Security labels on
    # profile namespaces, and the trainer's webhook port excluded from the Istio sidecar.
    ("applications", (
        "applications/pipeline/overlays",
        "applications/katib/upstream/installs/katib-with-kubeflow",
        "applications/centraldashboard/overlays/oauth2-proxy",
        "applications/admission-webhook/upstream/overlays/cert-manager",
        "applications/jupyter/notebook-controller/upstream/overlays/kubeflow",
        "applications/jupyter/jupyter-web-app/upstream/overlays/istio",
        "applications/pvcviewer-controller/upstream/base",
        "applications/profiles/pss",
        "applications/volumes-web-app/upstream/overlays/istio",
        "applications/tensorboard/tensorboards-web-app/upstream/overlays/istio",
        "applications/tensorboard/tensorboard-controller/upstream/overlays/kubeflow",
        "applications/trainer/overlays",
        "applications/spark/spark-operator/overlays/kubeflow",
    )),
)
# The layer after which Kubeflow's KServe serves InferenceServices.
KUBEFLOW_KSERVE_LAYER = "kserve"
KUBEFLOW_KNATIVE_LAYER = "knative"


def kubeflow_directory(repository: str, path: str, ref: str) -> str:
    """A kustomize remote target: ``<repo>//<path>?ref=<tag>``."""
    return f"{repository.rstrip('/')}//{path}?ref={ref}"


def kubeflow_short_name(path: str) -> str:
    """``applications/kserve/kserve`` -> ``kserve-kserve``: the resource name of one kustomization."""
    return path.split("/", 1)[1].replace("/", "-")


def kubeflow_layers(repository: str, ref: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """(layer, [(short name, kustomize target)]) in install order."""
    return [
        (layer, [(kubeflow_short_name(path), kubeflow_directory(repository, path, ref)) for path in paths])
        for layer, paths in KUBEFLOW_LAYERS
    ]
