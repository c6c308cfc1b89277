"""The accelerator catalog: what an EC2 instance type means for Kubernetes.

One declaration of a node pool (its instance types) drives everything accelerator-specific:
the EKS AMI type, the taint, the node labels, the extended resource name that pods request,
and which device plugin must run on the pool. Endpoints placed on a pool derive their
accelerator limits, node selector and tolerations from the same entry, so nobody writes a
taint twice.

Pure Python, no Pulumi: the hardware facts per instance type (vCPUs, memory, GPUs, Neuron
devices, FPGAs, architecture) come from ``data/instance_types.json``, generated from the EC2
DescribeInstanceTypes data by ``tools/gen_instance_types.py``.

Each :class:`Accelerator` entry of :data:`ACCELERATORS` is the single home of what servestack
knows about its kind: the extended resources its device plugin advertises, the device plugin
itself (a Helm chart with its pin in ``versions.py``, or one the stack declares), the field of
the instance-type data that counts its devices, the EC2 vCPU quota classes of its families,
whether it needs its own AMI, and the EKS AMI types. Everything else (device plugins, config
messages, plan facts, preflight quotas) loops over or looks up these entries.

Adding an accelerator kind touches about three files:

1. this file: the :class:`AcceleratorKind` member, its :class:`Accelerator` entry (resource
   names, plugin, count field, quota classes, AMI types) and its families in :data:`FAMILIES`;
2. ``components/core/versions.py``: the pin of its device plugin chart;
3. ``components/device_plugins.py``: the Helm values of that chart (one entry of ``CHART_VALUES``).

Then regenerate ``data/instance_types.json`` (``tools/gen_instance_types.py``, which needs a line
for a device count the EC2 data has under a new name) and, to price the new instance types,
``servestack/data/prices-*.json``. A kind whose plugin the stack declares (as FPGA's, for which no
vendor publishes one) needs no pin or values, but the pool config then carries its image
(``fpgaDevicePlugin`` today).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from functools import cache
from importlib import resources

from . import versions
from .versions import Pinned


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
class Quota:
    """One EC2 vCPU quota of Service Quotas (service code ``ec2``)."""

    code: str
    name: str


@dataclass(frozen=True)
class QuotaClass:
    """An EC2 instance class with its own vCPU quotas: one for running on-demand instances, one
    for open spot requests (``aws service-quotas list-service-quotas --service-code ec2``)."""

    on_demand: Quota
    spot: Quota
    letters: tuple[str, ...]
    """Leading letters of the instance families of the class (``g`` covers g5, g6e; ``gr`` gr6)."""


QUOTA_G_AND_VT = QuotaClass(
    Quota("L-DB2E81BA", "Running On-Demand G and VT instances"),
    Quota("L-3819A6DF", "All G and VT Spot Instance Requests"), ("g", "gr", "vt"))
QUOTA_P = QuotaClass(
    Quota("L-417A185B", "Running On-Demand P instances"),
    Quota("L-7212CCBC", "All P Spot Instance Requests"), ("p",))
QUOTA_INF = QuotaClass(
    Quota("L-1945791B", "Running On-Demand Inf instances"),
    Quota("L-B5D1601B", "All Inf Spot Instance Requests"), ("inf",))
QUOTA_TRN = QuotaClass(
    Quota("L-2C3B7624", "Running On-Demand Trn instances"),
    Quota("L-6B0D517C", "All Trn Spot Instance Requests"), ("trn",))
QUOTA_F = QuotaClass(
    Quota("L-74FC7D96", "Running On-Demand F instances"),
    Quota("L-88CF9481", "All F Spot Instance Requests"), ("f",))
QUOTA_STANDARD = QuotaClass(
    Quota("L-1216C47A", "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances"),
    Quota("L-34B43A08", "All Standard (A, C, D, H, I, M, R, T, Z) Spot Instance Requests"),
    ("a", "c", "d", "h", "i", "im", "is", "m", "r", "t", "z"))


@dataclass(frozen=True)
class PluginSpec:
    """The device plugin of one accelerator kind: a Helm chart servestack pins, or a plugin the
    stack declares (its image and resource name come from the pool config)."""

    name: DevicePlugin
    """Release (or DaemonSet) name in ``kube-system``."""
    chart: str | None = None
    """What the Helm release installs: a chart name in :attr:`repository`, or an ``oci://`` URL."""
    repository: str | None = None
    """Chart repository URL; None for an OCI chart."""
    pin: Pinned | None = None
    """The chart's pin in ``versions.py``."""

    @property
    def declared_by_stack(self) -> bool:
        return self.chart is None

    @property
    def chart_names(self) -> tuple[str, ...]:
        """Names a release or chart of this plugin goes by (release name, chart's last path part)."""
        if self.chart is None:
            return (self.name.value,)
        return tuple(dict.fromkeys((self.chart.rstrip("/").rsplit("/", 1)[-1], self.name.value)))


