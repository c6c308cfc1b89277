"""``servestack:platform``: what model serving runs on inside the cluster.

KServe is installed exactly once: either standalone from its Helm charts (``kserve``) or as
part of Kubeflow (``kubeflow``), which brings its own, older KServe. Which KServe serves the
endpoints, and which endpoint features it supports, is answered by the pure functions at the
bottom of this module so that the endpoints layer can check its features at validation time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from pydantic import Field

from ..core import versions
from .base import MISSING, ConfigModel, Finding

DeploymentMode = Literal["Knative", "Standard"]
KnativeNetworking = Literal["kourier", "istio"]

# Kubernetes namespace names (RFC 1123 label).
NAMESPACE_PATTERN = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
# Namespaces the platform itself owns; endpoints may not live there.
RESERVED_NAMESPACES = frozenset({
    "default", "kube-system", "kube-public", "kube-node-lease", "cert-manager", "kserve",
    "knative-serving", "kourier-system", "istio-system", "envoy-gateway-system", "kubeflow", "auth", "oauth2-proxy",
})


class KServeConfig(ConfigModel):
    """Standalone KServe (the charts of the version pinned in ``components.core.versions``)."""

    enabled: bool | None = None
    """Install KServe from its Helm charts. Default: on, unless Kubeflow is enabled (Kubeflow
    brings its own KServe, and KServe must be installed exactly once)."""
    deployment_mode: DeploymentMode = "Knative"
    """Default deployment mode of endpoints: ``Knative`` (scale to zero, revisions, canaries by
    ``canaryTrafficPercent``; installs Knative Serving) or ``Standard`` (plain Deployments and
    HPA, canaries by ``spec.canary[]``; installs Envoy Gateway and the Gateway API). Default
    ``Knative``."""


class KnativeConfig(ConfigModel):
    """Knative Serving, installed when endpoints run in ``Knative`` mode."""

    networking: KnativeNetworking = "kourier"
    """Networking layer of Knative: ``kourier`` (a lightweight Envoy ingress, no mesh) or
    ``istio`` (Istio from its Helm charts plus net-istio; endpoint namespaces get sidecar
    injection). Default ``kourier``."""


class KubeflowConfig(ConfigModel):
    """Kubeflow from its kustomize manifests at the release pinned in ``components.core.versions``."""

    enabled: bool = False
    """Install Kubeflow. It brings its own KServe (Knative mode), Knative, Istio and Dex, so the
    standalone KServe charts are then not installed. Default false."""
    manifests_repository: str = Field(default=versions.KUBEFLOW_MANIFESTS.source, pattern=r"^https://\S+$")
    """Git repository of the Kubeflow manifests, checked out at the pinned release tag. Point it at
    your fork to replace upstream's example Dex user and password, which production must not
    use. Default: the upstream ``kubeflow/manifests`` repository."""


class PlatformConfig(ConfigModel):
    """The serving platform. Default: cert-manager and KServe in Knative mode with Kourier, no
    Kubeflow, endpoints in the ``models`` namespace."""

    kserve: KServeConfig = KServeConfig()
    """KServe settings. Default: enabled (unless Kubeflow is), Knative mode."""
    knative: KnativeConfig = KnativeConfig()
    """Knative settings, used in Knative mode. Default: Kourier networking."""
    kubeflow: KubeflowConfig = KubeflowConfig()
    """Kubeflow settings. Default: not installed."""
    endpoint_namespaces: list[str] = Field(default=["models"], min_length=1)
    """Namespaces that endpoints may be created in, each created and labelled for KServe and the
    mesh. Default ``[models]``."""

    @property
    def kserve_standalone(self) -> bool:
        """Whether the standalone KServe charts are installed."""
        return (not self.kubeflow.enabled) if self.kserve.enabled is None else self.kserve.enabled

    @property
    def deployment_mode(self) -> str:
        """Default deployment mode of endpoints. Kubeflow's KServe runs in Knative mode."""
        return "Knative" if self.kubeflow.enabled else self.kserve.deployment_mode

    @property
    def knative_installed(self) -> bool:
        """Whether Knative Serving is installed: by Kubeflow, or for the standalone KServe in Knative mode
        (in Standard mode the platform installs Envoy Gateway and the Gateway API instead)."""
        return self.kubeflow.enabled or (self.kserve_standalone and self.kserve.deployment_mode == "Knative")

    @property
    def mesh(self) -> str | None:
        """The service mesh endpoint pods join: ``istio`` or None."""
        if self.kubeflow.enabled or (self.deployment_mode == "Knative" and self.knative.networking == "istio"):
            return "istio"
        return None

    def problems(self) -> list[Finding]:
        found: list[Finding] = []
        if self.kubeflow.enabled and self.kserve.enabled:
            found.append(Finding(
                ("kubeflow", "enabled"),
                "Kubeflow brings its own KServe and KServe must be installed exactly once: turn off "
                "servestack:platform.kserve.enabled (or remove it) when servestack:platform.kubeflow.enabled is true",
                True,
            ))
        if self.kserve.enabled is False and not self.kubeflow.enabled:
            found.append(Finding(
                ("kserve", "enabled"),
                "no KServe would serve the endpoints: enable servestack:platform.kserve.enabled or "
                "servestack:platform.kubeflow.enabled",
                False,
            ))
        if self.kubeflow.enabled and "deployment_mode" in self.kserve.model_fields_set and self.kserve.deployment_mode != "Knative":
            found.append(Finding(
                ("kserve", "deploymentMode"),
                f"Kubeflow's KServe {kubeflow_kserve_version()} runs in Knative mode; Standard mode needs "
                "the standalone KServe (servestack:platform.kubeflow.enabled false)",
                self.kserve.deployment_mode,
            ))
        for index, namespace in enumerate(self.endpoint_namespaces):
            if not re.match(NAMESPACE_PATTERN, namespace):
                found.append(Finding(("endpointNamespaces", index), "must be a Kubernetes namespace name "
                                     "(lower-case letters, digits and '-', at most 63 characters)", namespace))
            elif namespace in RESERVED_NAMESPACES:
                found.append(Finding(("endpointNamespaces", index), "is a namespace the platform or Kubernetes "
                                     "owns; allowed: any other name", namespace))
        duplicates = sorted({n for n in self.endpoint_namespaces if self.endpoint_namespaces.count(n) > 1})
        if duplicates:
            found.append(Finding(("endpointNamespaces",), "lists a namespace more than once", ", ".join(duplicates)))
        return found


