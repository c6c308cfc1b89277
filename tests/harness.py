"""Plan programs and configs offline, fresh for every call: the tests' one way to run Pulumi.

Every helper here runs the program in a new contextvars context with a new mock monitor (see
``servestack.plan.engine``), so no Pulumi state is shared between tests.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from servestack.plan import Plan, build_plan, load_project

REPO = Path(__file__).resolve().parent.parent
PROJECT = load_project(REPO)
#: Every stack of the repository (``stacks/Pulumi.<stack>.yaml``): tests that hold for every stack loop
#: over these, so a new stack file is tested the moment it exists and breaks no literal list.
REPOSITORY_STACKS: tuple[str, ...] = tuple(sorted(
    path.name[len("Pulumi."):-len(".yaml")] for path in (REPO / "stacks").glob("Pulumi.*.yaml")))


def stack_config(stack: str) -> dict[str, Any]:
    """The ``config:`` mapping of ``stacks/Pulumi.<stack>.yaml`` (a fresh copy to mutate)."""
    return copy.deepcopy(yaml.safe_load((REPO / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"])


def plan_config(config: dict[str, Any], stack: str = "test") -> Plan:
    """Plan the real ``__main__.py`` with this config, as if it were ``stacks/Pulumi.<stack>.yaml``."""
    return build_plan(PROJECT, stack, stack_file=PROJECT.stack_from_config(stack, config))


@cache
def repository_plan(stack: str) -> Plan:
    """The plan of ``stacks/Pulumi.<stack>.yaml``, made once per test process: tests only read it."""
    return plan_config(stack_config(stack), stack)


def plan_program(program: Callable[[], Any], config: dict[str, Any] | None = None, stack: str = "test") -> Plan:
    """Plan an arbitrary program (a function that declares resources), e.g. one component."""
    config = {"aws:region": "us-east-1", **(config or {})}
    return build_plan(PROJECT, stack, stack_file=PROJECT.stack_from_config(stack, config), program=program)


def resources(plan: Plan, type_: str) -> dict[str, dict[str, Any]]:
    """Steps of one type keyed by resource name: name -> newState."""
    return {s["urn"].rsplit("::", 1)[1]: s["newState"] for s in plan.steps if s["newState"]["type"] == type_}


def resource(plan: Plan, type_: str, name: str) -> dict[str, Any]:
    found = resources(plan, type_)
    assert name in found, f"no {type_} named {name!r}; have {sorted(found)}"
    return found[name]


def by_urn(plan: Plan) -> dict[str, dict[str, Any]]:
    return {s["urn"]: s["newState"] for s in plan.steps}


def dumps(plan: Plan) -> str:
    return json.dumps(plan.document, sort_keys=True)
