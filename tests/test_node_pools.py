"""Node pools as planned: exact NodeGroup and LaunchTemplate inputs for every accelerator kind."""

from __future__ import annotations

import base64
import email
import json

import pytest
import yaml

from components.cluster import Cluster, ClusterArgs
from components.config.cluster import ClusterConfig
from components.config.node_pools import NodePoolConfig
from components.node_pools import NodePools, NodePoolsArgs, ami_type, eks_taints, metadata_options, pool_placement
from harness import plan_program, resource, resources

TAGS = {"team": "ml"}
FPGA_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/fpga-device-plugin:1.0.0"
POOLS = {
    "system": {"instanceTypes": ["m7i.large"], "minSize": 2},
    # Accelerator pools default to Karpenter; these are managed on purpose (fixed-size node groups).
    "gpu": {"provisioner": "managed", "instanceTypes": ["g6.xlarge", "g5.xlarge"], "minSize": 2, "capacityType": "spot", "diskSizeGib": 200,
            "labels": {"team": "vision"}},
    "neuron": {"provisioner": "managed", "instanceTypes": ["inf2.xlarge"], "minSize": 1, "maxSize": 1, "desiredSize": 1, "maxUnavailable": 2},
    "fpga": {"provisioner": "managed", "instanceTypes": ["f2.6xlarge"], "minSize": 1, "amiId": "ami-0a1b2c3d4e5f60718",
             "devicePlugin": {"image": FPGA_IMAGE, "resourceName": "example.com/fpga"}},
    "block": {"provisioner": "managed", "instanceTypes": ["p5.48xlarge"], "minSize": 1, "capacityType": "capacityBlock",
              "capacityReservationId": "cr-0123456789abcdef0", "podMetadataAccess": True},
}


def parsed(pools=POOLS) -> dict[str, NodePoolConfig]:
    return {k: NodePoolConfig.model_validate(v) for k, v in pools.items()}


@pytest.fixture(scope="module")
def plan():
    # Read-only: planned once, inspected by many tests.
    def program():
        cluster = Cluster("c", ClusterArgs(config=ClusterConfig.model_validate({"adminRoleArns": ["arn:aws:iam::123456789012:role/a"]}),
                                           cluster_name="servestack-test", subnet_ids=["subnet-a", "subnet-b"], region="us-east-1",
                                           is_production=False, tags=TAGS))
        NodePools("pools", NodePoolsArgs(pools=parsed(), control_plane=cluster.handle, subnet_ids=["subnet-a", "subnet-b"], tags=TAGS,
                                         cluster_name="servestack-test"))
    return plan_program(program)


def node_group(plan, pool: str) -> dict:
    inputs = dict(resource(plan, "aws:eks/nodeGroup:NodeGroup", f"pools-{pool}")["inputs"])
    assert inputs.pop("nodeRoleArn").startswith("arn:aws:iam::123456789012:role/pools-node-role-")
    template = inputs.pop("launchTemplate")
    assert template == {"id": f"lt-{template['id'][3:]}", "version": "1"}
    return inputs


def launch_template(plan, pool: str) -> dict:
    return dict(resource(plan, "aws:ec2/launchTemplate:LaunchTemplate", f"pools-{pool}")["inputs"])


def test_cpu_node_group(plan):
    assert node_group(plan, "system") == {
        "clusterName": "servestack-test",
        "subnetIds": ["subnet-a", "subnet-b"],
        "instanceTypes": ["m7i.large"],
        "amiType": "AL2023_x86_64_STANDARD",
        "capacityType": "ON_DEMAND",
        "scalingConfig": {"minSize": 2, "maxSize": 2, "desiredSize": 2},
        "updateConfig": {"maxUnavailable": 1},
        "labels": {"servestack.io/accelerator": "none", "servestack.io/pool": "system"},
        "taints": [],
        "tags": {**TAGS, "servestack:pool": "system"},
    }


def test_managed_nvidia_node_group_is_fixed_size_on_spot(plan):
    assert node_group(plan, "gpu") == {
        "clusterName": "servestack-test",
        "subnetIds": ["subnet-a", "subnet-b"],
        "instanceTypes": ["g6.xlarge", "g5.xlarge"],
        "amiType": "AL2023_x86_64_NVIDIA",
        "capacityType": "SPOT",
        "scalingConfig": {"minSize": 2, "maxSize": 2, "desiredSize": 2},
        "updateConfig": {"maxUnavailable": 1},
        "labels": {"servestack.io/accelerator": "nvidia", "servestack.io/pool": "gpu", "team": "vision"},
        "taints": [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}],
        "tags": {**TAGS, "servestack:pool": "gpu"},
    }


def test_neuron_node_group(plan):
    assert node_group(plan, "neuron") == {
        "clusterName": "servestack-test",
        "subnetIds": ["subnet-a", "subnet-b"],
        "instanceTypes": ["inf2.xlarge"],
        "amiType": "AL2023_x86_64_NEURON",
        "capacityType": "ON_DEMAND",
        "scalingConfig": {"minSize": 1, "maxSize": 1, "desiredSize": 1},
        "updateConfig": {"maxUnavailable": 2},
        "labels": {"servestack.io/accelerator": "neuron", "servestack.io/pool": "neuron"},
        "taints": [{"key": "aws.amazon.com/neuron", "value": "true", "effect": "NO_SCHEDULE"}],
        "tags": {**TAGS, "servestack:pool": "neuron"},
    }


