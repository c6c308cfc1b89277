"""`servestack cost` from the capacity model: figures computed by hand for hand-built stacks and for the
repository's dev and prod plans, the price table of the stack's region, and the plan summary line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness import REPO
from llm_plans import document as repository_document, llm, write
from review_stack import document, good_stack, node_group, res

from plandoc.allocatable import allocatable, kube_reserved_cpu_m
from plandoc.cost import estimate
from plandoc.document import plan_from_document
from plandoc.prices import price_table
from components.core import catalog
from servestack.cli import cli

PREVIEW = Path(__file__).resolve().parent / "data" / "preview-prod.json"


def test_price_table_states_region_date_and_the_reference_prices():
    table = price_table("us-east-1")
    assert (table.region, table.date, table.hours_per_month, table.source) == (
        "us-east-1", "2026-11-01", 730, "plandoc/data/prices-us-east-1.json")
    assert table.eks_control_plane["STANDARD"] == 0.10
    expected = {"g5.xlarge": 1.006, "g6.xlarge": 0.8048, "inf2.xlarge": 0.7582, "f2.6xlarge": 1.98, "p5.48xlarge": 55.04}
    assert {k: table.instances[k] for k in expected} == expected


def test_every_priced_instance_type_is_in_the_accelerator_catalog():
    assert [t for t in price_table("us-east-1").instances if t not in catalog.known_instance_types()] == []


def test_allocatable_follows_the_documented_reservations():
    """m7i.xlarge: 4 vCPUs -> 4000m - (60 + 10 + 5 + 5)m = 3920m; 16384 MiB x (1 - 0.075) = 15155.2 MiB, less
    kube-reserved 11 x 110 + 255 = 1465 MiB and eviction 100 MiB = 13590.2 MiB."""
    node = allocatable(catalog.lookup("m7i.xlarge"), None, 0.2016)
    assert (kube_reserved_cpu_m(4), node.cpu_m, node.memory) == (80, 3920, int(13590.2 * 2**20))
    assert kube_reserved_cpu_m(48) == 60 + 10 + 5 + 5 + 44 * 2.5


def test_known_stack_figures():
    """good_stack: control plane 0.10; gpu managed group g6.xlarge (1-4 nodes) runs fraud's 2 replicas of 1 GPU:
    2 nodes at min (its minSize 1 is not enough), 4 at max (maxSize); system m7i.xlarge 3-6.
    Floor 0.10 + 2 x 0.8048 + 3 x 0.2016 = 2.3144; ceiling 0.10 + 4 x 0.8048 + 6 x 0.2016 = 4.5288."""
    cost = estimate(good_stack(), {"aws:region": "us-east-1"})
    assert [(line.item, line.count_min, line.count_max, line.unit_hourly) for line in cost.lines] == [
        ("EKS control plane servestack-cluster (standard support)", 1, 1, 0.10),
        ("node pool gpu: g6.xlarge", 2, 4, 0.8048),
        ("node pool system: m7i.xlarge", 3, 6, 0.2016),
    ]
    assert (cost.hourly_min, cost.hourly_max, cost.monthly_min, cost.monthly_max) == (2.3144, 4.5288, 1689.51, 3306.02)
    assert cost.summary() == "$2.31-4.53/h ($1,690-3,306/month, us-east-1 prices of 2026-11-01)"


def test_prod_floor_and_ceiling_equal_the_hand_computed_figures():
    """prod (us-east-1 prices of 2026-11-01). Floor, each pool's demand at min replicas:
    control plane 0.10; system: 3 x m7i.xlarge (managed, fixed 3) = 0.6048;
    gpu: chat 2 replicas x (1 GPU, 3 cpu, 24Gi): g6e.xlarge (1.861) holds one (3920m cpu, 28745 MiB allocatable),
    cheaper than g6e.2xlarge (2.24208) -> 2 x 1.861 = 3.722;
    llm: assistant 2 replicas x 4 GPUs -> 2 x g6e.12xlarge = 2 x 10.49264 = 20.98528;
    neuron: summarize 2 x inf2.xlarge = 2 x 0.7582 = 1.5164; fpga: anomaly 2 x f2.6xlarge = 2 x 1.98 = 3.96;
    NAT 3 x 0.045 = 0.135; public IPv4 3 x 0.005 = 0.015.
    Total 0.10 + 0.6048 + 3.722 + 20.98528 + 1.5164 + 3.96 + 0.135 + 0.015 = 31.03848 -> 31.0385 (lines round to 4).
    Ceiling: chat 8 -> 8 x 1.861 = 14.888; summarize 4 -> 3.0328; the rest as at min:
    0.10 + 0.6048 + 14.888 + 20.9853 + 3.0328 + 3.96 + 0.135 + 0.015 = 43.7209."""
    plan = plan_from_document(repository_document("prod"))
    cost = estimate(plan.resource_list(), plan.config)
    assert (cost.hourly_min, cost.hourly_max) == (31.0385, 43.7209)
    assert cost.summary() == "$31.04-43.72/h ($22,658-31,916/month, us-east-1 prices of 2026-11-01)"


def test_dev_floor_and_ceiling_equal_the_hand_computed_figures():
    """dev: control plane 0.10; system 2 x m7i.large = 0.2016; gpu (Karpenter, g6.xlarge 0.8048 cheaper than
    g5.xlarge 1.006): chat 0-2 replicas and qwen-chat 1 pod, 1 GPU each -> 1 node at min, 3 at max;
    NAT 0.045 + IPv4 0.005. Floor 0.10 + 0.2016 + 0.8048 + 0.05 = 1.1564; ceiling 0.10 + 0.2016 + 2.4144 + 0.05 = 2.766."""
    plan = plan_from_document(repository_document("dev"))
    cost = estimate(plan.resource_list(), plan.config)
    assert (cost.hourly_min, cost.hourly_max) == (1.1564, 2.766)


def test_doubling_an_llm_endpoints_replicas_moves_floor_ceiling_and_the_diff_delta(tmp_path):
    """prod's assistant: 2 -> 4 replicas of 4 GPUs needs 4 g6e.12xlarge instead of 2, but the llm NodePool's limit
    (nvidia.com/gpu=8) allows 2: the extra 2 pods stay Pending and are not priced; with the limit raised to 16 the
    floor grows by 2 x 10.49264 = 20.98528 -> 52.0238, and the monthly ceiling by 20.9853 x 730 = 15,319.27."""
    doc = repository_document("prod")
    base = write(doc, tmp_path / "base" if (tmp_path / "base").mkdir() is None else tmp_path)
    llm(doc, "assistant")["replicas"] = 4
    pool = next(s["newState"] for s in doc["steps"] if s["urn"].endswith("NodePool::servestack-karpenter-llm-nodepool"))
    pool["inputs"]["spec"]["limits"]["nvidia.com/gpu"] = "16"
    pool["inputs"]["spec"]["limits"]["cpu"] = "192"
    pool["inputs"]["spec"]["limits"]["memory"] = "1572864Mi"
    (tmp_path / "head").mkdir()
    head = write(doc, tmp_path / "head")
    cost = estimate(plan_from_document(doc).resource_list(), doc["config"])
    assert (cost.hourly_min, cost.hourly_max) == (52.0238, 64.7062)
    out = json.loads(CliRunner().invoke(cli, ["diff", str(base), str(head), "--format", "json"]).output)
    assert (out["cost"]["before"]["hourly"]["min"], out["cost"]["after"]["hourly"]["min"]) == (31.0385, 52.0238)
    text = CliRunner().invoke(cli, ["diff", str(base), str(head)]).output
    assert ("**Estimated cost** (us-east-1 prices of 2026-11-01): $31.04-43.72/h → $52.02-64.71/h "
            "(at min +$20.99/h, at max +$20.99/h, +$15,319.27/month at max)") in text


def test_a_region_without_a_price_file_is_priced_unknown_never_with_another_regions_numbers():
    resources = [
        *(res("aws:ec2/natGateway:NatGateway", f"nat-{z}", {"allocationId": f"eipalloc-{z}"}) for z in "abc"),
        res("aws:eks/cluster:Cluster", "old", {"upgradePolicy": {"supportType": "EXTENDED"}}),
        node_group("gpu", ["g6.xlarge", "g5.xlarge"], 0, 2, accelerator="nvidia"),
    ]
    for region in ("eu-west-1", "ap-southeast-2", "us-west-2"):
        cost = estimate(resources, {"aws:region": region})
        assert (cost.known, cost.lines, cost.hourly_min, cost.price_date) == (False, (), 0, "")
        assert cost.summary() == (f"{region} prices unknown: no price file for {region}; "
                                  f"run `servestack prices update --region {region}`")
        assert cost.to_json()["priceDate"] is None


def test_nat_gateways_public_addresses_extended_support_and_unpriced_types():
    """Managed group gpu launches its first type (g6.xlarge) 0-2; big's g6e.48xlarge has no price: listed, not counted."""
    resources = [
        *(res("aws:ec2/natGateway:NatGateway", f"nat-{z}", {"allocationId": f"eipalloc-{z}"}) for z in "abc"),
        *(res("aws:ec2/eip:Eip", f"nat-{z}", {"domain": "vpc"}) for z in "abc"),
        res("aws:eks/cluster:Cluster", "old", {"upgradePolicy": {"supportType": "EXTENDED"}}),
        node_group("gpu", ["g6.xlarge", "g5.xlarge"], 0, 2, accelerator="nvidia"),
        node_group("big", ["g6e.48xlarge"], 0, 1, accelerator="nvidia"),
    ]
    cost = estimate(resources, {"aws:region": "us-east-1"})
    assert [(line.item, line.count_min, line.count_max, line.unit_hourly) for line in cost.lines] == [
        ("EKS control plane old (extended support)", 1, 1, 0.60),
        ("node pool gpu: g6.xlarge", 0, 2, 0.8048),
        ("NAT gateways", 3, 3, 0.045),
        ("public IPv4 addresses", 3, 3, 0.005),
    ]
    assert cost.unpriced == ("g6e.48xlarge",)
    assert (cost.hourly_min, cost.hourly_max, cost.hourly_bound) == (0.75, 2.3596, None)


