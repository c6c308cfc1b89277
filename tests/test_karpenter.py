"""Karpenter: the install's exact inputs, the NodePool/EC2NodeClass objects against the v1.14.1 CRDs, and
that every endpoint on a Karpenter pool fits a node its NodePool may launch and its limits at maxReplicas."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.core import catalog, karpenter_iam, versions
from components.config import ConfigError, parse_stack_config
from components.config.values import cpu_millis, memory_bytes
from conformance import schema
from harness import REPOSITORY_STACKS, repository_plan, resource, resources

KARPENTER = "servestack:index:ServingEnvironment$servestack:karpenter:Karpenter"
NODEPOOL, NODECLASS = "kubernetes:karpenter.sh/v1:NodePool", "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
TAGS = {"environment": "dev", "servestack:stack": "servestack/dev", "team": "ml-platform"}


@pytest.fixture(scope="module")
def dev():
    return repository_plan("dev")


def manifests(plan, kind: str) -> dict[str, dict[str, Any]]:
    return {obj["metadata"]["name"]: obj for _, obj in plan.manifests() if obj.get("kind") == kind}


def test_dev_renders_one_nodepool_and_nodeclass_for_its_gpu_pool(dev):
    assert sorted(manifests(dev, "NodePool")) == ["gpu"] and sorted(manifests(dev, "EC2NodeClass")) == ["gpu"]
    assert manifests(dev, "NodePool")["gpu"] == {
        "apiVersion": "karpenter.sh/v1",
        "kind": "NodePool",
        "metadata": {"name": "gpu"},
        "spec": {
            "disruption": {"budgets": [{"nodes": "1"}], "consolidateAfter": "10m", "consolidationPolicy": "WhenEmpty"},
            "limits": {"cpu": "12", "memory": "49152Mi", "nvidia.com/gpu": "3"},
            "template": {
                "metadata": {"labels": {"servestack.io/accelerator": "nvidia", "servestack.io/pool": "gpu"}},
                "spec": {
                    "expireAfter": "720h",
                    "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "gpu"},
                    "requirements": [
                        {"key": "node.kubernetes.io/instance-type", "operator": "In", "values": ["g6.xlarge", "g5.xlarge"]},
                        {"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["spot"]},
                        {"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]},
                        {"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]},
                    ],
                    "taints": [{"effect": "NoSchedule", "key": "nvidia.com/gpu", "value": "true"}],
                },
            },
        },
    }
    node_class = manifests(dev, "EC2NodeClass")["gpu"]["spec"]
    assert {**node_class, "role": "<node role>"} == {
        "amiSelectorTerms": [{"alias": f"al2023@{versions.EKS_AL2023_AMI.version}"}],
        "blockDeviceMappings": [{"deviceName": "/dev/xvda", "rootVolume": True, "ebs": {
            "deleteOnTermination": True, "encrypted": True, "iops": 3000, "throughput": 125, "volumeSize": "100Gi", "volumeType": "gp3"}}],
        "metadataOptions": {"httpEndpoint": "enabled", "httpProtocolIPv6": "disabled", "httpPutResponseHopLimit": 1, "httpTokens": "required"},
        "role": "<node role>",
        "securityGroupSelectorTerms": [{"tags": {"karpenter.sh/discovery": "servestack-dev"}}],
        "subnetSelectorTerms": [{"tags": {"karpenter.sh/discovery": "servestack-dev"}}],
        "tags": {**TAGS, "servestack:pool": "gpu"},
    }
    # The node role's name (auto-named by Pulumi: the mock answers with the logical name and a suffix).
    assert node_class["role"].startswith("servestack-karpenter-node-role-")
    # The dev stack's managed node groups: only the fixed-size system pool.
    groups = resources(dev, "aws:eks/nodeGroup:NodeGroup")
    assert {k: v["inputs"]["scalingConfig"] for k, v in groups.items()} == {
        "servestack-pools-system": {"desiredSize": 2, "maxSize": 2, "minSize": 2}}


def test_fpga_and_neuron_pools_of_prod(dev):
    prod = repository_plan("prod")
    fpga = manifests(prod, "EC2NodeClass")["fpga"]["spec"]
    assert (fpga["amiFamily"], fpga["amiSelectorTerms"]) == ("AL2023", [{"id": "ami-0a1b2c3d4e5f60718"}])
    pools = manifests(prod, "NodePool")
    # Karpenter does not know the FPGA plugin's resource: cpu and memory bound the FPGA pool.
    assert pools["fpga"]["spec"]["limits"] == {"cpu": "48", "memory": "524288Mi"}
    assert pools["neuron"]["spec"]["limits"] == {"aws.amazon.com/neuron": "4", "cpu": "16", "memory": "65536Mi"}
    assert pools["fpga"]["spec"]["template"]["spec"]["taints"] == [{"effect": "NoSchedule", "key": "servestack.io/fpga", "value": "true"}]


@pytest.mark.parametrize("stack", REPOSITORY_STACKS)
def test_nodepools_and_nodeclasses_are_valid_karpenter_v1_14_1_objects(stack):
    plan = repository_plan(stack)
    objects = [*manifests(plan, "NodePool").values(), *manifests(plan, "EC2NodeClass").values()]
    assert objects
    assert {obj["metadata"]["name"]: schema.validate(obj, "karpenter-v1.14.1") for obj in objects} == {
        obj["metadata"]["name"]: [] for obj in objects}


@pytest.mark.parametrize("stack", REPOSITORY_STACKS)
def test_every_endpoint_on_a_karpenter_pool_fits_a_node_and_the_limits_at_max_replicas(stack):
    plan = repository_plan(stack)
    pools = manifests(plan, "NodePool")
    isvcs = manifests(plan, "InferenceService")
    checked = 0
    for name, isvc in isvcs.items():
        predictor = isvc["spec"]["predictor"]
        pool = predictor.get("nodeSelector", {}).get(catalog.POOL_LABEL)
        if pool not in pools:
            continue
        spec = pools[pool]["spec"]
        container = predictor.get("model") or predictor["containers"][0]
        requests = container["resources"].get("requests", {})
        limits = container["resources"].get("limits", {})
        types = next(r["values"] for r in spec["template"]["spec"]["requirements"] if r["key"] == "node.kubernetes.io/instance-type")
        resource_name = next(k for k in limits if "/" in k) if any("/" in k for k in limits) else None
        devices = int(limits.get(resource_name, 0)) if resource_name else 0

        def fits(t: str) -> bool:
            s = catalog.lookup(t)
            return (cpu_millis(str(requests.get("cpu", "0"))) <= s.vcpus * 1000
                    and memory_bytes(str(requests.get("memory", "0"))) <= s.memory_mib * 2**20
                    and devices <= s.accelerators)

        assert any(fits(t) for t in types), f"{stack}/{name}: no type of NodePool {pool} ({types}) fits {requests}"
        replicas = predictor["maxReplicas"]
        nodepool_limits = spec["limits"]
        assert cpu_millis(str(requests.get("cpu", "0"))) * replicas <= int(nodepool_limits["cpu"]) * 1000, name
        assert memory_bytes(str(requests.get("memory", "0"))) * replicas <= memory_bytes(nodepool_limits["memory"]), name
        if resource_name in nodepool_limits:
            assert devices * replicas <= int(nodepool_limits[resource_name]), name
        checked += 1
    assert checked >= 1


def test_interruption_queue_rules_and_policy(dev):
    queue = resource(dev, "aws:sqs/queue:Queue", "servestack-karpenter-interruption")
    assert queue["inputs"] == {"messageRetentionSeconds": 300, "name": "servestack-dev", "sqsManagedSseEnabled": True, "tags": TAGS}
    rules = resources(dev, "aws:cloudwatch/eventRule:EventRule")
    assert {k: json.loads(v["inputs"]["eventPattern"]) for k, v in rules.items()} == {
        "servestack-karpenter-scheduled-change": {"detail-type": ["AWS Health Event"], "source": ["aws.health"]},
        "servestack-karpenter-spot-interruption": {"detail-type": ["EC2 Spot Instance Interruption Warning"], "source": ["aws.ec2"]},
        "servestack-karpenter-rebalance": {"detail-type": ["EC2 Instance Rebalance Recommendation"], "source": ["aws.ec2"]},
        "servestack-karpenter-instance-state-change": {"detail-type": ["EC2 Instance State-change Notification"], "source": ["aws.ec2"]},
        "servestack-karpenter-capacity-reservation-interruption": {
            "detail-type": ["EC2 Capacity Reservation Instance Interruption Warning"], "source": ["aws.ec2"]},
    }
    targets = resources(dev, "aws:cloudwatch/eventTarget:EventTarget")
    assert {v["inputs"]["targetId"] for v in targets.values()} == {"KarpenterInterruptionQueueTarget"} and len(targets) == 5
    policy = json.loads(resource(dev, "aws:sqs/queuePolicy:QueuePolicy", "servestack-karpenter-interruption")["inputs"]["policy"])
    assert [s.get("Sid") for s in policy["Statement"]] == [None, "DenyHTTP"]
    assert policy["Statement"][1]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_controller_identity_node_role_and_discovery(dev):
    association = resource(dev, "aws:eks/podIdentityAssociation:PodIdentityAssociation", "servestack-karpenter-controller")
    assert {k: association["inputs"][k] for k in ("clusterName", "namespace", "serviceAccount")} == {
        "clusterName": "servestack-dev", "namespace": "kube-system", "serviceAccount": "karpenter"}
    assert any(d.endswith("::servestack-cluster-eks-pod-identity-agent") for d in association["dependencies"])
    trust = json.loads(resource(dev, "aws:iam/role:Role", "servestack-karpenter-controller")["inputs"]["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    policies = resources(dev, "aws:iam/policy:Policy")
    assert sorted(v["inputs"]["name"] for k, v in policies.items() if "karpenter" in k) == sorted(
        f"KarpenterController{n}Policy-servestack-dev" for n in
        ("NodeLifecycle", "IAMIntegration", "EKSIntegration", "Interruption", "ZonalShift", "ResourceDiscovery"))
    entry = resource(dev, "aws:eks/accessEntry:AccessEntry", "servestack-karpenter-node-access")
    assert entry["inputs"]["type"] == "EC2_LINUX"
    attached = {v["inputs"]["policyArn"] for k, v in resources(dev, "aws:iam/rolePolicyAttachment:RolePolicyAttachment").items()
                if k.startswith("servestack-karpenter-node-role-")}
    assert attached == {"arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly", "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy"}
    tag = resource(dev, "aws:ec2/tag:Tag", "servestack-karpenter-discovery-cluster-sg")["inputs"]
    assert (tag["key"], tag["value"]) == ("karpenter.sh/discovery", "servestack-dev")
    subnets = resources(dev, "aws:ec2/subnet:Subnet")
    assert {k: v["inputs"]["tags"].get("karpenter.sh/discovery") for k, v in subnets.items()} == {
        "servestack-network-private-a": "servestack-dev", "servestack-network-private-b": "servestack-dev",
        "servestack-network-public-a": None, "servestack-network-public-b": None}


def test_charts_and_their_order(dev):
    releases = resources(dev, "kubernetes:helm.sh/v3:Release")
    crd, controller = releases["servestack-karpenter-karpenter-crd"], releases["servestack-karpenter-karpenter"]
    assert (crd["inputs"]["chart"], crd["inputs"]["version"], crd["inputs"]["values"]) == (
        "oci://public.ecr.aws/karpenter/karpenter-crd", "1.14.1", {})
    assert (controller["inputs"]["chart"], controller["inputs"]["skipCrds"], controller["inputs"]["namespace"]) == (
        "oci://public.ecr.aws/karpenter/karpenter", True, "kube-system")
    assert controller["inputs"]["values"] == {
        "affinity": {
            "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": "karpenter.sh/nodepool", "operator": "DoesNotExist"},
                {"key": "servestack.io/pool", "operator": "In", "values": ["system"]}]}]}},
            "podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{"topologyKey": "kubernetes.io/hostname"}]},
        },
        "controller": {"resources": {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "1", "memory": "1Gi"}}},
        "replicas": 2,
        "serviceAccount": {"create": True, "name": "karpenter"},
        "settings": {"clusterName": "servestack-dev", "interruptionQueue": "servestack-dev"},
    }
    deps = set(controller["dependencies"])
    assert {f"urn:pulumi:dev::servestack::{KARPENTER}$kubernetes:helm.sh/v3:Release::servestack-karpenter-karpenter-crd",
            "urn:pulumi:dev::servestack::servestack:index:ServingEnvironment$servestack:node_pools:NodePools$aws:eks/nodeGroup:NodeGroup::servestack-pools-system"} <= deps
    nodepool = resource(dev, NODEPOOL, "servestack-karpenter-gpu-nodepool")
    assert f"urn:pulumi:dev::servestack::{KARPENTER}$kubernetes:karpenter.k8s.aws/v1:EC2NodeClass::servestack-karpenter-gpu-nodeclass" in nodepool["dependencies"]


def test_controller_policy_is_the_reference_scoped_to_the_cluster():
    docs = karpenter_iam.controller_policies("aws", "us-east-1", "123456789012", "c1", "arn:aws:iam::123456789012:role/n", "arn:q")
    assert [s["Sid"] for d in docs.values() for s in d["Statement"]] == [
        "AllowScopedEC2InstanceAccessActions", "AllowScopedEC2LaunchTemplateAccessActions", "AllowScopedEC2InstanceActionsWithTags",
        "AllowScopedResourceCreationTagging", "AllowScopedResourceTagging", "AllowScopedDeletion",
        "AllowPassingInstanceRole", "AllowScopedInstanceProfileCreationActions", "AllowScopedInstanceProfileTagActions",
        "AllowScopedInstanceProfileActions", "AllowAPIServerEndpointDiscovery", "AllowInterruptionQueueActions",
        "AllowZonalShiftStatusReadOnly", "AllowRegionalReadActions", "AllowSSMReadActions", "AllowPricingReadActions",
        "AllowUnscopedInstanceProfileListAction", "AllowInstanceProfileReadActions"]
    deletion = docs["NodeLifecycle"]["Statement"][5]
    assert deletion == {
        "Sid": "AllowScopedDeletion", "Effect": "Allow",
        "Resource": ["arn:aws:ec2:us-east-1:*:instance/*", "arn:aws:ec2:us-east-1:*:launch-template/*"],
        "Action": ["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"],
        "Condition": {"StringEquals": {"aws:ResourceTag/kubernetes.io/cluster/c1": "owned"},
                      "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"}},
    }
    assert docs["EKSIntegration"]["Statement"][0]["Resource"] == "arn:aws:eks:us-east-1:123456789012:cluster/c1"
    assert docs["Interruption"]["Statement"][0]["Resource"] == "arn:q"


# --- validation -----------------------------------------------------------------------------------

ADMIN = "arn:aws:iam::123456789012:role/admin"


def problems(pools: dict[str, Any], endpoints: dict[str, Any] | None = None) -> list[str]:
    raw = {"aws:region": "us-east-1", "servestack:cluster": {"adminRoleArns": [ADMIN]},
           "servestack:nodePools": {"system": {"instanceTypes": ["m7i.large"], "minSize": 2}, **pools},
           "servestack:platform": {"endpointNamespaces": ["models"]}}
    if endpoints:
        raw["servestack:endpoints"] = endpoints
    with pytest.raises(ConfigError) as error:
        parse_stack_config("test", raw)
    return [p.render() for p in error.value.problems]


def test_an_endpoint_beyond_its_karpenter_pools_limits_is_refused():
    endpoint = {"pool": "gpu", "accelerators": 1, "namespace": "models",
                "model": {"format": "huggingface", "storageUri": "s3://acme-models/models/chat/1", "version": "1"},
                "resources": {"requests": {"cpu": "2", "memory": "8Gi"}, "limits": {"cpu": "2", "memory": "8Gi"}},
                "autoscaling": {"minReplicas": 1, "maxReplicas": 3}}
    assert problems({"gpu": {"instanceTypes": ["g6.xlarge"], "maxSize": 2}}, {"chat": endpoint}) == [
        "servestack:endpoints.chat.autoscaling.maxReplicas: needs 3 nvidia.com/gpu at 3 replicas, more than the 2 nvidia.com/gpu "
        "Karpenter pool gpu may launch (maxSize 2 nodes of its largest type); raise the pool's maxSize or lower maxReplicas (got 3)",
    ]


def test_labels_the_nodepool_api_refuses():
    assert problems({"gpu": {"instanceTypes": ["g6.xlarge"], "labels": {"karpenter.sh/team": "a"}}}) == [
        'servestack:nodePools.gpu.labels: must not set karpenter.sh/team on a Karpenter pool: the NodePool API refuses labels '
        'under karpenter.sh and karpenter.k8s.aws (got {"karpenter.sh/team": "a"})',
    ]
