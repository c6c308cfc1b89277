"""Computed outputs of the VPC resources."""

from __future__ import annotations

from typing import Any

from .registry import ACCOUNT_ID, MockContext, ResourceCall, arn, computes, digest, no_outputs

# Types whose ids carry the provider's prefix and whose outputs the program does not read.
for _token, _prefix in {
    "aws:ec2/internetGateway:InternetGateway": "igw",
    "aws:ec2/natGateway:NatGateway": "nat",
    "aws:ec2/routeTable:RouteTable": "rtb",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "rtbassoc",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "sg",
    "aws:ec2/securityGroup:SecurityGroup": "sg",
}.items():
    computes(_token, _prefix)(no_outputs)


@computes("aws:ec2/vpc:Vpc", "vpc")
def _vpc(call: ResourceCall, rid: str, ctx: MockContext) -> dict[str, Any]:
    return {"arn": arn(ctx, "ec2", f"vpc/{rid}"), "defaultSecurityGroupId": f"sg-{digest(call.urn, 'default-sg')}",
            "mainRouteTableId": f"rtb-{digest(call.urn, 'main')}", "ownerId": ACCOUNT_ID}


@computes("aws:ec2/subnet:Subnet", "subnet")
def _subnet(call: ResourceCall, rid: str, ctx: MockContext) -> dict[str, Any]:
    return {"arn": arn(ctx, "ec2", f"subnet/{rid}"), "ownerId": ACCOUNT_ID}


@computes("aws:ec2/eip:Eip", "eipalloc")
def _eip(call: ResourceCall, rid: str, ctx: MockContext) -> dict[str, Any]:
    n = int(digest(call.urn, length=4), 16)
    return {"allocationId": rid, "publicIp": f"203.0.{(n >> 8) % 256}.{n % 256}"}
