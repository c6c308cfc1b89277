"""The human summary of a plan: the component tree with resource counts by type, and the
rollouts under way with the traffic the platform really routes.

A parent with more than :data:`GROUP_ABOVE` child components of one type (a thousand endpoints),
each with resources of its own, shows them as one node,
``1000 × servestack:endpoint:ModelEndpoint (first … last)``, with the resources of all of them
counted by type: one screen instead of five lines per endpoint. ``preview.json`` has every
resource.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from rich.text import Text
from rich.tree import Tree

from plandoc.capacity import CapacityModel, PoolCapacity, capacity_model
from plandoc.pools import Pool, pools
from plandoc.rollouts import rollout_records

#: Sibling components of one type are listed one by one up to this many, grouped above it.
GROUP_ABOVE = 10


def _name(step: dict[str, Any]) -> str:
    return step["urn"].rsplit("::", 1)[1]


def _label(step: dict[str, Any]) -> Text:
    # Text, not console markup: parsing markup (and emoji codes) was a fifth of the rendering.
    return Text.assemble((_name(step), "bold"), " ", (f"({step['newState']['type']})", "dim"))


def component_tree(document: dict[str, Any]) -> Tree:
    steps = document["steps"]
    children: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for step in steps:
        children[step["newState"].get("parent", "")].append(step)
    root_step = next(s for s in steps if s["newState"]["type"] == "pulumi:pulumi:Stack")
    total = Counter(s["newState"]["type"] for s in steps if s["newState"]["custom"])
    tree = Tree(_label(root_step).append(f": {sum(total.values())} resources"))

    def add_counts(node: Tree, counts: Counter) -> None:
        for type_, n in sorted(counts.items()):
            node.add(Text(f"{n} × {type_}"))

    def custom_descendants(urn: str) -> Counter:
        counts: Counter = Counter()
        for kid in children.get(urn, []):
            if kid["newState"]["custom"]:
                counts[kid["newState"]["type"]] += 1
            else:
                counts += custom_descendants(kid["urn"])
        return counts

    def add(node: Tree, urn: str) -> None:
        kids = children.get(urn, [])
        add_counts(node, Counter(k["newState"]["type"] for k in kids if k["newState"]["custom"]))
        components: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for kid in sorted((k for k in kids if not k["newState"]["custom"]), key=lambda k: k["urn"]):
            components[kid["newState"]["type"]].append(kid)
        shown = []
        for group in components.values():
            # Remote components (kustomize directories, yaml files) have no children here: each
            # is a line that says what it installs, so they are not grouped.
            if len(group) > GROUP_ABOVE and all(children.get(kid["urn"]) for kid in group):
                shown.append((group[0]["urn"], group))
            else:
                shown += [(kid["urn"], [kid]) for kid in group]
        for _, group in sorted(shown, key=lambda item: item[0]):
            if len(group) == 1:
                add(node.add(_label(group[0])), group[0]["urn"])
                continue
            label = Text.assemble(f"{len(group)} × ", (group[0]["newState"]["type"], "bold"), " ",
                                  (f"({_name(group[0])} … {_name(group[-1])})", "dim"))
            counts: Counter = Counter()
            for kid in group:
                counts += custom_descendants(kid["urn"])
            add_counts(node.add(label), counts)

    add(tree, root_step["urn"])
    return tree


def rollout_lines(resources: list[dict[str, Any]]) -> list[str]:
    """One line per endpoint whose rollout is in progress or rolled back, from its rollout record."""
    records = rollout_records(resources)
    return [f"{namespace}/{endpoint} ({record.mode}): {record.describe()}"
            for (namespace, endpoint), record in sorted(records.items()) if record.phase != "steady"]


def pool_line(pool: Pool, capacity: PoolCapacity | None = None) -> str:
    """``gpu: Karpenter NodePool, g6.xlarge, 0-4 nodes (NodePool limits cpu=16, ...), ON_DEMAND, up to 4 nvidia.com/gpu;
    demand needs 1 x g6.xlarge at min, 3 x g6.xlarge at max`` (the capacity model's nodes)."""
    how = "Karpenter NodePool" if pool.is_karpenter else "managed node group"
    if pool.is_karpenter and not pool.max_size:
        size = f"0 nodes and up, no ceiling ({pool.size_text})"
    elif pool.is_karpenter:
        size = f"0-{pool.max_size} nodes ({pool.size_text})"
    elif pool.min_size == pool.max_size:
        size = f"{pool.max_size} nodes"
    else:
        size = f"{pool.min_size}-{pool.max_size} nodes"
    line = f"{pool.name}: {how}, {', '.join(pool.instance_types) or 'instance types unknown'}, {size}, {pool.capacity_type}"
    if pool.has_accelerator and pool.resource_name:
        offered = pool.capacity
        line += f", up to {offered} {pool.resource_name}" if offered is not None else f", {pool.resource_name} unbounded"
    if capacity is not None:
        line += f"; demand needs {capacity.floor.text()} at min, {capacity.ceiling.text()} at max"
        short = sum(n for _, n in capacity.ceiling.short)
        line += f" ({short} pod(s) fit on no node at max)" if short else ""
    return line


def pool_lines(resources: list[dict[str, Any]], stack_config: dict[str, Any] | None = None,
               model: CapacityModel | None = None) -> list[str]:
    """One line per node pool, managed node groups and Karpenter NodePools alike, with the capacity model's nodes."""
    model = model or capacity_model(resources, stack_config)
    by_name = {p.name: p for p in model.pools} if not model.referenced else {}
    return [pool_line(pool, by_name.get(pool.name)) for pool in pools(resources)]
