"""`servestack init`: a new stack file that plans at once, written atomically, never over another."""

from __future__ import annotations

import json
import shutil

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from harness import REPO, plan_config

from components.config import parse_stack_config
from servestack.cli import cli


@pytest.fixture
def project(tmp_path):
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(REPO / name, tmp_path / name)
    shutil.copytree(REPO / "stacks", tmp_path / "stacks")
    return tmp_path


def init(project, *args):
    return CliRunner().invoke(cli, ["init", *args, "--project", str(project)])


@pytest.mark.parametrize("tier, mode, nat, system", [
    ("dev", "Knative", "single", {"instanceTypes": ["m7i.large"], "minSize": 2}),
    ("staging", "Knative", "perAz", {"instanceTypes": ["m7i.xlarge"], "minSize": 3}),
    ("prod", "Standard", "perAz", {"instanceTypes": ["m7i.xlarge"], "minSize": 3}),
])
def test_a_new_stack_of_each_tier_is_written_valid_and_plans(project, tier, mode, nat, system):
    result = init(project, "ml-eu", "--region", "eu-west-1", "--tier", tier)
    assert (result.exit_code, result.output) == (0, (
        "wrote stacks/Pulumi.ml-eu.yaml\n"
        "  adminRoleArns names an example role: put your team's admin role there before pulumi up\n"
        "next: servestack plan --stack ml-eu\n"))
    text = (project / "stacks" / "Pulumi.ml-eu.yaml").read_text()
    assert text.splitlines()[:2] == ["# yaml-language-server: $schema=../docs/stack-file.schema.json",
                                     f"# ml-eu: a {tier} stack written by `servestack init` (every setting: docs/configuration.md)."]
    config = yaml.safe_load(text)["config"]
    assert (config["aws:region"], config["servestack:tier"], config["servestack:network"]["natGateways"]) == ("eu-west-1", tier, nat)
    assert config["servestack:nodePools"]["system"] == system
    assert config["servestack:platform"]["kserve"]["deploymentMode"] == mode
    schema = json.loads((REPO / "docs" / "stack-file.schema.json").read_text())
    assert list(jsonschema.Draft202012Validator(schema).iter_errors({"config": config})) == []
    parsed = parse_stack_config("ml-eu", config)
    assert parsed.tier == tier and parsed.region == "eu-west-1"
    plan = plan_config(config, "ml-eu")
    assert plan.document["outputs"]["tier"] == tier and plan.document["outputs"]["region"] == "eu-west-1"


def test_from_copies_a_stack_with_its_comments_and_endpoints_into_the_new_region(project):
    result = init(project, "qa", "--region", "eu-central-1", "--from", "staging")
    assert (result.exit_code, result.output) == (0, "wrote stacks/Pulumi.qa.yaml\nnext: servestack plan --stack qa\n")
    source = (project / "stacks" / "Pulumi.staging.yaml").read_text()
    copy = (project / "stacks" / "Pulumi.qa.yaml").read_text()
    assert copy.splitlines()[1] == "# qa: copied from stack staging by `servestack init --from staging`."
    assert copy.replace("aws:region: eu-central-1", "aws:region: us-east-1").splitlines()[2:] == source.splitlines()[1:]
    assert yaml.safe_load(copy)["config"]["servestack:endpoints"] == yaml.safe_load(source)["config"]["servestack:endpoints"]


def test_from_with_a_tier_moves_the_copy_to_that_tier(project):
    assert init(project, "qa", "--region", "us-west-2", "--from", "dev", "--tier", "staging").exit_code == 0
    assert yaml.safe_load((project / "stacks" / "Pulumi.qa.yaml").read_text())["config"]["servestack:tier"] == "staging"


@pytest.mark.parametrize("args, message", [
    (["dev", "--region", "eu-west-1"], "error: stacks/Pulumi.dev.yaml exists; nothing was written (pick another name, or edit it)"),
    (["../x", "--region", "eu-west-1"], "error: '../x' is not a stack name: letters, digits, '-', '_' and '.', starting with a letter or digit"),
    (["qa", "--region", "mars-1"], "error: 'mars-1' is not an AWS region where EKS runs"),
    (["qa", "--region", "eu-west-1", "--from", "nosuch"],
     "error: no stack file stacks/Pulumi.nosuch.yaml to copy (stacks here: dev, prod, staging)"),
])
def test_what_cannot_be_a_new_stack_is_refused_and_nothing_is_written(project, args, message):
    before = sorted(p.name for p in (project / "stacks").iterdir())
    dev = (project / "stacks" / "Pulumi.dev.yaml").read_text()
    result = init(project, *args)
    assert (result.exit_code, result.output) == (2, message + "\n")
    assert sorted(p.name for p in (project / "stacks").iterdir()) == before
    assert (project / "stacks" / "Pulumi.dev.yaml").read_text() == dev


def test_an_admin_role_given_is_written_and_no_example_warning_is_printed(project):
    role = "arn:aws:iam::210987654321:role/platform-admins"
    result = init(project, "team-a", "--region", "us-east-1", "--admin-role", role)
    assert result.output == "wrote stacks/Pulumi.team-a.yaml\nnext: servestack plan --stack team-a\n"
    assert yaml.safe_load((project / "stacks" / "Pulumi.team-a.yaml").read_text())["config"]["servestack:cluster"][
        "adminRoleArns"] == [role]
