"""Efa: what LLM endpoints with ``efa: true`` need of the cluster, created once per stack.

- The EFA device plugin (``aws-efa-k8s-device-plugin`` from AWS's eks-charts, pinned in
  :mod:`components.core.versions`) in ``kube-system``, tolerating the taints of the pools whose
  endpoints use EFA: it advertises ``vpc.amazonaws.com/efa`` on nodes that have EFA interfaces.
  Karpenter attaches the instance type's EFA interfaces to a node launched for a pod that requests
  that resource (karpenter-provider-aws: ``efaCount`` in its launch template parameters).
- The security-group rule EFA needs: EFA traffic must be allowed to and from the security group
  itself. The EKS cluster security group (which Karpenter gives its nodes) already admits all
  traffic from itself; this adds the outbound rule to itself, so that EFA keeps working when the
  group's default outbound rule to 0.0.0.0/0 is narrowed.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from .core import versions
from .core.placement import PoolPlacement


@dataclass(frozen=True, kw_only=True)
class EfaArgs:
    pools: list[PoolPlacement]
    """The pools of the LLM endpoints that use EFA."""
    cluster_security_group_id: pulumi.Input[str]
    provider: k8s.Provider
    tags: dict[str, str]


def efa_plugin_values(pools: list[PoolPlacement]) -> dict:
    """The chart's values: tolerate exactly the taints of the EFA pools."""
    tolerations = sorted({tuple(sorted(t.toleration().items())) for p in pools for t in p.taints})
    return {"tolerations": [dict(t) for t in tolerations]}


class Efa(pulumi.ComponentResource):
    """The EFA device plugin and the cluster security group's outbound rule to itself."""

    def __init__(self, name: str, args: EfaArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("servestack:cluster:Efa", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.egress_to_self = aws.vpc.SecurityGroupEgressRule(
            f"{name}-egress-to-self",
            security_group_id=args.cluster_security_group_id,
            referenced_security_group_id=args.cluster_security_group_id,
            ip_protocol="-1",
            description="EFA: all traffic to the cluster security group itself",
            tags=args.tags,
            opts=child,
        )
        pin = versions.EFA_DEVICE_PLUGIN_CHART
        self.plugin = k8s.helm.v3.Release(
            f"{name}-device-plugin",
            name=pin.name,
            chart=pin.name,
            version=pin.version,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo="https://aws.github.io/eks-charts"),
            namespace="kube-system",
            values=efa_plugin_values(args.pools),
            cleanup_on_fail=True,
            opts=pulumi.ResourceOptions(parent=self, provider=args.provider),
        )
        self.register_outputs({"plugin": pin.name})
