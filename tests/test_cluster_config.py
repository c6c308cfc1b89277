"""``servestack:cluster`` validation: exact messages, secure defaults."""

from __future__ import annotations

from typing import Any

import pytest

from components.core import versions
from components.config import ConfigError, parse_stack_config

ADMIN = "arn:aws:iam::123456789012:role/admin"
POOLS = {"system": {"instanceTypes": ["m7i.large"], "minSize": 2}}


def raw(cluster: dict[str, Any] | None = None, **sections: Any) -> dict[str, Any]:
    config = {"aws:region": "us-east-1", "servestack:nodePools": POOLS, "servestack:cluster": {"adminRoleArns": [ADMIN], **(cluster or {})}}
    config.update({f"servestack:{k}": v for k, v in sections.items()})
    return config


def problems(config: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as error:
        parse_stack_config("test", config)
    return [p.render() for p in error.value.problems]


def test_secure_defaults():
    cluster = parse_stack_config("test", raw()).cluster
    assert cluster.kubernetes_version == versions.DEFAULT_KUBERNETES_VERSION == "1.35"
    assert cluster.support_type == "STANDARD"
    assert cluster.public_access_cidrs == []
    assert cluster.endpoint_public_access is False
    assert cluster.secrets_kms_key_arn is None
    assert cluster.existing is None


def test_the_whole_internet_is_never_allowed():
    assert problems(raw({"publicAccessCidrs": ["0.0.0.0/0"]})) == [
        "servestack:cluster.publicAccessCidrs: must not contain 0.0.0.0/0: the API endpoint is never open to the whole internet; "
        'list your own networks (got ["0.0.0.0/0"])',
    ]


def test_malformed_cidr():
    assert problems(raw({"publicAccessCidrs": ["203.0.113.7/24"]})) == [
        "servestack:cluster.publicAccessCidrs: must be IPv4 networks in CIDR notation such as 203.0.113.0/24; "
        'entry [0] is not one (got ["203.0.113.7/24"])',
    ]


def test_prod_endpoint_is_private_only():
    assert problems(raw({"publicAccessCidrs": ["203.0.113.0/24"]}, tier="prod")) == [
        "servestack:cluster.publicAccessCidrs: must be empty in prod: the prod API endpoint is private only "
        '(reach it from the VPC, a VPN or a peered network) (got ["203.0.113.0/24"])',
    ]


def test_an_admin_role_is_required():
    config = raw()
    config["servestack:cluster"] = {}
    assert problems(config) == [
        "servestack:cluster.adminRoleArns: needs at least one IAM role: access entries are the only way into the cluster, "
        "and the role that runs pulumi up must be one of them",
    ]


def test_admin_roles_must_be_role_arns():
    assert problems(raw({"adminRoleArns": ["arn:aws:iam::123456789012:user/alice"]})) == [
        "servestack:cluster.adminRoleArns[0]: must match the pattern ^arn:aws(-[a-z]+)*:iam::\\d{12}:role/[A-Za-z0-9+=,.@_/-]+$ "
        '(got "arn:aws:iam::123456789012:user/alice")',
    ]


def test_unsupported_kubernetes_version():
    assert problems(raw({"kubernetesVersion": "1.29"})) == [
        'servestack:cluster.kubernetesVersion: is not a Kubernetes version whose EKS add-ons servestack pins; supported: 1.34, 1.35 '
        '(got "1.29")',
    ]


def test_unknown_support_type():
    assert problems(raw({"supportType": "LTS"})) == [
        'servestack:cluster.supportType: must be one of STANDARD or EXTENDED (got "LTS")',
    ]


def test_kms_key_must_be_a_key_arn():
    assert problems(raw({"secretsKmsKeyArn": "alias/mine"})) == [
        "servestack:cluster.secretsKmsKeyArn: must match the pattern "
        '^arn:aws(-[a-z]+)*:kms:[a-z0-9-]+:\\d{12}:key/[0-9a-f-]{36}$ (got "alias/mine")',
    ]


def test_existing_cluster_takes_no_cluster_settings():
    config = {"aws:region": "us-east-1", "servestack:cluster": {"existing": "platform", "kubernetesVersion": "1.34"}}
    assert problems(config) == [
        'servestack:cluster.kubernetesVersion: cannot be set together with existing (the referenced stack owns the cluster) (got "1.34")',
    ]


def test_existing_cluster_takes_no_pools_or_network():
    config = {"aws:region": "us-east-1", "servestack:cluster": {"existing": "org/servestack/platform"},
              "servestack:nodePools": POOLS, "servestack:network": {"availabilityZones": 3}}
    assert problems(config) == [
        "servestack:network: cannot be set together with cluster.existing (the stack org/servestack/platform owns the cluster's network)",
        "servestack:nodePools: cannot be set together with cluster.existing (the stack org/servestack/platform owns the cluster's nodePools)",
    ]


def test_existing_cluster_alone_is_valid():
    config = parse_stack_config("serving", {"aws:region": "us-east-1", "servestack:cluster": {"existing": "org/servestack/platform"}})
    assert config.cluster.existing == "org/servestack/platform"
    assert config.node_pools == {}


def test_every_supported_version_pins_every_addon():
    for version, addons in versions.EKS_ADDONS.items():
        assert sorted(addons) == ["aws-ebs-csi-driver", "coredns", "eks-pod-identity-agent", "kube-proxy", "vpc-cni"], version
        assert addons["kube-proxy"].version.startswith(f"v{version}."), version
        for pinned in addons.values():
            assert pinned.version.startswith("v") and "-eksbuild." in pinned.version