def test_pools_come_from_config_when_the_plan_declares_no_node_groups():
    """No demand in the plan: a Karpenter pool runs no node; an explicit managed pool its minSize 1 to maxSize 4."""
    config = {"aws:region": "us-east-1", "servestack:nodePools": json.dumps(
        {"neuron": {"instanceTypes": ["inf2.xlarge"], "minSize": 1, "maxSize": 4, "provisioner": "managed"},
         "fpga": {"instanceTypes": ["f2.6xlarge"], "minSize": 1, "maxSize": 2}})}
    cost = estimate([], config)
    assert [(line.item, line.count_min, line.count_max, line.source) for line in cost.lines] == [
        ("node pool neuron: inf2.xlarge", 1, 4, "config")]
    assert (cost.hourly_min, cost.hourly_max, cost.hourly_bound) == (0.7582, 3.0328, round(3.0328 + 2 * 1.98, 4))
    assert cost.notes == ("node pools priced from servestack:nodePools: the plan declares no node groups or NodePools",)


def test_cost_command_text_and_json(tmp_path):
    (tmp_path / "preview.json").write_text(json.dumps(document(good_stack())))
    text = CliRunner().invoke(cli, ["cost", str(tmp_path)], catch_exceptions=False).output
    assert text == (
        "item                                                       count   $/h each    $/h min    $/h max\n"
        "EKS control plane servestack-cluster (standard support)        1     0.1000     0.1000     0.1000\n"
        "node pool gpu: g6.xlarge                                     2-4     0.8048     1.6096     3.2192\n"
        "node pool system: m7i.xlarge                                 3-6     0.2016     0.6048     1.2096\n"
        "total                                                                           2.3144     4.5288\n"
        "\n"
        "Hourly: $2.31 at min replicas, $4.53 at max replicas\n"
        "Monthly (730 h): $1,689.51 at min replicas, $3,306.02 at max replicas\n"
        "Bound (every pool at its maxSize or NodePool limits): $4.53/h\n"
        "Prices: us-east-1 prices of 2026-11-01 (plandoc/data/prices-us-east-1.json); excludes data transfer, "
        "EBS, load balancers and logs\n"
        "\n"
        "Nodes the demand needs (min and max replicas):\n"
        "  pool gpu: at min 2 x g6.xlarge, at max 4 x g6.xlarge\n"
        "    models/fraud predictor: 2 pod(s) x 1000m cpu, 4Gi, 1 nvidia.com/gpu\n"
        "  pool system: at min 3 x m7i.xlarge, at max 6 x m7i.xlarge\n")
    out = json.loads(CliRunner().invoke(cli, ["cost", str(tmp_path), "--format", "json"]).output)
    assert (out["hourly"], out["pools"][0]["nodesMin"], out["pools"][0]["workloads"][0]["podsMax"]) == (
        {"min": 2.3144, "max": 4.5288, "bound": 4.5288}, {"g6.xlarge": 2}, 2)


