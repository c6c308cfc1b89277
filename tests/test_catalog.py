"""The accelerator catalog, by tables: kinds, AMI types, taints, labels, accelerators per node."""

from __future__ import annotations

import botocore.session
import pytest

from components.core import catalog
from components.core.catalog import AcceleratorKind, CatalogError
from components.core.placement import placement_for


@pytest.fixture(scope="module")
def ec2_instance_types() -> set[str]:
    return set(botocore.session.get_session().get_service_model("ec2").shape_for("InstanceType").enum)


def test_every_catalog_instance_type_exists_in_the_ec2_api(ec2_instance_types):
    missing = [t for t in catalog.known_instance_types() if t not in ec2_instance_types]
    assert missing == []


def test_every_family_of_the_catalog_has_instance_types():
    families = {catalog.family_of(t) for t in catalog.known_instance_types()}
    assert sorted(set(catalog.families()) - families) == []


@pytest.mark.parametrize("family", ["m6i", "m7i", "m7g", "c7i", "g4dn", "g5", "g6", "g6e", "p4d", "p5", "p5e", "inf2", "trn1", "trn2", "f2"])
def test_the_current_instance_families_are_in_the_catalog(family):
    assert family in catalog.families()


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


# --- what each kind's entry carries beyond placement -------------------------------------------


def test_each_kind_names_its_device_plugin_and_how_it_is_installed():
    plugins = {k.value: a.plugin for k, a in catalog.ACCELERATORS.items()}
    assert plugins["none"] is None
    nvidia, neuron, fpga = plugins["nvidia"], plugins["neuron"], plugins["fpga"]
    assert (nvidia.name.value, nvidia.chart, nvidia.repository, nvidia.pin.version) == (
        "nvidia-device-plugin", "nvidia-device-plugin", "https://nvidia.github.io/k8s-device-plugin", "0.20.0")
    assert (neuron.name.value, neuron.chart, neuron.repository, neuron.pin.version) == (
        "neuron-device-plugin", "oci://public.ecr.aws/neuron/neuron-helm-chart", None, "1.7.0")
    assert (fpga.name.value, fpga.chart, fpga.pin, fpga.declared_by_stack) == ("fpga-device-plugin", None, None, True)
    assert [p.declared_by_stack for p in (nvidia, neuron)] == [False, False]


@pytest.mark.parametrize(("name", "kind"), [
    ("nvidia-device-plugin", "nvidia"), ("https://nvidia.github.io/k8s-device-plugin/nvidia-device-plugin", "nvidia"),
    ("neuron-helm-chart", "neuron"), ("oci://public.ecr.aws/neuron/neuron-helm-chart/", "neuron"),
    ("neuron-device-plugin", "neuron"), ("fpga-device-plugin", "fpga"), ("cert-manager", None),
])
def test_a_device_plugin_is_known_by_its_release_or_chart_name(name, kind):
    found = catalog.kind_of_plugin(name)
    assert (found.value if found else None) == kind


@pytest.mark.parametrize(("resource", "kind"), [
    ("nvidia.com/gpu", "nvidia"), ("aws.amazon.com/neuron", "neuron"), ("aws.amazon.com/neuroncore", "neuron"),
    ("aws.amazon.com/neurondevice", "neuron"), ("servestack.io/fpga", "fpga"), ("example.com/fpga", None), ("cpu", None),
])
def test_extended_resources_name_their_kind(resource, kind):
    found = catalog.kind_of_resource(resource)
    assert (found.value if found else None) == kind


def test_device_counts_come_from_the_field_each_kind_names():
    assert {k.value: a.count_field for k, a in catalog.ACCELERATORS.items()} == {
        "none": None, "nvidia": "gpus", "neuron": "neuronDevices", "fpga": "fpgas"}
    assert catalog.ACCELERATORS[AcceleratorKind.NEURON].devices({"neuronDevices": 12, "gpus": 0}) == 12
    assert catalog.ACCELERATORS[AcceleratorKind.NONE].devices({"gpus": 8}) == 0


def test_kinds_for_messages_list_every_kind_with_devices():
    assert catalog.kinds_text() == "nvidia, neuron or fpga"
    assert catalog.kinds_text("and") == "nvidia, neuron and fpga"
    assert [k.value for k in catalog.device_kinds()] == ["nvidia", "neuron", "fpga"]


@pytest.mark.parametrize(("instance_type", "on_demand", "spot"), [
    ("g6.xlarge", "L-DB2E81BA", "L-3819A6DF"), ("gr6.4xlarge", "L-DB2E81BA", "L-3819A6DF"),
    ("p5.48xlarge", "L-417A185B", "L-7212CCBC"), ("inf2.xlarge", "L-1945791B", "L-B5D1601B"),
    ("trn1n.32xlarge", "L-2C3B7624", "L-6B0D517C"), ("f2.6xlarge", "L-74FC7D96", "L-88CF9481"),
    ("m7i-flex.large", "L-1216C47A", "L-34B43A08"), ("c7g.xlarge", "L-1216C47A", "L-34B43A08"),
])
def test_each_instance_type_counts_against_the_quota_class_of_its_family(instance_type, on_demand, spot):
    quota = catalog.quota_class_of(instance_type)
    assert (quota.on_demand.code, quota.spot.code) == (on_demand, spot)
    kind = catalog.lookup(instance_type).kind
    assert quota in catalog.ACCELERATORS[kind].quota_classes


def test_families_outside_every_quota_class_have_none():
    assert [catalog.quota_class_of(t) for t in ("x2idn.16xlarge", "dl1.24xlarge")] == [None, None]
    assert len(catalog.quota_classes()) == 6


def test_kinds_for_messages_name_the_kinds_that_need_their_own_ami_or_declare_their_plugin():
    assert catalog.titles(lambda a: a.needs_custom_ami) == "FPGA"
    assert catalog.titles(catalog.declares_plugin) == "FPGA"
    assert catalog.titles(lambda a: a.has_devices) == "NVIDIA or Neuron or FPGA"
