"""Deterministic, strict answers to the provider calls of a program run offline.

Every resource gets realistic computed outputs (ids, ARNs, endpoints, certificate data)
derived from its URN, so the same program gives the same answers on every run. Every invoke
must be one this module knows: an unknown token is recorded and fails the plan, naming the
token, instead of quietly answering with nothing.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pulumi

ACCOUNT_ID = "123456789012"
PARTITION = "aws"


def digest(*parts: str, length: int = 17) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:length]


@dataclass
class MockContext:
    project: str
    stack: str
    region: str
    stack_outputs: Callable[[str], dict[str, Any]] | None = None
    """Answers a StackReference: fully-qualified stack name -> that stack's outputs."""


@dataclass(frozen=True)
class ResourceCall:
    type: str
    name: str
    urn: str
    inputs: dict[str, Any]


# --------------------------------------------------------------------------- resources
# type token -> (id prefix, function adding computed outputs). The id is `<prefix>-<digest>`;
# the function sees the inputs and returns the outputs the provider would compute.

Computed = Callable[[ResourceCall, str, MockContext], dict[str, Any]]
RESOURCE_OUTPUTS: dict[str, tuple[str | None, Computed]] = {}


def computes(type_token: str, id_prefix: str | None = None):
    def register(fn: Computed) -> Computed:
        RESOURCE_OUTPUTS[type_token] = (id_prefix, fn)
        return fn

    return register


def arn(ctx: MockContext, service: str, resource: str, *, region: bool = True) -> str:
    return f"arn:{PARTITION}:{service}:{ctx.region if region else ''}:{ACCOUNT_ID}:{resource}"


def _no_outputs(call: ResourceCall, rid: str, ctx: MockContext) -> dict[str, Any]:
    return {}


def computed_outputs(call: ResourceCall, ctx: MockContext) -> tuple[str, dict[str, Any]]:
    """The id and full state (inputs plus computed outputs) of one new resource."""
    from . import answers  # noqa: F401 - registers every answer on first use
    if call.type == "pulumi:pulumi:StackReference":
        return _stack_reference(call, ctx)
    prefix, fn = RESOURCE_OUTPUTS.get(call.type, (None, _no_outputs))
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


# --------------------------------------------------------------------------- invokes

Invoke = Callable[[dict[str, Any], MockContext], dict[str, Any]]
INVOKES: dict[str, Invoke] = {}


def answers(token: str):
    def register(fn: Invoke) -> Invoke:
        INVOKES[token] = fn
        return fn

    return register


# --------------------------------------------------------------------------- the Mocks


class UnknownInvoke(Exception):
    def __init__(self, token: str):
        super().__init__(f"the offline plan has no answer for the provider call {token!r}; "
                         "add one to servestack/plan/mocks.py (INVOKES) so that plans stay deterministic")
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
        from . import answers  # noqa: F401 - registers every answer on first use

        answer = INVOKES.get(args.token)
        if answer is None:
            self.unknown_invokes.append(args.token)
            raise UnknownInvoke(args.token)
        return answer(dict(args.args), self.context)


def certificate_authority_data(seed: str) -> str:
    """A deterministic, well-formed (base64 PEM) stand-in for a cluster's CA certificate."""
    body = base64.b64encode(hashlib.sha512(seed.encode()).digest() * 6).decode()
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    pem = "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n"
    return base64.b64encode(pem.encode()).decode()
