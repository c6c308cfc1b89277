"""The dev, staging and prod stacks as planned, the exports a serving stack reads, and a serving
stack that takes its cluster from another stack (StackReference)."""

from __future__ import annotations

import json

import botocore.session
import pytest

from components.config import parse_stack_config
from components.environment import ServingEnvironment, ServingEnvironmentArgs
from components.core.placement import PoolPlacement
from harness import REPOSITORY_STACKS, dumps, plan_config, plan_program, repository_plan, resource, resources, stack_config

CLUSTER = "aws:eks/cluster:Cluster"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
RELEASE = "kubernetes:helm.sh/v3:Release"


@pytest.fixture(scope="module")
def plans():
    return {stack: repository_plan(stack) for stack in REPOSITORY_STACKS}


def plugin_releases(plan) -> list[str]:
    # The platform's releases (cert-manager, KServe) are tested in tests/test_platform_*.py.
    return sorted(name for name in resources(plan, RELEASE) if name.startswith("servestack-device-plugins-"))


def pools_of(plan) -> dict[str, dict]:
    return {name.removeprefix("servestack-pools-"): v["inputs"] for name, v in resources(plan, NODE_GROUP).items()}


def karpenter_pools_of(plan) -> dict[str, dict]:
    """NodePool specs by name, with the EC2NodeClass spec each refers to under ``nodeClass``."""
    classes = {m["metadata"]["name"]: m["spec"] for _, m in plan.manifests() if m["kind"] == "EC2NodeClass"}
    return {m["metadata"]["name"]: {**m["spec"], "nodeClass": classes[m["spec"]["template"]["spec"]["nodeClassRef"]["name"]]}
            for _, m in plan.manifests() if m["kind"] == "NodePool"}


def test_dev_small_cpu_pool_and_gpu_pool_from_zero(plans):
    pools, karpenter = pools_of(plans["dev"]), karpenter_pools_of(plans["dev"])
    assert sorted(pools) == ["system"] and sorted(karpenter) == ["gpu"]
    assert pools["system"]["amiType"] == "AL2023_x86_64_STANDARD"
    assert pools["system"]["scalingConfig"] == {"desiredSize": 2, "maxSize": 2, "minSize": 2}
    assert karpenter["gpu"]["nodeClass"]["amiSelectorTerms"] == [{"alias": "al2023@v20260903"}]
    assert plugin_releases(plans["dev"]) == ["servestack-device-plugins-nvidia"]
    vpc = resource(plans["dev"], CLUSTER, "servestack-cluster-eks")["inputs"]["vpcConfig"]
    assert (vpc["endpointPublicAccess"], vpc["publicAccessCidrs"]) == (True, ["203.0.113.0/24"])


def test_staging_adds_an_inf2_pool(plans):
    pools, karpenter = pools_of(plans["staging"]), karpenter_pools_of(plans["staging"])
    assert sorted(pools) == ["system"]
    assert sorted(karpenter) == ["fpga", "gpu", "neuron"]  # fpga: the staging FPGA endpoint's pool, as in prod
    assert karpenter["neuron"]["template"]["spec"]["requirements"][0] == {
        "key": "node.kubernetes.io/instance-type", "operator": "In", "values": ["inf2.xlarge"]}
    assert plugin_releases(plans["staging"]) == ["servestack-device-plugins-neuron", "servestack-device-plugins-nvidia"]


def test_prod_private_three_zones_all_kinds(plans):
    plan = plans["prod"]
    vpc = resource(plan, CLUSTER, "servestack-cluster-eks")["inputs"]["vpcConfig"]
    assert (vpc["endpointPrivateAccess"], vpc["endpointPublicAccess"], "publicAccessCidrs" in vpc) == (True, False, False)
    assert len(vpc["subnetIds"]) == 3
    pools = pools_of(plan)
    assert {k: v["amiType"] for k, v in pools.items()} == {"system": "AL2023_x86_64_STANDARD"}
    assert {k: v["nodeClass"]["amiSelectorTerms"] for k, v in karpenter_pools_of(plan).items()} == {
        "fpga": [{"id": "ami-0a1b2c3d4e5f60718"}], "gpu": [{"alias": "al2023@v20260903"}], "llm": [{"alias": "al2023@v20260903"}],
        "neuron": [{"alias": "al2023@v20260903"}]}
    assert all(v["subnetIds"] == vpc["subnetIds"] for v in pools.values())
    assert plugin_releases(plan) == ["servestack-device-plugins-neuron", "servestack-device-plugins-nvidia"]
    assert [m["metadata"]["name"] for _, m in plan.manifests()
            if m["kind"] == "DaemonSet" and m["metadata"]["namespace"] == "kube-system"] == ["fpga-device-plugin"]


