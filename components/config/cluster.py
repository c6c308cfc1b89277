"""``servestack:cluster``: the EKS control plane, or a cluster that another stack owns."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .base import ConfigModel


class ClusterConfig(ConfigModel):
    """The EKS control plane. Defaults are the secure ones; every relaxation is a setting."""

    kubernetes_version: str = Field(default="1.34", pattern=r"^1\.\d{2}$")
    """Kubernetes minor version of the control plane. Default ``1.34``."""
    support_type: Literal["STANDARD", "EXTENDED"] = "STANDARD"
    """EKS support policy once the version leaves standard support. ``EXTENDED`` costs six times
    as much per hour, so it is never the default. Default ``STANDARD``."""
