"""The per-stack policy settings under policies/config/: valid, and met by today's stacks' cost caps."""

from __future__ import annotations

import json

import pytest

from harness import REPO, plan_config, stack_config

from plandoc.document import plan_from_document
from policies.rules import ALL_RULES, evaluate, parse_policy_config

CONFIG_DIR = REPO / "policies" / "config"


def test_every_stack_has_a_policy_config_file_and_every_file_a_stack():
    stacks = sorted(p.name[len("Pulumi."):-len(".yaml")] for p in (REPO / "stacks").glob("Pulumi.*.yaml"))
    assert sorted(p.stem for p in CONFIG_DIR.glob("*.json")) == stacks


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_the_stack_stays_under_its_caps(stack):
    settings = json.loads((CONFIG_DIR / f"{stack}.json").read_text())
    parse_policy_config(settings, ALL_RULES)  # raises on a mistake
    plan = plan_from_document(plan_config(stack_config(stack), stack=stack).document)
    cost_rules = {"accelerator-count-cap", "hourly-cost-cap"}
    assert [v for v in evaluate(plan.resource_list(), settings, plan.config, stack) if v.rule in cost_rules] == []
    # ... and the cost cap is not vacuous: a tenth of it would be exceeded.
    tight = {"hourly-cost-cap": {"maxHourlyCost": settings["hourly-cost-cap"]["maxHourlyCost"] / 10}}
    assert "hourly-cost-cap" in {v.rule for v in evaluate(plan.resource_list(), tight, plan.config, stack)}


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_creating_mid_rollout_stays_advisory_in_every_stack(stack):
    """Advisory everywhere: CrossGuard's resources say nothing of creation, and `servestack diff` (exit 1) is where
    a review fails an endpoint created mid-rollout; the check reports it from a real preview only."""
    settings = parse_policy_config(json.loads((CONFIG_DIR / f"{stack}.json").read_text()), ALL_RULES)
    assert settings["no-create-mid-rollout"]["enforcementLevel"] == "advisory"
