"""The simulated critical path of a ``pulumi up`` from empty: the longest chain of create times through the
plan's dependency graph (:mod:`components.core.create_times` weights each resource).

Edges: a resource's ``dependencies`` (explicit ``depends_on`` and input dependencies), its provider, and its
parent's dependencies (Pulumi gives a component's ``depends_on`` to its children). A dependency on a component
waits for every custom resource under it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from components.core.create_times import create_seconds


@dataclass(frozen=True)
class PathStep:
    urn: str
    type: str
    seconds: int
    finish: int
    """Seconds from the start when it exists."""

    @property
    def name(self) -> str:
        return self.urn.rsplit("::", 1)[1]


@dataclass(frozen=True)
class DeployPath:
    steps: tuple[PathStep, ...]
    finish: dict[str, int]
    """Finish time of every resource (seconds from the start)."""

    @property
    def total_seconds(self) -> int:
        return self.steps[-1].finish if self.steps else 0


def _provider_urn(reference: Any) -> str | None:
    return reference.rsplit("::", 1)[0] if isinstance(reference, str) and "::" in reference else None


def dependency_graph(steps: list[Mapping[str, Any]]) -> tuple[dict[str, dict], dict[str, set[str]]]:
    """(state by URN, URN -> the custom resources it waits for)."""
    states = {s["urn"]: s["newState"] for s in steps}
    children: dict[str, list[str]] = defaultdict(list)
    for urn, state in states.items():
        if state.get("parent"):
            children[state["parent"]].append(urn)

    @cache
    def customs(urn: str) -> frozenset[str]:
        """A custom resource stands for itself; a component for every custom resource under it."""
        if urn not in states:
            return frozenset()
        if states[urn].get("custom"):
            return frozenset({urn})
        return frozenset().union(*(customs(kid) for kid in children.get(urn, [])))

    @cache
    def direct(urn: str) -> frozenset[str]:
        state = states[urn]
        found = set(state.get("dependencies") or [])
        provider = _provider_urn(state.get("provider"))
        found |= {provider} if provider else set()
        parent = state.get("parent")
        if parent in states and not states[parent].get("custom"):
            found |= direct(parent)
        return frozenset(found)

    waits = {urn: set().union(*(customs(d) for d in direct(urn))) - {urn}
             for urn, s in states.items() if s.get("custom")}
    return states, waits


def deploy_path(document: Mapping[str, Any]) -> DeployPath:
    """The critical path of the plan's ``steps`` (a ``preview.json`` document)."""
    states, waits = dependency_graph(list(document.get("steps") or []))
    finish: dict[str, int] = {}
    via: dict[str, str | None] = {}

    def done(urn: str) -> int:
        if urn in finish:
            return finish[urn]
        before = max(waits[urn], key=lambda d: (done(d), d), default=None)
        start = done(before) if before else 0
        finish[urn] = start + create_seconds(states[urn]["type"], urn.rsplit("::", 1)[1])
        via[urn] = before
        return finish[urn]

    import sys
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(states) + 1000))
    for urn in sorted(waits):
        done(urn)
    if not finish:
        return DeployPath((), {})
    last = max(finish, key=lambda u: (finish[u], u))
    chain = []
    while last is not None:
        chain.append(PathStep(last, states[last]["type"], create_seconds(states[last]["type"], last.rsplit("::", 1)[1]),
                              finish[last]))
        last = via[last]
    return DeployPath(tuple(reversed(chain)), finish)


def waits_for(document: Mapping[str, Any], urn: str, type_prefix: str) -> bool:
    """Whether ``urn`` waits, directly or through others, for a resource whose type starts with ``type_prefix``."""
    states, waits = dependency_graph(list(document.get("steps") or []))
    seen, todo = set(), [urn]
    while todo:
        current = todo.pop()
        for dep in waits.get(current, ()):
            if dep in seen:
                continue
            if states[dep]["type"].startswith(type_prefix):
                return True
            seen.add(dep)
            todo.append(dep)
    return False
