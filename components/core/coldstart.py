"""The cold-start estimate: how long a model endpoint's first pod takes on a node that does not exist yet.

Pure arithmetic over ONE table of figures (below), each with where it comes from. The stages, in order:

1. **node launch**: a Karpenter pool launches an instance and it joins as Ready (:data:`NODE_LAUNCH_SECONDS`,
   by accelerator kind); a managed node group's nodes already exist (0 s).
2. **device plugin**: the accelerator's device plugin pod starts on the new node and advertises the
   resource (:data:`DEVICE_PLUGIN_SECONDS`); 0 s without an accelerator or without a new node.
3. **image pull**: the serving image (:data:`RUNTIME_IMAGES`, compressed size) at the node's write rate:
   the lower of the instance type's baseline network bandwidth (EC2 DescribeInstanceTypes
   ``NetworkInfo.NetworkCards[].BaselineBandwidthInGbps``, from ``data/instance_network.json`` written by
   ``tools/gen_instance_types.py`` from moto's recorded EC2 data) and the root volume's throughput (the
   EC2NodeClass's ``ebs.throughput``; gp3's baseline :data:`GP3_BASELINE_MIBPS` when the plan says none).
   Pulled layers are written and unpacked to that volume, so the slower of the two bounds the pull.
4. **model download**: the model's ``sizeGiB`` (stack file) at the same rate (KServe's storage
   initializer writes it to the pod's volume on the node's disk); :data:`DEFAULT_MODEL_GIB` when unset.
5. **model load**: the server's own start (:data:`RUNTIME_IMAGES`) plus :data:`LOAD_SECONDS_PER_GIB` per
   GiB of model (weights just written are read back from the page cache into memory or the accelerator).

The slowest instance type of a pool is used (Karpenter may launch any of them): a budget, not a promise.
Figures marked *assumption* are servestack's typical values, not measurements of this cluster; measure
yours (Karpenter's ``karpenter_pods_startup_duration_seconds``, kubelet's image pull events) and compare.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from importlib import resources

from .pools import GP3_THROUGHPUT_MIBPS

#: Seconds from a pending pod to a Ready node that Karpenter launched, by the pool's accelerator kind.
#: Source (assumption): Karpenter's typical launch-to-Ready on the EKS-optimized AL2023 AMIs, about a
#: minute for a standard node (as the stack files say); the NVIDIA and Neuron AMIs load their drivers at
#: boot (+30 s); FPGA pools boot the team's own AMI (+60 s, nothing optimizes it).
NODE_LAUNCH_SECONDS: dict[str, int] = {"none": 60, "nvidia": 90, "neuron": 90, "fpga": 120}

#: Seconds for the accelerator's device plugin pod to start on a new node and advertise its resource.
#: Source (assumption): the plugin DaemonSet's pod is scheduled when the node is Ready, pulls a small image
#: and registers with the kubelet; about 30 s for the NVIDIA and Neuron charts and a declared FPGA plugin.
DEVICE_PLUGIN_SECONDS: dict[str, int] = {"none": 0, "nvidia": 30, "neuron": 30, "fpga": 30}


@dataclass(frozen=True)
class RuntimeImage:
    image: str
    size_gib: float
    """Compressed size of the linux/amd64 image (what is pulled)."""
    start_seconds: int
    """The server's start before it loads the model (Python imports, CUDA init, engine warm-up)."""


#: The serving images servestack renders, by KServe runtime name (``llm-d`` for LLMInferenceServices,
#: ``custom`` for a model's own container). Images: KServe v0.20.0's kserve-runtime-configs chart values
#: (``kserve/<server>`` with the chart's appVersion tag) and llmisvc presets (``ghcr.io/llm-d/llm-d-cuda:v0.8.0``).
#: Sizes and start times (assumption): typical compressed sizes of these images at these tags (CUDA + torch +
#: vLLM images ~7-9 GiB, the Python predictive servers under 1 GiB); check one with
#: ``crane manifest <image> | jq '[.layers[].size] | add'`` and correct the row. A custom container's size is
#: unknown to servestack: ``custom`` is the assumption used for it.
RUNTIME_IMAGES: dict[str, RuntimeImage] = {
    "kserve-huggingfaceserver": RuntimeImage("kserve/huggingfaceserver:v0.20.0", 7.0, 60),
    "kserve-huggingfaceserver-multinode": RuntimeImage("kserve/huggingfaceserver:v0.20.0-gpu", 7.0, 60),
    "kserve-vllmserver": RuntimeImage("kserve/huggingfaceserver:v0.20.0", 7.0, 60),
    "llm-d": RuntimeImage("ghcr.io/llm-d/llm-d-cuda:v0.8.0", 9.0, 60),
    "kserve-tritonserver": RuntimeImage("nvcr.io/nvidia/tritonserver", 8.0, 20),
    "kserve-torchserve": RuntimeImage("pytorch/torchserve-kfs", 3.0, 15),
    "kserve-mlserver": RuntimeImage("docker.io/seldonio/mlserver", 2.0, 10),
    "kserve-tensorflow-serving": RuntimeImage("tensorflow/serving", 0.3, 5),
    "kserve-sklearnserver": RuntimeImage("kserve/sklearnserver:v0.20.0", 0.6, 5),
    "kserve-xgbserver": RuntimeImage("kserve/xgbserver:v0.20.0", 0.7, 5),
    "kserve-lgbserver": RuntimeImage("kserve/lgbserver:v0.20.0", 0.6, 5),
    "kserve-pmmlserver": RuntimeImage("kserve/pmmlserver:v0.20.0", 0.8, 5),
    "kserve-paddleserver": RuntimeImage("kserve/paddleserver:v0.20.0", 1.5, 5),
    "kserve-predictiveserver": RuntimeImage("kserve/predictiveserver:v0.20.0", 1.0, 5),
    "kserve-autogluonserver": RuntimeImage("kserve/autogluonserver:v0.20.0", 3.0, 10),
    "custom": RuntimeImage("(the model's own container)", 5.0, 30),
}