@dataclass(frozen=True, kw_only=True)
class Accelerator:
    """What one accelerator kind implies for nodes, pods, device plugins and quotas."""

    kind: AcceleratorKind
    title: str
    """The kind's name in messages (``FPGA``: "an FPGA pool")."""
    resource_name: str | None = None
    """Extended resource pods request (``nvidia.com/gpu``); None for CPU-only."""
    other_resource_names: tuple[str, ...] = ()
    """Further extended resources the device plugin advertises (Neuron cores and devices)."""
    plugin: PluginSpec | None = None
    """How the device plugin is installed; None for CPU-only."""
    count_field: str | None = None
    """Field of ``data/instance_types.json`` that counts this kind's devices on one node."""
    quota_classes: tuple[QuotaClass, ...]
    """EC2 vCPU quota classes of this kind's instance families."""
    ami_types: dict[str, str]
    """EKS AMI type per CPU architecture; an architecture missing here is unsupported."""
    needs_custom_ami: bool = False
    """No EKS-optimized AMI exists (FPGA): the pool must bring its own AMI."""

    @property
    def taint_key(self) -> str | None:
        # The taint key equals the extended resource name: EKS (and the ExtendedResourceToleration
        # admission plugin) then tolerates it for any pod that requests the resource.
        return self.resource_name

    @property
    def device_plugin(self) -> DevicePlugin | None:
        return self.plugin.name if self.plugin else None

    @property
    def resource_names(self) -> tuple[str, ...]:
        """Every extended resource that means this kind (the one pods request first)."""
        return ((self.resource_name,) if self.resource_name else ()) + self.other_resource_names

    @property
    def has_devices(self) -> bool:
        return self.resource_name is not None

    def node_labels(self) -> dict[str, str]:
        return {ACCELERATOR_LABEL: self.kind.value}

    def devices(self, facts: dict) -> int:
        """Devices of this kind on one node, from its entry of the instance-type data."""
        return facts[self.count_field] if self.count_field else 0


ACCELERATORS: dict[AcceleratorKind, Accelerator] = {
    AcceleratorKind.NONE: Accelerator(
        kind=AcceleratorKind.NONE,
        title="CPU",
        quota_classes=(QUOTA_STANDARD,),
        ami_types={"x86_64": "AL2023_x86_64_STANDARD", "arm64": "AL2023_ARM_64_STANDARD"},
    ),
    AcceleratorKind.NVIDIA: Accelerator(
        kind=AcceleratorKind.NVIDIA,
        title="NVIDIA",
        resource_name="nvidia.com/gpu",
        plugin=PluginSpec(DevicePlugin.NVIDIA, chart=versions.NVIDIA_DEVICE_PLUGIN_CHART.name,
                          repository="https://nvidia.github.io/k8s-device-plugin", pin=versions.NVIDIA_DEVICE_PLUGIN_CHART),
        count_field="gpus",
        quota_classes=(QUOTA_G_AND_VT, QUOTA_P),
        ami_types={"x86_64": "AL2023_x86_64_NVIDIA", "arm64": "AL2023_ARM_64_NVIDIA"},
    ),
    AcceleratorKind.NEURON: Accelerator(
        kind=AcceleratorKind.NEURON,
        title="Neuron",
        resource_name="aws.amazon.com/neuron",
        other_resource_names=("aws.amazon.com/neuroncore", "aws.amazon.com/neurondevice"),
        plugin=PluginSpec(DevicePlugin.NEURON, chart="oci://public.ecr.aws/neuron/neuron-helm-chart",
                          pin=versions.NEURON_HELM_CHART),
        count_field="neuronDevices",
        quota_classes=(QUOTA_INF, QUOTA_TRN),
        ami_types={"x86_64": "AL2023_x86_64_NEURON"},
    ),
    AcceleratorKind.FPGA: Accelerator(
        kind=AcceleratorKind.FPGA,
        title="FPGA",
        resource_name=DEFAULT_FPGA_RESOURCE,
        plugin=PluginSpec(DevicePlugin.FPGA),  # no vendor publishes one for EC2 F2: the stack declares it
        count_field="fpgas",
        quota_classes=(QUOTA_F,),
        ami_types={"x86_64": "CUSTOM"},
        needs_custom_ami=True,
    ),
}