def test_fpga_node_group_uses_a_custom_ami_and_the_declared_resource(plan):
    assert node_group(plan, "fpga") == {
        "clusterName": "servestack-test",
        "subnetIds": ["subnet-a", "subnet-b"],
        "instanceTypes": ["f2.6xlarge"],
        "amiType": "CUSTOM",
        "capacityType": "ON_DEMAND",
        "scalingConfig": {"minSize": 1, "maxSize": 1, "desiredSize": 1},
        "updateConfig": {"maxUnavailable": 1},
        "labels": {"servestack.io/accelerator": "fpga", "servestack.io/pool": "fpga"},
        "taints": [{"key": "example.com/fpga", "value": "true", "effect": "NO_SCHEDULE"}],
        "tags": {**TAGS, "servestack:pool": "fpga"},
    }


def test_node_groups_have_no_remote_access_and_wait_for_node_addons(plan):
    for name, group in resources(plan, "aws:eks/nodeGroup:NodeGroup").items():
        assert "remoteAccess" not in group["inputs"], name
        addons = {a["urn"] for a in resources(plan, "aws:eks/addon:Addon").values()}
        assert addons <= set(group["dependencies"]), name


def expected_template(pool: str, disk: int, hop_limit: int = 1) -> dict:
    named = {**TAGS, "servestack:pool": pool, "Name": f"servestack-test-{pool}"}
    return {
        "description": f"Nodes of pool {pool} in servestack-test",
        "metadataOptions": {"httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": hop_limit,
                            "instanceMetadataTags": "disabled"},
        "blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {
            "volumeSize": disk, "volumeType": "gp3", "iops": 3000, "throughput": 125, "encrypted": "true", "deleteOnTermination": "true",
        }}],
        "tagSpecifications": [{"resourceType": kind, "tags": named} for kind in ("instance", "network-interface", "volume")],
        "updateDefaultVersion": True,
        "tags": {**TAGS, "servestack:pool": pool},
    }


@pytest.mark.parametrize(("pool", "disk"), [("system", 100), ("gpu", 200), ("neuron", 100)])
def test_launch_template_imdsv2_encrypted_gp3_no_ssh(plan, pool, disk):
    assert launch_template(plan, pool) == expected_template(pool, disk)


def test_capacity_block_launch_template(plan):
    assert launch_template(plan, "block") == {
        **expected_template("block", 100, hop_limit=2),
        "instanceMarketOptions": {"marketType": "capacity-block"},
        "capacityReservationSpecification": {"capacityReservationTarget": {"capacityReservationId": "cr-0123456789abcdef0"}},
    }
    assert node_group(plan, "block")["capacityType"] == "CAPACITY_BLOCK"


def test_fpga_launch_template_carries_ami_and_nodeadm_user_data(plan):
    template = launch_template(plan, "fpga")
    user_data = base64.b64decode(template.pop("userData")).decode()
    assert template == {**expected_template("fpga", 100), "imageId": "ami-0a1b2c3d4e5f60718"}

    message = email.message_from_string(user_data)
    assert message.get_content_type() == "multipart/mixed"
    parts = message.get_payload()
    assert [p.get_content_type() for p in parts] == ["application/node.eks.aws"]
    node_config = yaml.safe_load(parts[0].get_payload())
    cluster = resource(plan, "aws:eks/cluster:Cluster", "c-eks")
    kubeconfig = json.loads(resource(plan, "pulumi:providers:kubernetes", "c-k8s")["inputs"]["kubeconfig"])["clusters"][0]["cluster"]
    assert node_config == {
        "apiVersion": "node.eks.aws/v1alpha1",
        "kind": "NodeConfig",
        "spec": {
            "cluster": {
                "name": "servestack-test",
                "apiServerEndpoint": kubeconfig["server"],
                "certificateAuthority": kubeconfig["certificate-authority-data"],
                "cidr": cluster["inputs"]["kubernetesNetworkConfig"]["serviceIpv4Cidr"],
            },
            "kubelet": {"flags": [
                "--node-labels=servestack.io/accelerator=fpga,servestack.io/pool=fpga",
                "--register-with-taints=example.com/fpga=true:NoSchedule",
            ]},
        },
    }


def test_node_role_has_the_minimal_managed_policies(plan):
    role = resource(plan, "aws:iam/role:Role", "pools-node-role")["inputs"]
    assert json.loads(role["assumeRolePolicy"])["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}
    node_policies = sorted(a["inputs"]["policyArn"] for n, a in resources(plan, "aws:iam/rolePolicyAttachment:RolePolicyAttachment").items()
                           if n.startswith("pools-node-role-"))
    assert node_policies == ["arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly", "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy"]


@pytest.mark.parametrize(("pool", "expected"), [
    ("system", "AL2023_x86_64_STANDARD"), ("gpu", "AL2023_x86_64_NVIDIA"), ("neuron", "AL2023_x86_64_NEURON"),
    ("fpga", "CUSTOM"), ("block", "AL2023_x86_64_NVIDIA"),
])
def test_ami_type(pool, expected):
    assert ami_type(parsed()[pool]) == expected


def test_arm_gpu_pool_ami_type():
    assert ami_type(NodePoolConfig.model_validate({"instanceTypes": ["g5g.xlarge"]})) == "AL2023_ARM_64_NVIDIA"
    assert ami_type(NodePoolConfig.model_validate({"instanceTypes": ["m7g.large"]})) == "AL2023_ARM_64_STANDARD"


def test_placement_and_taints_of_pools():
    pools = parsed()
    assert eks_taints(pool_placement("gpu", pools["gpu"])) == [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}]
    assert eks_taints(pool_placement("system", pools["system"])) == []
    fpga = pool_placement("fpga", pools["fpga"])
    assert (fpga.resource_name, fpga.accelerators_per_node, fpga.max_size) == ("example.com/fpga", 1, 1)


def test_metadata_hop_limit_is_a_per_pool_relaxation():
    assert metadata_options(parsed()["system"])["http_put_response_hop_limit"] == 1
    assert metadata_options(parsed()["block"])["http_put_response_hop_limit"] == 2
