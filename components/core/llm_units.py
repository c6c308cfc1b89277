"""The LLM endpoints' upstream facts: KServe's preset names, and what one rank of vLLM's tensor parallelism takes on a pool: the pool's accelerator devices, or the
catalog's :attr:`~components.core.catalog.Accelerator.llm_unit` (NeuronCores on Neuron pools, where
vLLM's Neuron build counts ``--tensor-parallel-size`` in cores). Shared by the LLM endpoint's config
checks (do the ranks of one pod fit a node) and its rendering (what the pod requests)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

from . import catalog
from .placement import PoolPlacement


def unit_resource(placement: PoolPlacement) -> tuple[str | None, int]:
    """The extended resource one rank requests on this pool (None on CPU pools) and how many one node has
    (the fewest of the pool's instance types)."""
    unit = catalog.ACCELERATORS[placement.kind].llm_unit
    if unit is None:
        return placement.resource_name, placement.accelerators_per_node
    resource, field = unit
    return resource, min(catalog.hardware_count(t, field) for t in placement.instance_types)


@cache
def kserve_presets() -> frozenset[str]:
    """The names of KServe v0.20.0's LLMInferenceServiceConfig presets (derived by tools/vendor_upstream.py)."""
    with resources.files("components").joinpath("data/upstream/kserve-llmisvc-presets-v0.20.0.json").open() as f:
        return frozenset(json.load(f)["presets"])


#: The extended resource of EFA interfaces (the EFA device plugin's; Karpenter attaches that many interfaces).
EFA_RESOURCE = "vpc.amazonaws.com/efa"


def efa_interfaces(placement: PoolPlacement) -> int:
    """EFA interfaces every node of the pool has (0 when some instance type has none)."""
    return min(catalog.hardware_count(t, "efaInterfaces") for t in placement.instance_types)
