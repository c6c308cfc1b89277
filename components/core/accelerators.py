"""The vocabulary of the accelerator catalog: kind and plugin names, what a device plugin is and what one
catalog entry says. Pure data types; the entries themselves and the lookups are :mod:`.catalog`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from .labels import ACCELERATOR_LABEL
from .quotas import QuotaClass
from .versions import Pinned


class _Name(str):
    """A name that reads like an enum member's (``.value``) but is open: the catalog decides which exist."""

    __slots__ = ()

    @property
    def value(self) -> str:
        return str.__str__(self)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str.__repr__(self)})"


class AcceleratorKind(_Name):
    """An accelerator kind's name (``nvidia``), the key of its catalog entry. The kinds servestack ships
    are class attributes; :func:`kind_named` is the checked way from a string to a kind."""

    NONE: ClassVar[AcceleratorKind]
    NVIDIA: ClassVar[AcceleratorKind]
    NEURON: ClassVar[AcceleratorKind]
    FPGA: ClassVar[AcceleratorKind]


AcceleratorKind.NONE = AcceleratorKind("none")
AcceleratorKind.NVIDIA = AcceleratorKind("nvidia")
AcceleratorKind.NEURON = AcceleratorKind("neuron")
AcceleratorKind.FPGA = AcceleratorKind("fpga")


class DevicePlugin(_Name):
    """A device plugin's release (or DaemonSet) name in ``kube-system``."""

    NVIDIA: ClassVar[DevicePlugin]
    NEURON: ClassVar[DevicePlugin]
    FPGA: ClassVar[DevicePlugin]


DevicePlugin.NVIDIA = DevicePlugin("nvidia-device-plugin")
DevicePlugin.NEURON = DevicePlugin("neuron-device-plugin")
DevicePlugin.FPGA = DevicePlugin("fpga-device-plugin")

#: Extended resource of the FPGA device plugin unless the stack declares another.
DEFAULT_FPGA_RESOURCE = "servestack.io/fpga"


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
    values: Callable[[str, Sequence[Any]], dict[str, Any]] | None = None
    """The chart's values for the pools it serves: ``values(kind, pools)`` (``core/plugin_values.py``)."""

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
    article: str = "a"
    """The article before the title as it is spoken ("an FPGA", "an NVIDIA", "a Neuron")."""
    families: tuple[str, ...]
    """The EC2 instance families of this kind that servestack supports."""
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
    karpenter_counts: bool = False
    """Karpenter knows the capacity of :attr:`resource_name` from the instance type
    (karpenter-provider-aws pkg/providers/instancetype/types.go), so a NodePool limit on it bounds
    launches. A resource only a stack's own plugin advertises is not: cpu and memory bound such pools."""
    llm_serving: str | None = None
    """Why LLM endpoints cannot run on this kind's pools; None when they can."""
    llm_image: str | None = None
    """Why an LLM endpoint on this kind's pools must bring its own vLLM ``image`` (KServe v0.20.0's presets
    run ``ghcr.io/llm-d/llm-d-cuda``, an NVIDIA build), naming the build that kind needs; None: the presets' serves."""
    llm_unit: tuple[str, str] | None = None
    """What vLLM's tensor parallelism counts here if not :attr:`resource_name`: (resource per rank, instance-data field)."""

    @property
    def a_title(self) -> str:
        """The title with its article: ``an FPGA``."""
        return f"{self.article} {self.title}"

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
