"""The EKS control plane, its identity plumbing and managed add-ons, or a cluster another stack owns.

:class:`Cluster` creates the control plane (IAM role, KMS envelope encryption, all control-plane
logs, API authentication with access entries, endpoint access per environment), the IAM OIDC
provider for IRSA, the add-ons nodes need to join (vpc-cni, kube-proxy, eks-pod-identity-agent)
and the Kubernetes provider that everything inside the cluster is created through.
:class:`ClusterAddons` adds the add-ons that need running nodes (coredns, aws-ebs-csi-driver);
the environment creates it after the node pools. A serving stack takes all of this from a
platform stack instead (:class:`components.referenced.ExistingCluster`) and creates no cluster.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from .core import iam, versions
from .config.cluster import ClusterConfig
from .handles import OwnedControlPlaneHandle
from .core.iam import cluster_access_policy_arn, irsa_trust_policy, managed_policy_arn, service_trust_policy

#: Every control-plane log type EKS has; all are on (audit trails are not optional).
CONTROL_PLANE_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
#: Add-ons that must run before a node can become Ready (pod networking and credentials).
NODE_ADDONS = ("eks-pod-identity-agent", "kube-proxy", "vpc-cni")
#: Add-ons whose pods need schedulable nodes; created after the node pools.
WORKLOAD_ADDONS = ("aws-ebs-csi-driver", "coredns")
#: Days CloudWatch keeps control-plane logs (EKS would otherwise create a group kept forever).
LOG_RETENTION_DAYS = 90

#: Configuration values of add-ons (``aws eks describe-addon-configuration`` lists each add-on's schema).
#: vpc-cni's network policy agent enforces Kubernetes NetworkPolicies (servestack renders some, and users
#: add their own); it is off unless ``enableNetworkPolicy`` is "true", and without it every NetworkPolicy
#: is accepted and ignored. Source: https://docs.aws.amazon.com/eks/latest/userguide/cni-network-policy-configure.html
ADDON_CONFIGURATION: dict[str, dict[str, str]] = {"vpc-cni": {"enableNetworkPolicy": "true"}}

#: Service accounts of add-ons with an IRSA role of their own, and the managed policy it gets.
ADDON_IRSA = {
    "vpc-cni": ("aws-node", "AmazonEKS_CNI_Policy"),
    "aws-ebs-csi-driver": ("ebs-csi-controller-sa", "service-role/AmazonEBSCSIDriverPolicy"),
}

#: Stack outputs a platform stack exports and a serving stack reads (see ServingEnvironment).
EXPORTED_OUTPUTS = ("clusterName", "clusterEndpoint", "clusterCertificateAuthority", "oidcProviderArn", "oidcIssuer", "nodePools", "region")


# ----------------------------------------------------------------------------- pure decisions


def endpoint_access(config: ClusterConfig, production: bool) -> dict[str, Any]:
    """Endpoint access of the API server: always private; public only from listed networks, never in prod."""
    public = bool(config.public_access_cidrs) and not production
    access: dict[str, Any] = {"endpoint_private_access": True, "endpoint_public_access": public}
    if public:
        access["public_access_cidrs"] = sorted(config.public_access_cidrs)
    return access


def kubeconfig(cluster_name: str, endpoint: str, certificate_authority: str, region: str) -> str:
    """A kubeconfig that authenticates with ``aws eks get-token``: no credential is ever stored."""
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster_name, "cluster": {"server": endpoint, "certificate-authority-data": certificate_authority}}],
        "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}],
        "current-context": cluster_name,
        "preferences": {},
        "users": [{"name": cluster_name, "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": "aws",
            "args": ["eks", "get-token", "--cluster-name", cluster_name, "--region", region, "--output", "json"],
            "interactiveMode": "Never",
        }}}],
    }
    return json.dumps(document, sort_keys=True)


def access_entry_name(role_arn: str) -> str:
    """Stable resource-name suffix of an admin role: ``<account>-<role name>``."""
    account = role_arn.split(":")[4]
    role = role_arn.rsplit("/", 1)[-1]
    return f"{account}-{role}"


# ----------------------------------------------------------------------------- components


@dataclass(frozen=True, kw_only=True)
class ClusterArgs:
    config: ClusterConfig
    cluster_name: str
    subnet_ids: pulumi.Input[list[str]]
    """Private subnets of the nodes; the control plane's network interfaces go there too."""
    region: str
    is_production: bool
    """Prod: the API endpoint is private only whatever else is set."""
    tags: dict[str, str]


