"""What in a plan means "an accelerator": extended resource names and device plugin charts.

Derived from the accelerator catalog (:mod:`components.catalog`), so a reader of a plan knows
the same kinds as the program that wrote it.
"""

from __future__ import annotations

from components import catalog
from components.catalog import AcceleratorKind

#: Every extended resource that means "an accelerator" (the FPGA one a stack may rename).
ACCELERATOR_RESOURCES = {
    "nvidia.com/gpu": AcceleratorKind.NVIDIA,
    "aws.amazon.com/neuron": AcceleratorKind.NEURON,
    "aws.amazon.com/neuroncore": AcceleratorKind.NEURON,
    "aws.amazon.com/neurondevice": AcceleratorKind.NEURON,
    catalog.DEFAULT_FPGA_RESOURCE: AcceleratorKind.FPGA,
}

#: Helm chart name (the last segment of its reference) -> the kind of device plugin it installs.
CHART_KINDS = {"nvidia-device-plugin": AcceleratorKind.NVIDIA, "neuron-helm-chart": AcceleratorKind.NEURON,
               "neuron-device-plugin": AcceleratorKind.NEURON}


def is_accelerator_resource(resource_name: str) -> bool:
    return resource_name in ACCELERATOR_RESOURCES or resource_name.endswith("/fpga")
