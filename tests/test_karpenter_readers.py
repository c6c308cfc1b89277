"""Everything that reads pools reads Karpenter pools: plandoc, the summary, cost, the policy pack
and diff, on hand-built plans shaped as Karpenter v1.14.1's CRDs (checked below), with each fault
injected into an otherwise good stack."""

from __future__ import annotations

import copy
import json

import pytest

from karpenter_stack import AL2023, GPU_LIMITS, karpenter_stack, node_class, node_pool
from review_stack import document, isvc, replace

from plandoc.cost import accelerator_count, estimate
from plandoc.document import plan_from_document
from plandoc.karpenter import node_ceiling, quantity
from plandoc.placement import pool_placements
from plandoc.pools import configured_pools, pools
from components.core import catalog
from policies.rules import evaluate
from servestack.review.diff import diff_plans
from servestack.summary import pool_lines

PROD = {"aws:region": "us-east-1", "servestack:tier": "prod"}


def violations(resources, rule, stack_config=PROD):
    return [(v.urn.rsplit("::", 1)[-1], v.message) for v in evaluate(resources, {}, stack_config, "prod") if v.rule == rule]


def test_the_fixtures_are_what_karpenters_crds_accept():
    from conformance.schema import validate

    objects = [r["inputs"] for r in karpenter_stack() if "karpenter" in r["type"]]
    assert [o["kind"] for o in objects] == ["EC2NodeClass", "NodePool"]
    assert [validate(o, "karpenter-v1.14.1") for o in objects] == [[], []]


# --------------------------------------------------------------------------- plandoc


def test_quantities_as_kubernetes_writes_them():
    assert [quantity(v) for v in ("16", "500m", "64Gi", "32768Mi", 4, "1e3", "x", True, None)] == [
        16, 0.5, 64 * 2**30, 32 * 2**30, 4, 1000, None, None, None]


def test_a_nodepool_is_a_pool_from_zero_to_its_limits():
    (pool,) = [p for p in pools(karpenter_stack()) if p.name == "gpu"]
    assert (pool.provisioner, pool.instance_types, pool.min_size, pool.max_size, pool.capacity_type) == (
        "karpenter", ("g6.xlarge",), 0, 4, "ON_DEMAND")
    assert (pool.kind.value, pool.resource_name, pool.capacity, pool.accelerators_per_node) == ("nvidia", "nvidia.com/gpu", 4, 1)
    assert pool.limits == (("cpu", "16"), ("memory", "64Gi"), ("nvidia.com/gpu", "4"))
    assert pool.labels == {"servestack.io/pool": "gpu", "servestack.io/accelerator": "nvidia"}
    assert pool.taints == ({"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"},)
    assert pool.size_text == "NodePool limits cpu=16, memory=64Gi, nvidia.com/gpu=4"


def test_the_tightest_limit_decides_nodes_and_accelerators():
    # cpu 8 allows 2 g6.xlarge (4 vCPUs) although the GPU limit would allow 4
    (pool,) = [p for p in pools([node_pool("gpu", ["g6.xlarge"], {"cpu": "8", "nvidia.com/gpu": "4"})])]
    assert (pool.max_size, pool.capacity) == (2, 2)
    # spot wins as the pool's market; Karpenter's reserved capacity is a capacity block
    spot = pools([node_pool("gpu", ["g6.xlarge"], GPU_LIMITS, capacity_types=("spot", "on-demand"))])[0]
    reserved = pools([node_pool("gpu", ["g6.xlarge"], GPU_LIMITS, capacity_types=("reserved",))])[0]
    assert (spot.capacity_type, reserved.capacity_type) == ("SPOT", "CAPACITY_BLOCK")
    # every node brings at least the smallest type's vCPUs: 16 / 4 = 4 nodes at most
    specs = [catalog.lookup("g6.xlarge"), catalog.lookup("g6.2xlarge")]
    assert node_ceiling(specs, {"cpu": quantity("16")}) == 4


def test_a_nodepool_without_limits_is_unbounded():
    (pool,) = pools([node_pool("gpu", ["g6.xlarge"], None)])
    assert (pool.max_size, pool.capacity, pool.size_text) == (0, None, "NodePool limits none")
    assert accelerator_count([node_pool("gpu", ["g6.xlarge"], None)]) == (None, ["gpu unbounded (NodePool limits none)"])


