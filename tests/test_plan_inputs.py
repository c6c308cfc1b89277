"""Every command that reads a plan (check, diff, cost, preflight) refuses a malformed one the same
way: exit 2 and one line naming what is wrong, never a traceback."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from servestack.cli import cli

COMMANDS = [["check"], ["diff"], ["cost"], ["preflight", "--plan"]]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ({"steps": {}}, "expected an object with a steps list"),
        ({"steps": [], "config": "x"}, "config must be an object"),
        ({"steps": [], "config": {"aws:region": 5}}, "config.aws:region must be a string (got 5)"),
        ({"steps": [], "config": {"servestack:nodePools": {"gpu": 5}}}, "config.servestack:nodePools.gpu must be an object"),
        ({"steps": [], "config": {"servestack:nodePools": '{"gpu": {"minSize": "two"}}'}},
         "config.servestack:nodePools.gpu.minSize must be a whole number (got 'two')"),
        ({"steps": [], "config": {"servestack:nodePools": {"gpu": {"maxSize": None}}}},
         "config.servestack:nodePools.gpu.maxSize must be a whole number (got None)"),
        ({"steps": [], "config": {"servestack:endpoints": {"iris": "x"}}}, "config.servestack:endpoints.iris must be an object"),
        ({"steps": [], "config": {"servestack:endpoints": {"iris": {"rollout": 5}}}},
         "config.servestack:endpoints.iris.rollout must be an object"),
        ({"steps": [1]}, "steps[0] must be an object with op, urn and newState or oldState"),
        ({"steps": [{"op": "create", "urn": "u", "newState": "x"}]}, "steps[0].newState must be an object"),
        ({"steps": [{"op": "create", "urn": 5, "newState": {}}]}, "steps[0].urn must be a string"),
        ({"steps": [{"op": ["create"], "urn": "u", "newState": {}}]}, "steps[0].op must be a string"),
        ({"steps": [{"op": "create", "newState": {"urn": 7}}]}, "steps[0].newState.urn must be a string"),
        ({"steps": [{"op": "create", "urn": "u", "newState": {"inputs": "x"}}]}, "steps[0].newState.inputs must be an object"),
        ({"steps": [{"op": "delete", "urn": "u", "oldState": {"dependencies": "x"}}]}, "steps[0].oldState.dependencies must be a list"),
    ],
)
def test_a_malformed_plan_is_refused_with_exit_2_naming_the_problem(tmp_path, monkeypatch, command, document, problem):
    monkeypatch.setenv("AWS_REGION", "us-east-1")  # preflight reads the plan before it needs AWS
    path = tmp_path / "preview.json"
    path.write_text(json.dumps(document))
    result = CliRunner().invoke(cli, [*command, str(path)])
    assert result.exit_code == 2, result.output
    assert result.output == f"error: {path} is not a preview document: {problem}\n"


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_a_missing_plan_is_refused_with_exit_2(tmp_path, command):
    path = tmp_path / "nope.json"
    result = CliRunner().invoke(cli, [*command, str(path)])
    assert result.exit_code == 2, result.exception
    assert str(path) in result.output.splitlines()[-1]  # the refusal names the missing path
