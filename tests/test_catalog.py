"""The accelerator catalog, by tables: kinds, AMI types, taints, labels, accelerators per node."""

from __future__ import annotations

import botocore.session
import pytest

from components import catalog
from components.catalog import AcceleratorKind, CatalogError
from components.placement import placement_for


@pytest.fixture(scope="module")
def ec2_instance_types() -> set[str]:
    return set(botocore.session.get_session().get_service_model("ec2").shape_for("InstanceType").enum)


def test_every_catalog_instance_type_exists_in_the_ec2_api(ec2_instance_types):
    missing = [t for t in catalog.known_instance_types() if t not in ec2_instance_types]
    assert missing == []


def test_every_family_of_the_catalog_has_instance_types():
    families = {catalog.family_of(t) for t in catalog.known_instance_types()}
    assert sorted(set(catalog.FAMILIES) - families) == []


@pytest.mark.parametrize("family", ["m6i", "m7i", "m7g", "c7i", "g4dn", "g5", "g6", "g6e", "p4d", "p5", "p5e", "inf2", "trn1", "trn2", "f2"])
def test_the_current_instance_families_are_in_the_catalog(family):
    assert family in catalog.FAMILIES


@pytest.mark.parametrize(
    ("instance_type", "kind", "architecture", "accelerators", "ami_type", "resource", "plugin"),
    [
        ("m7i.large", "none", "x86_64", 0, "AL2023_x86_64_STANDARD", None, None),
        ("m7g.xlarge", "none", "arm64", 0, "AL2023_ARM_64_STANDARD", None, None),
        ("c7i.2xlarge", "none", "x86_64", 0, "AL2023_x86_64_STANDARD", None, None),
        ("g4dn.xlarge", "nvidia", "x86_64", 1, "AL2023_x86_64_NVIDIA", "nvidia.com/gpu", "nvidia-device-plugin"),
        ("g5.12xlarge", "nvidia", "x86_64", 4, "AL2023_x86_64_NVIDIA", "nvidia.com/gpu", "nvidia-device-plugin"),
        ("g5g.xlarge", "nvidia", "arm64", 1, "AL2023_ARM_64_NVIDIA", "nvidia.com/gpu", "nvidia-device-plugin"),
        ("g6.xlarge", "nvidia", "x86_64", 1, "AL2023_x86_64_NVIDIA", "nvidia.com/gpu", "nvidia-device-plugin"),
        ("g6e.12xlarge", "nvidia", "x86_64", 4, "AL2023_x86_64_NVIDIA", "nvidia.com/gpu", "nvidia-device-plugin"),
        ("p4d.24xlarge", "nvidia", "x86_64", 8, "AL2023_x86_64_NVIDIA", "nvidia.com/gpu", "nvidia-device-plugin"),
        ("p5.48xlarge", "nvidia", "x86_64", 8, "AL2023_x86_64_NVIDIA", "nvidia.com/gpu", "nvidia-device-plugin"),
        ("p5e.48xlarge", "nvidia", "x86_64", 8, "AL2023_x86_64_NVIDIA", "nvidia.com/gpu", "nvidia-device-plugin"),
        ("inf2.xlarge", "neuron", "x86_64", 1, "AL2023_x86_64_NEURON", "aws.amazon.com/neuron", "neuron-device-plugin"),
        ("inf2.48xlarge", "neuron", "x86_64", 12, "AL2023_x86_64_NEURON", "aws.amazon.com/neuron", "neuron-device-plugin"),
        ("trn1.32xlarge", "neuron", "x86_64", 16, "AL2023_x86_64_NEURON", "aws.amazon.com/neuron", "neuron-device-plugin"),
        ("trn2.48xlarge", "neuron", "x86_64", 16, "AL2023_x86_64_NEURON", "aws.amazon.com/neuron", "neuron-device-plugin"),
        ("f2.6xlarge", "fpga", "x86_64", 1, "CUSTOM", "servestack.io/fpga", "fpga-device-plugin"),
        ("f2.12xlarge", "fpga", "x86_64", 2, "CUSTOM", "servestack.io/fpga", "fpga-device-plugin"),
        ("f2.48xlarge", "fpga", "x86_64", 8, "CUSTOM", "servestack.io/fpga", "fpga-device-plugin"),
    ],
)
def test_catalog_entry(instance_type, kind, architecture, accelerators, ami_type, resource, plugin):
    spec = catalog.lookup(instance_type)
    assert (spec.kind.value, spec.architecture, spec.accelerators) == (kind, architecture, accelerators)
    assert spec.accelerator.ami_types[spec.architecture] == ami_type
    assert spec.accelerator.resource_name == resource
    assert spec.accelerator.taint_key == resource
    assert (spec.accelerator.device_plugin.value if spec.accelerator.device_plugin else None) == plugin
    assert spec.accelerator.node_labels() == {"servestack.io/accelerator": kind}
    assert spec.accelerator.needs_custom_ami is (kind == "fpga")


def test_f1_is_rejected_as_retired_with_f2_suggested():
    with pytest.raises(CatalogError) as error:
        catalog.lookup("f1.2xlarge")
    assert str(error.value) == "EC2 F1 instances were retired on 2025-12-20; use F2 (f2.6xlarge, f2.12xlarge or f2.48xlarge)"


def test_unknown_size_lists_the_family_sizes():
    with pytest.raises(CatalogError) as error:
        catalog.lookup("f2.huge")
    assert str(error.value) == "'f2.huge' is not an EC2 instance type; f2 sizes: f2.12xlarge, f2.48xlarge, f2.6xlarge"


def test_unknown_family_lists_the_supported_ones():
    with pytest.raises(CatalogError) as error:
        catalog.lookup("x9z.large")
    assert str(error.value).startswith("instance family 'x9z' is not in the accelerator catalog; supported families: c5, c6a,")


@pytest.mark.parametrize(
    ("pool", "types", "labels", "taints"),
    [
        ("system", ["m7i.large"], {"servestack.io/pool": "system", "servestack.io/accelerator": "none"}, []),
        ("gpu", ["g6.xlarge", "g5.xlarge"], {"servestack.io/pool": "gpu", "servestack.io/accelerator": "nvidia"},
         [("nvidia.com/gpu", "true", "NoSchedule", "NO_SCHEDULE")]),
        ("inf", ["inf2.xlarge"], {"servestack.io/pool": "inf", "servestack.io/accelerator": "neuron"},
         [("aws.amazon.com/neuron", "true", "NoSchedule", "NO_SCHEDULE")]),
        ("fpga", ["f2.6xlarge"], {"servestack.io/pool": "fpga", "servestack.io/accelerator": "fpga"},
         [("servestack.io/fpga", "true", "NoSchedule", "NO_SCHEDULE")]),
    ],
)
def test_placement_labels_and_taints_come_from_the_catalog(pool, types, labels, taints):
    placement = placement_for(pool, types, 3)
    assert placement.labels == labels
    assert [(t.key, t.value, t.effect, t.eks_effect) for t in placement.taints] == taints


def test_accelerators_per_node_is_the_smallest_size_of_the_pool():
    assert placement_for("gpu", ["g5.12xlarge", "g5.xlarge"], 2).accelerators_per_node == 1


def test_every_supported_architecture_has_an_ami_type():
    for kind, accelerator in catalog.ACCELERATORS.items():
        assert accelerator.ami_types, kind
    assert catalog.ACCELERATORS[AcceleratorKind.FPGA].ami_types == {"x86_64": "CUSTOM"}
