"""`servestack plan` as a user runs it: every stack plans, twice the same, bad input exits 2."""

from __future__ import annotations

import filecmp
import gc
import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from harness import PROJECT, REPOSITORY_STACKS
from servestack.cli import cli, short_lived_process


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.mark.parametrize("stack", PROJECT.stacks())
def test_every_stack_in_stacks_plans(stack, project_dir, tmp_path):
    out = tmp_path / "plan"
    result = run("plan", "--stack", stack, "--project", str(project_dir), "--out", str(out))
    assert result.exit_code == 0, result.output
    document = json.loads((out / "preview.json").read_text())
    assert document["steps"][0]["newState"]["type"] == "pulumi:pulumi:Stack"
    assert document["outputs"]["tier"] == document["config"].get("servestack:tier", document["outputs"]["tier"])
    assert document["outputs"]["tier"] in ("dev", "staging", "prod")
    assert f"Plan of stack {stack}: {len(document['steps'])} steps" in result.output
    assert "written to plan/" in result.output.replace("\n", "")


def test_the_summary_shows_the_component_tree_with_counts_by_type(project_dir):
    result = run("plan", "--stack", "dev", "--project", str(project_dir))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("servestack-dev (pulumi:pulumi:Stack): ")
    assert "servestack (servestack:index:ServingEnvironment)" in result.output
    assert "servestack-network (servestack:network:Network)" in result.output
    assert any(line.endswith("4 × aws:ec2/subnet:Subnet") for line in lines)
    assert "written to build/plan/dev/" in result.output.replace("\n", "")
    assert (project_dir / "build" / "plan" / "dev" / "preview.json").is_file()


@pytest.mark.parametrize("stack, lines", [
    ("prod", ["Rollouts (traffic as the platform routes it):",
              "  models/fraud (Standard): 2.3.1 (100%) + candidate 2.4.0 (0%, only at fraud-v2-4-0-predictor.models), "
              "stage 1/1 (0); stable min 4 kept, candidate 1"]),
    ("staging", ["Rollouts (traffic as the platform routes it):",
                 "  models/fraud (Knative): 2.3.1 (50%) + candidate 2.4.0 (50%), stage 2/3 (10,50,100)"]),
    ("dev", ["Rollouts: none in progress"]),
])
def test_the_summary_ends_with_the_rollouts_and_the_traffic_really_routed(stack, lines, project_dir, tmp_path):
    result = run("plan", "--stack", stack, "--project", str(project_dir), "--out", str(tmp_path / "plan"))
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-len(lines):] == lines


def test_the_same_stack_planned_twice_gives_byte_identical_files(project_dir, tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    for out in (first, second):
        assert run("plan", "--stack", "prod", "--project", str(project_dir), "--out", str(out)).exit_code == 0
    comparison = filecmp.dircmp(first, second)
    assert comparison.diff_files == [] and comparison.left_only == [] and comparison.right_only == []
    assert (first / "preview.json").read_bytes() == (second / "preview.json").read_bytes()
    for manifest in (first / "manifests").iterdir():
        assert manifest.read_bytes() == (second / "manifests" / manifest.name).read_bytes()


def break_stack(project_dir: Path, stack: str, edit) -> None:
    path = project_dir / "stacks" / f"Pulumi.{stack}.yaml"
    document = yaml.safe_load(path.read_text())
    edit(document["config"])
    path.write_text(yaml.safe_dump(document))


def test_a_broken_stack_exits_2_with_one_line_per_problem_and_writes_nothing(project_dir):
    def edit(config):
        config["servestack:nodePools"]["gpu"]["maxSize"] = -1
        config["servestack:network"]["availabilityZones"] = 9
        config["servestack:nodeGroups"] = {}

    break_stack(project_dir, "dev", edit)
    result = CliRunner().invoke(cli, ["plan", "--stack", "dev", "--project", str(project_dir)])
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        "stack 'dev' has 3 config problem(s); nothing was created:",
        "  - servestack:network.availabilityZones: must be <= 6 (got 9)",
        "  - servestack:nodeGroups: is not a known setting; known: servestack:cluster, servestack:endpoints, servestack:llmEndpoints, servestack:llmPresets, servestack:network, "
        "servestack:nodePools, servestack:platform, servestack:servingRuntimes, servestack:tags, servestack:tier",
        "  - servestack:nodePools.gpu.maxSize: must be >= 1 (got -1)",
    ]
    assert not (project_dir / "build").exists()


