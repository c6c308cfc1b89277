"""Every node pool validation error, with its exact message, reported all at once."""

from __future__ import annotations

from typing import Any

import pytest

from components.config import ConfigError, parse_stack_config

ADMIN = "arn:aws:iam::123456789012:role/admin"
SYSTEM = {"instanceTypes": ["m7i.large"], "minSize": 2}


def config(pools: dict[str, Any], **sections: Any) -> dict[str, Any]:
    raw = {"aws:region": "us-east-1", "servestack:cluster": {"adminRoleArns": [ADMIN]}, "servestack:nodePools": pools}
    raw.update({f"servestack:{k}": v for k, v in sections.items()})
    return raw


def problems(raw: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as error:
        parse_stack_config("test", raw)
    return [p.render() for p in error.value.problems]


def pool_problems(pool: dict[str, Any]) -> list[str]:
    return problems(config({"system": SYSTEM, "bad": pool}))


def test_retired_f1_says_when_and_suggests_f2():
    assert pool_problems({"instanceTypes": ["f1.2xlarge"]}) == [
        'servestack:nodePools.bad.instanceTypes[0]: EC2 F1 instances were retired on 2025-12-20; '
        'use F2 (f2.6xlarge, f2.12xlarge or f2.48xlarge) (got "f1.2xlarge")',
    ]


def test_unknown_instance_type():
    assert pool_problems({"instanceTypes": ["g5.huge"]}) == [
        'servestack:nodePools.bad.instanceTypes[0]: \'g5.huge\' is not an EC2 instance type; g5 sizes: g5.12xlarge, g5.16xlarge, '
        'g5.24xlarge, g5.2xlarge, g5.48xlarge, g5.4xlarge, g5.8xlarge, g5.xlarge (got "g5.huge")',
    ]


def test_mixed_accelerator_kinds():
    assert pool_problems({"instanceTypes": ["g5.xlarge", "inf2.xlarge"]}) == [
        'servestack:nodePools.bad.instanceTypes: mixes accelerator kinds (neuron, nvidia); one pool holds one kind, '
        'so declare a pool per kind (got ["g5.xlarge", "inf2.xlarge"])',
    ]


def test_mixed_architectures():
    assert pool_problems({"instanceTypes": ["g5.xlarge", "g5g.xlarge"]}) == [
        'servestack:nodePools.bad.instanceTypes: mixes CPU architectures (arm64, x86_64); one pool runs one AMI, '
        'so declare a pool per architecture (got ["g5.xlarge", "g5g.xlarge"])',
    ]


def test_duplicate_instance_type():
    assert pool_problems({"instanceTypes": ["g5.xlarge", "g5.xlarge"]}) == [
        'servestack:nodePools.bad.instanceTypes: must not list an instance type twice (got ["g5.xlarge", "g5.xlarge"])',
    ]


def test_a_karpenter_pool_keeps_no_minimum():
    assert pool_problems({"instanceTypes": ["g5.xlarge"], "minSize": 4, "maxSize": 2}) == [
        "servestack:nodePools.bad.minSize: must be 0 for a Karpenter pool: Karpenter launches nodes only for pending pods and "
        "keeps no minimum; use provisioner managed for nodes that always run (got 4)",
    ]


def test_a_karpenter_pool_has_no_desired_size():
    assert pool_problems({"instanceTypes": ["g5.xlarge"], "maxSize": 2, "desiredSize": 1}) == [
        "servestack:nodePools.bad.desiredSize: is only for managed pools: Karpenter decides how many nodes a Karpenter pool "
        "has (0 to maxSize) (got 1)",
    ]


def test_a_managed_pool_is_fixed_size():
    assert pool_problems({"provisioner": "managed", "instanceTypes": ["g5.xlarge"], "minSize": 1, "maxSize": 3, "desiredSize": 2}) == [
        "servestack:nodePools.bad.desiredSize: must equal minSize (1) for a managed pool (its size is fixed) (got 2)",
        "servestack:nodePools.bad.maxSize: must equal minSize (1) for a managed pool: nothing scales an EKS managed node group "
        "here (no Cluster Autoscaler runs), so its size is fixed; use provisioner karpenter for nodes that follow demand (got 3)",
    ]
    assert pool_problems({"provisioner": "managed", "instanceTypes": ["g5.xlarge"], "minSize": 0}) == [
        "servestack:nodePools.bad.minSize: must be at least 1 for a managed pool (its fixed size); a pool that scales from "
        "zero needs provisioner karpenter (got 0)",
    ]


def test_an_unknown_provisioner_is_refused():
    assert pool_problems({"provisioner": "autoscaler", "instanceTypes": ["g5.xlarge"]}) == [
        'servestack:nodePools.bad.provisioner: must be one of karpenter or managed (got "autoscaler")',
    ]


def test_provisioner_defaults_and_the_sizes_that_follow():
    pools = parse_stack_config("test", config({"system": {"instanceTypes": ["m7i.large"], "minSize": 2},
                                               "gpu": {"instanceTypes": ["g6.xlarge"]},
                                               "cpu": {"provisioner": "karpenter", "instanceTypes": ["c7i.large"], "maxSize": 5}})).node_pools
    assert {k: (p.provisioner, p.min_size, p.max_size) for k, p in pools.items()} == {
        "system": ("managed", 2, 2), "gpu": ("karpenter", 0, 3), "cpu": ("karpenter", 0, 5)}


@pytest.mark.parametrize("types", [["g6.xlarge"], ["inf2.xlarge"], ["trn1.2xlarge"]])
def test_accelerator_pools_may_scale_from_zero(types):
    parsed = parse_stack_config("test", config({"system": SYSTEM, "acc": {"instanceTypes": types, "minSize": 0, "maxSize": 2}}))
    assert parsed.node_pools["acc"].min_size == 0


def test_fpga_pool_without_custom_ami_or_plugin():
    assert pool_problems({"instanceTypes": ["f2.6xlarge"]}) == [
        "servestack:nodePools.bad.amiId: is required for an FPGA pool: there is no EKS-optimized FPGA AMI, so give a custom "
        "AL2023 AMI with the FPGA runtime; the pool then uses AMI type CUSTOM and nodeadm bootstrap user data",
        "servestack:nodePools.bad.devicePlugin: is required for an FPGA pool: no vendor publishes a device plugin for F2, "
        "so give its image and resourceName",
    ]


def test_ami_and_fpga_plugin_only_on_fpga_pools():
    assert pool_problems({"instanceTypes": ["g5.xlarge"], "amiId": "ami-0123456789abcdef0",
                          "devicePlugin": {"image": "example.com/fpga:1.0"}}) == [
        'servestack:nodePools.bad.amiId: is only for FPGA pools; other pools use the EKS-optimized AMI of their accelerator '
        '(got "ami-0123456789abcdef0")',
        'servestack:nodePools.bad.devicePlugin: is only for FPGA pools (got {"image": "example.com/fpga:1.0"})',
    ]


@pytest.mark.parametrize("image", ["example.com/fpga", "example.com/fpga:latest"])
def test_fpga_plugin_image_must_be_pinned(image):
    assert pool_problems({"instanceTypes": ["f2.6xlarge"], "amiId": "ami-0123456789abcdef0", "devicePlugin": {"image": image}}) == [
        "servestack:nodePools.bad.devicePlugin.image: must be an image pinned by tag or digest, such as "
        f'registry.example.com/fpga-device-plugin:1.2.0 (never latest) (got "{image}")',
    ]


def test_capacity_block_needs_a_reservation_and_one_type():
    assert pool_problems({"instanceTypes": ["p5.48xlarge", "p5e.48xlarge"], "capacityType": "capacityBlock"}) == [
        "servestack:nodePools.bad.capacityReservationId: is required when capacityType is capacityBlock: "
        "the id of the purchased Capacity Block (cr-...)",
        'servestack:nodePools.bad.instanceTypes: must name exactly one instance type when capacityType is capacityBlock '
        '(a Capacity Block reserves one type) (got ["p5.48xlarge", "p5e.48xlarge"])',
    ]


def test_reservation_only_with_capacity_block():
    assert pool_problems({"instanceTypes": ["p5.48xlarge"], "capacityType": "spot", "capacityReservationId": "cr-0123456789abcdef0"}) == [
        'servestack:nodePools.bad.capacityReservationId: is only used when capacityType is capacityBlock (capacityType is spot) '
        '(got "cr-0123456789abcdef0")',
    ]


def test_unknown_capacity_type():
    assert pool_problems({"instanceTypes": ["g5.xlarge"], "capacityType": "ON_DEMAND"}) == [
        'servestack:nodePools.bad.capacityType: must be one of onDemand, spot or capacityBlock (got "ON_DEMAND")',
    ]


def test_reserved_and_malformed_labels():
    assert pool_problems({"instanceTypes": ["g5.xlarge"], "labels": {"servestack.io/pool": "x"}}) == [
        'servestack:nodePools.bad.labels: must not set servestack.io/pool: keys under servestack.io/ come from the accelerator '
        'catalog (got {"servestack.io/pool": "x"})',
    ]
    assert pool_problems({"instanceTypes": ["g5.xlarge"], "labels": {"team": "a b"}}) == [
        'servestack:nodePools.bad.labels: has values that are not Kubernetes label values (keys: team) (got {"team": "a b"})',
    ]


def test_empty_label_value_is_refused_as_eks_refuses_it():
    # Kubernetes accepts an empty label value; the EKS API (botocore's eks model: labelValue min 1) does not.
    assert pool_problems({"instanceTypes": ["g5.xlarge"], "labels": {"team": "", "tier": "gold"}}) == [
        'servestack:nodePools.bad.labels: has empty values (keys: team); EKS requires node group label values of 1 to 63 '
        'characters (got {"team": "", "tier": "gold"})',
    ]


def test_label_key_longer_than_eks_allows_is_refused():
    key = "example.com/" + "k" * 52  # a valid Kubernetes key of 64 characters
    assert pool_problems({"instanceTypes": ["g5.xlarge"], "labels": {key: "x"}}) == [
        f'servestack:nodePools.bad.labels: has keys longer than the 63 characters EKS allows for a node group label key '
        f'(prefix included): {key} (got {{"{key}": "x"}})',
    ]
    assert parse_stack_config("test", config({"system": {**SYSTEM, "labels": {key[:-1]: "x"}}})).node_pools["system"].labels == {key[:-1]: "x"}


def test_eks_label_limits_come_from_botocores_eks_model():
    from components.config.node_pools import eks_label_limits

    assert eks_label_limits() == {"key": (1, 63), "value": (1, 63)}


def test_disk_size_bounds():
    assert pool_problems({"instanceTypes": ["g5.xlarge"], "diskSizeGib": 10}) == [
        "servestack:nodePools.bad.diskSizeGib: must be >= 20 (got 10)",
    ]


def test_every_problem_of_every_pool_at_once():
    found = problems(config({
        "system": SYSTEM,
        "old": {"instanceTypes": ["f1.2xlarge"], "minSize": 3, "maxSize": 1},
        "typo": {"instanceTypes": ["g5.xlarge"], "amiId": "ami-1"},
    }))
    assert found == [
        "servestack:nodePools.old.instanceTypes[0]: EC2 F1 instances were retired on 2025-12-20; use F2 (f2.6xlarge, f2.12xlarge "
        'or f2.48xlarge) (got "f1.2xlarge")',
        'servestack:nodePools.typo.amiId: must match the pattern ^ami-[0-9a-f]{8,17}$ (got "ami-1")',
    ]


def test_a_cpu_pool_with_nodes_is_required():
    assert problems(config({"gpu": {"instanceTypes": ["g5.xlarge"], "minSize": 0}})) == [
        'servestack:nodePools: needs a managed CPU pool (provisioner managed, instance types without accelerators) with minSize >= 1: cluster add-ons such as CoreDNS tolerate no accelerator taint, and the Karpenter controller must not run on nodes it manages (got ["gpu"])',
    ]


def test_fpga_pools_share_one_plugin():
    fpga = {"instanceTypes": ["f2.6xlarge"], "minSize": 0, "amiId": "ami-0123456789abcdef0"}
    assert problems(config({
        "system": SYSTEM,
        "a": {**fpga, "devicePlugin": {"image": "example.com/fpga:1.0"}},
        "b": {**fpga, "devicePlugin": {"image": "example.com/fpga:2.0"}},
    })) == [
        "servestack:nodePools: declares different devicePlugin settings; FPGA pools must share one (one DaemonSet serves "
        'every FPGA node) (got ["a", "b"])',
    ]


def test_defaults_of_a_pool():
    pool = parse_stack_config("test", config({"system": {"instanceTypes": ["m7i.large"]}})).node_pools["system"]
    assert (pool.min_size, pool.max_size, pool.desired_size, pool.disk_size_gib, pool.capacity_type, pool.eks_capacity_type,
            pool.max_unavailable, pool.pod_metadata_access, pool.labels, pool.ami_id) == (
        1, 1, None, 100, "onDemand", "ON_DEMAND", 1, False, {}, None)


FPGA_POOL = {"instanceTypes": ["f2.6xlarge"], "amiId": "ami-0123456789abcdef0"}


def test_the_former_name_fpga_device_plugin_is_read_as_device_plugin_with_a_deprecation_note():
    from components.config.node_pools import deprecation_notes

    pools = {"system": SYSTEM, "fpga": {**FPGA_POOL, "fpgaDevicePlugin": {"image": "example.com/fpga:1.0",
                                                                         "resourceName": "example.com/fpga"}}}
    parsed = parse_stack_config("test", config(pools))
    assert parsed.node_pools["fpga"].device_plugin.image == "example.com/fpga:1.0"
    assert parsed.node_pools["fpga"].resource_name == "example.com/fpga"
    assert deprecation_notes(pools) == [
        "servestack:nodePools.fpga.fpgaDevicePlugin is deprecated: rename it to devicePlugin (same fields: image, "
        "resourceName)"]


def test_the_former_and_the_new_name_together_are_refused():
    pool = {**FPGA_POOL, "devicePlugin": {"image": "example.com/fpga:1.0"}, "fpgaDevicePlugin": {"image": "example.com/fpga:2.0"}}
    assert pool_problems(pool) == [
        "servestack:nodePools.bad.fpgaDevicePlugin: is not a known setting; allowed here: instanceTypes, provisioner, "
        "minSize, maxSize, desiredSize, diskSizeGib, capacityType, capacityReservationId, maxUnavailable, "
        'podMetadataAccess, labels, amiId, devicePlugin (got {"image": "example.com/fpga:2.0"})',
    ]


def test_a_declared_plugin_defaults_to_the_catalogs_resource_of_its_kind():
    parsed = parse_stack_config("test", config({"system": SYSTEM, "fpga": {**FPGA_POOL, "devicePlugin": {"image": "example.com/fpga:1.0"}}}))
    assert parsed.node_pools["fpga"].resource_name == "servestack.io/fpga"
