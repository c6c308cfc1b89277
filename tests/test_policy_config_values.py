"""A policy config may not switch a check off by a value that is not one: every number setting of
every rule (read from the rules' own schemas) refuses Infinity, NaN, numbers beyond float range,
values below its minimum and values of another type; the file itself must be strict JSON."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from policies.rules import ALL_RULES, parse_policy_config
from policies.rules.model import PolicyConfigError
from servestack.cli import cli

NUMBER_SETTINGS = sorted((rule.name, key, schema) for rule in ALL_RULES for key, schema in rule.schema().items()
                         if schema.get("type") in ("number", "integer"))


def test_the_rules_have_number_settings_to_check():
    assert ("hourly-cost-cap", "maxHourlyCost") in {(name, key) for name, key, _ in NUMBER_SETTINGS}


@pytest.mark.parametrize("name, key, schema", NUMBER_SETTINGS, ids=lambda v: v if isinstance(v, str) else "")
@pytest.mark.parametrize("value, problem", [
    (float("inf"), "must be a finite number"), (float("-inf"), "must be a finite number"),
    (float("nan"), "must be a finite number"), ("100", "must be of type {kind}"), (True, "must be of type {kind}"),
    ([1], "must be of type {kind}"), ({"a": 1}, "must be of type {kind}"), (None, "must be of type {kind}"),
])
def test_a_number_setting_refuses_what_is_not_a_finite_number(name, key, schema, value, problem):
    kind = schema["type"]
    if kind == "integer" and problem == "must be a finite number":
        problem = "must be of type integer"
    with pytest.raises(PolicyConfigError) as error:
        parse_policy_config({name: {key: value}}, ALL_RULES)
    assert str(error.value) == f"{name}.{key}: {problem.format(kind=kind)} (got {json.dumps(value)})"


@pytest.mark.parametrize("name, key, schema", [s for s in NUMBER_SETTINGS if "minimum" in s[2]],
                         ids=lambda v: v if isinstance(v, str) else "")
def test_a_number_setting_refuses_a_value_below_its_minimum(name, key, schema):
    below = schema["minimum"] - 1
    with pytest.raises(PolicyConfigError) as error:
        parse_policy_config({name: {key: below}}, ALL_RULES)
    assert str(error.value) == f"{name}.{key}: must be >= {schema['minimum']} (got {json.dumps(below)})"


@pytest.mark.parametrize("text, message", [
    ('{"hourly-cost-cap": {"maxHourlyCost": Infinity}}', "Infinity is not a JSON number"),
    ('{"hourly-cost-cap": {"maxHourlyCost": -Infinity}}', "-Infinity is not a JSON number"),
    ('{"hourly-cost-cap": {"maxHourlyCost": NaN}}', "NaN is not a JSON number"),
    ('{"hourly-cost-cap": {"maxHourlyCost": 1e999}}', "hourly-cost-cap.maxHourlyCost: must be a finite number (got Infinity)"),
    ('{"hourly-cost-cap": {"maxHourlyCost": -1}}', "hourly-cost-cap.maxHourlyCost: must be >= 0 (got -1)"),
])
def test_check_exits_2_on_a_policy_config_that_would_switch_the_cap_off(tmp_path, text, message):
    config = tmp_path / "policy.json"
    config.write_text(text)
    plan = tmp_path / "preview.json"
    plan.write_text(json.dumps({"steps": [], "changeSummary": {}}))
    result = CliRunner().invoke(cli, ["check", str(plan), "--policy-config", str(config)])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