class Cluster(pulumi.ComponentResource):
    """An EKS control plane with IRSA, the node add-ons and a Kubernetes provider."""

    handle: OwnedControlPlaneHandle
    """The cluster's API, identity and Kubernetes provider, and what nodes need to join it, for the
    layers built on it."""
    cluster_security_group_id: pulumi.Output[str]
    node_addons: dict[str, aws.eks.Addon]
    """Add-ons nodes need to become Ready: node groups depend on them."""
    service_ipv4_cidr: str

    def __init__(self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("servestack:cluster:Cluster", name, None, opts)
        config = args.config
        child = pulumi.ResourceOptions(parent=self)
        tags = args.tags
        self._partition = partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self)).partition
        self.service_ipv4_cidr = config.service_ipv4_cidr

        role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=json.dumps(service_trust_policy("eks.amazonaws.com"), sort_keys=True),
            description=f"EKS control plane of {args.cluster_name}",
            tags=tags,
            opts=child,
        )
        # AmazonEKSClusterPolicy is all the control plane needs; KMS use is granted to EKS by a
        # grant it creates on the key at cluster creation, not by the role.
        cluster_policy = aws.iam.RolePolicyAttachment(
            f"{name}-role-cluster-policy",
            role=role.name,
            policy_arn=partition.apply(lambda p: managed_policy_arn(p, "AmazonEKSClusterPolicy")),
            opts=child,
        )

        if config.secrets_kms_key_arn is None:
            key = aws.kms.Key(
                f"{name}-secrets",
                description=f"Envelope encryption of Kubernetes secrets in {args.cluster_name}",
                enable_key_rotation=True,
                deletion_window_in_days=30,
                tags=tags,
                opts=child,
            )
            aws.kms.Alias(f"{name}-secrets", name=f"alias/{args.cluster_name}-secrets", target_key_id=key.key_id, opts=child)
            key_arn: pulumi.Input[str] = key.arn
        else:
            key_arn = config.secrets_kms_key_arn

        # Created before the cluster so that EKS writes into a group with a retention period.
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/aws/eks/{args.cluster_name}/cluster",
            retention_in_days=LOG_RETENTION_DAYS,
            tags=tags,
            opts=child,
        )

        cluster = aws.eks.Cluster(
            f"{name}-eks",
            name=args.cluster_name,
            version=config.kubernetes_version,
            role_arn=role.arn,
            vpc_config=aws.eks.ClusterVpcConfigArgs(subnet_ids=args.subnet_ids, **endpoint_access(config, args.is_production)),
            access_config=aws.eks.ClusterAccessConfigArgs(
                authentication_mode="API",
                bootstrap_cluster_creator_admin_permissions=False,
            ),
            enabled_cluster_log_types=list(CONTROL_PLANE_LOG_TYPES),
            encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=key_arn),
                resources=["secrets"],
            ),
            upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type=config.support_type),
            kubernetes_network_config=aws.eks.ClusterKubernetesNetworkConfigArgs(
                ip_family="ipv4", service_ipv4_cidr=config.service_ipv4_cidr,
            ),
            # The managed add-ons below own vpc-cni, kube-proxy and coredns from the start.
            bootstrap_self_managed_addons=False,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[cluster_policy, log_group]),
        )
        certificate_authority = cluster.certificate_authority.data
        self.cluster_security_group_id = cluster.vpc_config.cluster_security_group_id
        self.arn = cluster.arn
        issuer_url = cluster.identities[0].oidcs[0].issuer

        # IAM trusts the EKS issuers' certificates through its own CA library and no longer needs
        # a thumbprint (ThumbprintList is optional in the IAM API), so none is pinned here: a
        # pinned thumbprint would only break when the issuer rotates its certificate.
        oidc = aws.iam.OpenIdConnectProvider(
            f"{name}-oidc",
            url=issuer_url,
            client_id_lists=[iam.STS_AUDIENCE],
            tags=tags,
            opts=child,
        )
        self._oidc_provider_arn = oidc.arn
        self._oidc_issuer = issuer_url.apply(lambda url: url.removeprefix("https://"))

        admin_grants = []
        for role_arn in sorted(config.admin_role_arns):
            suffix = access_entry_name(role_arn)
            entry = aws.eks.AccessEntry(
                f"{name}-admin-{suffix}", cluster_name=cluster.name, principal_arn=role_arn, type="STANDARD", tags=tags, opts=child,
            )
            admin_grants.append(aws.eks.AccessPolicyAssociation(
                f"{name}-admin-{suffix}",
                cluster_name=cluster.name,
                principal_arn=entry.principal_arn,
                policy_arn=partition.apply(lambda p: cluster_access_policy_arn(p, "AmazonEKSClusterAdminPolicy")),
                access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                opts=child,
            ))

        self._cluster = cluster
        self._addon_versions = versions.EKS_ADDONS[config.kubernetes_version]
        self._tags = tags
        self.node_addons = {addon: self.addon(name, addon) for addon in NODE_ADDONS}

        kubernetes_provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=pulumi.Output.all(cluster.name, cluster.endpoint, certificate_authority).apply(
                lambda values: kubeconfig(values[0], values[1], values[2], args.region)
            ),
            # The provider acts as an admin role: its access entry must exist before it is used.
            opts=pulumi.ResourceOptions(parent=self, depends_on=admin_grants),
        )
        self.handle = OwnedControlPlaneHandle(
            name=cluster.name,
            endpoint=cluster.endpoint,
            certificate_authority=certificate_authority,
            oidc_provider_arn=self._oidc_provider_arn,
            oidc_issuer=self._oidc_issuer,
            partition=partition,
            kubernetes_provider=kubernetes_provider,
            cluster_security_group_id=self.cluster_security_group_id,
            service_ipv4_cidr=self.service_ipv4_cidr,
            node_addons=self.node_addons,
            add_addon=self.addon,
        )
        self.register_outputs({
            "name": cluster.name,
            "endpoint": cluster.endpoint,
            "certificateAuthority": certificate_authority,
            "oidcProviderArn": self._oidc_provider_arn,
            "oidcIssuer": self._oidc_issuer,
            "clusterSecurityGroupId": self.cluster_security_group_id,
        })

    def addon(self, name: str, addon: str, parent: pulumi.Resource | None = None,
              depends_on: list[pulumi.Resource] | None = None) -> aws.eks.Addon:
        """One managed add-on at its pinned version, with its own IRSA role when it calls AWS APIs."""
        owner = parent or self
        role_arn = None
        if addon in ADDON_IRSA:
            service_account, policy = ADDON_IRSA[addon]
            role = irsa_role(f"{name}-{addon}", self._oidc_provider_arn, self._oidc_issuer, "kube-system", service_account,
                             self._tags, owner)
            attachment = aws.iam.RolePolicyAttachment(
                f"{name}-{addon}-policy",
                role=role.name,
                policy_arn=self._partition.apply(lambda p: managed_policy_arn(p, policy)),
                opts=pulumi.ResourceOptions(parent=owner),
            )
            role_arn = role.arn
            depends_on = [*(depends_on or []), attachment]
        return aws.eks.Addon(
            f"{name}-{addon}",
            cluster_name=self._cluster.name,
            addon_name=addon,
            addon_version=self._addon_versions[addon].version,
            service_account_role_arn=role_arn,
            configuration_values=json.dumps(ADDON_CONFIGURATION[addon], sort_keys=True) if addon in ADDON_CONFIGURATION else None,
            # Take over whatever runs under the add-on's name, and keep the declared config on update.
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="OVERWRITE",
            tags=self._tags,
            opts=pulumi.ResourceOptions(parent=owner, depends_on=depends_on or []),
        )


