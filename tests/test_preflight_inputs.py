"""The preflight adapter: what it reads from a plan's config and resources."""

from __future__ import annotations

import json

import pulumi_aws as aws
from harness import plan_program
from preflight_fixtures import document, step, subnet

from components.config.network import NetworkConfig
from components.network import Network, NetworkArgs
from plandoc.cluster import Addon
from plandoc.document import plan_from_document
from plandoc.models import ModelUri
from plandoc.placement import PoolPlacement
from plandoc.values import UNKNOWN
from servestack.preflight.inputs import PreflightInputs, collect

ISVC = "kubernetes:serving.kserve.io/v1beta1:InferenceService"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
PRIVATE_SUBNETS = "the availabilityZone of the plan's private subnets"


def read(document: dict) -> PreflightInputs:
    return collect(plan_from_document(document))


def test_config_only_plan_gives_models_pools_versions_and_network_zones():
    plan = document(
        {
            "servestack:endpoints": {
                "iris": {"model": {"format": "sklearn", "storageUri": "s3://models/iris/v1/"},
                         "rollout": {"candidate": {"storageUri": "s3://models/iris/v2/"}, "stages": [10, 100]}},
                "llm": {"model": {"storageUri": "hf://meta-llama/Llama-3.1-8B"}},
            },
            "servestack:nodePools": {"system": {"instanceTypes": ["m7i.large"], "maxSize": 4},
                                     "gpu": {"instanceTypes": ["g6.xlarge", "g5.xlarge"]}},
            "servestack:cluster": {"kubernetesVersion": "1.33", "addons": {"vpc-cni": "v1.20.1-eksbuild.1",
                                                                           "coredns": {"version": "v1.12.2-eksbuild.4"}}},
        },
        subnet("net-private-b", "us-east-1b"), subnet("net-private-a", "us-east-1a"), subnet("net-public-a", "us-east-1c", private=False),
    )
    assert read(plan) == PreflightInputs(
        region="us-east-1",
        models=[
            ModelUri("iris", "s3://models/iris/v1/", ("stable",), ("config servestack:endpoints.iris.model.storageUri",)),
            ModelUri("iris", "s3://models/iris/v2/", ("candidate",), ("config servestack:endpoints.iris.rollout.candidate.storageUri",)),
            ModelUri("llm", "hf://meta-llama/Llama-3.1-8B", ("stable",), ("config servestack:endpoints.llm.model.storageUri",)),
        ],
        pools=[
            PoolPlacement("gpu", ("g6.xlarge", "g5.xlarge"), 3, "ON_DEMAND", ("us-east-1a", "us-east-1b"), (), PRIVATE_SUBNETS,
                          provisioner="karpenter"),  # an accelerator pool defaults to Karpenter
            PoolPlacement("system", ("m7i.large",), 4, "ON_DEMAND", ("us-east-1a", "us-east-1b"), (), PRIVATE_SUBNETS),
        ],
        kubernetes_version="1.33",
        support_type=None,
        addons=[Addon("coredns", "v1.12.2-eksbuild.4", "config servestack:cluster.addons.coredns"),
                Addon("vpc-cni", "v1.20.1-eksbuild.1", "config servestack:cluster.addons.vpc-cni")],
    )


def test_knative_predictor_with_canary_traffic_carries_the_candidate_and_config_the_stable():
    isvc = step(ISVC, "iris", {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
                               "metadata": {"name": "iris", "namespace": "serving"},
                               "spec": {"predictor": {"canaryTrafficPercent": 10,
                                                      "model": {"modelFormat": {"name": "sklearn"}, "storageUri": "s3://m/iris/v2/"}}}})
    plan = document({"servestack:endpoints": {"iris": {"model": {"storageUri": "s3://m/iris/v1/"},
                                                       "rollout": {"candidate": {"model": {"storageUri": "s3://m/iris/v2/"}}}}}}, isvc)
    assert read(plan).models == [
        ModelUri("iris", "s3://m/iris/v1/", ("stable",), ("config servestack:endpoints.iris.model.storageUri",)),
        ModelUri("iris", "s3://m/iris/v2/", ("candidate",), (
            "resource iris spec.predictor.model.storageUri",
            "config servestack:endpoints.iris.rollout.candidate.model.storageUri",
        )),
    ]