#: MiB/s of a gp3 volume without a throughput setting (what servestack's EC2NodeClasses and node groups set).
#: Source: Amazon EBS User Guide, "General Purpose SSD volumes": gp3's baseline is 125 MiB/s at any size.
GP3_BASELINE_MIBPS = GP3_THROUGHPUT_MIBPS

#: Seconds per GiB of model to load it from the page cache into host or accelerator memory (assumption:
#: safetensors-style loading at about 1 GiB/s).
LOAD_SECONDS_PER_GIB = 1.0

#: The model size assumed when the stack file gives no ``sizeGiB`` (the estimate says so).
DEFAULT_MODEL_GIB = 1.0

#: MiB/s per Gbps: 10^9 bits / 8 / 2^20.
_MIBPS_PER_GBPS = 1e9 / 8 / 2**20


@cache
def _network() -> dict[str, dict]:
    path = resources.files("components").joinpath("data", "instance_network.json")
    return json.loads(path.read_text())


def baseline_gbps(instance_type: str) -> float | None:
    """The instance type's baseline network bandwidth (Gbps), None when EC2's data lacks the type."""
    info = _network().get(instance_type)
    return None if info is None else float(info["baselineGbps"])


@dataclass(frozen=True)
class Stage:
    name: str
    seconds: int
    basis: str
    """How the figure was reached, for reports: ``7.0 GiB at 125 MiB/s (gp3 volume)``."""


@dataclass(frozen=True)
class ColdStart:
    endpoint: str
    pool: str
    instance_type: str
    stages: tuple[Stage, ...]
    reason: str
    """Why the endpoint can start a pod on a node that does not exist yet."""

    @property
    def total_seconds(self) -> int:
        return sum(s.seconds for s in self.stages)

    def text(self) -> str:
        """``chat on gpu (g5.xlarge): 4m 12s = node launch 90s + ...``."""
        parts = " + ".join(f"{s.name} {s.seconds}s" for s in self.stages)
        return f"{self.endpoint} on {self.pool} ({self.instance_type}): {duration(self.total_seconds)} = {parts}"

    def to_json(self) -> dict:
        return {"endpoint": self.endpoint, "pool": self.pool, "instanceType": self.instance_type,
                "reason": self.reason, "totalSeconds": self.total_seconds,
                "stages": [{"name": s.name, "seconds": s.seconds, "basis": s.basis} for s in self.stages]}


def duration(seconds: int) -> str:
    """``4m 12s``."""
    return f"{seconds // 60}m {seconds % 60:02d}s"


def _slowest(instance_types: tuple[str, ...] | list[str]) -> tuple[str, float | None]:
    known = [(baseline_gbps(t), t) for t in instance_types]
    rated = sorted((g, t) for g, t in known if g is not None)
    if rated:
        return rated[0][1], rated[0][0]
    return (instance_types[0] if instance_types else "unknown"), None


def _transfer(size_gib: float, mibps: float) -> int:
    return math.ceil(size_gib * 1024 / mibps)


def estimate(endpoint: str, *, pool: str, kind: str, instance_types: tuple[str, ...] | list[str], new_node: bool,
             runtime: str, model_gib: float | None, volume_mibps: int | None = None, reason: str = "") -> ColdStart:
    """The stages and total of one cold start (see the module's table)."""
    instance_type, gbps = _slowest(instance_types)
    disk = volume_mibps or GP3_BASELINE_MIBPS
    disk_text = f"{disk} MiB/s root volume" + ("" if volume_mibps else " (gp3 baseline)")
    if gbps is not None and gbps * _MIBPS_PER_GBPS < disk:
        rate, rate_text = gbps * _MIBPS_PER_GBPS, f"{gbps:g} Gbps baseline network of {instance_type}"
    else:
        rate, rate_text = float(disk), disk_text
    image = RUNTIME_IMAGES.get(runtime, RUNTIME_IMAGES["custom"])
    size = DEFAULT_MODEL_GIB if model_gib is None else model_gib
    size_text = f"{size:g} GiB" + (" (sizeGiB not set: assumed)" if model_gib is None else "")
    stages = (
        Stage("node launch", NODE_LAUNCH_SECONDS.get(kind, NODE_LAUNCH_SECONDS["none"]) if new_node else 0,
              f"Karpenter launch-to-Ready, {kind} node" if new_node else "managed node group: the node exists"),
        Stage("device plugin", DEVICE_PLUGIN_SECONDS.get(kind, 0) if new_node else 0,
              f"{kind} device plugin on the new node" if new_node and kind != "none" else "none needed"),
        Stage("image pull", _transfer(image.size_gib, rate), f"{image.image} {image.size_gib:g} GiB at {rate_text}"),
        Stage("model download", _transfer(size, rate), f"{size_text} at {rate_text}"),
        Stage("model load", image.start_seconds + math.ceil(size * LOAD_SECONDS_PER_GIB),
              f"server start {image.start_seconds}s + {size_text} at {1 / LOAD_SECONDS_PER_GIB:g} GiB/s"),
    )
    return ColdStart(endpoint, pool, instance_type, stages, reason)