# --------------------------------------------------------------------------- KServe features
# What the endpoints layer may ask of KServe, and the first KServe release that supports it.


@dataclass(frozen=True)
class KServeFeature:
    name: str
    min_version: str
    """First KServe release with the feature (``v0.20.0``)."""
    description: str


KSERVE_FEATURES: dict[str, KServeFeature] = {
    f.name: f
    for f in (
        KServeFeature("knativeCanary", "v0.7.0",
                      "Knative-mode canary rollout by spec.predictor.canaryTrafficPercent"),
        KServeFeature("standardCanary", "v0.20.0",
                      "Standard-mode canary rollout by spec.canary[] with trafficPercent"),
    )
}


def parse_version(version: str) -> tuple[int, int, int]:
    """``v0.20.0`` -> ``(0, 20, 0)``; pre-release suffixes are ignored."""
    match = re.match(r"^v?(\d+)\.(\d+)\.(\d+)", version)
    if match is None:
        raise ValueError(f"not a release version: {version!r}")
    return int(match[1]), int(match[2]), int(match[3])


def kubeflow_kserve_version() -> str:
    """The KServe version the pinned Kubeflow release bundles."""
    return versions.KUBEFLOW_KSERVE.version


def platform_kserve_version(config: PlatformConfig) -> str:
    """The version of the KServe that serves endpoints: the standalone charts' or Kubeflow's."""
    return kubeflow_kserve_version() if config.kubeflow.enabled else versions.KSERVE_RESOURCES.version


def kserve_supports(config: PlatformConfig, feature: str) -> bool:
    """Whether the platform's KServe has ``feature`` (a key of :data:`KSERVE_FEATURES`)."""
    needed = KSERVE_FEATURES[feature].min_version
    return parse_version(platform_kserve_version(config)) >= parse_version(needed)


def feature_finding(config: PlatformConfig, feature: str, loc: tuple, value=MISSING) -> Finding | None:
    """A validation finding at ``loc`` when the platform's KServe is too old for ``feature``.

    The endpoints layer calls this for every feature an endpoint uses, so that the problem is
    reported with the endpoint's config path before anything is created.
    """
    if kserve_supports(config, feature):
        return None
    spec = KSERVE_FEATURES[feature]
    source = f"Kubeflow {versions.KUBEFLOW_MANIFESTS.version}'s KServe" if config.kubeflow.enabled else "KServe"
    return Finding(loc, f"{spec.description} needs KServe {spec.min_version} or newer; "
                        f"the platform runs {source} {platform_kserve_version(config)}", value)
