"""What one layer of the environment hands to the next: cluster -> platform -> endpoints.

The cluster layer fills a :class:`ClusterHandle` whether it created the cluster or took it
from another stack (StackReference); the platform layer fills a :class:`PlatformHandle`.
Components below take these instead of reaching into each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from .placement import PoolPlacement


@dataclass
class ClusterHandle:
    name: pulumi.Input[str]
    kubernetes_provider: k8s.Provider
    """Every Kubernetes resource of the stack is created through this provider."""
    oidc_provider_arn: pulumi.Input[str]
    """IAM OIDC provider of the cluster, for IRSA trust policies."""
    oidc_issuer: pulumi.Input[str]
    """Issuer host and path without ``https://`` (the condition key prefix in trust policies)."""
    partition: pulumi.Input[str]
    """AWS partition of the stack's account (``aws``, ``aws-cn``, ``aws-us-gov``), for ARNs in
    policies: looked up once per stack, not once per endpoint."""
    placements: dict[str, PoolPlacement]
    """Node pools by name, with the labels, taints and accelerators endpoints are placed by."""
    ready: list[pulumi.Resource] = field(default_factory=list)
    """Node groups and device plugins: what must exist before workloads are scheduled."""


@dataclass
class PlatformHandle:
    deployment_mode: str
    """Default KServe deployment mode of endpoints: ``Knative`` or ``Standard``."""
    kserve_version: str
    """Version of the KServe that serves endpoints (standalone or Kubeflow's)."""
    namespaces: dict[str, pulumi.Resource]
    """Namespaces endpoints may use, by name, already labelled for KServe and the mesh."""
    ready: list[pulumi.Resource] = field(default_factory=list)
    """The platform's last installs (KServe's runtimes, or Kubeflow's KServe layer): what must exist
    before an InferenceService is created. Each depends, through the install order, on everything
    installed before it and on the cluster's ``ready`` list, so waiting for these waits for all of
    it. Empty when another stack installed the platform."""
