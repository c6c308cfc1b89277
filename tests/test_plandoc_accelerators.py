"""Reading accelerators out of a plan: everything derives from the accelerator catalog."""

from __future__ import annotations

import copy

from review_stack import isvc, node_group, res

from components.core.catalog import AcceleratorKind
from plandoc.accelerators import catalog_resources, declared_plugin_kinds, plugin_kind
from plandoc.endpoints import endpoint_of, endpoints
from plandoc.plugins import device_plugins
from plandoc.pools import accelerator_resources, pools

DAEMON_SET = "kubernetes:apps/v1:DaemonSet"
RELEASE = "kubernetes:helm.sh/v3:Release"


def fpga_pool(resource: str) -> dict:
    return node_group("fpga", ["f2.6xlarge"], 0, 2, [{"key": resource, "value": "true", "effect": "NO_SCHEDULE"}], "fpga")


def fpga_endpoint(resource: str) -> dict:
    endpoint = isvc("anomaly", pool="fpga", gpus=0)
    model = endpoint["inputs"]["spec"]["predictor"]["model"]
    for section in ("requests", "limits"):
        model["resources"][section][resource] = "1"
    return endpoint


def test_the_accelerator_resources_are_exactly_the_catalogs():
    assert catalog_resources() == {
        "nvidia.com/gpu": AcceleratorKind.NVIDIA, "aws.amazon.com/neuron": AcceleratorKind.NEURON,
        "aws.amazon.com/neuroncore": AcceleratorKind.NEURON, "aws.amazon.com/neurondevice": AcceleratorKind.NEURON,
        "servestack.io/fpga": AcceleratorKind.FPGA}
    assert declared_plugin_kinds() == {AcceleratorKind.FPGA}


def test_device_plugins_are_known_by_the_catalogs_chart_and_release_names():
    assert [(name, plugin_kind(name)) for name in (
        "nvidia-device-plugin", "oci://public.ecr.aws/neuron/neuron-helm-chart", "neuron-device-plugin",
        "fpga-device-plugin", "nvidia-device-plugin-daemonset", "cert-manager", "fpga-plugin")] == [
        ("nvidia-device-plugin", AcceleratorKind.NVIDIA), ("oci://public.ecr.aws/neuron/neuron-helm-chart", AcceleratorKind.NEURON),
        ("neuron-device-plugin", AcceleratorKind.NEURON), ("fpga-device-plugin", AcceleratorKind.FPGA),
        ("nvidia-device-plugin-daemonset", AcceleratorKind.NVIDIA), ("cert-manager", None), ("fpga-plugin", None)]


def test_a_daemon_set_plugin_is_known_by_its_accelerator_node_selector_else_by_its_name():
    labelled = res(DAEMON_SET, "xilinx-runtime", {"metadata": {"name": "xilinx-runtime"}, "spec": {"template": {"spec": {
        "nodeSelector": {"servestack.io/accelerator": "fpga"}}}}})
    named = res(DAEMON_SET, "nvidia-device-plugin-daemonset", {"metadata": {"name": "nvidia-device-plugin-daemonset"}})
    cpu_only = res(DAEMON_SET, "node-exporter", {"spec": {"template": {"spec": {"nodeSelector": {"servestack.io/accelerator": "none"}}}}})
    chart = res(RELEASE, "neuron", {"chart": "oci://public.ecr.aws/neuron/neuron-helm-chart",
                                    "values": {"devicePlugin": {"tolerations": [{"key": "aws.amazon.com/neuron", "operator": "Exists"}]}}})
    assert [(p.urn.rsplit("::", 1)[1], p.kind, p.tolerations) for p in device_plugins([labelled, named, cpu_only, chart])] == [
        ("xilinx-runtime", AcceleratorKind.FPGA, ()), ("nvidia-device-plugin-daemonset", AcceleratorKind.NVIDIA, ()),
        ("neuron", AcceleratorKind.NEURON, ({"key": "aws.amazon.com/neuron", "operator": "Exists"},))]


def test_a_pool_of_a_stack_declared_plugin_offers_the_resource_its_taint_names():
    renamed, default = pools([fpga_pool("acme.com/fpga")]), pools([fpga_pool("nvidia.com/gpu")])
    assert [(p.kind, p.resource_name, p.accelerators_per_node) for p in renamed + default] == [
        (AcceleratorKind.FPGA, "acme.com/fpga", 1), (AcceleratorKind.FPGA, "servestack.io/fpga", 1)]
    gpu = node_group("gpu", ["g6.xlarge"], 0, 2, [{"key": "example.com/other", "value": "true", "effect": "NO_SCHEDULE"}], "nvidia")
    assert [(p.kind, p.resource_name) for p in pools([gpu])] == [(AcceleratorKind.NVIDIA, "nvidia.com/gpu")]


def test_an_endpoint_asks_for_an_accelerator_the_catalog_or_one_of_the_plans_pools_names():
    stack = [fpga_pool("acme.com/fpga"), fpga_endpoint("acme.com/fpga")]
    assert accelerator_resources(stack) == {*catalog_resources(), "acme.com/fpga"}
    [endpoint] = endpoints(stack)
    assert endpoint.predictor.accelerator_request() == ("acme.com/fpga", 1)
    # Alone (a CrossGuard resource rule sees one resource), only the catalog's names mean an accelerator.
    assert endpoint_of(fpga_endpoint("acme.com/fpga")).predictor.accelerator_request() is None
    assert endpoint_of(fpga_endpoint("servestack.io/fpga")).predictor.accelerator_request() == ("servestack.io/fpga", 1)
    # A resource no pool of the plan declares is not taken for an accelerator by its name.
    [other] = endpoints([fpga_pool("acme.com/fpga"), fpga_endpoint("example.com/fpga")])
    assert other.predictor.accelerator_request() is None


def test_canaries_of_an_endpoint_read_the_same_accelerator_resources():
    endpoint = fpga_endpoint("acme.com/fpga")
    canary = copy.deepcopy(endpoint["inputs"]["spec"]["predictor"])
    endpoint["inputs"]["metadata"]["annotations"] = {"serving.kserve.io/deploymentMode": "Standard"}
    endpoint["inputs"]["spec"]["canary"] = [{"name": "candidate", "trafficPercent": 10, "predictor": canary}]
    [read] = endpoints([fpga_pool("acme.com/fpga"), endpoint])
    assert [c.accelerator_request() for c, _ in read.canaries] == [("acme.com/fpga", 1)]