def irsa_role(name: str, oidc_provider_arn: pulumi.Input[str], oidc_issuer: pulumi.Input[str], namespace: str,
              service_account: str, tags: dict[str, str], parent: pulumi.Resource) -> aws.iam.Role:
    """An IAM role that only one Kubernetes service account of the cluster may assume (IRSA)."""
    policy = pulumi.Output.all(oidc_provider_arn, oidc_issuer).apply(
        lambda v: json.dumps(irsa_trust_policy(v[0], v[1], namespace, service_account), sort_keys=True)
    )
    return aws.iam.Role(
        f"{name}-irsa",
        assume_role_policy=policy,
        description=f"IRSA role of {namespace}/{service_account}",
        tags=tags,
        opts=pulumi.ResourceOptions(parent=parent),
    )


@dataclass(frozen=True, kw_only=True)
class ClusterAddonsArgs:
    control_plane: OwnedControlPlaneHandle
    nodes: list[pulumi.Resource]
    """Node groups: these add-ons only become healthy once their pods are scheduled."""


class ClusterAddons(pulumi.ComponentResource):
    """The managed add-ons that need nodes: coredns and the EBS CSI driver (with its IRSA role)."""

    addons: dict[str, aws.eks.Addon]

    def __init__(self, name: str, args: ClusterAddonsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("servestack:cluster:ClusterAddons", name, None, opts)
        self.addons = {addon: args.control_plane.add_addon(name, addon, parent=self, depends_on=list(args.nodes)) for addon in WORKLOAD_ADDONS}
        self.register_outputs({"addons": {k: v.arn for k, v in self.addons.items()}})
