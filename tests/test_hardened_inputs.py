"""Stack files and plans that used to crash the tools: each is refused with exit 2 and one line, or
read as the user meant it (issue 16, "Stack files and plans that crash the tools")."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from components.config import ConfigError
from components.config.stack import parse_stack_config
from harness import REPO, REPOSITORY_STACKS, repository_plan
from plandoc.document import plan_from_document
from plandoc.rollouts import rollout_states
from servestack.cli import cli
from servestack.plan import load_project
from servestack.plan.project import ProjectError

DEV = (REPO / "stacks" / "Pulumi.dev.yaml").read_text()
#: The first line after the dev stack file: where the tests below append their faults.
AFTER = len(DEV.splitlines()) + 1
#: The line of dev's own ``aws:region`` key.
REGION_LINE = next(number for number, line in enumerate(DEV.splitlines(), start=1) if line.strip().startswith("aws:region:"))
SHOWN = "stacks/Pulumi.dev.yaml"


def invoke(*args: str):
    result = CliRunner().invoke(cli, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def read(project_dir: Path, text: str | bytes):
    path = project_dir / "stacks" / "Pulumi.dev.yaml"
    (path.write_bytes if isinstance(text, bytes) else path.write_text)(text)
    return load_project(project_dir).read_stack("dev")


def refused(project_dir: Path, text: str | bytes) -> str:
    with pytest.raises(ProjectError) as error:
        read(project_dir, text)
    return str(error.value)


# --------------------------------------------------------------------------- YAML that is not JSON


def test_an_unquoted_date_is_the_text_the_user_wrote(project_dir):
    stack = read(project_dir, DEV.replace('version: "1.3.0"', "version: 2026-05-01").replace(
        "team: ml-platform", "team: 2001-12-14t21:59:43.10-05:00"))
    assert stack.decoded["servestack:endpoints"]["iris"]["model"]["version"] == "2026-05-01"
    assert stack.decoded["servestack:tags"]["team"] == "2001-12-14t21:59:43.10-05:00"


def test_check_and_cost_of_a_stack_with_a_date_plan_it(project_dir):
    (project_dir / "stacks" / "Pulumi.dev.yaml").write_text(DEV.replace('version: "1.3.0"', "version: 2026-05-01"))
    result = invoke("cost", "--stack", "dev", "--project", str(project_dir))
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(("value", "reason"), [
    ("!!binary aGVsbG8=", "binary data (!!binary) is not a config value; write the text itself"),
    ("!!set {a, b}", "a set (!!set) is not a config value; write a list"),
    ("!!omap [a: 1]", "a pair (!!omap or !!pairs) is not a config value; write a mapping"),
    (".inf", "inf is not a number a config value can hold; write a finite number"),
    (".nan", "nan is not a number a config value can hold; write a finite number"),
])
def test_a_value_json_cannot_hold_is_refused_with_its_path(project_dir, value, reason):
    message = refused(project_dir, DEV.replace("team: ml-platform", f"team: {value}"))
    path = "config.servestack:tags.team" + ("[0]" if "omap" in value else "")
    assert message == f"{SHOWN}: {path}: {reason}"


# --------------------------------------------------------------------------- bounds


def test_a_recursive_alias_is_refused(project_dir):
    assert refused(project_dir, DEV + "  servestack:extra: &loop [1, *loop]\n") == (
        f"{SHOWN}: the alias *loop at line {AFTER} refers to a mapping or list that contains it (a recursive alias)")


def test_an_alias_bomb_under_any_key_is_refused_before_it_expands(project_dir):
    lines = ["  servestack:x0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"  servestack:x{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]  # 10^9 values
    assert refused(project_dir, DEV + "\n".join(lines) + "\n") == (
        f"{SHOWN}: more than 100000 values once aliases are expanded (near line {AFTER + 4}); an alias bomb or a document "
        "far larger than any stack")


def test_nesting_deeper_than_100_levels_is_refused(project_dir):
    assert refused(project_dir, DEV + "  servestack:deep: " + "[" * 101 + "]" * 101 + "\n") == (
        f"{SHOWN}: nested more than 100 levels deep (at line {AFTER})")


def test_block_nesting_deeper_than_100_levels_is_refused(project_dir):
    deep = "".join(f"{'  ' * (i + 1)}k{i}:\n" for i in range(150)) + "  " * 151 + "x: 1\n"
    assert refused(project_dir, "config:\n" + deep).startswith(f"{SHOWN}: nested more than 100 levels deep (at line ")


def test_an_integer_beyond_4300_digits_is_refused(project_dir):
    assert refused(project_dir, DEV + "  servestack:n: " + "9" * 5000 + "\n") == (
        f"{SHOWN} is not valid YAML: an integer of 5000 digits; at most 4300 are allowed; line {AFTER}, column 17")


@pytest.mark.parametrize("written, mark", [("10_0", "_"), ("1:40", ":")])
def test_a_stage_written_with_an_underscore_or_colon_is_refused_not_read_as_another_number(project_dir, written, mark):
    # YAML 1.1 reads 10_0 as 100 and 1:40 (base 60) as 100: one typo would be an immediate cutover.
    assert refused(project_dir, DEV + f"  servestack:n: {written}\n") == (
        f"{SHOWN} is not valid YAML: the integer {written} is written with {mark}, which YAML 1.1 reads as another "
        f"number; write the plain digits (or quote it if it is text); line {AFTER}, column 17")


def test_a_file_beyond_16_mib_and_a_file_that_is_not_utf8_are_refused(project_dir):
    assert refused(project_dir, DEV + "#" * (16 * 1024 * 1024)) == (
        f"{SHOWN} is {len(DEV) + 16 * 1024 * 1024} bytes; a stack file may hold at most {16 * 1024 * 1024}")
    assert refused(project_dir, b"config:\n  aws:region: \xff\n") == f"{SHOWN} is not UTF-8 text (byte 0xff at offset 22)"


def test_a_stack_file_that_is_a_directory_is_refused(project_dir):
    (project_dir / "stacks" / "Pulumi.dir.yaml").mkdir()
    result = invoke("plan", "--stack", "dir", "--project", str(project_dir))
    assert (result.exit_code, result.output.strip()) == (2, "error: stack file stacks/Pulumi.dir.yaml is a directory, not a "
                                                    "file (stacks here: " + ", ".join(sorted(REPOSITORY_STACKS)) + ")")


def test_a_key_given_twice_is_refused_by_plan_naming_both_lines(project_dir):
    (project_dir / "stacks" / "Pulumi.dev.yaml").write_text(DEV + "  aws:region: eu-west-1\n")
    result = invoke("plan", "--stack", "dev", "--project", str(project_dir), "--out", str(project_dir / "out"))
    assert (result.exit_code, result.output) == (2, (
        f'error: {SHOWN} is not valid YAML: the key "aws:region" is given twice in one mapping: at line {REGION_LINE} and line {AFTER} '
        f"(Pulumi refuses that; keep one); line {AFTER}, column 3\n"))


def test_rollout_reads_a_stack_with_a_date_and_refuses_a_bomb(project_dir):
    path = project_dir / "stacks" / "Pulumi.dev.yaml"
    path.write_text(DEV.replace('version: "1.3.0"', "version: 2026-05-01"))
    result = invoke("rollout", "start", "iris", "--stack", "dev", "--project", str(project_dir), "--model-version", "2026-06-01",
                    "--storage-uri", "s3://acme-ml-models-dev/models/iris/2026-06-01")
    assert result.exit_code == 0, result.output
    assert "version: 2026-05-01\n" in path.read_text()
    bomb = DEV + "  servestack:x: &a [1, *a]\n"
    path.write_text(bomb)
    result = invoke("rollout", "advance", "iris", "--stack", "dev", "--project", str(project_dir))
    assert result.exit_code == 2
    assert f"the alias *a at line {AFTER} refers to a mapping or list that contains it (a recursive alias)" in result.output
    assert path.read_text() == bomb


# --------------------------------------------------------------------------- one line per problem


def test_a_newline_in_a_key_or_value_cannot_forge_a_problem_line(project_dir):
    (project_dir / "stacks" / "Pulumi.dev.yaml").write_text(DEV.replace(
        "servestack:tier: dev", 'servestack:tier: "x\\n  - forged: fine"\n  "servestack:y\\n  - z": 1'))
    result = invoke("plan", "--stack", "dev", "--project", str(project_dir))
    assert (result.exit_code, result.output.splitlines()) == (2, [
        "stack 'dev' has 2 config problem(s); nothing was created:",
        '  - "servestack:y\\n  - z": is not a known setting; known: servestack:cluster, servestack:endpoints, '
        "servestack:llmEndpoints, servestack:llmPresets, servestack:network, servestack:nodePools, servestack:observability, servestack:platform, "
        "servestack:servingRuntimes, "
        "servestack:tags, servestack:tier",
        '  - servestack:tier: must be one of dev, staging or prod (got "x\\n  - forged: fine")',
    ])


# --------------------------------------------------------------------------- JSON that is not a plan


NOT_PLANS = {
    "terraform.json": ({"format_version": "1.2", "terraform_version": "1.9.0", "resource_changes": []}, "it is a Terraform plan or state"),
    "template.json": ({"AWSTemplateFormatVersion": "2010-09-09", "Resources": {}}, "it is a CloudFormation template"),
    "pods.json": ({"apiVersion": "v1", "kind": "List", "items": []}, "it is a Kubernetes object or list"),
    "package.json": ({"name": "x", "version": "1.0.0", "dependencies": {}}, "it is an npm package.json"),
    "list.json": ([], "it is a list"),
}


@pytest.mark.parametrize("name", sorted(NOT_PLANS))
@pytest.mark.parametrize("command", ["check", "cost", "diff", "preflight"])
def test_json_that_is_not_a_plan_is_refused_naming_what_it_is(tmp_path, name, command):
    document, what = NOT_PLANS[name]
    path = tmp_path / name
    path.write_text(json.dumps(document))
    args = {"check": ["check", str(path)], "cost": ["cost", str(path)], "diff": ["diff", str(path), str(path)],
            "preflight": ["preflight", "--plan", str(path)]}[command]
    result = invoke(*args)
    assert (result.exit_code, result.output) == (2, (
        f"error: {path} is not a servestack plan or the JSON of `pulumi preview --json`: {what}, not an object with steps\n"))


def _plan_with(tmp_path: Path, change) -> Path:
    document = copy.deepcopy(repository_plan("dev").document)
    change(document)
    path = tmp_path / "preview.json"
    path.write_text(json.dumps(document))
    return path


@pytest.mark.parametrize(("constant", "reason"), [("Infinity", "Infinity is not a JSON number"), ("NaN", "NaN is not a JSON number"),
                                                  ("1e999", "1e999 is out of the range of a number")])
def test_a_plan_with_a_number_json_does_not_have_is_refused(tmp_path, constant, reason):
    path = _plan_with(tmp_path, lambda d: d["config"]["servestack:nodePools"]["gpu"].__setitem__("maxSize", "MARK"))
    path.write_text(path.read_text().replace('"MARK"', constant))
    for args in (["check", str(path)], ["cost", str(path)], ["diff", str(path), str(path)]):
        result = invoke(*args)
        assert (result.exit_code, result.output) == (
            2, f"error: {path} is not JSON ({reason}); expected the output of `pulumi preview --json`\n")


def test_a_plan_nested_100000_deep_is_refused(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text('{"steps": [], "config": {"x": ' + "[" * 100000 + "]" * 100000 + "}}")
    result = invoke("check", str(path))
    assert (result.exit_code, result.output) == (
        2, f"error: {path} is not JSON (nested more than 200 levels deep); expected the output of `pulumi preview --json`\n")


def test_instance_types_that_are_not_a_list_are_refused(tmp_path):
    path = _plan_with(tmp_path, lambda d: d["config"]["servestack:nodePools"]["gpu"].__setitem__("instanceTypes", 5))
    result = invoke("cost", str(path))
    assert (result.exit_code, result.output) == (2, f"error: {path} is not a preview document: "
                                                 "config.servestack:nodePools.gpu.instanceTypes must be a list of instance types (got 5)\n")


def test_a_stages_annotation_with_a_superscript_digit_is_no_stages():
    document = copy.deepcopy(repository_plan("dev").document)
    for step in document["steps"]:
        if step["newState"]["type"].startswith("kubernetes:serving.kserve.io"):
            step["newState"]["inputs"]["metadata"].setdefault("annotations", {})["servestack.io/rollout-stages"] = "10,5\u00b2,100"
    assert {k: s.stages for k, s in rollout_states(plan_from_document(document)).items()} == {"models/chat": (), "models/iris": ()}


def test_a_rollout_record_with_a_superscript_digit_is_read_without_it():
    from components.core.rollout_record import RolloutRecord

    record = RolloutRecord.from_data("e", {"mode": "Knative", "phase": "canary", "stableVersion": "1", "stages": "10,5\u00b2,100",
                                           "stage": "\u00b2", "candidateTrafficPercent": "10"})
    assert (record.stages, record.stage, record.candidate_traffic) == ((10, 100), 0, 10)


@pytest.mark.parametrize("out", ["file/plan", "/proc/servestack-plan"])
def test_plan_out_where_nothing_can_be_written_is_exit_2(project_dir, out):
    (project_dir / "file").write_text("")
    target = out if out.startswith("/") else str(project_dir / out)
    result = invoke("plan", "--stack", "dev", "--project", str(project_dir), "--out", target)
    reason = "Not a directory" if out.startswith("file") else "No such file or directory"
    assert (result.exit_code, result.output) == (2, f"error: cannot write the plan to {target}: {target}: {reason}\n")


# --------------------------------------------------------------------------- secrets under the real engine


def _problems(raw: dict, secrets: set[str]) -> list[str]:
    base = {"aws:region": "us-east-1", "servestack:tier": "dev"}
    with pytest.raises(ConfigError) as error:
        parse_stack_config("dev", {**base, **raw}, frozenset(secrets))
    return [p.render() for p in error.value.problems]


def test_a_decrypted_secret_never_appears_in_the_cidr_subnet_or_catalog_messages():
    raw = {"servestack:cluster": {"publicAccessCidrs": ["10.99.88.7/99"]},
           "servestack:network": {"existing": {"vpcId": "vpc-01234567", "privateSubnetIds": ["subnet-TOPSECRET", "subnet-0fedcba987654321a"]}},
           "servestack:nodePools": {"system": {"instanceTypes": ["g5.topsecret"], "minSize": 1, "maxSize": 2}}}
    lines = _problems(raw, set(raw))
    assert not [line for line in lines if "10.99.88.7" in line or "TOPSECRET" in line or "topsecret" in line]
    assert lines[1] == ("servestack:cluster.publicAccessCidrs: must be IPv4 networks in CIDR notation such as 203.0.113.0/24; "
                        'entry [0] is not one (got "[secret]")')
    assert lines[3] == ("servestack:network.existing.privateSubnetIds: must be subnet ids like subnet-0123456789abcdef0; "
                        'not subnet ids: entry [0] (got "[secret]")')
    assert lines[5].startswith("servestack:nodePools.system.instanceTypes[0]: '[secret]' is not an EC2 instance type; g5 sizes: ")


def test_a_secure_mapping_with_notes_is_a_secret(project_dir):
    stack = read(project_dir, DEV.replace("team: ml-platform", "team: {secure: v1:ABCDEFciphertext, note: rotated}"))
    assert stack.decoded["servestack:tags"] == {"team": "[secret]", "environment": "dev"}
    assert "servestack:tags" in stack.secret_keys
    assert "ABCDEFciphertext" not in json.dumps(stack.config)
