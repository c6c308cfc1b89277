"""What the platform installs for LLM endpoints (LLMInferenceService), decided here (pure).

Only a stack with ``servestack:llmEndpoints`` installs any of it, in this order, each step an
explicit dependency of the next (:meth:`components.platform.ServingPlatform._llm`):

1. Envoy Gateway (with Gateway API v1.5.1) and its ``envoy`` GatewayClass: the Standard-mode
   install, shared (one Envoy Gateway per cluster); a Knative-mode platform adds it for LLMs.
2. ``kserve-llmisvc-crd`` (LLMInferenceService, LLMInferenceServiceConfig) beside ``kserve-crd``,
   and the Gateway API Inference Extension v1.5.0 CRDs (InferencePool) from its release manifests.
3. ``kserve-llmisvc-resources`` (the llmisvc controller) after ``kserve-resources``; it shares the
   ``inferenceservice-config`` ConfigMap that ``kserve-resources`` already owns, so it creates no
   shared resources, and no GIE CRDs (step 2 owns them, at the pinned version).
4. ``kserve-runtime-configs`` with ``llmisvcConfigs.enabled``: KServe's LLMInferenceServiceConfig
   presets (``kserve-config-llm-template``, ``-router-route``, ``-scheduler``, ...), which
   endpoints name in ``baseRefs``.
5. LeaderWorkerSet v0.8.0, only when some LLM endpoint is multi-node.
6. The Gateway ``kserve/kserve-ingress-gateway`` that KServe's router-route preset attaches the
   HTTPRoutes to, when the kserve-resources chart does not create it (Knative mode).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..core import versions
from .llm_inference_service import LLM_GATEWAY_NAME, LLM_GATEWAY_NAMESPACE

LWS_NAMESPACE = "lws-system"
GIE_MANIFEST = "manifests.yaml"


@dataclass(frozen=True)
class LlmNeeds:
    """What the stack's LLM endpoints need of the platform."""

    multi_node: bool
    """Some endpoint runs a LeaderWorkerSet (data parallel across nodes): install LWS."""


def gie_manifest_url() -> str:
    """The Gateway API Inference Extension release's manifests (the InferencePool CRDs)."""
    pinned = versions.GATEWAY_API_INFERENCE_EXTENSION
    return f"{pinned.source}/{pinned.version}/{GIE_MANIFEST}"


def llmisvc_resources_values() -> dict[str, Any]:
    return {"kserve": {
        # kserve-resources owns inferenceservice-config and the shared RBAC; two releases owning one object fail.
        "createSharedResources": False,
        # The GIE CRDs come from their own pinned release manifests (gie_manifest_url).
        "llmisvc": {"createGIECRDs": False},
    }}


def runtime_configs_llm_values(values: dict[str, Any]) -> dict[str, Any]:
    """``kserve-runtime-configs`` values with KServe's LLMInferenceServiceConfig presets turned on."""
    kserve = dict(values.get("kserve", {}))
    kserve["llmisvcConfigs"] = {"enabled": True}
    return {**values, "kserve": dict(sorted(kserve.items()))}


def lws_values() -> dict[str, Any]:
    # The chart's source values say image tag `main` with pullPolicy Always; pin the release's image.
    return {"image": {"manager": {"tag": f"v{versions.LWS.version}", "pullPolicy": "IfNotPresent"}}}


def llm_gateway(class_name: str) -> dict[str, Any]:
    """The Gateway KServe's router-route preset attaches LLM HTTPRoutes to (inferenceservice-config
    ``ingress.kserveGateway``), accepting routes from every namespace (endpoint namespaces)."""
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": LLM_GATEWAY_NAME, "namespace": LLM_GATEWAY_NAMESPACE},
        "spec": {
            "gatewayClassName": class_name,
            "listeners": [{"name": "http", "protocol": "HTTP", "port": 80, "allowedRoutes": {"namespaces": {"from": "All"}}}],
        },
    }
