"""What one layer of the environment hands to the next: network -> cluster -> pools -> platform -> endpoints.

Every layer component exposes its handle as ``.handle``, and the components after it take handles
instead of reaching into each other:

- :class:`NetworkHandle`: the VPC and its subnets (:class:`~components.network.Network`, or the
  network the stack config names).
- :class:`ControlPlaneHandle`: the cluster's API, identity and Kubernetes provider
  (:class:`~components.cluster.Cluster`); :class:`OwnedControlPlaneHandle` adds what the stack that
  owns the control plane needs to attach nodes to it: the add-ons nodes wait for, the cluster
  security group, the service CIDR and how to install one more managed add-on (node pools, the
  node-dependent add-ons and Karpenter take this handle, never the Cluster component).
- :class:`NodePoolsHandle`: the pools' placements and node groups
  (:class:`~components.node_pools.NodePools`).
- :class:`ClusterHandle`: all of the above that the platform and endpoints build on. The
  own-cluster builder makes it once from the control plane, the pools, the add-ons and the device
  plugins; a cluster another stack owns (:class:`~components.referenced.ExistingCluster`) hands
  one over whole.
- :class:`PlatformHandle`: KServe and the endpoint namespaces
  (:class:`~components.platform.ServingPlatform` or :class:`~components.referenced.ExistingPlatform`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields

import pulumi
import pulumi_kubernetes as k8s

from .core.kserve_runtimes import Runtime
from .core.placement import PoolPlacement


@dataclass(frozen=True, kw_only=True)
class NetworkHandle:
    vpc_id: pulumi.Input[str]
    private_subnet_ids: pulumi.Input[list[str]]
    """Subnets of the nodes (and of the control plane's network interfaces)."""
    public_subnet_ids: pulumi.Input[list[str]]
    """Subnets of internet-facing load balancers and NAT gateways."""


@dataclass(frozen=True, kw_only=True)
class ControlPlaneHandle:
    name: pulumi.Input[str]
    endpoint: pulumi.Input[str]
    certificate_authority: pulumi.Input[str]
    oidc_provider_arn: pulumi.Input[str]
    """IAM OIDC provider of the cluster, for IRSA trust policies."""
    oidc_issuer: pulumi.Input[str]
    """Issuer host and path without ``https://`` (the condition key prefix in trust policies)."""
    partition: pulumi.Input[str]
    """AWS partition of the stack's account (``aws``, ``aws-cn``, ``aws-us-gov``), for ARNs in
    policies: looked up once per stack, not once per endpoint."""
    kubernetes_provider: k8s.Provider
    """Every Kubernetes resource of the stack is created through this provider."""


@dataclass(frozen=True, kw_only=True)
class OwnedControlPlaneHandle(ControlPlaneHandle):
    cluster_security_group_id: pulumi.Input[str]
    """The security group EKS creates for the cluster (nodes and control plane talk through it)."""
    service_ipv4_cidr: str
    """The cluster's service CIDR (a custom AMI's nodeadm config names it)."""
    node_addons: dict[str, pulumi.Resource]
    """Add-ons nodes need to become Ready (VPC CNI, kube-proxy, Pod Identity agent): node groups wait for them."""
    add_addon: Callable[..., pulumi.Resource]
    """``add_addon(name, addon, parent=None, depends_on=None)`` installs a further managed add-on at its
    pinned version, with its own IRSA role when it calls AWS (those that need nodes: coredns, EBS CSI)."""


@dataclass(frozen=True, kw_only=True)
class NodePoolsHandle:
    placements: dict[str, PoolPlacement]
    """Node pools by name, with the labels, taints and accelerators endpoints are placed by."""
    node_groups: list[pulumi.Resource]
    """The pools' node groups, in pool-name order."""


@dataclass(frozen=True, kw_only=True)
class ClusterHandle(ControlPlaneHandle):
    placements: dict[str, PoolPlacement]
    """Node pools by name, with the labels, taints and accelerators endpoints are placed by."""
    ready: list[pulumi.Resource] = field(default_factory=list)
    """The managed node groups and the add-ons: what the platform's charts (cert-manager, KServe, ...), which
    run on the managed system pool, wait for. Empty when another stack owns the cluster (it converged there)."""
    pool_ready: dict[str, list[pulumi.Resource]] = field(default_factory=dict)
    """Per pool, what a workload placed on it waits for besides :attr:`ready`: a Karpenter pool's controller and
    NodePool, an accelerator pool's device plugin. Only workloads wait for these, never the platform."""

    @classmethod
    def on(cls, control_plane: ControlPlaneHandle, *, placements: dict[str, PoolPlacement],
           ready: list[pulumi.Resource], pool_ready: dict[str, list[pulumi.Resource]] | None = None) -> ClusterHandle:
        """The control plane's handle with the pools placed on it and what makes it ready."""
        shared = {f.name: getattr(control_plane, f.name) for f in fields(ControlPlaneHandle)}
        return cls(**shared, placements=placements, ready=ready, pool_ready=dict(pool_ready or {}))


@dataclass(frozen=True, kw_only=True)
class PlatformHandle:
    deployment_mode: str
    """Default KServe deployment mode of endpoints: ``Knative`` or ``Standard``."""
    kserve_version: str
    """Version of the KServe that serves endpoints (standalone or Kubeflow's)."""
    namespaces: dict[str, pulumi.Resource]
    """Namespaces endpoints may use, by name, already labelled for KServe and the mesh."""
    runtimes: tuple[Runtime, ...] = ()
    """The platform's own ClusterServingRuntimes (``servestack:servingRuntimes``), by name, as KServe's
    runtime selection sees them: endpoints resolve their runtime over these and the built-in ones."""
    ready: list[pulumi.Resource] = field(default_factory=list)
    """The platform's last installs (KServe's runtimes, or Kubeflow's KServe layer): what must exist
    before an InferenceService is created. Each depends, through the install order, on everything
    installed before it and on the cluster's ``ready`` list, so waiting for these waits for all of
    it. Empty when another stack installed the platform."""


@dataclass(frozen=True, kw_only=True)
class MetricsHandle:
    """The cluster's metrics platform (:class:`~components.observability.Metrics`, or the one a referenced
    platform stack exports): where endpoints' monitoring objects go."""

    prometheus: str
    """``kube-prometheus-stack`` (PodMonitors and PrometheusRules in the cluster) or ``amp`` (rule groups in the
    workspace; the managed scraper finds the pods by label)."""
    scrape_interval: str
    amp_workspace_id: pulumi.Input[str] | None = None
    ready: list[pulumi.Resource] = field(default_factory=list)
    """The installs monitoring objects wait for (the Prometheus Operator's CRDs); empty when referenced."""

    def to_output(self) -> dict[str, pulumi.Input]:
        return {"prometheus": self.prometheus, "scrapeInterval": self.scrape_interval,
                "ampWorkspaceId": self.amp_workspace_id}