def test_standard_mode_canary_entries_carry_the_candidate_and_the_endpoint_label_names_the_endpoint():
    isvc = step(ISVC, "fraud-isvc", {"metadata": {"name": "fraud-isvc", "labels": {"servestack.io/endpoint": "fraud"}},
                                     "spec": {"predictor": {"xgboost": {"storageUri": "s3://m/fraud/3"}},
                                              "canary": [{"name": "candidate", "trafficPercent": 25,
                                                          "predictor": {"model": {"storageUri": "s3://m/fraud/4"}}}]}})
    assert read(document({}, isvc)).models == [
        ModelUri("fraud", "s3://m/fraud/3", ("stable",), ("resource fraud-isvc spec.predictor.xgboost.storageUri",)),
        ModelUri("fraud", "s3://m/fraud/4", ("candidate",), ("resource fraud-isvc spec.canary.0.predictor.model.storageUri",)),
    ]


def test_node_group_wins_over_config_and_takes_the_zones_of_the_subnets_it_is_wired_to():
    a, b, c = subnet("net-private-a", "us-east-1a"), subnet("net-private-b", "us-east-1b"), subnet("net-private-c", "us-east-1c")
    group = step(NODE_GROUP, "servestack-gpu", {
        "nodeGroupName": "servestack-gpu", "instanceTypes": ["g6e.xlarge"], "capacityType": "SPOT",
        "scalingConfig": {"minSize": 0, "maxSize": 6, "desiredSize": 0}, "subnetIds": ["subnet-1", "subnet-2"],
    }, property_dependencies={"subnetIds": [a["urn"], c["urn"]]})
    plan = document({"servestack:nodePools": {"gpu": {"instanceTypes": ["g6.xlarge"], "maxSize": 2}}}, a, b, c, group)
    assert read(plan).pools == [PoolPlacement(
        "gpu", ("g6e.xlarge",), 6, "SPOT", ("us-east-1a", "us-east-1c"), (),
        "the availabilityZone of the node group's subnets in the plan",
    )]


def test_node_group_wired_to_the_network_component_runs_in_its_private_subnets():
    a, b, public = subnet("net-private-a", "us-east-1a"), subnet("net-private-b", "us-east-1b"), subnet("net-public-f", "us-east-1f", private=False)
    group = step(NODE_GROUP, "system", {"instanceTypes": ["m7i.large"], "scalingConfig": {"maxSize": 2},
                                        "labels": {"servestack.io/pool": "system"}},
                 property_dependencies={"subnetIds": ["urn:pulumi:test::servestack::servestack:network:Network::net"]})
    assert read(document({}, a, b, public, group)).pools[0].zones == ("us-east-1a", "us-east-1b")


