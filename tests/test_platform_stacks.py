"""The serving platform of each stack as the real program plans it, after the cluster layer."""

from __future__ import annotations

import pytest

from components.config import ConfigError, parse_stack_config
from components.environment import ServingEnvironment, ServingEnvironmentArgs
from harness import REPOSITORY_STACKS, plan_program, repository_plan, resource, resources

RELEASE = "kubernetes:helm.sh/v3:Release"
DIRECTORY = "kubernetes:kustomize/v2:Directory"
CONFIG_FILE = "kubernetes:yaml/v2:ConfigFile"
PATCH = "kubernetes:core/v1:ConfigMapPatch"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
PLATFORM_PREFIX = "servestack-platform-"


@pytest.fixture(scope="module")
def plans():
    return {stack: repository_plan(stack) for stack in REPOSITORY_STACKS}


def platform_releases(plan) -> dict[str, dict]:
    return {name.removeprefix(PLATFORM_PREFIX): state for name, state in resources(plan, RELEASE).items()
            if name.startswith(PLATFORM_PREFIX)}


def test_dev_runs_kserve_in_knative_mode_with_kourier(plans):
    plan = plans["dev"]
    releases = platform_releases(plan)
    # dev's LLM endpoint (single node) adds the llmisvc charts, and Envoy Gateway with Envoy AI Gateway for its
    # route (the InferencePool backend), not LWS.
    assert sorted(releases) == ["ai-gateway", "ai-gateway-crds", "cert-manager", "envoy-gateway", "kserve-crd",
                                "kserve-llmisvc-crd", "kserve-llmisvc-resources", "kserve-resources", "kserve-runtime-configs"]
    assert releases["kserve-resources"]["inputs"]["values"]["kserve"]["controller"]["deploymentMode"] == "Knative"
    assert releases["kserve-runtime-configs"]["inputs"]["values"]["kserve"]["llmisvcConfigs"] == {"enabled": True}
    assert sorted(resources(plan, CONFIG_FILE)) == [
        "servestack-platform-gateway-api-inference-extension",
        "servestack-platform-knative-kourier", "servestack-platform-knative-serving-core", "servestack-platform-knative-serving-crds",
    ]
    assert resources(plan, CONFIG_FILE)["servestack-platform-gateway-api-inference-extension"]["inputs"]["file"] == (
        "https://github.com/kubernetes-sigs/gateway-api-inference-extension/releases/download/v1.5.0/manifests.yaml")
    assert "servestack-platform-llm-gateway" in resources(plan, "kubernetes:gateway.networking.k8s.io/v1:Gateway")
    # Every endpoint has a node selector, and dev's GPU pool is tainted: Knative must accept both fields.
    assert sorted(resource(plan, PATCH, "servestack-platform-knative-config-features")["inputs"]["data"]) == [
        "kubernetes.podspec-nodeselector", "kubernetes.podspec-tolerations"]
    assert resources(plan, DIRECTORY) == {}


def test_staging_runs_kubeflow_and_no_standalone_kserve(plans):
    plan = plans["staging"]
    assert sorted(platform_releases(plan)) == ["cert-manager"]
    directories = {state["inputs"]["directory"] for state in resources(plan, DIRECTORY).values()}
    assert "https://github.com/kubeflow/manifests//applications/kserve/kserve?ref=26.03" in directories
    assert len(directories) == 25
    assert resources(plan, CONFIG_FILE) == {}
    assert "servestack-platform-knative-config-features" in resources(plan, PATCH)


def test_prod_runs_kserve_in_standard_mode_behind_envoy_gateway(plans):
    plan = plans["prod"]
    releases = platform_releases(plan)
    assert sorted(releases) == ["ai-gateway", "ai-gateway-crds", "cert-manager", "envoy-gateway", "kserve-crd",
                                "kserve-llmisvc-crd", "kserve-llmisvc-resources", "kserve-resources", "kserve-runtime-configs"]
    assert releases["kserve-resources"]["inputs"]["values"]["kserve"]["controller"]["deploymentMode"] == "Standard"
    # One Envoy Gateway serves Standard mode and the LLM route; the kserve-resources chart creates the Gateway.
    assert sorted(resources(plan, CONFIG_FILE)) == ["servestack-platform-gateway-api-inference-extension"]
    assert resources(plan, "kubernetes:gateway.networking.k8s.io/v1:Gateway") == {}
    assert resources(plan, DIRECTORY) == {}
    assert "servestack-platform-gatewayclass-envoy" in resources(plan, "kubernetes:gateway.networking.k8s.io/v1:GatewayClass")


