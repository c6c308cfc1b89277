"""Helm values of the device plugin charts servestack pins, one builder per chart (pure).

Each builder takes the pools the plugin serves and returns the chart's values; the accelerator
catalog names each kind's builder (:attr:`components.core.catalog.Accelerator.chart_values`). A plugin
tolerates exactly the taints of the pools it serves (no blanket ``operator: Exists``) and runs only on
nodes labelled with its kind (``servestack.io/accelerator``).

- NVIDIA: the ``nvidia-device-plugin`` chart. Its default affinity expects labels from Node Feature
  Discovery, which servestack does not install; it is replaced by the catalog label.
- Neuron: the ``neuron-helm-chart`` (device plugin only). Its node problem detector tolerates every
  taint of every node and its scheduler extension is optional, so both are off. The chart builds the
  plugin's node affinity itself, from ``neuronInstances`` (instance type In that list); its values
  have no ``devicePlugin.affinity`` to replace it (tests/conformance/data). So ``neuronInstances`` is
  set to exactly the instance types of the Neuron pools (the chart's own list lacks newer ones, such
  as trn2: their nodes would get no plugin) and ``devicePlugin.nodeSelector`` to the catalog label.
  (The vendored values are main at the commit the upstream set holds, whose Chart.yaml says 1.0.0;
  later charts add a ``devicePlugin.affinity`` whose default fills in ``neuronInstances`` the same
  way, so these values place the plugin alike.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from .labels import ACCELERATOR_LABEL

#: Priority class of every device plugin: a node without its plugin cannot run its workloads.
PRIORITY_CLASS = "system-node-critical"


class ServedPool(Protocol):
    """What a values builder reads of a pool (``PoolPlacement``)."""

    @property
    def instance_types(self) -> tuple[str, ...]: ...

    def tolerations(self) -> list[dict[str, str]]: ...


def tolerations(pools: Sequence[ServedPool]) -> list[dict[str, str]]:
    """Exactly the taints of the pools served, once each, in a stable order."""
    unique = {(t["key"], t["value"], t["effect"]): t for pool in pools for t in pool.tolerations()}
    return [unique[k] for k in sorted(unique)]


def node_selector(kind: str) -> dict[str, str]:
    return {ACCELERATOR_LABEL: str(kind)}


def node_affinity(kind: str) -> dict[str, Any]:
    """Required node affinity on the catalog label (replaces a chart's default affinity)."""
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": ACCELERATOR_LABEL, "operator": "In", "values": [str(kind)]}]},
    ]}}}


def nvidia_values(kind: str, pools: Sequence[ServedPool]) -> dict[str, Any]:
    return {
        "affinity": node_affinity(kind),
        "nodeSelector": node_selector(kind),
        "tolerations": tolerations(pools),
        "priorityClassName": PRIORITY_CLASS,
        "gfd": {"enabled": False},
    }


def neuron_instance_types(pools: Sequence[ServedPool]) -> list[str]:
    """The instance types of the pools served, sorted: the chart's ``neuronInstances``, from which it
    builds the plugin's node affinity (``node.kubernetes.io/instance-type`` In the list)."""
    return sorted({t for pool in pools for t in pool.instance_types})


def neuron_values(kind: str, pools: Sequence[ServedPool]) -> dict[str, Any]:
    return {
        "neuronInstances": neuron_instance_types(pools),
        "devicePlugin": {
            "nodeSelector": node_selector(kind),
            "tolerations": tolerations(pools),
            "priorityClassName": PRIORITY_CLASS,
        },
        "npd": {"enabled": False},
        "scheduler": {"enabled": False},
    }
