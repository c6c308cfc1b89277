"""The VPC an EKS cluster runs in: private subnets for nodes, public ones for load balancers."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from .config.network import ExistingNetworkConfig, NetworkConfig
from .handles import NetworkHandle


@dataclass(frozen=True)
class SubnetPlan:
    zone_index: int
    private_cidr: str
    public_cidr: str


def plan_subnets(vpc_cidr: str, zones: int) -> list[SubnetPlan]:
    """Carve the VPC range into 16 equal blocks: private subnets first, public ones from block 8.

    Private subnets hold the nodes and pods (the VPC CNI gives every pod a VPC address), so
    they take the lower half; public subnets only hold load balancers and NAT gateways.
    """
    network = ipaddress.IPv4Network(vpc_cidr)
    blocks = list(network.subnets(prefixlen_diff=4))
    return [SubnetPlan(i, str(blocks[i]), str(blocks[8 + i])) for i in range(zones)]


@dataclass(frozen=True, kw_only=True)
class NetworkArgs:
    config: NetworkConfig
    cluster_name: str
    """The cluster whose controllers discover the subnets (``kubernetes.io/cluster/<name>`` tags)."""
    tags: dict[str, str]
    karpenter_discovery: bool = False
    """Tag the private subnets ``karpenter.sh/discovery: <cluster>`` (EC2NodeClasses select them by it)."""


class Network(pulumi.ComponentResource):
    """A multi-AZ VPC with NAT egress and the subnet tags that EKS controllers discover."""

    handle: NetworkHandle
    """The VPC and its subnets, for the layers built on them."""
    availability_zones: pulumi.Output[list[str]]

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("servestack:network:Network", name, None, opts)
        config = args.config
        child = pulumi.ResourceOptions(parent=self)
        tags = args.tags
        cluster_tag = {f"kubernetes.io/cluster/{args.cluster_name}": "shared"}
        discovery_tag = {"karpenter.sh/discovery": args.cluster_name} if args.karpenter_discovery else {}

        zones = aws.get_availability_zones_output(
            state="available", filters=[{"name": "opt-in-status", "values": ["opt-in-not-required"]}],
            opts=pulumi.InvokeOutputOptions(parent=self),
        ).names.apply(lambda names: sorted(names)[: config.availability_zones])

        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=config.vpc_cidr,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags={**tags, "Name": f"{name}-vpc"},
            opts=child,
        )
        # The default security group of a new VPC allows all traffic between its members;
        # adopt it with no rules so nothing relies on it by accident.
        aws.ec2.DefaultSecurityGroup(f"{name}-default-sg", vpc_id=vpc.id, tags={**tags, "Name": f"{name}-default"}, opts=child)
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags={**tags, "Name": f"{name}-igw"}, opts=child)

        public_rt = aws.ec2.RouteTable(
            f"{name}-public",
            vpc_id=vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=igw.id)],
            tags={**tags, "Name": f"{name}-public"},
            opts=child,
        )

        private_ids, public_ids, nat_ids = [], [], []
        for subnet in plan_subnets(config.vpc_cidr, config.availability_zones):
            zone = zones.apply(lambda names, i=subnet.zone_index: names[i])
            suffix = chr(ord("a") + subnet.zone_index)
            public = aws.ec2.Subnet(
                f"{name}-public-{suffix}",
                vpc_id=vpc.id,
                cidr_block=subnet.public_cidr,
                availability_zone=zone,
                map_public_ip_on_launch=False,
                tags={**tags, **cluster_tag, "Name": f"{name}-public-{suffix}", "kubernetes.io/role/elb": "1"},
                opts=child,
            )
            private = aws.ec2.Subnet(
                f"{name}-private-{suffix}",
                vpc_id=vpc.id,
                cidr_block=subnet.private_cidr,
                availability_zone=zone,
                tags={**tags, **cluster_tag, **discovery_tag, "Name": f"{name}-private-{suffix}", "kubernetes.io/role/internal-elb": "1"},
                opts=child,
            )
            aws.ec2.RouteTableAssociation(f"{name}-public-{suffix}", subnet_id=public.id, route_table_id=public_rt.id, opts=child)
            if config.nat_gateways == "perAz" or not nat_ids:
                eip = aws.ec2.Eip(f"{name}-nat-{suffix}", domain="vpc", tags={**tags, "Name": f"{name}-nat-{suffix}"}, opts=child)
                nat = aws.ec2.NatGateway(
                    f"{name}-nat-{suffix}",
                    allocation_id=eip.id,
                    subnet_id=public.id,
                    tags={**tags, "Name": f"{name}-nat-{suffix}"},
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[igw]),
                )
                nat_ids.append(nat.id)
            private_rt = aws.ec2.RouteTable(
                f"{name}-private-{suffix}",
                vpc_id=vpc.id,
                routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=nat_ids[-1])],
                tags={**tags, "Name": f"{name}-private-{suffix}"},
                opts=child,
            )
            aws.ec2.RouteTableAssociation(f"{name}-private-{suffix}", subnet_id=private.id, route_table_id=private_rt.id, opts=child)
            private_ids.append(private.id)
            public_ids.append(public.id)

        self.handle = NetworkHandle(
            vpc_id=vpc.id,
            private_subnet_ids=pulumi.Output.all(*private_ids),
            public_subnet_ids=pulumi.Output.all(*public_ids),
        )
        self.availability_zones = zones
        self.register_outputs({
            "vpcId": self.handle.vpc_id,
            "privateSubnetIds": self.handle.private_subnet_ids,
            "publicSubnetIds": self.handle.public_subnet_ids,
            "availabilityZones": self.availability_zones,
        })


def existing_network(config: ExistingNetworkConfig) -> NetworkHandle:
    """The handle of a VPC the stack config names (``network.existing``): nothing is created."""
    return NetworkHandle(
        vpc_id=pulumi.Output.from_input(config.vpc_id),
        private_subnet_ids=pulumi.Output.from_input(config.private_subnet_ids),
        public_subnet_ids=pulumi.Output.from_input(config.public_subnet_ids),
    )
