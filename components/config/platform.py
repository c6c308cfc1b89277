"""``servestack:platform``: what model serving runs on inside the cluster."""

from __future__ import annotations

from typing import Literal

from .base import ConfigModel

DeploymentMode = Literal["Knative", "Standard"]


class KServeConfig(ConfigModel):
    """Standalone KServe (the charts of the version pinned in ``components.versions``)."""

    enabled: bool = True
    """Install KServe from its Helm charts. Default true."""
    deployment_mode: DeploymentMode = "Knative"
    """Default deployment mode of endpoints: ``Knative`` (scale to zero, revisions, canaries by
    ``canaryTrafficPercent``) or ``Standard`` (plain Deployments and HPA). Default ``Knative``."""


class PlatformConfig(ConfigModel):
    """The serving platform. Default: KServe in Knative mode, no Kubeflow."""

    kserve: KServeConfig = KServeConfig()
    """KServe settings. Default: enabled, Knative mode."""
