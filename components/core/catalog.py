"""The accelerator catalog: what an EC2 instance type means for Kubernetes.

One declaration of a node pool (its instance types) drives everything accelerator-specific:
the EKS AMI type, the taint, the node labels, the extended resource name that pods request,
and which device plugin must run on the pool. Endpoints placed on a pool derive their
accelerator limits, node selector and tolerations from the same entry, so nobody writes a
taint twice.

Pure Python, no Pulumi: the hardware facts per instance type (vCPUs, memory, GPUs, Neuron
devices, FPGAs, architecture) come from ``data/instance_types.json``, generated from the EC2
DescribeInstanceTypes data that moto ships by ``tools/gen_instance_types.py``, and from the hand-kept
``data/instance_types_overlay.json`` for types moto's data lacks (each entry names its source).

Each :class:`Accelerator` entry of :data:`ACCELERATORS` is the single home of what servestack
knows about its kind: its instance families, the extended resources its device plugin advertises,
whether Karpenter can count them, whether it can serve LLMs, the device plugin itself (a Helm chart
with its pin and its values builder, or one the stack declares), the field of the instance-type
data that counts its devices, the EC2 vCPU quota classes of its families, whether it needs its own
AMI, and the EKS AMI types. Everything else (device plugins, Karpenter limits, config messages, plan
facts, preflight quotas, cost, the conformance layer's chart list) loops over or looks up these
entries; tests loop over them too (tests/test_catalog_contract.py plans, checks and prices a stack
of a fictitious kind added as one entry plus its data).

Adding an accelerator kind:

1. this file: its :class:`Accelerator` entry in :data:`ACCELERATORS` (name, families, resource
   names, whether Karpenter counts the resource, LLM serving, plugin, count field, quota classes,
   AMI types); its kind name is a plain string (``AcceleratorKind("gaudi")``);
2. its device plugin: a chart pinned in ``components/core/versions.py`` (with its source) and its
   values builder in ``components/core/plugin_values.py``, named by the entry's ``plugin``; or
   ``PluginSpec(name)`` alone when no vendor publishes one: the pool then declares it
   (``devicePlugin: {image, resourceName}``);
3. data: its instance types' hardware facts (``tools/gen_instance_types.py`` when moto knows them,
   with a line for a device count the EC2 data has under a new name; otherwise an entry of
   ``data/instance_types_overlay.json`` with its source) and their prices
   (``plandoc/data/prices-<region>.json``; ``servestack prices update`` writes them);
4. a chart pin also needs its conformance data: ``tools/vendor_upstream.py`` (a test fails while a
   pinned version has none).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources

from . import plugin_values, versions
from .accelerators import (  # noqa: F401  (re-exported: the catalog's vocabulary)
    DEFAULT_FPGA_RESOURCE, Accelerator, AcceleratorKind, DevicePlugin, PluginSpec,
)
from .labels import ACCELERATOR_LABEL, POOL_LABEL  # noqa: F401  (re-exported: the catalog's node labels)
from .quotas import (  # noqa: F401  (re-exported: the quota classes of the entries)
    QUOTA_F, QUOTA_G_AND_VT, QUOTA_INF, QUOTA_P, QUOTA_STANDARD, QUOTA_TRN, Quota, QuotaClass,
)


ACCELERATORS: dict[AcceleratorKind, Accelerator] = {
    AcceleratorKind.NONE: Accelerator(
        kind=AcceleratorKind.NONE,
        title="CPU",
        # general purpose, compute and memory optimised (x86_64 and Graviton)
        families=("m5", "m6i", "m6a", "m6g", "m7i", "m7i-flex", "m7a", "m7g", "m8g", "m8i",
                  "c5", "c6i", "c6a", "c6g", "c7i", "c7i-flex", "c7a", "c7g", "c8g",
                  "r6i", "r7i", "r7a", "r7g", "r8g", "t3"),
        quota_classes=(QUOTA_STANDARD,),
        llm_image=("KServe v0.20.0's presets run vLLM from a CUDA image (llm-d-cuda); a CPU pool needs vLLM's CPU build "
                   "(KServe's CPU examples use public.ecr.aws/q9t5s3a7/vllm-cpu-release-repo)"),
        ami_types={"x86_64": "AL2023_x86_64_STANDARD", "arm64": "AL2023_ARM_64_STANDARD"},
    ),
    AcceleratorKind.NVIDIA: Accelerator(
        kind=AcceleratorKind.NVIDIA,
        title="NVIDIA",
        article="an",
        families=("g4dn", "g5", "g5g", "g6", "g6e", "gr6", "p4d", "p4de", "p5", "p5e", "p5en"),
        resource_name="nvidia.com/gpu",
        karpenter_counts=True,
        plugin=PluginSpec(DevicePlugin.NVIDIA, chart=versions.NVIDIA_DEVICE_PLUGIN_CHART.name,
                          repository="https://nvidia.github.io/k8s-device-plugin", pin=versions.NVIDIA_DEVICE_PLUGIN_CHART,
                          values=plugin_values.nvidia_values),
        count_field="gpus",
        quota_classes=(QUOTA_G_AND_VT, QUOTA_P),
        ami_types={"x86_64": "AL2023_x86_64_NVIDIA", "arm64": "AL2023_ARM_64_NVIDIA"},
    ),
    AcceleratorKind.NEURON: Accelerator(
        kind=AcceleratorKind.NEURON,
        title="Neuron",
        # AWS Inferentia 2 and Trainium
        families=("inf2", "trn1", "trn1n", "trn2"),
        resource_name="aws.amazon.com/neuron",
        other_resource_names=("aws.amazon.com/neuroncore", "aws.amazon.com/neurondevice"),
        karpenter_counts=True,
        plugin=PluginSpec(DevicePlugin.NEURON, chart="oci://public.ecr.aws/neuron/neuron-helm-chart",
                          pin=versions.NEURON_HELM_CHART, values=plugin_values.neuron_values),
        count_field="neuronDevices",
        quota_classes=(QUOTA_INF, QUOTA_TRN),
        ami_types={"x86_64": "AL2023_x86_64_NEURON"},
        llm_image=("KServe v0.20.0's presets run vLLM from a CUDA image (llm-d-cuda); a Neuron pool needs vLLM's Neuron "
                   "build (AWS's Neuron Deep Learning Container public.ecr.aws/neuron/pytorch-inference-vllm-neuronx)"),
        # vLLM's Neuron build counts --tensor-parallel-size in NeuronCores.
        llm_unit=("aws.amazon.com/neuroncore", "neuronCores"),
    ),
    AcceleratorKind.FPGA: Accelerator(
        kind=AcceleratorKind.FPGA,
        title="FPGA",
        article="an",
        # AMD (Xilinx) Virtex UltraScale+ FPGAs
        families=("f2",),
        resource_name=DEFAULT_FPGA_RESOURCE,
        plugin=PluginSpec(DevicePlugin.FPGA),  # no vendor publishes one for EC2 F2: the stack declares it
        count_field="fpgas",
        quota_classes=(QUOTA_F,),
        ami_types={"x86_64": "CUSTOM"},
        needs_custom_ami=True,
        llm_serving="KServe's LLM presets and vLLM images serve on GPUs; no LLM runtime targets FPGAs",
    ),
}


def kind_named(name: str) -> AcceleratorKind:
    """The catalog's kind of this name; ValueError for a name the catalog has no entry for."""
    kind = AcceleratorKind(name)
    if kind not in ACCELERATORS:
        raise ValueError(f"{name!r} is not an accelerator kind of the catalog ({', '.join(ACCELERATORS)})")
    return kind