def test_nodes_wait_for_node_addons_and_coredns_waits_for_nodes(plans):
    plan = plans["prod"]
    addons = {v["inputs"]["addonName"]: v for v in resources(plan, "aws:eks/addon:Addon").values()}
    groups = {v["urn"] for v in resources(plan, NODE_GROUP).values()}
    for name in ("coredns", "aws-ebs-csi-driver"):
        assert groups <= set(addons[name]["dependencies"]), name
    for group in resources(plan, NODE_GROUP).values():
        assert {addons[n]["urn"] for n in ("vpc-cni", "kube-proxy", "eks-pod-identity-agent")} <= set(group["dependencies"])


def test_exports_what_a_serving_stack_needs(plans):
    outputs = plans["dev"].document["outputs"]
    assert sorted(outputs) == sorted([
        "tier", "region", "clusterName", "clusterEndpoint", "clusterCertificateAuthority", "oidcProviderArn", "oidcIssuer",
        "kubernetesVersion", "nodePools", "vpcId", "privateSubnetIds", "publicSubnetIds", "platform", "endpoints", "llmEndpoints",
        "observability",  # the metrics backend serving stacks put their endpoints' rules into (issue 21)
    ])
    assert outputs["clusterName"] == "servestack-dev"
    assert outputs["oidcIssuer"].startswith("oidc.eks.us-east-1.amazonaws.com/id/")
    assert outputs["oidcProviderArn"] == f"arn:aws:iam::123456789012:oidc-provider/{outputs['oidcIssuer']}"
    assert outputs["nodePools"]["gpu"] == {
        "name": "gpu", "kind": "nvidia", "resourceName": "nvidia.com/gpu", "acceleratorsPerNode": 1,
        "labels": {"servestack.io/accelerator": "nvidia", "servestack.io/pool": "gpu"},
        "taints": [{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}],
        "maxSize": 3, "instanceTypes": ["g6.xlarge", "g5.xlarge"],
    }


def test_plans_are_byte_identical(plans):
    assert dumps(plan_config(stack_config("prod"), "prod")) == dumps(plans["prod"])


def test_cluster_handle_for_the_next_layers():
    handles = []

    def program():
        config = parse_stack_config("test", stack_config("staging"))
        handles.append(ServingEnvironment("servestack", ServingEnvironmentArgs(config=config)).cluster)

    plan_program(program)
    (handle,) = handles
    assert sorted(handle.placements) == ["fpga", "gpu", "neuron", "system"]
    assert handle.placements["neuron"].tolerations() == [
        {"key": "aws.amazon.com/neuron", "operator": "Equal", "value": "true", "effect": "NoSchedule"}]
    assert handle.kubernetes_provider is not None
    # node groups and late add-ons (the platform's); per pool, Karpenter's controller and NodePool and, on an
    # accelerator pool, the device plugins (workloads only; issue 24)
    assert len(handle.ready) == 1 + 2
    assert {pool: len(ready) for pool, ready in handle.pool_ready.items()} == {"fpga": 2 + 3, "gpu": 2 + 3, "neuron": 2 + 3}


# ----------------------------------------------------------------------------- StackReference


@pytest.fixture(scope="module")
def serving_plan():
    return plan_config({"aws:region": "us-east-1", "servestack:tier": "dev", "servestack:cluster": {"existing": "organization/servestack/dev"}},
                       "serving")