def test_platform_waits_for_node_groups_and_addons_only(plans):
    """The platform's charts run on the managed system pool: not behind Karpenter or the device plugins (issue 24)."""
    plan = plans["prod"]
    cert_manager = platform_releases(plan)["cert-manager"]
    node_groups = {state["urn"] for state in resources(plan, NODE_GROUP).values()}
    # Karpenter pools: the controller release and each NodePool (gpu, llm, neuron, fpga).
    karpenter = {state["urn"] for name, state in resources(plan, RELEASE).items() if name == "servestack-karpenter-karpenter"}
    karpenter |= {state["urn"] for state in resources(plan, "kubernetes:karpenter.sh/v1:NodePool").values()}
    plugins = {state["urn"] for name, state in resources(plan, RELEASE).items() if name.startswith("servestack-device-plugins-")}
    plugins |= {state["urn"] for name, state in resources(plan, "kubernetes:apps/v1:DaemonSet").items()
                if name.startswith("servestack-device-plugins-")}  # the FPGA plugin (not the metrics' neuron-monitor)
    addons = {state["urn"] for state in resources(plan, "aws:eks/addon:Addon").values()
              if state["inputs"]["addonName"] in ("coredns", "aws-ebs-csi-driver")}
    assert len(node_groups) == 1 and len(karpenter) == 5 and len(plugins) == 3 and len(addons) == 2
    assert set(cert_manager["dependencies"]) == node_groups | addons
    for state in platform_releases(plan).values():
        assert not set(state["dependencies"]) & (karpenter | plugins)
    provider = resource(plan, "pulumi:providers:kubernetes", "servestack-cluster-k8s")["urn"]
    for state in platform_releases(plan).values():
        assert state["provider"].rsplit("::", 1)[0] == provider


def test_each_stack_exports_its_platform(plans):
    named = ("dev", "staging", "prod")
    assert {stack: plan.document["outputs"]["platform"] for stack, plan in plans.items() if stack in named} == {
        "dev": {"deploymentMode": "Knative", "kserveVersion": "v0.20.0", "kubeflow": False, "endpointNamespaces": ["models"],
                    "servingRuntimes": {}},
        "staging": {"deploymentMode": "Knative", "kserveVersion": "v0.16.0", "kubeflow": True, "endpointNamespaces": ["models"],
                    "servingRuntimes": {}},
        "prod": {"deploymentMode": "Standard", "kserveVersion": "v0.20.0", "kubeflow": False, "endpointNamespaces": ["models"],
                    "servingRuntimes": {}},
    }


# --------------------------------------------------------------------------- serving stacks


def test_a_stack_on_a_referenced_cluster_installs_no_platform_and_takes_the_platform_stacks():
    platforms = []

    def program():
        config = parse_stack_config("serving", {"aws:region": "us-east-1", "servestack:cluster": {"existing": "prod"}})
        platforms.append(ServingEnvironment("servestack", ServingEnvironmentArgs(config=config)).platform)

    plan = plan_program(program, stack="serving")
    assert resources(plan, RELEASE) == {}
    assert resources(plan, "kubernetes:core/v1:Namespace") == {}
    (platform,) = platforms
    assert (platform.deployment_mode, platform.kserve_version) == ("Standard", "v0.20.0")
    assert sorted(platform.namespaces) == ["models"]
    assert platform.ready == []


def test_a_stack_on_a_referenced_cluster_may_not_declare_a_platform():
    with pytest.raises(ConfigError) as raised:
        parse_stack_config("serving", {"aws:region": "us-east-1", "servestack:cluster": {"existing": "prod"},
                                       "servestack:platform": {"kserve": {"deploymentMode": "Knative"}}})
    assert [p.render() for p in raised.value.problems] == [
        "servestack:platform: cannot be set together with cluster.existing (the stack prod owns the cluster's platform)"]
