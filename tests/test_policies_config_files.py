"""The per-stack policy settings under policies/config/: valid, and met by today's stacks' cost caps."""

from __future__ import annotations

import json

import pytest

from harness import REPO, REPOSITORY_STACKS, plan_config, stack_config

from plandoc.document import plan_from_document
from policies.rules import ALL_RULES, evaluate, parse_policy_config

CONFIG_DIR = REPO / "policies" / "config"


def test_every_policy_config_file_belongs_to_a_stack():
    """A stack may have a policy config (README); a config file without its stack is a leftover."""
    assert sorted(p.stem for p in CONFIG_DIR.glob("*.json") if p.stem not in REPOSITORY_STACKS) == []


def policy_settings(stack: str) -> dict:
    """The stack's policy config, or none (every rule at its default level)."""
    path = CONFIG_DIR / f"{stack}.json"
    return json.loads(path.read_text()) if path.exists() else {}


@pytest.mark.parametrize("stack", REPOSITORY_STACKS)
def test_the_stack_stays_under_its_caps(stack):
    settings = policy_settings(stack)
    parse_policy_config(settings, ALL_RULES)  # raises on a mistake
    plan = plan_from_document(plan_config(stack_config(stack), stack=stack).document)
    cost_rules = {"accelerator-count-cap", "hourly-cost-cap"}
    assert [v for v in evaluate(plan.resource_list(), settings, plan.config, stack) if v.rule in cost_rules] == []
    # ... and a cost cap the stack sets is not vacuous: a tenth of it would be exceeded.
    cap = settings.get("hourly-cost-cap", {}).get("maxHourlyCost")
    if cap is not None:
        tight = {"hourly-cost-cap": {"maxHourlyCost": cap / 10}}
        assert "hourly-cost-cap" in {v.rule for v in evaluate(plan.resource_list(), tight, plan.config, stack)}


@pytest.mark.parametrize("stack", REPOSITORY_STACKS)
def test_creating_mid_rollout_stays_advisory_in_every_stack(stack):
    """Advisory everywhere: CrossGuard's resources say nothing of creation, and `servestack diff` (exit 1) is where
    a review fails an endpoint created mid-rollout; the check reports it from a real preview only."""
    settings = parse_policy_config(policy_settings(stack), ALL_RULES)
    assert settings["no-create-mid-rollout"]["enforcementLevel"] == "advisory"
