"""``servestack:cluster``: the EKS control plane, or a cluster that another stack owns."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal

from pydantic import StringConstraints, field_validator

from ..core import versions
from ..core.cidrs import open_to_internet
from .base import ConfigModel, Finding

RoleArn = Annotated[str, StringConstraints(pattern=r"^arn:aws(-[a-z]+)*:iam::\d{12}:role/[A-Za-z0-9+=,.@_/-]+$")]
KmsKeyArn = Annotated[str, StringConstraints(pattern=r"^arn:aws(-[a-z]+)*:kms:[a-z0-9-]+:\d{12}:key/[0-9a-f-]{36}$")]
StackName = Annotated[str, StringConstraints(pattern=r"^([A-Za-z0-9_.-]+/){0,2}[A-Za-z0-9_.-]+$")]


class ClusterConfig(ConfigModel):
    """The EKS control plane. Defaults are the secure ones; every relaxation is a setting."""

    kubernetes_version: str = versions.DEFAULT_KUBERNETES_VERSION
    """Kubernetes minor version of the control plane; one that ``components.core.versions`` pins the
    managed add-ons for (1.34 or 1.35). Default ``1.35`` (EKS standard support until 2027-03-27)."""
    support_type: Literal["STANDARD", "EXTENDED"] = "STANDARD"
    """EKS support policy once the version leaves standard support. ``STANDARD`` auto-upgrades the
    control plane at the end of standard support; ``EXTENDED`` keeps the version for 12 more
    months at six times the hourly price, so it is never the default. Default ``STANDARD``."""
    admin_role_arns: list[RoleArn] = []
    """IAM roles granted cluster admin through EKS access entries (AmazonEKSClusterAdminPolicy).
    The identity that runs ``pulumi up`` gets no implicit admin, so its role must be listed (the
    Kubernetes provider acts as it). Required (at least one) unless ``existing`` is set."""
    public_access_cidrs: list[str] = []
    """Networks allowed to reach the public API endpoint. Empty keeps the endpoint private (reach
    it from the VPC); prod stacks must leave it empty; ``0.0.0.0/0`` is never accepted, nor blocks
    that together admit a /8 or more of public addresses (``0.0.0.0/1`` + ``128.0.0.0/1``).
    Default: none (private endpoint only)."""
    secrets_kms_key_arn: KmsKeyArn | None = None
    """KMS key for envelope encryption of Kubernetes secrets. Default: none (a key with yearly
    rotation is created for the cluster)."""
    service_ipv4_cidr: str = "172.20.0.0/16"
    """IPv4 range of Kubernetes services (must not overlap the VPC). Nodes of custom AMIs need it
    to find cluster DNS. Default ``172.20.0.0/16``."""
    existing: StackName | None = None
    """Take the cluster from this platform stack (``org/project/stack`` or ``stack``) instead of
    creating one: its exported name, endpoint, CA, OIDC provider and node pool placements.
    Default: none (create the cluster)."""

    @field_validator("kubernetes_version")
    @classmethod
    def _version(cls, value: str) -> str:
        if value not in versions.EKS_ADDONS:
            raise ValueError(
                "is not a Kubernetes version whose EKS add-ons servestack pins; supported: "
                + ", ".join(sorted(versions.EKS_ADDONS))
            )
        return value

    @field_validator("public_access_cidrs")
    @classmethod
    def _cidrs(cls, cidrs: list[str]) -> list[str]:
        for index, cidr in enumerate(cidrs):
            try:
                network = ipaddress.IPv4Network(cidr, strict=True)
            except ValueError:
                raise ValueError(f"must be IPv4 networks in CIDR notation such as 203.0.113.0/24; entry [{index}] is not one") from None
            if network.prefixlen == 0:
                raise ValueError("must not contain 0.0.0.0/0: the API endpoint is never open to the whole internet; list your own networks")
        if len(set(cidrs)) != len(cidrs):
            raise ValueError("must not list a network twice")
        for reason in open_to_internet(cidrs):  # 0.0.0.0/1 + 128.0.0.0/1 is 0.0.0.0/0 too
            raise ValueError(f"must not open the API endpoint to the internet: {reason}; list your own networks")
        return cidrs

    @field_validator("service_ipv4_cidr")
    @classmethod
    def _service_cidr(cls, value: str) -> str:
        try:
            network = ipaddress.IPv4Network(value, strict=True)
        except ValueError:
            raise ValueError("must be an IPv4 network in CIDR notation such as 172.20.0.0/16") from None
        if not 12 <= network.prefixlen <= 24 or not network.is_private:
            raise ValueError("must be a private /12 to /24 network (the EKS API's limits)")
        return value

    @field_validator("admin_role_arns")
    @classmethod
    def _unique_roles(cls, arns: list[str]) -> list[str]:
        if len(set(arns)) != len(arns):
            raise ValueError("must not list a role twice")
        return arns

    @property
    def endpoint_public_access(self) -> bool:
        return bool(self.public_access_cidrs)

    def problems(self) -> list[Finding]:
        if self.existing is None:
            if not self.admin_role_arns:
                # Access entries are the only way in (API mode, no implicit creator admin): without
                # one, nobody could use the cluster and the Kubernetes provider could not deploy.
                return [Finding(("adminRoleArns",), "needs at least one IAM role: access entries are the only way into the cluster, "
                                "and the role that runs pulumi up must be one of them")]
            return []
        # The referenced stack owns the control plane; settings here would silently do nothing.
        return [
            Finding((type(self).model_fields[name].alias,), "cannot be set together with existing (the referenced stack owns the cluster)",
                    getattr(self, name))
            for name in sorted(self.model_fields_set - {"existing"})
        ]