def test_an_unknown_region_in_the_cost_command_says_what_to_run(tmp_path):
    (tmp_path / "preview.json").write_text(json.dumps(document(good_stack(), {"aws:region": "eu-west-1"})))
    text = CliRunner().invoke(cli, ["cost", str(tmp_path)], catch_exceptions=False).output
    assert text.startswith("eu-west-1 prices unknown: no price file for eu-west-1; run "
                           "`servestack prices update --region eu-west-1`\n")
    assert "us-east-1" not in text


def test_plan_summary_shows_the_estimate(tmp_path):
    result = CliRunner().invoke(cli, ["plan", "--stack", "dev", "--project", str(REPO), "--out", str(tmp_path)],
                                catch_exceptions=False)
    assert result.exit_code == 0
    assert "Estimated cost: $1.16-2.77/h ($844-2,019/month, us-east-1 prices of 2026-11-01)\n" in result.output
    assert ("  gpu: Karpenter NodePool, g6.xlarge, g5.xlarge, 0-3 nodes") in result.output
    assert "demand needs 1 x g6.xlarge at min, 3 x g6.xlarge at max" in result.output


@pytest.mark.parametrize("price", sorted(price_table("us-east-1").instances.items()))
def test_prices_are_positive_hourly_figures(price):
    assert 0 < price[1] < 100
