"""What the platform installs for LLM endpoints (LLMInferenceService), decided here (pure).

Only a stack with ``servestack:llmEndpoints`` installs any of it, in this order, each step an
explicit dependency of the next (:class:`components.platform_llm.LlmInstalls`), as KServe v0.20.0's
own setup installs it (``hack/setup/infra/manage.envoy-ai-gateway-helm.sh``):

1. The Gateway API Inference Extension v1.5.0 CRDs (InferencePool) from its release manifests.
2. Envoy Gateway (with Gateway API v1.5.1) and its ``envoy`` GatewayClass, with Envoy AI Gateway's
   values plus the inference-pool addon (:func:`envoy_gateway_values`): Envoy Gateway routes an
   HTTPRoute backend of kind InferencePool (the backend of KServe's router-route preset) only
   through that extension server. One Envoy Gateway per cluster: Standard mode's, or one a
   Knative-mode platform adds for LLMs.
3. Envoy AI Gateway v1.0.0: its CRDs chart, then its controller chart (the extension server) in
   ``envoy-ai-gateway-system``, whose address the Envoy Gateway values name.
4. ``kserve-llmisvc-crd`` (LLMInferenceService, LLMInferenceServiceConfig) beside ``kserve-crd``.
5. ``kserve-llmisvc-resources`` (the llmisvc controller) after ``kserve-resources``; it shares the
   ``inferenceservice-config`` ConfigMap that ``kserve-resources`` already owns, so it creates no
   shared resources, and no GIE CRDs (step 1 owns them, at the pinned version).
6. ``kserve-runtime-configs`` with ``llmisvcConfigs.enabled``: KServe's LLMInferenceServiceConfig
   presets (``kserve-config-llm-template``, ``-router-route``, ``-scheduler``, ...), which
   endpoints name in ``baseRefs``.
7. LeaderWorkerSet v0.8.0, only when some LLM endpoint is multi-node.
8. The Gateway ``kserve/kserve-ingress-gateway`` that KServe's router-route preset attaches the
   HTTPRoutes to, when the kserve-resources chart does not create it (Knative mode).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from ..core import versions
from .llm_inference_service import LLM_GATEWAY_NAME, LLM_GATEWAY_NAMESPACE

LWS_NAMESPACE = "lws-system"
GIE_MANIFEST = "manifests.yaml"
#: Where KServe's setup installs Envoy AI Gateway (both charts); the Envoy Gateway values name its
#: controller's Service there (:func:`envoy_gateway_values`).
AI_GATEWAY_NAMESPACE = "envoy-ai-gateway-system"


@dataclass(frozen=True)
class LlmNeeds:
    """What the stack's LLM endpoints need of the platform."""

    multi_node: bool
    """Some endpoint runs a LeaderWorkerSet (data parallel across nodes): install LWS."""


def gie_manifest_url() -> str:
    """The Gateway API Inference Extension release's manifests (the InferencePool CRDs)."""
    pinned = versions.GATEWAY_API_INFERENCE_EXTENSION
    return f"{pinned.source}/{pinned.version}/{GIE_MANIFEST}"


@cache
def _ai_gateway_data() -> dict[str, Any]:
    """components/data/upstream/envoy-ai-gateway-<version>.json, derived by tools/vendor_upstream.py."""
    name = f"data/upstream/envoy-ai-gateway-{versions.ENVOY_AI_GATEWAY.version}.json"
    return json.loads(resources.files("components").joinpath(name).read_text(encoding="utf-8"))


def envoy_gateway_values() -> dict[str, Any]:
    """Envoy Gateway's values when LLM endpoints route through it: Envoy AI Gateway's
    ``manifests/envoy-gateway-values.yaml`` and ``examples/inference-pool/envoy-gateway-values-addon.yaml``
    at the pinned tag, merged as ``helm -f ... -f ...`` merges them (the extension server, the Backend
    API, and ``extensionManager.backendResources``: InferencePool). A fresh copy each call."""
    return json.loads(json.dumps(_ai_gateway_data()["envoyGatewayValues"]))


def ai_gateway_extension_service() -> tuple[str, int]:
    """(host, port) of the extension server Envoy Gateway calls, as the AI Gateway's controller chart
    serves it in :data:`AI_GATEWAY_NAMESPACE`: its ``controller.fullnameOverride`` Service, grpc port."""
    controller = _ai_gateway_data()["controller"]
    return (f"{controller['fullnameOverride']}.{AI_GATEWAY_NAMESPACE}.svc.cluster.local",
            controller["servicePorts"]["grpc"])


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
