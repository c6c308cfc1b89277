"""EKS managed node groups, one per managed pool, each with its own launch template; the placements
of every pool (Karpenter pools are rendered by :mod:`components.karpenter` from the same placements).

A managed node group has a fixed size (``minSize`` = ``maxSize`` = desired): nothing scales it.

Everything accelerator-specific comes from the catalog through the pool's :class:`PoolPlacement`:
AMI type, labels and taints, so a GPU pool is tainted ``nvidia.com/gpu`` without anyone writing
it. Launch templates require IMDSv2 with a hop limit of 1 (pods cannot reach the node role's
credentials; they get AWS access through IRSA; ``podMetadataAccess`` relaxes this per pool),
encrypt the gp3 root volume, and carry no SSH key: nodes have no remote access at all.

FPGA pools run a custom AL2023 AMI (there is no EKS-optimized FPGA AMI). EKS then neither picks
the AMI nor writes the bootstrap, so the launch template carries the AMI id and the nodeadm
``NodeConfig`` user data (cluster coordinates, labels, taints) that such an AMI needs to join.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from .config.node_pools import NodePoolConfig
from .handles import NodePoolsHandle, OwnedControlPlaneHandle
from .core.iam import managed_policy_arn, service_trust_policy
from .core.node_user_data import node_config, nodeadm_user_data
from .core.placement import PoolPlacement, placement_for
from .core.pools import GP3_IOPS, GP3_THROUGHPUT_MIBPS, ROOT_DEVICE  # noqa: F401  (re-exported)

#: Managed policies of the node role. The VPC CNI has an IRSA role of its own, so the nodes do
#: not carry AmazonEKS_CNI_Policy; ECR access is pull-only.
NODE_POLICIES = ("AmazonEC2ContainerRegistryPullOnly", "AmazonEKSWorkerNodePolicy")


# ----------------------------------------------------------------------------- pure decisions


def pool_placement(name: str, pool: NodePoolConfig) -> PoolPlacement:
    """Labels, taints and accelerators of a pool, from the catalog (and the FPGA plugin's resource)."""
    return placement_for(name, list(pool.instance_types), pool.max_size, resource_name=pool.resource_name,
                         extra_labels=dict(pool.labels))


def ami_type(pool: NodePoolConfig) -> str:
    """The EKS AMI type of a pool: per accelerator and architecture; ``CUSTOM`` for FPGA."""
    spec = pool.instance_specs()[0]
    return spec.accelerator.ami_types[spec.architecture]


def eks_taints(placement: PoolPlacement) -> list[dict[str, str]]:
    """The pool's taints in the EKS API's spelling (``NO_SCHEDULE``)."""
    return [{"key": t.key, "value": t.value, "effect": t.eks_effect} for t in placement.taints]


def metadata_options(pool: NodePoolConfig) -> dict[str, Any]:
    """IMDSv2 only. Hop limit 1 stops pods (one network hop further) from reaching IMDS."""
    return {
        "http_endpoint": "enabled",
        "http_tokens": "required",
        "http_put_response_hop_limit": 2 if pool.pod_metadata_access else 1,
        "instance_metadata_tags": "disabled",
    }


def root_volume(pool: NodePoolConfig) -> dict[str, Any]:
    return {
        "volume_size": pool.disk_size_gib,
        "volume_type": "gp3",
        "iops": GP3_IOPS,
        "throughput": GP3_THROUGHPUT_MIBPS,
        "encrypted": "true",
        "delete_on_termination": "true",
    }


# ----------------------------------------------------------------------------- component


@dataclass(frozen=True, kw_only=True)
class NodePoolsArgs:
    pools: dict[str, NodePoolConfig]
    control_plane: OwnedControlPlaneHandle
    subnet_ids: pulumi.Input[list[str]]
    """Private subnets: nodes never get public addresses."""
    tags: dict[str, str]
    cluster_name: str


class NodePools(pulumi.ComponentResource):
    """One EKS managed node group with a launch template per pool, and the node IAM role."""

    handle: NodePoolsHandle
    """The pools' placements and node groups, for the layers built on them."""
    node_groups: dict[str, aws.eks.NodeGroup]
    launch_templates: dict[str, aws.ec2.LaunchTemplate]
    node_role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: NodePoolsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("servestack:node_pools:NodePools", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        control_plane = args.control_plane

        role = aws.iam.Role(
            f"{name}-node-role",
            assume_role_policy=json.dumps(service_trust_policy("ec2.amazonaws.com"), sort_keys=True),
            description=f"Nodes of {args.cluster_name}",
            tags=args.tags,
            opts=child,
        )
        attachments = [
            aws.iam.RolePolicyAttachment(
                f"{name}-node-role-{policy}",
                role=role.name,
                policy_arn=pulumi.Output.from_input(control_plane.partition).apply(
                    lambda p, policy=policy: managed_policy_arn(p, policy)),
                opts=child,
            )
            for policy in NODE_POLICIES
        ]
        # Nodes join only once pod networking and credentials can run on them.
        joins_after = [*attachments, *(control_plane.node_addons[k] for k in sorted(control_plane.node_addons))]

        self.node_groups, self.launch_templates, placements = {}, {}, {}
        for pool_name, pool in sorted(args.pools.items()):
            placement = pool_placement(pool_name, pool)
            placements[pool_name] = placement
            if pool.uses_karpenter:
                continue
            tags = {**args.tags, "servestack:pool": pool_name}
            template = self._launch_template(f"{name}-{pool_name}", args, pool, placement, tags)
            self.launch_templates[pool_name] = template
            self.node_groups[pool_name] = aws.eks.NodeGroup(
                f"{name}-{pool_name}",
                cluster_name=control_plane.name,
                node_role_arn=role.arn,
                subnet_ids=args.subnet_ids,
                instance_types=list(pool.instance_types),
                ami_type=ami_type(pool),
                capacity_type=pool.eks_capacity_type,
                # Fixed size: the config refuses minSize != maxSize for a managed pool (nothing scales it).
                scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                    min_size=pool.min_size,
                    max_size=pool.max_size,
                    desired_size=pool.min_size,
                ),
                update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=pool.max_unavailable),
                labels=dict(sorted(placement.labels.items())),
                taints=[aws.eks.NodeGroupTaintArgs(**t) for t in eks_taints(placement)],
                launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                    id=template.id, version=template.latest_version.apply(str),
                ),
                tags=tags,
                opts=pulumi.ResourceOptions(parent=self, depends_on=joins_after),
            )

        self.node_role_arn = role.arn
        self.handle = NodePoolsHandle(placements=placements, node_groups=[self.node_groups[k] for k in sorted(self.node_groups)])
        self.register_outputs({
            "nodeRoleArn": self.node_role_arn,
            "nodeGroups": {k: v.arn for k, v in self.node_groups.items()},
            "placements": {k: v.to_output() for k, v in placements.items()},
        })

    def _launch_template(self, name: str, args: NodePoolsArgs, pool: NodePoolConfig, placement: PoolPlacement,
                         tags: dict[str, str]) -> aws.ec2.LaunchTemplate:
        control_plane = args.control_plane
        named = {**tags, "Name": f"{args.cluster_name}-{placement.name}"}
        custom_ami: dict[str, Any] = {}
        if pool.ami_id is not None:
            user_data = pulumi.Output.all(control_plane.name, control_plane.endpoint, control_plane.certificate_authority).apply(
                lambda v: base64.b64encode(nodeadm_user_data(
                    node_config(v[0], v[1], v[2], control_plane.service_ipv4_cidr, placement)
                ).encode()).decode()
            )
            custom_ami = {"image_id": pool.ami_id, "user_data": user_data}
        capacity_block: dict[str, Any] = {}
        if pool.capacity_type == "capacityBlock":
            capacity_block = {
                "instance_market_options": aws.ec2.LaunchTemplateInstanceMarketOptionsArgs(market_type="capacity-block"),
                "capacity_reservation_specification": aws.ec2.LaunchTemplateCapacityReservationSpecificationArgs(
                    capacity_reservation_target=aws.ec2.LaunchTemplateCapacityReservationSpecificationCapacityReservationTargetArgs(
                        capacity_reservation_id=pool.capacity_reservation_id,
                    ),
                ),
            }
        return aws.ec2.LaunchTemplate(
            name,
            description=f"Nodes of pool {placement.name} in {args.cluster_name}",
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(**metadata_options(pool)),
            block_device_mappings=[aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                device_name=ROOT_DEVICE,
                ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(**root_volume(pool)),
            )],
            tag_specifications=[
                aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags=named)
                for kind in ("instance", "network-interface", "volume")
            ],
            update_default_version=True,
            tags=tags,
            **custom_ami,
            **capacity_block,
            opts=pulumi.ResourceOptions(parent=self),
        )
