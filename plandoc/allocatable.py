"""What one node of an instance type offers to pods (its allocatable), as Karpenter estimates it before launch.

- memory: the type's memory less Karpenter's VM overhead (``settings.vmMemoryOverheadPercent`` of its chart,
  7.5% at v1.14.1, read from the vendored chart defaults), less kube-reserved memory (11 MiB per pod the node
  may run + 255 MiB, the EKS AMI's formula that Karpenter applies), less the kubelet's hard eviction threshold
  (``memory.available`` 100 MiB);
- cpu: the type's vCPUs less kube-reserved cpu (6% of the first core, 1% of the second, 0.5% of the third and
  fourth, 0.25% of every further core: the same formula);
- accelerators: every device of the type (the device plugin advertises them all).

Pods per node are taken as 110 (the kubelet's default ``maxPods``; with the VPC CNI's prefix delegation EKS
allows as many on these sizes): a smaller ENI-based limit would reserve a little less memory, never more.
Managed node groups run the same EKS AMIs with the same reservations; the VM overhead is Karpenter's estimate of
what the kernel keeps, applied to them alike.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

from components.core import catalog

MIB = 2**20
MAX_PODS = 110
EVICTION_HARD_MEMORY_MIB = 100
KARPENTER_DEFAULTS = "data/upstream/karpenter-defaults-v1.14.1.json"


@cache
def vm_memory_overhead_percent() -> float:
    """Karpenter's ``settings.vmMemoryOverheadPercent`` (chart default), from the vendored chart values."""
    with resources.files("components").joinpath(KARPENTER_DEFAULTS).open() as f:
        return float(json.load(f)["settings"]["vmMemoryOverheadPercent"])


def kube_reserved_cpu_m(vcpus: int) -> int:
    """Millicores the kubelet reserves on a node of ``vcpus`` cores (EKS AMI / Karpenter formula)."""
    reserved = 0.0
    for core in range(1, vcpus + 1):
        reserved += 60 if core == 1 else 10 if core == 2 else 5 if core <= 4 else 2.5
    return int(-(-reserved // 1))


def kube_reserved_memory_mib(max_pods: int = MAX_PODS) -> int:
    return 11 * max_pods + 255


@dataclass(frozen=True)
class NodeType:
    """One instance type as the packer sees it: what pods may use on a node, and its price."""

    name: str
    cpu_m: int
    memory: int
    accelerators: int
    resource: str
    """The extended resource its devices are advertised as (the pool's, for a stack-declared plugin)."""
    hourly: float | None
    vcpus: int = 0
    memory_mib: int = 0


def allocatable(spec: catalog.InstanceType, resource: str | None, hourly: float | None) -> NodeType:
    """A node of ``spec``: allocatable cpu and memory (see the module), ``resource`` devices."""
    memory_mib = spec.memory_mib * (1 - vm_memory_overhead_percent()) - kube_reserved_memory_mib() - EVICTION_HARD_MEMORY_MIB
    devices = spec.accelerators
    if resource and resource.endswith("/neuroncore"):
        devices = catalog.neuron_cores(spec.name)
    return NodeType(spec.name, spec.vcpus * 1000 - kube_reserved_cpu_m(spec.vcpus), int(memory_mib * MIB),
                    devices if resource else 0, resource or "", hourly, spec.vcpus, spec.memory_mib)
