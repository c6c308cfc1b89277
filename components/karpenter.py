"""Karpenter: the controller, its AWS plumbing, and one EC2NodeClass + NodePool per Karpenter pool.

Created by the cluster layer when a pool has ``provisioner: karpenter``:

- the node role (its own, with an EKS access entry of type ``EC2_LINUX`` so that nodes join);
- the interruption queue (SQS, SSE on) with its queue policy and the EventBridge rules of Karpenter's
  reference CloudFormation (spot interruption, rebalance recommendation, instance state change,
  scheduled change, capacity reservation interruption);
- the controller role with the reference's six policies scoped to this cluster, through EKS Pod
  Identity (the agent add-on is one of the node add-ons);
- ``karpenter.sh/discovery: <cluster>`` on the cluster security group (and on the subnets of a network
  the stack does not create; :class:`components.network.Network` tags its own private subnets);
- the ``karpenter-crd`` and ``karpenter`` charts (controller on the managed CPU pools only);
- per pool, the EC2NodeClass and NodePool of :mod:`components.render.karpenter_objects`.

Every dependency is explicit, so one ``pulumi up`` converges: the controller starts once its role, queue
and managed nodes exist; pools are declared once the CRDs, the controller and the node access entry are.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from .core import karpenter_iam, versions
from .render import karpenter_objects
from .handles import OwnedControlPlaneHandle
from .config.node_pools import NodePoolConfig
from .core.iam import managed_policy_arn, service_trust_policy
from .core.placement import PoolPlacement
from .core.versions import Pinned


@dataclass(frozen=True, kw_only=True)
class KarpenterArgs:
    pools: dict[str, NodePoolConfig]
    """The Karpenter pools (``provisioner: karpenter``)."""
    placements: dict[str, PoolPlacement]
    """Their placements, from the catalog (the same as a managed pool of the same types would get)."""
    control_plane: OwnedControlPlaneHandle
    cluster_name: str
    region: str
    system_pools: dict[str, int]
    """The managed CPU pools the controller may run on, with their node counts."""
    managed_nodes: list[pulumi.Resource]
    """The managed node groups: the controller's pods need them."""
    untagged_subnet_ids: list[str]
    """Private subnets of a network the stack does not create: tagged here for discovery."""
    tags: dict[str, str]