def test_config_pools_know_their_provisioner():
    config = {"servestack:nodePools": json.dumps({
        "gpu": {"instanceTypes": ["g6.xlarge"], "maxSize": 2},
        "system": {"instanceTypes": ["m7i.large"], "minSize": 2},
        "pinned": {"instanceTypes": ["g6.xlarge"], "minSize": 1, "provisioner": "managed"}})}
    assert {n: (p.provisioner, p.min_size, p.max_size) for n, p in configured_pools(config).items()} == {
        "gpu": ("karpenter", 0, 2), "pinned": ("managed", 1, 1), "system": ("managed", 2, 2)}


def test_placements_put_a_karpenter_pool_in_the_networks_zones():
    doc = document(karpenter_stack(), {**PROD, "servestack:network": {"existing": {"privateSubnetIds": ["subnet-1", "subnet-2"]}}})
    placements = {p.name: p for p in pool_placements(plan_from_document(doc))}
    gpu = placements["gpu"]
    assert (gpu.instance_types, gpu.max_size, gpu.capacity_type, gpu.subnet_ids, gpu.vcpu_limit) == (
        ("g6.xlarge",), 4, "ON_DEMAND", ("subnet-1", "subnet-2"), 16)


# --------------------------------------------------------------------------- summary and cost


def test_the_summary_lists_karpenter_and_managed_pools():
    assert pool_lines(karpenter_stack()) == [
        "gpu: Karpenter NodePool, g6.xlarge, 0-4 nodes (NodePool limits cpu=16, memory=64Gi, nvidia.com/gpu=4), ON_DEMAND, "
        "up to 4 nvidia.com/gpu; demand needs 2 x g6.xlarge at min, 2 x g6.xlarge at max",
        "system: managed node group, m7i.xlarge, 3-6 nodes, ON_DEMAND; demand needs 3 x m7i.xlarge at min, "
        "6 x m7i.xlarge at max",
    ]
    assert pool_lines([node_pool("gpu", ["g6.xlarge"], None)]) == [
        "gpu: Karpenter NodePool, g6.xlarge, 0 nodes and up, no ceiling (NodePool limits none), ON_DEMAND, "
        "nvidia.com/gpu unbounded; demand needs 0 nodes at min, 0 nodes at max"]


def test_a_karpenter_pool_is_priced_by_what_runs_on_it():
    """fraud's 2 replicas of 1 GPU need 2 g6.xlarge at min and at max (not 0 to the 4 its limits allow):
    floor 0.10 + 2 x 0.8048 + 3 x 0.2016 = 2.3144, ceiling 0.10 + 1.6096 + 6 x 0.2016 = 2.9192; the bound (every
    pool at its limits) 0.10 + 4 x 0.8048 + 1.2096 = 4.5288. A pool without limits has no bound."""
    cost = estimate(karpenter_stack(), PROD)
    assert [(line.item, line.count_min, line.count_max, line.unit_hourly) for line in cost.lines] == [
        ("EKS control plane servestack-cluster (standard support)", 1, 1, 0.10),
        ("Karpenter pool gpu: g6.xlarge", 2, 2, 0.8048),
        ("node pool system: m7i.xlarge", 3, 6, 0.2016),
    ]
    assert (cost.hourly_min, cost.hourly_max, cost.hourly_bound) == (2.3144, 2.9192, 4.5288)
    unlimited = estimate([node_pool("gpu", ["g6.xlarge"], None)], PROD)
    assert (unlimited.lines, unlimited.hourly_bound) == ((), None)
    assert unlimited.notes == ("Karpenter pools without limits (gpu) have no bound",)


# --------------------------------------------------------------------------- the policy pack


def test_the_good_karpenter_stack_passes_every_rule():
    assert evaluate(karpenter_stack(), {}, PROD, "prod") == []


def test_a_nodepool_must_have_limits():
    assert violations(karpenter_stack(limits={"nvidia.com/gpu": "4"}), "karpenter-nodepool-limits") == [
        ("servestack-gpu", "spec.limits has no cpu or memory limit (limits: nvidia.com/gpu=4); required: cpu and memory "
                           "limits (servestack sets maxSize x the largest instance type), because without them Karpenter "
                           "launches nodes for every pending pod and the bill has no ceiling")]
    unbounded = [r for r in karpenter_stack() if r["type"] != "kubernetes:karpenter.sh/v1:NodePool"] + [
        node_pool("gpu", ["g6.xlarge"], None)]
    assert [v.rule for v in evaluate(unbounded, {}, PROD, "prod")] == [
        "accelerator-count-cap", "karpenter-nodepool-limits"]


