"""Deterministic, strict answers to the provider calls of a program run offline.

Every resource gets realistic computed outputs (ids, ARNs, endpoints, certificate data)
derived from its URN, so the same program gives the same answers on every run. Every invoke
must be one the answers know (:mod:`servestack.plan.answers`): an unknown token is recorded and
fails the plan, naming the token, instead of quietly answering with nothing.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import pulumi

from . import answers  # noqa: F401 - imported for its registrations into REGISTRY
from .answers.registry import REGISTRY, MockContext, ResourceCall, digest

__all__ = ["MockContext", "PlanMocks", "UnknownInvoke", "UnknownStackReference", "computed_outputs"]


def computed_outputs(call: ResourceCall, ctx: MockContext) -> tuple[str, dict[str, Any]]:
    """The id and full state (inputs plus computed outputs) of one new resource."""
    if call.type == "pulumi:pulumi:StackReference":
        return _stack_reference(call, ctx)
    prefix, fn = REGISTRY.resource(call.type)
    rid = f"{prefix}-{digest(call.urn)}" if prefix else f"{call.name}-{digest(call.urn, length=7)}"
    state = {**call.inputs, **fn(call, rid, ctx)}
    if call.type.startswith("aws:") and "tags" in call.inputs:
        state["tagsAll"] = call.inputs["tags"]
    return rid, state


class UnknownStackReference(Exception):
    pass


def _stack_reference(call: ResourceCall, ctx: MockContext) -> tuple[str, dict[str, Any]]:
    name = call.inputs.get("name") or call.name
    if ctx.stack_outputs is None:
        raise UnknownStackReference(f"stack reference {name!r} cannot be answered offline")
    outputs = ctx.stack_outputs(name)
    return name, {"name": name, "outputs": outputs, "secretOutputNames": []}


class UnknownInvoke(Exception):
    def __init__(self, token: str):
        super().__init__(f"the offline plan has no answer for the provider call {token!r}; add one to "
                         "servestack/plan/answers/ (@answers) so that plans stay deterministic")
        self.token = token


@dataclass
class PlanMocks(pulumi.runtime.Mocks):
    context: MockContext
    unknown_invokes: list[str] = field(default_factory=list)
    current: threading.local = field(default_factory=threading.local)
    """The URN being registered on this thread (the monitor sets it; ids derive from it)."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        urn = getattr(self.current, "urn", None) or f"{args.typ}::{args.name}"
        return computed_outputs(ResourceCall(args.typ, args.name, urn, dict(args.inputs)), self.context)

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict:
        answer = REGISTRY.invoke(args.token)
        if answer is None:
            self.unknown_invokes.append(args.token)
            raise UnknownInvoke(args.token)
        return answer(dict(args.args), self.context)