def test_a_stack_referencing_another_stacks_cluster_creates_no_cluster(serving_plan):
    assert resources(serving_plan, CLUSTER) == {}
    assert resources(serving_plan, NODE_GROUP) == {}
    assert [s["newState"]["type"] for s in serving_plan.steps if s["newState"]["type"].startswith("aws:")] == []
    assert serving_plan.document["outputs"]["clusterName"] == "servestack-dev"


def test_referenced_cluster_provider_and_placements(serving_plan, plans):
    dev_outputs = plans["dev"].document["outputs"]
    kubeconfig = json.loads(resource(serving_plan, "pulumi:providers:kubernetes", "servestack-cluster-k8s")["inputs"]["kubeconfig"])
    assert kubeconfig["clusters"] == [{"name": "servestack-dev", "cluster": {
        "server": dev_outputs["clusterEndpoint"], "certificate-authority-data": dev_outputs["clusterCertificateAuthority"]}}]
    handles = []

    def program():
        config = parse_stack_config("serving", {"aws:region": "us-east-1", "servestack:cluster": {"existing": "dev"}})
        handles.append(ServingEnvironment("servestack", ServingEnvironmentArgs(config=config)).cluster)

    plan_program(program, stack="serving")
    assert handles[0].placements == {k: PoolPlacement.from_output(v) for k, v in dev_outputs["nodePools"].items()}


# ----------------------------------------------------------------------------- AWS API enums


@pytest.fixture(scope="module")
def eks_model():
    return botocore.session.get_session().get_service_model("eks")


def enum(model, shape: str) -> set[str]:
    return set(model.shape_for(shape).enum)


def test_every_eks_enum_the_plans_send_is_one_the_eks_api_accepts(plans, eks_model):
    for stack, plan in plans.items():
        for cluster in resources(plan, CLUSTER).values():
            inputs = cluster["inputs"]
            assert set(inputs["enabledClusterLogTypes"]) == enum(eks_model, "LogType"), stack
            assert inputs["upgradePolicy"]["supportType"] in enum(eks_model, "SupportType"), stack
            assert inputs["accessConfig"]["authenticationMode"] in enum(eks_model, "AuthenticationMode"), stack
            assert inputs["kubernetesNetworkConfig"]["ipFamily"] in enum(eks_model, "IpFamily"), stack
        for group in resources(plan, NODE_GROUP).values():
            inputs = group["inputs"]
            assert inputs["amiType"] in enum(eks_model, "AMITypes"), stack
            assert inputs["capacityType"] in enum(eks_model, "CapacityTypes"), stack
            assert {t["effect"] for t in inputs["taints"]} <= enum(eks_model, "TaintEffect"), stack
        for association in resources(plan, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation").values():
            assert association["inputs"]["accessScope"]["type"] in enum(eks_model, "AccessScopeType"), stack


def test_every_enum_the_code_can_send_is_accepted(eks_model):
    from components.core import catalog
    from components.config.cluster import ClusterConfig
    from components.config.node_pools import CAPACITY_TYPES
    from components.core.placement import EKS_TAINT_EFFECTS

    ami_types = {t for a in catalog.ACCELERATORS.values() for t in a.ami_types.values()}
    assert ami_types <= enum(eks_model, "AMITypes")
    assert set(CAPACITY_TYPES.values()) == enum(eks_model, "CapacityTypes")
    assert set(EKS_TAINT_EFFECTS.values()) == enum(eks_model, "TaintEffect")
    support_types = set(ClusterConfig.model_fields["support_type"].annotation.__args__)
    assert support_types == enum(eks_model, "SupportType")


def test_launch_template_values_are_ones_the_ec2_api_accepts(plans):
    ec2 = botocore.session.get_session().get_service_model("ec2")
    for template in resources(plans["prod"], "aws:ec2/launchTemplate:LaunchTemplate").values():
        inputs = template["inputs"]
        assert inputs["metadataOptions"]["httpTokens"] in ec2.shape_for("LaunchTemplateHttpTokensState").enum
        assert inputs["blockDeviceMappings"][0]["ebs"]["volumeType"] in ec2.shape_for("VolumeType").enum
        assert {t["resourceType"] for t in inputs["tagSpecifications"]} <= set(ec2.shape_for("ResourceType").enum)
    assert "capacity-block" in ec2.shape_for("MarketType").enum
