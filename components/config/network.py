"""``servestack:network``: the VPC the cluster runs in, or existing subnets to use instead."""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import Field, field_validator

from .base import ConfigModel, Finding


class ExistingNetworkConfig(ConfigModel):
    """Subnets that already exist (another team's VPC). servestack then creates no network."""

    vpc_id: str = Field(pattern=r"^vpc-[0-9a-f]{8,17}$")
    """The VPC the subnets belong to. Required."""
    private_subnet_ids: list[str] = Field(min_length=2)
    """Subnets for nodes, in at least two availability zones. Required."""
    public_subnet_ids: list[str] = []
    """Subnets for internet-facing load balancers. Default: none (internal load balancers only)."""

    @field_validator("private_subnet_ids", "public_subnet_ids")
    @classmethod
    def _subnet_ids(cls, ids: list[str]) -> list[str]:
        bad = [f"[{n}]" for n, i in enumerate(ids) if not (i.startswith("subnet-") and len(i) in (15, 24))]
        if bad:  # positions, not values: a message never quotes a value outside its "(got ...)"
            raise ValueError(f"must be subnet ids like subnet-0123456789abcdef0; not subnet ids: entr{'y' if len(bad) == 1 else 'ies'} {', '.join(bad)}")
        if len(set(ids)) != len(ids):
            raise ValueError("must not list a subnet twice")
        return ids


class NetworkConfig(ConfigModel):
    """The network of the cluster. Default: a new VPC over two availability zones."""

    vpc_cidr: str = "10.0.0.0/16"
    """IPv4 range of the new VPC; /16 to /20. Default ``10.0.0.0/16``."""
    availability_zones: int = Field(default=2, ge=2, le=6)
    """How many availability zones the VPC spans (2-6). Default 2; use 3 for production."""
    nat_gateways: Literal["single", "perAz"] = "single"
    """``single``: one NAT gateway for all private subnets (cheaper, one zone's outage cuts egress).
    ``perAz``: one per availability zone (what production wants). Default ``single``."""
    existing: ExistingNetworkConfig | None = None
    """Use these subnets instead of creating a VPC. Default: none (create the VPC)."""

    @field_validator("vpc_cidr")
    @classmethod
    def _cidr(cls, value: str) -> str:
        try:
            network = ipaddress.IPv4Network(value, strict=True)
        except ValueError:
            raise ValueError("must be an IPv4 network in CIDR notation such as 10.0.0.0/16") from None
        if not 16 <= network.prefixlen <= 20:
            raise ValueError("must be a /16 to /20 network (room for public and private subnets in up to 6 zones)")
        if not network.is_private:
            raise ValueError("must be a private (RFC 1918) range")
        return value

    def problems(self) -> list[Finding]:
        if self.existing is not None and "vpc_cidr" in self.model_fields_set:
            return [Finding(("vpcCidr",), "cannot be set together with existing (an existing network has its own range)", self.vpc_cidr)]
        return []
