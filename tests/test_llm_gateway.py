"""LLM routing: a platform with LLM endpoints installs what KServe v0.20.0's own setup installs for an
HTTPRoute backend of kind InferencePool (hack/setup/infra/manage.envoy-ai-gateway-helm.sh): the
InferencePool CRDs, Envoy Gateway with Envoy AI Gateway's values and the inference-pool addon, then
Envoy AI Gateway's CRDs chart and controller chart, in that order. Planned fresh per test module."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest

from components.config.platform import PlatformConfig
from components.core.placement import placement_for
from components.handles import ClusterHandle
from components.platform import ServingPlatform, ServingPlatformArgs
from components.render.llm_platform import LlmNeeds, ai_gateway_extension_service, envoy_gateway_values
from harness import plan_program, resource, resources
from test_platform_plan import CONFIG_FILE, KUBECONFIG, READY, RELEASE, urn

GATEWAY_CLASS = "kubernetes:gateway.networking.k8s.io/v1:GatewayClass"

#: Envoy AI Gateway v1.0.0's manifests/envoy-gateway-values.yaml and examples/inference-pool/
#: envoy-gateway-values-addon.yaml, merged (written out here so that a change of the vendored data shows).
EXPECTED_ENVOY_GATEWAY_VALUES = {"config": {"envoyGateway": {
    "gateway": {"controllerName": "gateway.envoyproxy.io/gatewayclass-controller"},
    "logging": {"level": {"default": "info"}},
    "provider": {"type": "Kubernetes"},
    "extensionApis": {"enableEnvoyPatchPolicy": True, "enableBackend": True},
    "extensionManager": {
        "hooks": {"xdsTranslator": {
            "translation": {"listener": {"includeAll": True}, "route": {"includeAll": True},
                            "cluster": {"includeAll": True}, "secret": {"includeAll": True}},
            "post": ["Translation", "Cluster", "Route"]}},
        "service": {"fqdn": {"hostname": "ai-gateway-controller.envoy-ai-gateway-system.svc.cluster.local", "port": 1063}},
        "backendResources": [{"group": "inference.networking.k8s.io", "kind": "InferencePool", "version": "v1"}],
    },
}}}


def plan_llm_platform(platform: dict[str, Any], llm: LlmNeeds | None):
    def program():
        provider = k8s.Provider("k8s", kubeconfig=KUBECONFIG)
        ready = k8s.core.v1.Namespace("device-plugins", metadata={"name": "device-plugins"},
                                      opts=pulumi.ResourceOptions(provider=provider))
        handle = ClusterHandle(
            name="servestack-test", endpoint="https://example.eks.amazonaws.com", certificate_authority="Q0E=",
            kubernetes_provider=provider,
            oidc_provider_arn="arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/X",
            oidc_issuer="oidc.eks.us-east-1.amazonaws.com/id/X", partition="aws",
            placements={"system": placement_for("system", ["m7i.large"], 3), "gpu": placement_for("gpu", ["g6.xlarge"], 2)},
            ready=[ready])
        ServingPlatform("platform", ServingPlatformArgs(config=PlatformConfig.model_validate(platform), cluster=handle,
                                                        llm=llm))

    return plan_program(program)


@pytest.fixture(scope="module")
def standard_llm():
    return plan_llm_platform({"kserve": {"deploymentMode": "Standard"}}, LlmNeeds(multi_node=False))


@pytest.fixture(scope="module")
def knative_llm():
    return plan_llm_platform({}, LlmNeeds(multi_node=True))


def _release(plan, name: str) -> dict[str, Any]:
    return resource(plan, RELEASE, f"platform-{name}")


GIE = urn(CONFIG_FILE, "platform-gateway-api-inference-extension")


@pytest.mark.parametrize("mode", ["standard_llm", "knative_llm"])
def test_llm_platform_installs_envoy_ai_gateway_after_envoy_gateway_with_the_inference_pool_addon(mode, request):
    plan = request.getfixturevalue(mode)
    envoy = _release(plan, "envoy-gateway")
    assert envoy["inputs"]["values"] == EXPECTED_ENVOY_GATEWAY_VALUES
    assert envoy["inputs"]["version"] == "v1.8.1"
    # The InferencePool CRDs exist before the Envoy Gateway that watches InferencePools.
    assert envoy["dependencies"] == sorted([GIE, READY])
    assert resource(plan, CONFIG_FILE, "platform-gateway-api-inference-extension")["dependencies"] == [READY]
    crds, controller = _release(plan, "ai-gateway-crds"), _release(plan, "ai-gateway")
    assert {k: crds["inputs"][k] for k in ("name", "chart", "version", "namespace", "values")} == {
        "name": "ai-gateway-crds", "chart": "oci://docker.io/envoyproxy/ai-gateway-crds-helm", "version": "v1.0.0",
        "namespace": "envoy-ai-gateway-system", "values": {}}
    assert {k: controller["inputs"][k] for k in ("name", "chart", "version", "namespace", "values")} == {
        "name": "ai-gateway", "chart": "oci://docker.io/envoyproxy/ai-gateway-helm", "version": "v1.0.0",
        "namespace": "envoy-ai-gateway-system", "values": {}}
    assert crds["dependencies"] == [urn(RELEASE, "platform-envoy-gateway")]
    assert controller["dependencies"] == sorted([urn(RELEASE, "platform-ai-gateway-crds"), urn(RELEASE, "platform-envoy-gateway")])
    # KServe's llmisvc controller waits for the whole gateway stack, Envoy AI Gateway included.
    assert urn(RELEASE, "platform-ai-gateway") in _release(plan, "kserve-llmisvc-resources")["dependencies"]
    assert resource(plan, GATEWAY_CLASS, "platform-gatewayclass-envoy")["inputs"]["spec"] == {
        "controllerName": EXPECTED_ENVOY_GATEWAY_VALUES["config"]["envoyGateway"]["gateway"]["controllerName"]}


def test_a_platform_without_llm_endpoints_installs_plain_envoy_gateway_and_no_ai_gateway():
    plan = plan_llm_platform({"kserve": {"deploymentMode": "Standard"}}, None)
    assert _release(plan, "envoy-gateway")["inputs"]["values"] == {}
    assert not {"platform-ai-gateway", "platform-ai-gateway-crds"} & set(resources(plan, RELEASE))
    assert resources(plan, CONFIG_FILE) == {}


def test_the_extension_server_envoy_gateway_calls_is_the_ai_gateway_controllers_service():
    """The hostname in Envoy AI Gateway's values is the Service its controller chart makes in the namespace
    servestack installs it in, on its grpc port (both read from the vendored upstream files)."""
    fqdn = envoy_gateway_values()["config"]["envoyGateway"]["extensionManager"]["service"]["fqdn"]
    assert (fqdn["hostname"], fqdn["port"]) == ai_gateway_extension_service() == (
        "ai-gateway-controller.envoy-ai-gateway-system.svc.cluster.local", 1063)


def test_envoy_gateway_values_are_a_fresh_copy():
    values = envoy_gateway_values()
    values["config"]["envoyGateway"]["extensionManager"]["backendResources"].clear()
    assert envoy_gateway_values() == EXPECTED_ENVOY_GATEWAY_VALUES