def test_existing_network_gives_subnet_ids_to_resolve():
    plan = document({
        "servestack:network": {"existing": {"vpcId": "vpc-0123456789abcdef0",
                                            "privateSubnetIds": ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2"]}},
        "servestack:nodePools": {"cpu": {"instanceTypes": ["c7i.large"], "maxSize": 5}},
    }, step(NODE_GROUP, "neuron", {"instanceTypes": ["inf2.xlarge"], "scalingConfig": {"maxSize": 2},
                                   "subnetIds": ["subnet-0bbbbbbbbbbbbbbb1"]}))
    assert read(plan).pools == [
        PoolPlacement("cpu", ("c7i.large",), 5, "ON_DEMAND", (), ("subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2"),
                   "servestack:network.existing.privateSubnetIds"),
        PoolPlacement("neuron", ("inf2.xlarge",), 2, "ON_DEMAND", (), ("subnet-0bbbbbbbbbbbbbbb1",), "the node group's subnetIds"),
    ]


def test_values_unknown_before_deployment_are_not_taken_for_facts():
    # A real `pulumi preview --json`: zones and ids unknown, structured config as JSON text.
    group = step(NODE_GROUP, "gpu", {"instanceTypes": ["g6.xlarge"], "scalingConfig": {"maxSize": 2}, "subnetIds": [UNKNOWN]},
                 property_dependencies={"subnetIds": ["urn:pulumi:test::servestack::servestack:network:Network$aws:ec2/subnet:Subnet::net-private-a"]})
    plan = document({"servestack:nodePools": json.dumps({"gpu": {"instanceTypes": ["g6.xlarge"]}})},
                    subnet("net-private-a", UNKNOWN), group,
                    step("aws:eks/cluster:Cluster", "cluster", {"version": "1.34", "upgradePolicy": {"supportType": "STANDARD"}}),
                    step("aws:eks/addon:Addon", "vpc-cni", {"addonName": "vpc-cni", "addonVersion": "v1.20.4-eksbuild.1"}),
                    step("aws:eks/addon:Addon", "coredns", {"addonName": "coredns", "addonVersion": UNKNOWN}))
    inputs = read(plan)
    assert inputs.pools == [PoolPlacement("gpu", ("g6.xlarge",), 2, "ON_DEMAND", (), (), "")]
    assert (inputs.kubernetes_version, inputs.support_type) == ("1.34", "STANDARD")
    assert inputs.addons == [Addon("coredns", None, "resource coredns"),
                             Addon("vpc-cni", "v1.20.4-eksbuild.1", "resource vpc-cni")]


def test_a_planned_node_group_on_the_network_component_gets_the_zones_of_its_subnets():
    def program():
        network = Network("net", NetworkArgs(config=NetworkConfig(availability_zones=3), cluster_name="cluster", tags={}))
        aws.eks.NodeGroup("gpu", cluster_name="cluster", node_role_arn="arn:aws:iam::123456789012:role/nodes",
                          subnet_ids=network.handle.private_subnet_ids, instance_types=["g6e.xlarge"],
                          scaling_config=aws.eks.NodeGroupScalingConfigArgs(min_size=0, max_size=2, desired_size=0),
                          labels={"servestack.io/pool": "gpu"})

    assert read(plan_program(program).document).pools == [PoolPlacement(
        "gpu", ("g6e.xlarge",), 2, "ON_DEMAND", ("us-east-1a", "us-east-1b", "us-east-1c"), (),
        "the availabilityZone of the node group's subnets in the plan",
    )]


def test_capacity_type_from_config_is_spelled_as_eks_spells_it():
    # Config says onDemand / spot / capacityBlock; the quota check reads the EKS API's spelling.
    plan = document({"servestack:nodePools": {
        "block": {"instanceTypes": ["p5.48xlarge"], "maxSize": 1, "capacityType": "capacityBlock"},
        "cpu": {"instanceTypes": ["m7i.large"], "maxSize": 2, "capacityType": "onDemand"},
        "gpu": {"instanceTypes": ["g6.xlarge"], "maxSize": 2, "capacityType": "spot"},
    }})
    assert [(p.name, p.capacity_type) for p in read(plan).pools] == [
        ("block", "CAPACITY_BLOCK"), ("cpu", "ON_DEMAND"), ("gpu", "SPOT")]


def test_config_values_of_the_wrong_type_are_ignored_not_fatal():
    # A hand-written or foreign preview: preflight must not trace back on config it cannot read.
    plan = document({"servestack:nodePools": {
        "cpu": {"instanceTypes": "m7i.large", "maxSize": "three"},
        "gpu": {"instanceTypes": ["g6.xlarge"], "maxSize": None},
    }}, step(NODE_GROUP, "cpu", {"instanceTypes": [UNKNOWN], "labels": {"servestack.io/pool": "cpu"}}))
    # unreadable sizes take NodePoolConfig's defaults: a managed pool is fixed at minSize (1), a Karpenter pool's maxSize is 3
    assert [(p.name, p.instance_types, p.max_size) for p in read(plan).pools] == [
        ("cpu", (), 1), ("gpu", ("g6.xlarge",), 3)]


def test_every_unknown_marker_of_pulumi_counts_as_unknown_not_only_the_string_one():
    # A real preview marks unknown numbers, lists and booleans with markers of their own.
    numbers, lists = "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7", "030794c1-ac77-496b-92df-f27374a8bd58"
    plan = document({"servestack:nodePools": {"gpu": {"instanceTypes": ["g6.xlarge"], "maxSize": 4}}},
                    step(NODE_GROUP, "gpu", {"instanceTypes": [numbers], "capacityType": lists, "subnetIds": [lists],
                                             "labels": {"servestack.io/pool": "gpu"}}),
                    step("aws:eks/addon:Addon", "coredns", {"addonName": "coredns", "addonVersion": numbers}))
    inputs = read(plan)
    assert [(p.name, p.instance_types, p.max_size, p.capacity_type, p.subnet_ids) for p in inputs.pools] == [
        ("gpu", ("g6.xlarge",), 4, "ON_DEMAND", ())]
    assert inputs.addons == [Addon("coredns", None, "resource coredns")]


def test_resources_that_a_step_removes_are_not_checked_whatever_the_removing_op():
    def removed(op: str, name: str) -> dict:
        gone = step(NODE_GROUP, name, {"instanceTypes": ["p5.48xlarge"], "scalingConfig": {"maxSize": 9}})
        return {**gone, "op": op}

    ops = ("delete", "delete-replaced", "discard", "discard-replaced", "remove-pending-replace", "read-discard")
    plan = document({}, *(removed(op, f"old-{i}") for i, op in enumerate(ops)))
    assert read(plan).pools == []
