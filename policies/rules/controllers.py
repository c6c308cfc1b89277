"""A stack declares no object that nothing acts on: every Kubernetes object's kind (and the kinds KServe
creates from an LLMInferenceService: its route, InferencePool and LeaderWorkerSet) has a controller the
stack installs at its pinned version with the settings it needs (:mod:`plandoc.controllers`, table
:mod:`components.core.controllers`). Judged in full on a stack that installs servestack's serving platform
(its cert-manager release, the platform's first install); on any other stack (a serving stack on a
cluster another stack owns, whose platform stack installs the controllers) only a kind with no known
controller fails."""

from __future__ import annotations

from collections.abc import Iterable

from components.core import versions
from plandoc.controllers import choose, installed, object_kind
from plandoc.document import Resource
from plandoc.values import dig

from .model import Context, Rule


def _kinds(resource: Resource, api_version: str, kind: str) -> list[tuple[str, str]]:
    """The kind itself and what KServe creates from it (route, InferencePool, LeaderWorkerSet)."""
    found = [(api_version, kind)]
    if kind == "LLMInferenceService":
        router = dig(resource.get("inputs"), "spec", "router")
        if isinstance(router, dict) and "route" in router:
            found.append(("gateway.networking.k8s.io/v1", "HTTPRoute"))
        if isinstance(router, dict) and "scheduler" in router:
            found.append(("inference.networking.k8s.io/v1", "InferencePool"))
        if isinstance(dig(resource.get("inputs"), "spec", "worker"), dict) or \
                isinstance(dig(resource.get("inputs"), "spec", "prefill", "worker"), dict):
            found.append(("leaderworkerset.x-k8s.io/v1", "LeaderWorkerSet"))
    return found


def kind_has_controller(resources: list[Resource], ctx: Context) -> Iterable[tuple[str, str]]:
    platform_here = installed(resources, versions.CERT_MANAGER)
    for resource in resources:
        own = object_kind(resource)
        if own is None:
            continue
        for api_version, kind in _kinds(resource, *own):
            controller, why = choose(resources, api_version, kind)
            if controller is not None or (not platform_here and "has no controller" not in (why or "")):
                continue
            what = kind if (api_version, kind) == own else f"the {kind} KServe creates from this {own[1]}"
            yield resource["urn"], (f"{what}: no controller the stack installs acts on it ({why}); required: install "
                                    "it at its pinned version, or the object is accepted and ignored")


RULES = [
    Rule("kind-has-controller", "serving",
         "Every Kubernetes object the stack declares (and every kind KServe creates from an LLMInferenceService) has "
         "a controller the stack installs at its pinned version with the settings it needs.",
         "mandatory", kind_has_controller),
]