def test_nodeclass_imdsv2_and_the_pools_relaxation():
    assert violations(karpenter_stack(metadataOptions={"httpTokens": "optional", "httpPutResponseHopLimit": 2}),
                      "karpenter-nodeclass-imdsv2") == [
        ("servestack-gpu", "EC2NodeClass servestack-gpu: spec.metadataOptions.httpPutResponseHopLimit is 2; allowed: 1 unless "
                           "servestack:nodePools.gpu.podMetadataAccess is true, so that pods (one hop further than the node) "
                           "cannot reach the node role's credentials"),
        ("servestack-gpu", "EC2NodeClass servestack-gpu: spec.metadataOptions.httpTokens is optional; required: \"required\" "
                           "(IMDSv2), because IMDSv1 lets any SSRF in a pod read the node role's credentials")]
    relaxed = {**PROD, "servestack:nodePools": {"gpu": {"instanceTypes": ["g6.xlarge"], "podMetadataAccess": True}}}
    assert violations(karpenter_stack(hop_limit=2), "karpenter-nodeclass-imdsv2", relaxed) == []
    assert violations(karpenter_stack(hop_limit=3), "karpenter-nodeclass-imdsv2", relaxed) == [
        ("servestack-gpu", "EC2NodeClass servestack-gpu: spec.metadataOptions.httpPutResponseHopLimit is 3; the pool's "
                           "podMetadataAccess allows at most 2, so that pods (one hop further than the node) cannot reach "
                           "the node role's credentials")]
    # left out, Karpenter's defaults apply: required, hop limit 1
    stack = karpenter_stack()
    del stack[-2]["inputs"]["spec"]["metadataOptions"]
    assert violations(stack, "karpenter-nodeclass-imdsv2") == []


def test_nodeclass_volumes_are_encrypted():
    assert violations(karpenter_stack(encrypted=False), "karpenter-nodeclass-encrypted-volumes") == [
        ("servestack-gpu", "spec.blockDeviceMappings[0] (/dev/xvda) has ebs.encrypted False; required: true, because node "
                           "volumes hold model weights and container layers")]
    assert violations(karpenter_stack(blockDeviceMappings=[]), "karpenter-nodeclass-encrypted-volumes") == [
        ("servestack-gpu", "spec.blockDeviceMappings is empty, so the root volume is whatever the AMI maps, encrypted only "
                           "if the account default says so; required: the root volume with ebs.encrypted true")]


@pytest.mark.parametrize(("term", "problem"), [
    ({"alias": "al2023@latest"}, "alias al2023@latest follows every new AMI release (drift replaces every node)"),
    ({"alias": "al2023"}, "alias al2023 names no version"),
    ({"tags": {"team": "ml"}}, "term {'tags': {'team': 'ml'}} selects AMIs by tags, which matches new images as they appear"),
])
def test_amis_are_pinned(term, problem):
    assert violations(karpenter_stack(amiSelectorTerms=[term]), "karpenter-ami-pinned") == [
        ("servestack-gpu", f"spec.amiSelectorTerms[0]: {problem}; required: a pinned version (al2023@v<date>) or an AMI id, "
                           "so that nodes change only in a reviewed commit")]
    assert violations(karpenter_stack(alias=AL2023), "karpenter-ami-pinned") == []
    assert violations(karpenter_stack(alias=None, ami_id="ami-0a1b2c3d4e5f60718"), "karpenter-ami-pinned") == []


def test_a_nodepool_needs_its_node_class_and_accelerator_taints():
    stack = [r for r in karpenter_stack() if r["type"] != "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"]
    assert violations(stack, "karpenter-nodepool-node-class") == [
        ("servestack-gpu", "NodePool servestack-gpu launches with EC2NodeClass servestack-gpu, which the stack does not "
                           "declare (EC2NodeClasses: none); required: its EC2NodeClass, or Karpenter launches nothing for the pool")]
    untainted = replace(karpenter_stack(), node_pool("gpu", ["g6.xlarge"], GPU_LIMITS, taints=[]))
    assert violations(untainted, "karpenter-nodepool-node-class") == [
        ("servestack-gpu", "NodePool servestack-gpu launches nvidia nodes without taints; required: the accelerator taint, "
                           "so that other pods stay off these expensive nodes")]
    assert [v.rule for v in evaluate(untainted, {}, PROD, "prod")] == ["accelerator-pool-tainted", "karpenter-nodepool-node-class"]


