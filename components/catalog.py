"""The accelerator catalog: what an EC2 instance type means for Kubernetes.

One declaration of a node pool (its instance types) drives everything accelerator-specific:
the EKS AMI type, the taint, the node labels, the extended resource name that pods request,
and which device plugin must run on the pool. Endpoints placed on a pool derive their
accelerator limits, node selector and tolerations from the same entry, so nobody writes a
taint twice.

Pure Python, no Pulumi: the hardware facts per instance type (vCPUs, memory, GPUs, Neuron
devices, FPGAs, architecture) come from ``data/instance_types.json``, generated from the EC2
DescribeInstanceTypes data by ``tools/gen_instance_types.py``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import Enum
from functools import cache
from importlib import resources


class AcceleratorKind(str, Enum):
    NONE = "none"
    NVIDIA = "nvidia"
    NEURON = "neuron"
    FPGA = "fpga"


class DevicePlugin(str, Enum):
    NVIDIA = "nvidia-device-plugin"
    NEURON = "neuron-device-plugin"
    FPGA = "fpga-device-plugin"


#: Label every servestack node carries with its accelerator kind; device plugins select on it.
ACCELERATOR_LABEL = "servestack.io/accelerator"
#: Label every servestack node carries with its pool name; endpoints select on it.
POOL_LABEL = "servestack.io/pool"
#: Extended resource of the FPGA device plugin unless the stack declares another.
DEFAULT_FPGA_RESOURCE = "servestack.io/fpga"


@dataclass(frozen=True)
class Accelerator:
    """What one accelerator kind implies for nodes and pods."""

    kind: AcceleratorKind
    resource_name: str | None
    """Extended resource pods request (``nvidia.com/gpu``); None for CPU-only."""
    device_plugin: DevicePlugin | None
    ami_types: dict[str, str]
    """EKS AMI type per CPU architecture; an architecture missing here is unsupported."""
    needs_custom_ami: bool = False
    """No EKS-optimized AMI exists (FPGA): the pool must bring its own AMI."""

    @property
    def taint_key(self) -> str | None:
        # The taint key equals the extended resource name: EKS (and the ExtendedResourceToleration
        # admission plugin) then tolerates it for any pod that requests the resource.
        return self.resource_name

    def node_labels(self) -> dict[str, str]:
        return {ACCELERATOR_LABEL: self.kind.value}


ACCELERATORS: dict[AcceleratorKind, Accelerator] = {
    AcceleratorKind.NONE: Accelerator(
        AcceleratorKind.NONE, None, None,
        {"x86_64": "AL2023_x86_64_STANDARD", "arm64": "AL2023_ARM_64_STANDARD"},
    ),
    AcceleratorKind.NVIDIA: Accelerator(
        AcceleratorKind.NVIDIA, "nvidia.com/gpu", DevicePlugin.NVIDIA,
        {"x86_64": "AL2023_x86_64_NVIDIA", "arm64": "AL2023_ARM_64_NVIDIA"},
    ),
    AcceleratorKind.NEURON: Accelerator(
        AcceleratorKind.NEURON, "aws.amazon.com/neuron", DevicePlugin.NEURON,
        {"x86_64": "AL2023_x86_64_NEURON"},
    ),
    AcceleratorKind.FPGA: Accelerator(
        AcceleratorKind.FPGA, DEFAULT_FPGA_RESOURCE, DevicePlugin.FPGA,
        {"x86_64": "CUSTOM"}, needs_custom_ami=True,
    ),
}

#: Instance family -> accelerator kind, for every family the catalog supports.
FAMILIES: dict[str, AcceleratorKind] = {
    # general purpose, compute and memory optimised (x86_64 and Graviton)
    **{f: AcceleratorKind.NONE for f in (
        "m5", "m6i", "m6a", "m6g", "m7i", "m7i-flex", "m7a", "m7g", "m8g", "m8i",
        "c5", "c6i", "c6a", "c6g", "c7i", "c7i-flex", "c7a", "c7g", "c8g",
        "r6i", "r7i", "r7a", "r7g", "r8g", "t3",
    )},
    # NVIDIA GPUs
    **{f: AcceleratorKind.NVIDIA for f in (
        "g4dn", "g5", "g5g", "g6", "g6e", "gr6", "p4d", "p4de", "p5", "p5e", "p5en",
    )},
    # AWS Inferentia 2 and Trainium
    **{f: AcceleratorKind.NEURON for f in ("inf2", "trn1", "trn1n", "trn2")},
    # AMD (Xilinx) Virtex UltraScale+ FPGAs
    "f2": AcceleratorKind.FPGA,
}

#: Families that AWS has retired, with what to use instead.
RETIRED_FAMILIES: dict[str, str] = {
    "f1": "EC2 F1 instances were retired on 2025-12-20; use F2 (f2.6xlarge, f2.12xlarge or f2.48xlarge)",
}


class CatalogError(ValueError):
    """An instance type the catalog cannot place (unknown, retired or unsupported)."""


@dataclass(frozen=True)
class InstanceType:
    name: str
    family: str
    accelerator: Accelerator
    architecture: str
    vcpus: int
    memory_mib: int
    accelerators: int
    """Devices of ``accelerator.resource_name`` on one node (GPUs, Neuron devices, FPGAs)."""

    @property
    def kind(self) -> AcceleratorKind:
        return self.accelerator.kind


@cache
def _hardware() -> dict[str, dict]:
    with resources.files("components").joinpath("data/instance_types.json").open() as f:
        return json.load(f)


def family_of(instance_type: str) -> str:
    return instance_type.split(".", 1)[0]


def lookup(instance_type: str) -> InstanceType:
    """The catalog entry of one instance type; :class:`CatalogError` says why there is none."""
    family = family_of(instance_type)
    if family in RETIRED_FAMILIES:
        raise CatalogError(RETIRED_FAMILIES[family])
    if family not in FAMILIES:
        raise CatalogError(
            f"instance family {family!r} is not in the accelerator catalog; supported families: "
            + ", ".join(sorted(FAMILIES))
        )
    facts = _hardware().get(instance_type)
    if facts is None:
        sizes = sorted(t for t in _hardware() if family_of(t) == family)
        raise CatalogError(f"{instance_type!r} is not an EC2 instance type; {family} sizes: {', '.join(sizes)}")
    accelerator = ACCELERATORS[FAMILIES[family]]
    count = {
        AcceleratorKind.NONE: 0,
        AcceleratorKind.NVIDIA: facts["gpus"],
        AcceleratorKind.NEURON: facts["neuronDevices"],
        AcceleratorKind.FPGA: facts["fpgas"],
    }[accelerator.kind]
    architecture = "arm64" if facts["architectures"] == ["arm64"] else "x86_64"
    return InstanceType(instance_type, family, accelerator, architecture, facts["vcpus"], facts["memoryMiB"], count)


def known_instance_types() -> list[str]:
    return sorted(_hardware())
