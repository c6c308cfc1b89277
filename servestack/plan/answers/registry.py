"""The registry of the offline plan's answers, and the vocabulary answers are written in.

Two tables: resource type token -> how its id and computed outputs are made (:func:`computes`),
and invoke token -> the function that answers the provider call (:func:`answers`). The modules
of :mod:`servestack.plan.answers` register into it when they are imported; the mocks
(:mod:`servestack.plan.mocks`) read it. Each token has exactly one answer: registering a token a
second time is an error, so which module is imported first never decides an answer.

This module imports nothing of the plan engine, so answers and mocks both depend on it and
never on each other.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

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


def arn(ctx: MockContext, service: str, resource: str, *, region: bool = True) -> str:
    return f"arn:{PARTITION}:{service}:{ctx.region if region else ''}:{ACCOUNT_ID}:{resource}"


Computed = Callable[[ResourceCall, str, MockContext], dict[str, Any]]
"""Sees a new resource's call and id; returns the outputs the provider would compute."""

Invoke = Callable[[dict[str, Any], MockContext], dict[str, Any]]
"""Sees an invoke's arguments; returns the provider function's result."""


def no_outputs(call: ResourceCall, rid: str, ctx: MockContext) -> dict[str, Any]:
    """The provider computes nothing the program reads (the state is the inputs)."""
    return {}


class DuplicateAnswer(Exception):
    """A token registered twice: the registry would otherwise depend on import order."""

    def __init__(self, kind: str, token: str, first: Callable, second: Callable):
        super().__init__(f"the {kind} {token!r} is answered twice, by {_where(first)} and by {_where(second)}; "
                         "keep one answer per token in servestack/plan/answers/")
        self.token = token


def _where(fn: Callable) -> str:
    return f"{fn.__module__}.{fn.__qualname__}"


@dataclass
class Registry:
    resources: dict[str, tuple[str | None, Computed]] = field(default_factory=dict)
    """type token -> (id prefix, computed outputs). The id is ``<prefix>-<digest>``, or without
    a prefix ``<name>-<short digest>``."""
    invokes: dict[str, Invoke] = field(default_factory=dict)

    def add_resource(self, type_token: str, id_prefix: str | None, fn: Computed) -> None:
        if type_token in self.resources:
            raise DuplicateAnswer("resource type", type_token, self.resources[type_token][1], fn)
        self.resources[type_token] = (id_prefix, fn)

    def add_invoke(self, token: str, fn: Invoke) -> None:
        if token in self.invokes:
            raise DuplicateAnswer("provider call", token, self.invokes[token], fn)
        self.invokes[token] = fn

    def resource(self, type_token: str) -> tuple[str | None, Computed]:
        """How a resource of this type is answered; an unregistered type gets a name-derived id
        and no computed outputs."""
        return self.resources.get(type_token, (None, no_outputs))

    def invoke(self, token: str) -> Invoke | None:
        return self.invokes.get(token)


REGISTRY = Registry()
"""The answers of servestack/plan/answers/ (complete once that package is imported)."""


def computes(type_token: str, id_prefix: str | None = None) -> Callable[[Computed], Computed]:
    """Register ``fn`` as the computed outputs of ``type_token`` (ids ``<id_prefix>-<digest>``)."""
    def register(fn: Computed) -> Computed:
        REGISTRY.add_resource(type_token, id_prefix, fn)
        return fn

    return register


def answers(token: str) -> Callable[[Invoke], Invoke]:
    """Register ``fn`` as the answer to the provider call ``token``."""
    def register(fn: Invoke) -> Invoke:
        REGISTRY.add_invoke(token, fn)
        return fn

    return register
