"""The human summary of a plan: the component tree with resource counts by type."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from rich.tree import Tree


def _label(step: dict[str, Any]) -> str:
    state = step["newState"]
    return f"[bold]{step['urn'].rsplit('::', 1)[1]}[/bold] [dim]({state['type']})[/dim]"


def component_tree(document: dict[str, Any]) -> Tree:
    steps = document["steps"]
    children: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for step in steps:
        children[step["newState"].get("parent", "")].append(step)
    root_step = next(s for s in steps if s["newState"]["type"] == "pulumi:pulumi:Stack")
    total = Counter(s["newState"]["type"] for s in steps if s["newState"]["custom"])
    tree = Tree(f"{_label(root_step)}: {sum(total.values())} resources")

    def add(node: Tree, urn: str) -> None:
        kids = children.get(urn, [])
        counts = Counter(k["newState"]["type"] for k in kids if k["newState"]["custom"])
        for type_, n in sorted(counts.items()):
            node.add(f"{n} × {type_}")
        for kid in sorted((k for k in kids if not k["newState"]["custom"]), key=lambda k: k["urn"]):
            add(node.add(_label(kid)), kid["urn"])

    add(tree, root_step["urn"])
    return tree
