"""Conformance: every kind of object a plan renders, and every kind the controllers of those objects
create from them (KServe's HTTPRoutes and their backends, InferencePools, LeaderWorkerSets, Knative
Services), has a controller (components.core.controllers) that the same plan installs at its pinned
version, with the settings it needs (Envoy Gateway's InferencePool backend resources, VPC CNI's
network policy agent). A kind with no controller, or whose controller the plan does not install,
fails: the API server would accept the object and nothing would act on it."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from components.core.controllers import KIND_CONTROLLERS, Controller, controllers_for
from components.core.versions import Pinned
from plandoc.controllers import choose
from plandoc.controllers import controller_problem as plan_controller_problem

from . import upstream
from .stacks import ALL_STACKS, planned

MODE_ANNOTATION = "serving.kserve.io/deploymentMode"


def created_kinds(stack, obj: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(apiVersion, kind, why) of what the controller of ``obj`` creates from it and hands to another controller."""
    kind, spec = obj["kind"], obj.get("spec") or {}
    name = obj["metadata"]["name"]
    if kind == "InferenceService":
        mode = (obj["metadata"].get("annotations") or {}).get(MODE_ANNOTATION) or stack.platform["deploymentMode"]
        if mode == "Standard":
            return [("gateway.networking.k8s.io/v1", "HTTPRoute", f"KServe's route of {name}")]
        return [("serving.knative.dev/v1", "Service", f"KServe's Knative Service of {name}"),
                ("networking.internal.knative.dev/v1alpha1", "Ingress", f"Knative's ingress of {name}")]
    if kind != "LLMInferenceService":
        return []
    made: list[tuple[str, str, str]] = []
    router = spec.get("router") or {}
    if "route" in router:
        made.append(("gateway.networking.k8s.io/v1", "HTTPRoute", f"KServe's route of {name}"))
        presets = upstream._read("kserve-v0.20.0-llmisvc-presets.json")["presets"]
        for ref in spec.get("baseRefs") or []:
            for backend in (presets.get(ref["name"]) or {}).get("routeBackends", []):
                group = backend["group"]
                made.append((f"{group}/v1" if group else "v1", backend["kind"],
                             f"backend of {name}'s route (preset {ref['name']})"))
    if "scheduler" in router:
        made.append(("inference.networking.k8s.io/v1", "InferencePool", f"KServe's InferencePool of {name}"))
    if "worker" in spec or "worker" in (spec.get("prefill") or {}):
        made.append(("leaderworkerset.x-k8s.io/v1", "LeaderWorkerSet", f"KServe's workers of {name}"))
    return made


def _resources(stack) -> list[dict[str, Any]]:
    return [step["newState"] for step in stack.plan.steps]


def controller_problem(stack, controller: Controller) -> str | None:
    return plan_controller_problem(_resources(stack), controller)


def kinds_of(stack) -> dict[tuple[str, str], list[str]]:
    """(apiVersion, kind) -> where it comes from (rendered files, or what creates it)."""
    found: dict[tuple[str, str], list[str]] = defaultdict(list)
    for filename, obj in stack.objects:
        found[(obj["apiVersion"], obj["kind"])].append(filename)
        for api_version, kind, why in created_kinds(stack, obj):
            found[(api_version, kind)].append(why)
    return found


def test_every_rendered_kind_has_its_controller_installed(conformance_line):
    rows: dict[str, set[str]] = defaultdict(set)
    failures = []
    checked = 0
    for name in ALL_STACKS:
        stack = planned(name)
        for (api_version, kind), sources in sorted(kinds_of(stack).items()):
            checked += 1
            chosen, why = choose(_resources(stack), api_version, kind)
            if chosen is None:
                failures.append(f"{name}: {kind} ({sources[0]}): {why}")
                continue
            pins = ", ".join(f"{p.name} {p.version}" for p in chosen.installs) or "built in"
            group = api_version.rpartition("/")[0]
            rows[f"{kind}.{group}" if group else kind].add(f"{chosen.name} ({pins})")
    conformance_line("Controllers: " + "; ".join(f"{kind} -> {' or '.join(sorted(found))}"
                                                 for kind, found in sorted(rows.items()))
                     + f" ({checked - len(failures)}/{checked} kinds per stack acted on by an installed controller)")
    assert failures == [], "\n".join(failures)


def test_every_controller_table_row_names_pinned_installs():
    """Each row's installs are pins of components.core.versions (so moving a pin moves the check)."""
    from components.core import versions

    pins = {v for v in vars(versions).values() if isinstance(v, Pinned)}
    assert all(set(c.installs) <= pins for row in KIND_CONTROLLERS.values() for c in row)


def test_a_plan_without_the_ai_gateway_has_no_controller_for_inference_pool_backends():
    """The defect this row catches: Envoy Gateway alone cannot route an InferencePool backend."""
    from components.core.controllers import INFERENCE_POOL_GATEWAY

    assert controller_problem(planned("dev"), INFERENCE_POOL_GATEWAY) is None
    assert controller_problem(planned("conformance-knative-kourier"), INFERENCE_POOL_GATEWAY) == (
        "not installed: gateway-api-inference-extension v1.5.0, gateway-helm v1.8.1, ai-gateway-crds-helm v1.0.0, "
        "ai-gateway-helm v1.0.0; not set: gateway-helm config.envoyGateway.extensionManager.backendResources="
        "{'group': 'inference.networking.k8s.io', 'kind': 'InferencePool'}")


def test_what_kserve_creates_from_an_llm_inference_service():
    stack = planned("dev")
    (obj,) = [o for _, o in stack.kinds("LLMInferenceService")]
    assert created_kinds(stack, obj) == [
        ("gateway.networking.k8s.io/v1", "HTTPRoute", "KServe's route of qwen-chat"),
        ("v1", "Service", "backend of qwen-chat's route (preset kserve-config-llm-router-route)"),
        ("inference.networking.k8s.io/v1", "InferencePool",
         "backend of qwen-chat's route (preset kserve-config-llm-router-route)"),
        ("inference.networking.k8s.io/v1", "InferencePool", "KServe's InferencePool of qwen-chat"),
    ]


def test_a_kind_without_a_table_row_has_no_controller():
    assert controllers_for("monitoring.coreos.com/v1", "Probe") == ()  # servestack renders no Probe
    assert controllers_for("v1", "Namespace")[0].name == "Kubernetes control plane (EKS)"
