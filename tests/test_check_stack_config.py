"""`servestack check --stack S` loads policies/config/S.json as the PR workflow does; --policy-config overrides it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from review_stack import GPU_TAINT, document, good_stack, node_group, replace

from plandoc.document import plan_from_document
from servestack.cli import cli
from servestack.commands import check as check_module

ROOT = Path(__file__).resolve().parents[1]
#: 40 GPUs: under the pack's default cap (64), over prod's (policies/config/prod.json: 32).
FORTY_GPUS = document(replace(good_stack(), node_group("gpu", ["g6.xlarge"], 1, 40, [GPU_TAINT], "nvidia")))


@pytest.fixture
def planned(monkeypatch):
    """--stack plans the stack: stand in a hand-built prod plan, and record which stack was asked for."""
    asked = []

    def plan_input(path, stack, project_dir):
        asked.append((path, stack))
        return plan_from_document(FORTY_GPUS, "plan.json")

    monkeypatch.setattr(check_module, "plan_input", plan_input)
    return asked


def test_check_stack_prod_loads_policies_config_prod_json(planned):
    result = CliRunner().invoke(cli, ["check", "--stack", "prod", "--project", str(ROOT)], catch_exceptions=False)
    assert planned == [(None, "prod")]
    assert result.exit_code == 1
    assert f"policy config: {ROOT / 'policies/config/prod.json'} (the stack's own; --policy-config overrides it)\n" in result.output
    assert "accelerator-count-cap [mandatory]" in result.output
    assert "at most 32 per stack" in result.output


def test_an_explicit_policy_config_overrides_the_stacks_own(planned, tmp_path):
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"accelerator-count-cap": {"maxAccelerators": 48}}))
    result = CliRunner().invoke(cli, ["check", "--stack", "prod", "--project", str(ROOT), "--policy-config", str(config)],
                                catch_exceptions=False)
    assert result.exit_code == 0
    assert "policy config:" not in result.output


def test_a_stack_without_its_own_file_uses_the_packs_defaults(planned, tmp_path):
    (tmp_path / "policies" / "config").mkdir(parents=True)
    result = CliRunner().invoke(cli, ["check", "--stack", "prod", "--project", str(tmp_path)], catch_exceptions=False)
    assert result.exit_code == 0
    assert "policy config:" not in result.output


def test_a_broken_stack_config_exits_2_naming_the_file(planned, tmp_path):
    shutil.copytree(ROOT / "policies" / "config", tmp_path / "policies" / "config")
    (tmp_path / "policies" / "config" / "prod.json").write_text('{"all": "strict"}')
    result = CliRunner().invoke(cli, ["check", "--stack", "prod", "--project", str(tmp_path)])
    assert result.exit_code == 2
    assert result.output.endswith(
        f"error: {tmp_path / 'policies/config/prod.json'}: all: enforcement level must be one of advisory, mandatory, disabled (got 'strict')\n")


def test_the_workflow_passes_the_same_file():
    workflow = (ROOT / ".github" / "workflows" / "pr-review.yml").read_text()
    assert 'policies/config/$stack.json' in workflow