#: Every accelerator kind with devices, in catalog order (NONE excluded).
DEVICE_KINDS: tuple[AcceleratorKind, ...] = tuple(k for k, a in ACCELERATORS.items() if a.has_devices)


def kinds_text(conjunction: str = "or") -> str:
    """The accelerator kinds for messages: ``nvidia, neuron or fpga``."""
    names = [k.value for k in DEVICE_KINDS]
    return ", ".join(names[:-1]) + f" {conjunction} " + names[-1] if len(names) > 1 else "".join(names)


def titles(having: Callable[[Accelerator], bool]) -> str:
    """The titles of the kinds that have something, for messages: ``titles(lambda a: a.needs_custom_ami)``
    is ``FPGA``."""
    return " or ".join(a.title for a in ACCELERATORS.values() if having(a))


def declares_plugin(accelerator: Accelerator) -> bool:
    """Whether the stack declares the kind's device plugin (the catalog pins no chart for it)."""
    return accelerator.plugin is not None and accelerator.plugin.declared_by_stack


def kind_of_resource(resource_name: str) -> AcceleratorKind | None:
    """The kind whose device plugin advertises an extended resource (catalog names only: the FPGA
    resource a stack renames is known from its pool)."""
    return next((a.kind for a in ACCELERATORS.values() if resource_name in a.resource_names), None)


def kind_of_plugin(name: str) -> AcceleratorKind | None:
    """The kind a device plugin serves, by its release/DaemonSet name or chart name (an ``oci://``
    URL or path counts by its last part)."""
    last = name.rstrip("/").rsplit("/", 1)[-1]
    return next((a.kind for a in ACCELERATORS.values() if a.plugin and last in a.plugin.chart_names), None)


def quota_class_of(instance_type: str) -> QuotaClass | None:
    """The EC2 vCPU quota class an instance type counts against, by its family's leading letters
    (also for families outside the catalog); None when no class of the catalog has them."""
    letters = re.match(r"[a-z]*", family_of(instance_type)).group()
    return next((q for a in ACCELERATORS.values() for q in a.quota_classes if letters in q.letters), None)


def quota_classes() -> tuple[QuotaClass, ...]:
    """Every quota class of the catalog, once each, in catalog order."""
    return tuple(dict.fromkeys(q for a in ACCELERATORS.values() for q in a.quota_classes))


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
    count = accelerator.devices(facts)
    architecture = "arm64" if facts["architectures"] == ["arm64"] else "x86_64"
    return InstanceType(instance_type, family, accelerator, architecture, facts["vcpus"], facts["memoryMiB"], count)


def known_instance_types() -> list[str]:
    return sorted(_hardware())


def neuron_cores(instance_type: str) -> int:
    """NeuronCores of one node of the type (``aws.amazon.com/neuroncore``); 0 when it has none or is unknown."""
    return int((_hardware().get(instance_type) or {}).get("neuronCores", 0))
