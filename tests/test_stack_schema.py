"""The stack file's JSON Schema and reference page: generated from the config models, committed in step
with them, named by every repository stack, and a real check of what a stack file may say."""

from __future__ import annotations

import json

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from harness import REPO, REPOSITORY_STACKS, stack_config

from components.config.schema import reference_markdown, schema_text
from conformance.stacks import generated_configs
from servestack.cli import cli

SCHEMA = json.loads((REPO / "docs" / "stack-file.schema.json").read_text())


def errors(config: dict) -> list[tuple[str, str]]:
    validator = jsonschema.Draft202012Validator(SCHEMA)
    return sorted(("/".join(map(str, e.absolute_path)), e.message) for e in validator.iter_errors({"config": config}))


def test_the_committed_schema_and_reference_are_what_the_models_generate():
    assert (REPO / "docs" / "stack-file.schema.json").read_text() == schema_text()
    assert (REPO / "docs" / "configuration.md").read_text() == reference_markdown()
    result = CliRunner().invoke(cli, ["schema", "--check", "--project", str(REPO)])
    assert (result.exit_code, result.output) == (
        0, "docs/stack-file.schema.json and docs/configuration.md match the config models\n")


def test_a_stale_copy_is_reported_with_the_command_that_rewrites_it(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "stack-file.schema.json").write_text(schema_text())
    (tmp_path / "docs" / "configuration.md").write_text("# old\n")
    result = CliRunner().invoke(cli, ["schema", "--check", "--project", str(tmp_path)])
    assert (result.exit_code, result.output) == (
        1, "stale: docs/configuration.md (run: servestack schema --write)\n")


def test_the_schema_is_a_valid_draft_2020_12_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize("stack", REPOSITORY_STACKS)
def test_every_repository_stack_names_the_schema_and_validates_against_it(stack):
    text = (REPO / "stacks" / f"Pulumi.{stack}.yaml").read_text()
    assert text.splitlines()[0] == "# yaml-language-server: $schema=../docs/stack-file.schema.json"
    assert errors(yaml.safe_load(text)["config"]) == []


@pytest.mark.parametrize("name", sorted(generated_configs()))
def test_every_conformance_stack_validates_against_the_schema(name):
    assert errors(generated_configs()[name]) == []


@pytest.mark.parametrize("change, expected", [
    (lambda c: c.update({"servestack:endpointz": {}}), ("config", "False schema does not allow {}")),
    (lambda c: c.update({"aws:region": "mars-north-1"}), ("config/aws:region", "'mars-north-1' is not one of")),
    (lambda c: c["servestack:endpoints"]["iris"].update({"accelerators": "two"}),
     ("config/servestack:endpoints/iris/accelerators", "'two' is not of type 'integer'")),
    (lambda c: c["servestack:nodePools"]["gpu"].update({"capacityType": "reserved"}),
     ("config/servestack:nodePools/gpu/capacityType", "'reserved' is not one of ['onDemand', 'spot', 'capacityBlock']")),
    (lambda c: c["servestack:endpoints"]["chat"]["autoscaling"].update({"maxReplica": 3}),
     ("config/servestack:endpoints/chat/autoscaling", "Additional properties are not allowed ('maxReplica' was unexpected)")),
    (lambda c: c.pop("aws:region"), ("config", "'aws:region' is a required property")),
])
def test_the_schema_refuses_what_the_config_refuses_field_by_field(change, expected):
    config = stack_config("dev")
    change(config)
    found = errors(config)
    assert any(path == expected[0] and message.startswith(expected[1]) for path, message in found), found


def test_other_namespaces_stay_open_for_pulumi_and_providers():
    config = stack_config("dev")
    config["aws:profile"] = "ml-platform"
    config["kubernetes:enableServerSideApply"] = "true"
    assert errors(config) == []
