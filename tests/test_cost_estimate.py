"""`servestack cost`: figures for known hand-built stacks, the price table, and the plan summary line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness import REPO
from review_stack import document, good_stack, node_group, res

from plandoc.cost import estimate, node_price, price_table
from servestack.cli import cli

PREVIEW = Path(__file__).resolve().parent / "data" / "preview-prod.json"


def test_price_table_states_region_date_source_and_the_reference_prices():
    table = price_table()
    assert (table["region"], table["date"], table["hoursPerMonth"]) == ("us-east-1", "2026-11-01", 730)
    assert "aws.amazon.com/ec2/pricing/on-demand" in table["source"]
    assert table["eksControlPlane"]["STANDARD"] == 0.10
    expected = {"g5.xlarge": 1.006, "g6.xlarge": 0.8048, "inf2.xlarge": 0.7582, "f2.6xlarge": 1.98, "p5.48xlarge": 55.04}
    assert {k: table["instances"][k] for k in expected} == expected


def test_every_priced_instance_type_is_in_the_accelerator_catalog():
    from components.core import catalog

    assert [t for t in price_table()["instances"] if t not in catalog.known_instance_types()] == []


def test_known_stack_figures():
    # control plane 0.10 + gpu 1..4 x g6.xlarge 0.8048 + system 3..6 x m7i.xlarge 0.2016
    cost = estimate(good_stack(), {"aws:region": "us-east-1"})
    assert [(line.item, line.count_min, line.count_max, line.unit_hourly) for line in cost.lines] == [
        ("EKS control plane servestack-cluster (standard support)", 1, 1, 0.10),
        ("node pool gpu (g6.xlarge)", 1, 4, 0.8048),
        ("node pool system (m7i.xlarge)", 3, 6, 0.2016),
    ]
    assert (cost.hourly_min, cost.hourly_max, cost.monthly_min, cost.monthly_max) == (1.5096, 4.5288, 1102.01, 3306.02)
    assert cost.summary() == "$1.51-4.53/h ($1,102-3,306/month, us-east-1 on-demand prices of 2026-11-01)"


def test_nat_gateways_public_addresses_extended_support_and_mixed_pools():
    resources = [
        *(res("aws:ec2/natGateway:NatGateway", f"nat-{z}", {"allocationId": f"eipalloc-{z}"}) for z in "abc"),
        *(res("aws:ec2/eip:Eip", f"nat-{z}", {"domain": "vpc"}) for z in "abc"),
        res("aws:eks/cluster:Cluster", "old", {"upgradePolicy": {"supportType": "EXTENDED"}}),
        node_group("gpu", ["g6.xlarge", "g5.xlarge"], 0, 2, accelerator="nvidia"),
        node_group("big", ["g6e.48xlarge"], 0, 1, accelerator="nvidia"),
    ]
    cost = estimate(resources, {"aws:region": "eu-west-1"})
    assert [(line.item, line.count_max, line.unit_hourly) for line in cost.lines] == [
        ("EKS control plane old (extended support)", 1, 0.60),
        ("node pool gpu (g6.xlarge, g5.xlarge)", 2, 1.006),  # the dearest type a node may be
        ("NAT gateways", 3, 0.045),
        ("public IPv4 addresses", 3, 0.005),
    ]
    assert cost.unpriced == ("g6e.48xlarge",)
    assert cost.notes == ("the stack runs in eu-west-1; prices are us-east-1's",)
    assert (cost.hourly_min, cost.hourly_max) == (0.75, 2.762)


def test_pools_come_from_config_when_the_plan_declares_no_node_groups():
    # an accelerator pool defaults to Karpenter (from 0 nodes); an explicit managed pool keeps its minSize
    config = {"aws:region": "us-east-1", "servestack:nodePools": json.dumps(
        {"neuron": {"instanceTypes": ["inf2.xlarge"], "minSize": 1, "maxSize": 4, "provisioner": "managed"},
         "fpga": {"instanceTypes": ["f2.6xlarge"], "minSize": 1, "maxSize": 2}})}
    cost = estimate([], config)
    assert [(line.item, line.count_min, line.count_max, line.source) for line in cost.lines] == [
        ("Karpenter pool fpga (f2.6xlarge)", 0, 2, "config"), ("node pool neuron (inf2.xlarge)", 1, 4, "config")]
    assert (cost.hourly_min, cost.hourly_max) == (0.7582, 6.9928)
    assert cost.notes == ("node pools priced from servestack:nodePools: the plan declares no node groups or NodePools",)


def test_node_price_of_unknown_types():
    assert node_price(["x9.huge"]) == (None, ["x9.huge"])


def test_cost_command_text_and_json(tmp_path):
    (tmp_path / "preview.json").write_text(json.dumps(document(good_stack())))
    text = CliRunner().invoke(cli, ["cost", str(tmp_path)], catch_exceptions=False).output
    assert text == (
        "item                                                       count   $/h each    $/h min    $/h max\n"
        "EKS control plane servestack-cluster (standard support)        1     0.1000     0.1000     0.1000\n"
        "node pool gpu (g6.xlarge)                                    1-4     0.8048     0.8048     3.2192\n"
        "node pool system (m7i.xlarge)                                3-6     0.2016     0.6048     1.2096\n"
        "total                                                                           1.5096     4.5288\n"
        "\n"
        "Hourly: $1.51 at min size, $4.53 at max size\n"
        "Monthly (730 h): $1,102.01 at min size, $3,306.02 at max size\n"
        "Prices: us-east-1 on-demand of 2026-11-01 (plandoc/data/prices-us-east-1.json); excludes data transfer, "
        "EBS, load balancers and logs\n")
    out = json.loads(CliRunner().invoke(cli, ["cost", str(PREVIEW), "--format", "json"]).output)
    assert (out["stack"], out["hourly"], out["monthly"]) == ("prod", {"min": 1.5096, "max": 2.9192}, {"min": 1102.01, "max": 2131.02})


def test_plan_summary_shows_the_estimate(tmp_path):
    result = CliRunner().invoke(cli, ["plan", "--stack", "dev", "--project", str(REPO), "--out", str(tmp_path)],
                                catch_exceptions=False)
    assert result.exit_code == 0
    from plandoc.document import load_plan

    plan = load_plan(tmp_path)
    line = f"Estimated cost: {estimate(plan.resource_list(), plan.config).summary()}\n"
    assert result.output.endswith(line + "Rollouts: none in progress\n")
    assert line.startswith("Estimated cost: $") and "/month, us-east-1 on-demand prices of 2026-11-01)" in line


@pytest.mark.parametrize("price", sorted(price_table()["instances"].items()))
def test_prices_are_positive_hourly_figures(price):
    assert 0 < price[1] < 100