class Karpenter(pulumi.ComponentResource):
    """Karpenter installed for one cluster, with a NodePool and EC2NodeClass per Karpenter pool."""

    node_role: aws.iam.Role
    queue: aws.sqs.Queue
    releases: dict[str, k8s.helm.v3.Release]
    node_classes: dict[str, k8s.apiextensions.CustomResource]
    node_pools: dict[str, k8s.apiextensions.CustomResource]

    def __init__(self, name: str, args: KarpenterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("servestack:karpenter:Karpenter", name, None, opts)
        self._name = name
        child = pulumi.ResourceOptions(parent=self)
        control_plane, tags = args.control_plane, args.tags
        partition = pulumi.Output.from_input(control_plane.partition)
        account_id = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id

        # --- nodes: role and access entry --------------------------------------------------------
        self.node_role = aws.iam.Role(
            f"{name}-node-role",
            assume_role_policy=json.dumps(service_trust_policy("ec2.amazonaws.com"), sort_keys=True),
            description=f"Karpenter nodes of {args.cluster_name}",
            tags=tags,
            opts=child,
        )
        node_attachments = [
            aws.iam.RolePolicyAttachment(
                f"{name}-node-role-{policy}",
                role=self.node_role.name,
                policy_arn=partition.apply(lambda p, policy=policy: managed_policy_arn(p, policy)),
                opts=child,
            )
            for policy in karpenter_iam.NODE_POLICIES
        ]
        node_access = aws.eks.AccessEntry(
            f"{name}-node-access",
            cluster_name=control_plane.name,
            principal_arn=self.node_role.arn,
            type="EC2_LINUX",
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=node_attachments),
        )

        # --- interruption queue and the rules that feed it -----------------------------------------
        self.queue = aws.sqs.Queue(
            f"{name}-interruption",
            name=args.cluster_name,
            message_retention_seconds=karpenter_iam.QUEUE_RETENTION_SECONDS,
            sqs_managed_sse_enabled=True,
            tags=tags,
            opts=child,
        )
        queue_policy = aws.sqs.QueuePolicy(
            f"{name}-interruption",
            queue_url=self.queue.url,
            policy=self.queue.arn.apply(lambda arn: json.dumps(karpenter_iam.queue_policy(arn), sort_keys=True)),
            opts=child,
        )
        targets = []
        for rule_name in karpenter_iam.INTERRUPTION_RULES:
            rule = aws.cloudwatch.EventRule(
                f"{name}-{rule_name}",
                description=f"Karpenter interruption handling of {args.cluster_name}: {rule_name}",
                event_pattern=json.dumps(karpenter_iam.event_pattern(rule_name), sort_keys=True),
                tags=tags,
                opts=child,
            )
            targets.append(aws.cloudwatch.EventTarget(
                f"{name}-{rule_name}",
                rule=rule.name,
                target_id="KarpenterInterruptionQueueTarget",
                arn=self.queue.arn,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[queue_policy]),
            ))

        # --- controller role through EKS Pod Identity ----------------------------------------------
        controller_role = aws.iam.Role(
            f"{name}-controller",
            assume_role_policy=json.dumps(service_trust_policy(karpenter_iam.POD_IDENTITY_SERVICE), sort_keys=True),
            description=f"Karpenter controller of {args.cluster_name} (EKS Pod Identity)",
            tags=tags,
            opts=child,
        )
        documents = pulumi.Output.all(partition, account_id, self.node_role.arn, self.queue.arn).apply(
            lambda v: karpenter_iam.controller_policies(v[0], args.region, v[1], args.cluster_name, v[2], v[3]))
        controller_attachments = []
        for policy_name in ("NodeLifecycle", "IAMIntegration", "EKSIntegration", "Interruption", "ZonalShift", "ResourceDiscovery"):
            policy = aws.iam.Policy(
                f"{name}-{policy_name.lower()}",
                name=f"KarpenterController{policy_name}Policy-{args.cluster_name}",
                description=f"Karpenter controller of {args.cluster_name}: {policy_name} (Karpenter's reference policy)",
                policy=documents.apply(lambda d, key=policy_name: json.dumps(d[key], sort_keys=True)),
                tags=tags,
                opts=child,
            )
            controller_attachments.append(aws.iam.RolePolicyAttachment(
                f"{name}-{policy_name.lower()}", role=controller_role.name, policy_arn=policy.arn, opts=child))
        identity = aws.eks.PodIdentityAssociation(
            f"{name}-controller",
            cluster_name=control_plane.name,
            namespace=karpenter_objects.NAMESPACE,
            service_account=karpenter_objects.SERVICE_ACCOUNT,
            role_arn=controller_role.arn,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[
                control_plane.node_addons["eks-pod-identity-agent"], *controller_attachments]),
        )

        # --- discovery tags --------------------------------------------------------------------------
        discovery = [aws.ec2.Tag(
            f"{name}-discovery-cluster-sg",
            resource_id=control_plane.cluster_security_group_id,
            key=karpenter_objects.DISCOVERY_TAG,
            value=args.cluster_name,
            opts=child,
        )]
        discovery += [
            aws.ec2.Tag(f"{name}-discovery-{subnet_id}", resource_id=subnet_id, key=karpenter_objects.DISCOVERY_TAG,
                        value=args.cluster_name, opts=child)
            for subnet_id in sorted(args.untagged_subnet_ids)
        ]

        # --- charts ----------------------------------------------------------------------------------
        self.releases = {}
        crds = self._release(versions.KARPENTER_CRD, control_plane.kubernetes_provider, {}, depends_on=[], skip_crds=False)
        values = karpenter_objects.chart_values(args.cluster_name, args.cluster_name, sorted(args.system_pools),
                                                sum(args.system_pools.values()))
        controller = self._release(versions.KARPENTER, control_plane.kubernetes_provider, values, skip_crds=True, depends_on=[
            crds, identity, *targets, *args.managed_nodes])

        # --- pools -------------------------------------------------------------------------------------
        self.node_classes, self.node_pools = {}, {}
        for pool_name, pool in sorted(args.pools.items()):
            placement = args.placements[pool_name]
            node_class = karpenter_objects.ec2_node_class(pool, placement, args.cluster_name, self.node_role.name, tags)
            self.node_classes[pool_name] = k8s.apiextensions.CustomResource(
                f"{name}-{pool_name}-nodeclass",
                api_version=karpenter_objects.NODECLASS_API,
                kind="EC2NodeClass",
                metadata=node_class["metadata"],
                spec=node_class["spec"],
                opts=pulumi.ResourceOptions(parent=self, provider=control_plane.kubernetes_provider,
                                            depends_on=[crds, controller, node_access, *discovery]),
            )
            manifest = karpenter_objects.nodepool(pool, placement)
            self.node_pools[pool_name] = k8s.apiextensions.CustomResource(
                f"{name}-{pool_name}-nodepool",
                api_version=karpenter_objects.NODEPOOL_API,
                kind="NodePool",
                metadata=manifest["metadata"],
                spec=manifest["spec"],
                opts=pulumi.ResourceOptions(parent=self, provider=control_plane.kubernetes_provider,
                                            depends_on=[crds, controller, self.node_classes[pool_name]]),
            )

        self.register_outputs({
            "nodeRoleArn": self.node_role.arn,
            "interruptionQueueArn": self.queue.arn,
            "controllerRoleArn": controller_role.arn,
            "nodePools": sorted(self.node_pools),
        })

    @property
    def ready(self) -> list[pulumi.Resource]:
        """The controller and every NodePool: what must exist before workloads are placed on Karpenter pools."""
        return [self.releases[versions.KARPENTER.name], *(self.node_pools[k] for k in sorted(self.node_pools))]

    def pool_ready(self, pool: str) -> list[pulumi.Resource]:
        """The controller and ``pool``'s NodePool: what a workload placed on that pool waits for."""
        return [self.releases[versions.KARPENTER.name], self.node_pools[pool]]

    def _release(self, pinned: Pinned, provider: k8s.Provider, values: dict, *, depends_on: list[pulumi.Resource],
                 skip_crds: bool) -> k8s.helm.v3.Release:
        release = k8s.helm.v3.Release(
            f"{self._name}-{pinned.name}",
            name=pinned.name,
            chart=pinned.source,
            version=pinned.version,
            namespace=karpenter_objects.NAMESPACE,
            values=values,
            skip_crds=skip_crds,
            atomic=True,
            cleanup_on_fail=True,
            max_history=10,
            opts=pulumi.ResourceOptions(parent=self, provider=provider, depends_on=depends_on),
        )
        self.releases[pinned.name] = release
        return release
