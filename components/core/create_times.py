"""Typical create times per resource type: the weights of ``servestack deploy-path`` (one table).

A ``pulumi up`` from empty creates a resource once everything it depends on exists; the longest chain of
create times through the dependency graph (the critical path) is the least wall time the deployment takes.
These figures are typical, not measured on your account (assumption unless a source is named); the command
prints every figure it used so that a reviewer sees what the path assumes.
"""

from __future__ import annotations

#: Seconds per resource type token. Sources: EKS User Guide ("Create a cluster": the control plane takes
#: about 10 minutes), EKS managed node groups and add-ons (a few minutes to Active: assumption 180 s and 60 s),
#: NAT gateways (pulumi-aws waits for ``available``: about 2 minutes, assumption); Helm releases installed
#: ``atomic`` wait for their workloads to be ready (assumption: 60 s, 90 s for the charts with webhooks and
#: many CRDs); everything else is an API call that completes in seconds.
CREATE_SECONDS: dict[str, int] = {
    "aws:eks/cluster:Cluster": 600,
    "aws:eks/nodeGroup:NodeGroup": 180,
    "aws:eks/addon:Addon": 60,
    "aws:ec2/natGateway:NatGateway": 120,
    "aws:kms/key:Key": 10,
    "aws:sqs/queue:Queue": 30,
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": 5,
    "aws:eks/accessEntry:AccessEntry": 5,
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": 5,
    "kubernetes:helm.sh/v3:Release": 60,
    "kubernetes:helm.sh/v4:Chart": 60,
    "kubernetes:kustomize/v2:Directory": 60,
}

#: Helm releases that take longer than :data:`CREATE_SECONDS`'s default for a release (by release name suffix):
#: charts that install many CRDs and wait for webhook deployments (assumption).
SLOW_RELEASES: dict[str, int] = {"cert-manager": 90, "kserve-resources": 90, "istiod": 90, "karpenter": 90}

#: Any other resource (IAM roles and policies, subnets, Kubernetes objects): one API call.
DEFAULT_SECONDS = 2

#: Component resources and providers take no time of their own.
FREE_PREFIXES = ("pulumi:providers:", "pulumi:pulumi:Stack")


def create_seconds(type_: str, name: str = "") -> int:
    """The assumed create time of one resource."""
    if type_.startswith(FREE_PREFIXES):
        return 0
    if type_ == "kubernetes:helm.sh/v3:Release":
        for suffix, seconds in SLOW_RELEASES.items():
            if name.endswith(suffix):
                return seconds
    return CREATE_SECONDS.get(type_, DEFAULT_SECONDS)
