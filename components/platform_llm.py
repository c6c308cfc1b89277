"""The Gateway API and LLM installs of :class:`components.platform.ServingPlatform`.

Envoy Gateway (with the Gateway API CRDs it bundles) is Standard mode's ingress. A stack with LLM
endpoints installs, in KServe v0.20.0's order (:mod:`components.render.llm_platform`), the
InferencePool CRDs first, then Envoy Gateway with Envoy AI Gateway's values and the inference-pool
addon, then Envoy AI Gateway's CRDs and controller (the extension server that makes an InferencePool
backend routable), then KServe's llmisvc CRDs, controller and presets, LeaderWorkerSet when an
endpoint is multi-node, and the LLM Gateway in Knative mode. Every step is an explicit
``depends_on`` edge, so that CRDs exist before any object of theirs.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from .core import versions
from .render.llm_platform import (
    AI_GATEWAY_NAMESPACE, LWS_NAMESPACE, LlmNeeds, envoy_gateway_values, gie_manifest_url, llm_gateway,
    llmisvc_resources_values, lws_values,
)

KSERVE_NAMESPACE = "kserve"
ENVOY_GATEWAY_NAMESPACE = "envoy-gateway-system"
ENVOY_GATEWAY_CLASS = "envoy"
ENVOY_GATEWAY_CONTROLLER = "gateway.envoyproxy.io/gatewayclass-controller"


class LlmInstalls:
    """Mixin of :class:`components.platform.ServingPlatform`, whose ``_name``, ``_config``, ``_cluster``,
    ``_release``, ``_child`` and ``_remote_child`` it uses."""

    def _gateway_api(self, llm: LlmNeeds | None) -> list[pulumi.Resource]:
        """Envoy Gateway (with the Gateway API CRDs) and its GatewayClass; with LLM endpoints, first the
        InferencePool CRDs and then Envoy AI Gateway, the extension server InferencePool backends need."""
        ready = self._cluster.ready
        if llm is None:
            envoy = self._release("envoy-gateway", versions.ENVOY_GATEWAY, ENVOY_GATEWAY_NAMESPACE, {}, ready)
            return [envoy, self._gateway_class(envoy)]
        # The InferencePool CRDs before the Envoy Gateway that watches InferencePools (backendResources).
        gie = k8s.yaml.v2.ConfigFile(f"{self._name}-gateway-api-inference-extension", file=gie_manifest_url(),
                                     opts=self._remote_child(ready))
        envoy = self._release("envoy-gateway", versions.ENVOY_GATEWAY, ENVOY_GATEWAY_NAMESPACE, envoy_gateway_values(),
                              [gie, *ready])
        ai_crds = self._release("ai-gateway-crds", versions.ENVOY_AI_GATEWAY_CRD, AI_GATEWAY_NAMESPACE, {}, [envoy])
        ai_gateway = self._release("ai-gateway", versions.ENVOY_AI_GATEWAY, AI_GATEWAY_NAMESPACE, {}, [ai_crds, envoy])
        return [gie, envoy, self._gateway_class(envoy), ai_crds, ai_gateway]

    def _gateway_class(self, envoy: pulumi.Resource) -> pulumi.Resource:
        return k8s.apiextensions.CustomResource(
            f"{self._name}-gatewayclass-{ENVOY_GATEWAY_CLASS}",
            api_version="gateway.networking.k8s.io/v1",
            kind="GatewayClass",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=ENVOY_GATEWAY_CLASS),
            spec={"controllerName": ENVOY_GATEWAY_CONTROLLER},
            opts=self._child([envoy]),
        )

    def _llm(self, llm: LlmNeeds, cert_manager: pulumi.Resource, crd: pulumi.Resource, controller: pulumi.Resource,
             gateway_api: list[pulumi.Resource]) -> list[pulumi.Resource]:
        """The llmisvc CRDs and controller, LWS and the LLM Gateway (the InferencePool CRDs and Envoy AI
        Gateway are in ``gateway_api``); the first is the controller, the rest what endpoints wait for too."""
        cluster = self._cluster
        llm_crd = self._release("kserve-llmisvc-crd", versions.KSERVE_LLMISVC_CRD, KSERVE_NAMESPACE, {},
                                [cert_manager, crd, *cluster.ready])
        llm_controller = self._release("kserve-llmisvc-resources", versions.KSERVE_LLMISVC_RESOURCES, KSERVE_NAMESPACE,
                                       llmisvc_resources_values(), [llm_crd, controller, *gateway_api])
        installed: list[pulumi.Resource] = [llm_controller]
        if self._config.kserve.deployment_mode == "Knative":
            # Standard mode's kserve-resources chart creates this Gateway (createGateway); Knative mode's does not.
            gateway = llm_gateway(ENVOY_GATEWAY_CLASS)
            installed.append(k8s.apiextensions.CustomResource(
                f"{self._name}-llm-gateway", api_version=gateway["apiVersion"], kind=gateway["kind"],
                metadata=k8s.meta.v1.ObjectMetaArgs(**gateway["metadata"]), spec=gateway["spec"],
                opts=self._child([*gateway_api, controller])))
        if llm.multi_node:
            installed.append(self._release("lws", versions.LWS, LWS_NAMESPACE, lws_values(), cluster.ready))
        return installed