def test_accelerator_capacity_uses_the_limits():
    # fraud needs 2 GPUs at max replicas; a GPU limit of 1 cannot hold them
    stack = karpenter_stack(limits={"cpu": "16", "memory": "64Gi", "nvidia.com/gpu": "1"})
    assert violations(stack, "accelerator-capacity-fits") == [
        ("servestack-gpu", "endpoints on pool gpu need 2 nvidia.com/gpu at min replicas, with every rollout's candidate "
                           "(fraud 2) but the pool offers 1 at its NodePool limits cpu=16, memory=64Gi, nvidia.com/gpu=1; "
                           "required: demand <= capacity, or replicas beyond it stay Pending")]
    # cpu bounds it as much: 4 vCPUs is one g6.xlarge
    assert len(violations(karpenter_stack(limits={"cpu": "4", "memory": "64Gi"}), "accelerator-capacity-fits")) == 1


# --------------------------------------------------------------------------- diff


def test_a_nodepool_limit_below_the_demand_is_an_unsafe_transition():
    base = plan_from_document(document(karpenter_stack(), PROD))
    head = plan_from_document(document(karpenter_stack(limits={"cpu": "4", "memory": "16Gi", "nvidia.com/gpu": "1"}), PROD))
    flags = [(f.kind, f.subject, f.message) for f in diff_plans(base, head).flags]
    assert flags == [("pool-below-demand", "gpu",
                      "pool gpu changes from NodePool limits cpu=16, memory=64Gi, nvidia.com/gpu=4 (g6.xlarge) to NodePool "
                      "limits cpu=4, memory=16Gi, nvidia.com/gpu=1 (g6.xlarge): at min replicas 1 pod fits on no node within "
                      "its bounds (models/fraud predictor 1), 0 with its former bounds; it would stay Pending")]
    # a NodePool that loses its limits is not a shrink; moving from a node group to Karpenter at the same size is none either
    unlimited = plan_from_document(document([r for r in karpenter_stack() if "NodePool" not in r["type"]]
                                            + [node_pool("gpu", ["g6.xlarge"], None)], PROD))
    assert diff_plans(base, unlimited).flags == []
    from review_stack import good_stack
    assert diff_plans(plan_from_document(document(good_stack(), PROD)), base).flags == []


def test_raising_demand_beyond_the_limits_is_flagged_too():
    base = plan_from_document(document(karpenter_stack(), PROD))
    more = replace(karpenter_stack(), isvc(max_replicas=5, min_replicas=2))
    flags = diff_plans(base, plan_from_document(document(more, PROD))).flags
    # issue 23: a demand the change raises past the pool is the diff's too (it was left to check alone)
    assert [(f.kind, f.subject, f.message) for f in flags] == [(
        "pool-below-demand", "gpu", "more is placed on pool gpu (NodePool limits cpu=16, memory=64Gi, nvidia.com/gpu=4, "
        "g6.xlarge) than it holds: at max replicas 1 pod fits on no node within its bounds (models/fraud predictor 1), 0 "
        "before; it would stay Pending")]
    assert len(violations(more, "accelerator-capacity-fits")) == 1
    assert copy.deepcopy(more) == more


# --------------------------------------------------------------------------- the repository's plans


def test_the_dev_plan_reads_its_gpu_pool_as_karpenter_everywhere():
    from harness import repository_plan

    document_ = repository_plan("dev").document
    plan = plan_from_document(document_)
    resources = plan.resource_list()
    assert pool_lines(resources) == [
        "gpu: Karpenter NodePool, g6.xlarge, g5.xlarge, 0-3 nodes (NodePool limits cpu=12, memory=49152Mi, nvidia.com/gpu=3), "
        "SPOT, up to 3 nvidia.com/gpu; demand needs 1 x g6.xlarge at min, 3 x g6.xlarge at max",
        "system: managed node group, m7i.large, 2 nodes, ON_DEMAND; demand needs 2 x m7i.large at min, 2 x m7i.large at max",
    ]
    assert [(line.item, line.count_min, line.count_max) for line in estimate(resources, plan.config).lines
            if "pool" in line.item] == [("Karpenter pool gpu: g6.xlarge", 1, 3), ("node pool system: m7i.large", 2, 2)]
    placements = {p.name: (p.provisioner, p.max_size, p.capacity_type, p.vcpu_limit, bool(p.zones))
                  for p in pool_placements(plan)}
    assert placements == {"gpu": ("karpenter", 3, "SPOT", 12, True), "system": ("managed", 2, "ON_DEMAND", None, True)}
    assert [v for v in evaluate(resources, {}, plan.config, "dev") if v.rule.startswith("karpenter-")
            or v.rule == "accelerator-capacity-fits"] == []
    # serving stacks read the platform's pools through this export: the Karpenter pool is one like any other
    exported = document_["outputs"]["nodePools"]
    assert sorted(exported) == ["gpu", "system"]
    assert exported["gpu"]["resourceName"] == "nvidia.com/gpu" and exported["gpu"]["name"] == "gpu"
