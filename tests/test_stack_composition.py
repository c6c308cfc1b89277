"""Serving stacks on `cluster.existing`: the project segment of the reference, and the dependents the
PR workflow reviews when a platform stack changes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness import REPO
from servestack.cli import cli

SENTIMENT = """\
    sentiment:
      pool: gpu
      accelerators: 1
      model:
        format: huggingface
        storageUri: s3://acme-ml-models-dev/models/sentiment/4
        version: "4"
      resources:
        requests: {cpu: "2", memory: 8Gi}
        limits: {cpu: "4", memory: 12Gi}
"""


def serving_stack(existing: str) -> str:
    return (f"config:\n  aws:region: us-east-1\n  servestack:tier: dev\n  servestack:cluster:\n    existing: {existing}\n"
            f"  servestack:endpoints:\n{SENTIMENT}")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(REPO / name, tmp_path / name)
    shutil.copytree(REPO / "stacks", tmp_path / "stacks")
    return tmp_path


def test_a_reference_into_another_project_is_a_config_error_naming_the_field(project):
    (project / "stacks" / "Pulumi.serving.yaml").write_text(serving_stack("acme/other-project/prod"))
    result = CliRunner().invoke(cli, ["plan", "--stack", "serving", "--project", str(project), "--out", str(project / "out")])
    assert result.exit_code == 2
    assert result.output == (
        "stack 'serving' has 1 config problem(s); nothing was created:\n"
        "  - servestack:cluster.existing: names a stack of project 'other-project', but an offline plan can plan only "
        "stacks of this project ('servestack'): use org/servestack/<stack>, or review with `pulumi preview` and "
        'credentials (got "acme/other-project/prod")\n')
    assert not (project / "out").exists()


def test_dependents_are_the_serving_stacks_that_name_a_changed_stack(project):
    stacks = project / "stacks"
    (stacks / "Pulumi.serving.yaml").write_text(serving_stack("organization/servestack/dev"))
    (stacks / "Pulumi.serving-b.yaml").write_text(serving_stack("dev"))
    (stacks / "Pulumi.serving-prod.yaml").write_text(serving_stack("prod"))
    (stacks / "Pulumi.elsewhere.yaml").write_text(serving_stack("acme/other-project/dev"))
    run = lambda *names: CliRunner().invoke(cli, ["dependents", *names, "--project", str(project)], catch_exceptions=False)
    assert run("dev").output == "serving\nserving-b\n"
    assert run("dev", "prod").output == "serving\nserving-b\nserving-prod\n"
    assert run("dev", "serving").output == "serving-b\n"  # a changed stack is not repeated
    assert run("staging").output == ""
    assert run("staging").exit_code == 0