def test_a_secret_where_it_would_be_shown_in_clear_is_refused_without_printing_it(project_dir):
    ciphertext = "v1:AAAABBBBsecretciphertext"

    def edit(config):
        config["servestack:tags"]["costCenter"] = {"secure": ciphertext}

    break_stack(project_dir, "dev", edit)
    result = CliRunner().invoke(cli, ["plan", "--stack", "dev", "--project", str(project_dir)])
    assert result.exit_code == 2
    assert result.output.splitlines()[1:] == [
        "  - servestack:tags: cannot hold a secret: its values end up in resource tags, names or manifests "
        "that anyone with read access sees",
    ]
    assert "secretciphertext" not in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["plan", "--stack", "qa"], "error: no stack file stacks/Pulumi.qa.yaml (stacks here: " + ", ".join(REPOSITORY_STACKS) + ")"),
    ],
)
def test_unknown_stacks_are_refused_with_exit_2(project_dir, args, message):
    result = CliRunner().invoke(cli, [*args, "--project", str(project_dir)])
    assert result.exit_code == 2
    assert result.output.strip() == message


@pytest.mark.parametrize(("content", "message"), [
    (b"config: [unclosed\n", "error: stacks/Pulumi.dev.yaml is not valid YAML:"),
    (b"\xff\xfe not utf-8\n", "error: stacks/Pulumi.dev.yaml is not UTF-8 text (byte 0xff at offset 0)"),
], ids=["unclosed", "not-utf8"])
def test_a_stack_file_that_is_not_yaml_is_refused_with_exit_2(project_dir, content, message):
    (project_dir / "stacks" / "Pulumi.dev.yaml").write_bytes(content)
    result = CliRunner().invoke(cli, ["plan", "--stack", "dev", "--project", str(project_dir)])
    assert result.exit_code == 2
    assert result.output.startswith(message)


@pytest.mark.parametrize(("content", "message"), [
    (b"- name: servestack\n", "error: Pulumi.yaml must be a mapping with a 'name'"),
    (b"\xff\xfe not utf-8\n", "error: Pulumi.yaml is not UTF-8 text (byte 0xff at offset 0)"),
    (b"name: servestack\nstackConfigDir: 5\n", "error: Pulumi.yaml: stackConfigDir must be a path (got 5)"),
    (b"description: no name\n", "error: Pulumi.yaml has no 'name'"),
], ids=["list", "not-utf8", "stack-dir-int", "no-name"])
def test_a_malformed_pulumi_yaml_is_refused_with_exit_2(project_dir, content, message):
    (project_dir / "Pulumi.yaml").write_bytes(content)
    result = CliRunner().invoke(cli, ["plan", "--stack", "dev", "--project", str(project_dir)])
    assert result.exit_code == 2, result.exception
    assert result.output.startswith(message)


def test_a_command_runs_with_the_collector_off_and_what_is_alive_at_its_end_is_frozen():
    try:
        with short_lived_process():
            assert not gc.isenabled()
        assert gc.get_freeze_count() > 0  # the collection at exit skips them
    finally:
        gc.unfreeze()
        gc.enable()


def test_the_plan_records_the_python_and_pulumi_sdks_it_ran_with(project_dir, tmp_path):
    import platform
    from importlib import metadata

    out = tmp_path / "plan"
    assert run("plan", "--stack", "dev", "--project", str(project_dir), "--out", str(out)).exit_code == 0
    versions = {"python": platform.python_version(),
                "sdks": {name: metadata.version(name) for name in ("pulumi", "pulumi-aws", "pulumi-kubernetes")}}
    assert (out / "versions.json").read_text() == json.dumps(versions, indent=2, sort_keys=True) + "\n"
    # preview.json itself does not carry them: it stays the same for the same program and config.
    assert "versions" not in json.loads((out / "preview.json").read_text())


def test_recorded_sdks_are_those_of_the_packages_the_plan_declares():
    from importlib import metadata

    from servestack.plan.document import sdk_versions

    def step(kind: str) -> dict:
        return {"newState": {"type": kind}}

    document = {"steps": [step("pulumi:pulumi:Stack"), step("pulumi:providers:kubernetes"),
                          step("servestack:index:ServingEnvironment"), step("random:index/randomId:RandomId")]}
    # No pulumi-aws resource, no SDK for servestack's components, and none installed for `random`.
    assert sdk_versions(document)["sdks"] == {"pulumi": metadata.version("pulumi"),
                                              "pulumi-kubernetes": metadata.version("pulumi-kubernetes")}
