"""The preflight adapter: what it reads from a plan's config and resources."""

from __future__ import annotations

import json

import pulumi_aws as aws
from harness import plan_program
from preflight_fixtures import document, step, subnet

from components.config.network import NetworkConfig
from components.network import Network, NetworkArgs
from servestack.plan.wire import UNKNOWN
from servestack.preflight.inputs import AddonInputs, ModelUri, PoolInputs, PreflightInputs, collect

ISVC = "kubernetes:serving.kserve.io/v1beta1:InferenceService"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
PRIVATE_SUBNETS = "the availabilityZone of the plan's private subnets"


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
    assert collect(plan) == PreflightInputs(
        region="us-east-1",
        models=[
            ModelUri("iris", "s3://models/iris/v1/", ("stable",), ("config servestack:endpoints.iris.model.storageUri",)),
            ModelUri("iris", "s3://models/iris/v2/", ("candidate",), ("config servestack:endpoints.iris.rollout.candidate.storageUri",)),
            ModelUri("llm", "hf://meta-llama/Llama-3.1-8B", ("stable",), ("config servestack:endpoints.llm.model.storageUri",)),
        ],
        pools=[
            PoolInputs("gpu", ("g6.xlarge", "g5.xlarge"), 3, "ON_DEMAND", ("us-east-1a", "us-east-1b"), (), PRIVATE_SUBNETS),
            PoolInputs("system", ("m7i.large",), 4, "ON_DEMAND", ("us-east-1a", "us-east-1b"), (), PRIVATE_SUBNETS),
        ],
        kubernetes_version="1.33",
        support_type=None,
        addons=[AddonInputs("coredns", "v1.12.2-eksbuild.4", "config servestack:cluster.addons.coredns"),
                AddonInputs("vpc-cni", "v1.20.1-eksbuild.1", "config servestack:cluster.addons.vpc-cni")],
    )


def test_knative_predictor_with_canary_traffic_carries_the_candidate_and_config_the_stable():
    isvc = step(ISVC, "iris", {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
                               "metadata": {"name": "iris", "namespace": "serving"},
                               "spec": {"predictor": {"canaryTrafficPercent": 10,
                                                      "model": {"modelFormat": {"name": "sklearn"}, "storageUri": "s3://m/iris/v2/"}}}})
    plan = document({"servestack:endpoints": {"iris": {"model": {"storageUri": "s3://m/iris/v1/"},
                                                       "rollout": {"candidate": {"model": {"storageUri": "s3://m/iris/v2/"}}}}}}, isvc)
    assert collect(plan).models == [
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
    assert collect(document({}, isvc)).models == [
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
    assert collect(plan).pools == [PoolInputs(
        "gpu", ("g6e.xlarge",), 6, "SPOT", ("us-east-1a", "us-east-1c"), (),
        "the availabilityZone of the node group's subnets in the plan",
    )]


def test_node_group_wired_to_the_network_component_runs_in_its_private_subnets():
    a, b, public = subnet("net-private-a", "us-east-1a"), subnet("net-private-b", "us-east-1b"), subnet("net-public-f", "us-east-1f", private=False)
    group = step(NODE_GROUP, "system", {"instanceTypes": ["m7i.large"], "scalingConfig": {"maxSize": 2},
                                        "labels": {"servestack.io/pool": "system"}},
                 property_dependencies={"subnetIds": ["urn:pulumi:test::servestack::servestack:network:Network::net"]})
    assert collect(document({}, a, b, public, group)).pools[0].zones == ("us-east-1a", "us-east-1b")


def test_existing_network_gives_subnet_ids_to_resolve():
    plan = document({
        "servestack:network": {"existing": {"vpcId": "vpc-0123456789abcdef0",
                                            "privateSubnetIds": ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2"]}},
        "servestack:nodePools": {"cpu": {"instanceTypes": ["c7i.large"], "maxSize": 5}},
    }, step(NODE_GROUP, "neuron", {"instanceTypes": ["inf2.xlarge"], "scalingConfig": {"maxSize": 2},
                                   "subnetIds": ["subnet-0bbbbbbbbbbbbbbb1"]}))
    assert collect(plan).pools == [
        PoolInputs("cpu", ("c7i.large",), 5, "ON_DEMAND", (), ("subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2"),
                   "servestack:network.existing.privateSubnetIds"),
        PoolInputs("neuron", ("inf2.xlarge",), 2, "ON_DEMAND", (), ("subnet-0bbbbbbbbbbbbbbb1",), "the node group's subnetIds"),
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
    inputs = collect(plan)
    assert inputs.pools == [PoolInputs("gpu", ("g6.xlarge",), 2, "ON_DEMAND", (), (), "")]
    assert (inputs.kubernetes_version, inputs.support_type) == ("1.34", "STANDARD")
    assert inputs.addons == [AddonInputs("coredns", None, "resource coredns"),
                             AddonInputs("vpc-cni", "v1.20.4-eksbuild.1", "resource vpc-cni")]


def test_a_planned_node_group_on_the_network_component_gets_the_zones_of_its_subnets():
    def program():
        network = Network("net", NetworkArgs(NetworkConfig(availability_zones=3), "cluster", {}))
        aws.eks.NodeGroup("gpu", cluster_name="cluster", node_role_arn="arn:aws:iam::123456789012:role/nodes",
                          subnet_ids=network.private_subnet_ids, instance_types=["g6e.xlarge"],
                          scaling_config=aws.eks.NodeGroupScalingConfigArgs(min_size=0, max_size=2, desired_size=0),
                          labels={"servestack.io/pool": "gpu"})

    assert collect(plan_program(program).document).pools == [PoolInputs(
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
    assert [(p.name, p.capacity_type) for p in collect(plan).pools] == [
        ("block", "CAPACITY_BLOCK"), ("cpu", "ON_DEMAND"), ("gpu", "SPOT")]


def test_config_values_of_the_wrong_type_are_ignored_not_fatal():
    # A hand-written or foreign preview: preflight must not trace back on config it cannot read.
    plan = document({"servestack:nodePools": {
        "cpu": {"instanceTypes": "m7i.large", "maxSize": "three"},
        "gpu": {"instanceTypes": ["g6.xlarge"], "maxSize": None},
    }}, step(NODE_GROUP, "cpu", {"instanceTypes": [UNKNOWN], "labels": {"servestack.io/pool": "cpu"}}))
    assert [(p.name, p.instance_types, p.max_size) for p in collect(plan).pools] == [
        ("cpu", (), 3), ("gpu", ("g6.xlarge",), 3)]
