"""The human summary of a plan: the component tree with resource counts by type."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from rich.text import Text
from rich.tree import Tree


def _label(step: dict[str, Any]) -> Text:
    # Text, not console markup: parsing markup (and emoji codes) cost a second at 5000 lines.
    return Text.assemble((step["urn"].rsplit("::", 1)[1], "bold"), " ", (f"({step['newState']['type']})", "dim"))


def component_tree(document: dict[str, Any]) -> Tree:
    steps = document["steps"]
    children: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for step in steps:
        children[step["newState"].get("parent", "")].append(step)
    root_step = next(s for s in steps if s["newState"]["type"] == "pulumi:pulumi:Stack")
    total = Counter(s["newState"]["type"] for s in steps if s["newState"]["custom"])
    tree = Tree(_label(root_step).append(f": {sum(total.values())} resources"))

    def add(node: Tree, urn: str) -> None:
        kids = children.get(urn, [])
        counts = Counter(k["newState"]["type"] for k in kids if k["newState"]["custom"])
        for type_, n in sorted(counts.items()):
            node.add(Text(f"{n} × {type_}"))
        for kid in sorted((k for k in kids if not k["newState"]["custom"]), key=lambda k: k["urn"]):
            add(node.add(_label(kid)), kid["urn"])

    add(tree, root_step["urn"])
    return tree