def device_kinds() -> tuple[AcceleratorKind, ...]:
    """Every accelerator kind with devices, in catalog order (NONE excluded)."""
    return tuple(k for k, a in ACCELERATORS.items() if a.has_devices)


def karpenter_counted_resources() -> tuple[str, ...]:
    """Extended resources Karpenter knows the capacity of from the instance type (NodePool limits bound them)."""
    return tuple(a.resource_name for a in ACCELERATORS.values() if a.karpenter_counts and a.resource_name)


def kinds_text(conjunction: str = "or") -> str:
    """The accelerator kinds for messages: ``nvidia, neuron or fpga``."""
    names = [k.value for k in device_kinds()]
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


def families() -> dict[str, AcceleratorKind]:
    """Instance family -> accelerator kind, for every family the catalog supports (from the entries)."""
    return {f: a.kind for a in ACCELERATORS.values() for f in a.families}


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
    """Hardware facts per instance type: the generated table, then the hand-kept overlay (types moto's
    data lacks; an overlay entry never replaces a generated one)."""
    data = resources.files("components").joinpath("data")
    with data.joinpath("instance_types.json").open() as f:
        table = json.load(f)
    with data.joinpath("instance_types_overlay.json").open() as f:
        overlay = json.load(f)["instanceTypes"]
    clashes = sorted(set(table) & set(overlay))
    if clashes:
        raise ValueError(f"data/instance_types_overlay.json repeats generated instance types: {', '.join(clashes)}")
    return {**table, **{name: facts for name, facts in overlay.items()}}


def family_of(instance_type: str) -> str:
    return instance_type.split(".", 1)[0]


def lookup(instance_type: str) -> InstanceType:
    """The catalog entry of one instance type; :class:`CatalogError` says why there is none."""
    family = family_of(instance_type)
    if family in RETIRED_FAMILIES:
        raise CatalogError(RETIRED_FAMILIES[family])
    supported = families()
    if family not in supported:
        raise CatalogError(
            f"instance family {family!r} is not in the accelerator catalog; supported families: "
            + ", ".join(sorted(supported))
        )
    facts = _hardware().get(instance_type)
    if facts is None:
        sizes = sorted(t for t in _hardware() if family_of(t) == family)
        raise CatalogError(f"{instance_type!r} is not an EC2 instance type; {family} sizes: {', '.join(sizes)}")
    accelerator = ACCELERATORS[supported[family]]
    count = accelerator.devices(facts)
    architecture = "arm64" if facts["architectures"] == ["arm64"] else "x86_64"
    return InstanceType(instance_type, family, accelerator, architecture, facts["vcpus"], facts["memoryMiB"], count)


def hardware_count(instance_type: str, field: str) -> int:
    """One count of the instance-type data (``neuronCores``) for a type :func:`lookup` accepts."""
    return int(_hardware()[instance_type].get(field, 0))


def known_instance_types() -> list[str]:
    return sorted(_hardware())


def neuron_cores(instance_type: str) -> int:
    """NeuronCores of one node of the type (``aws.amazon.com/neuroncore``); 0 when it has none or is unknown."""
    return int((_hardware().get(instance_type) or {}).get("neuronCores", 0))
