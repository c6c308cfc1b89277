"""``servestack rollout``: exact edits of the stack file, the printed diff and commit, and refusals
that exit 2 and leave the file byte-identical."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from harness import REPO
from servestack.cli import cli

STACK = """\
# dev: a small, cheap environment.
config:
  aws:region: us-east-1
  servestack:nodePools:
    system:
      instanceTypes: [m7i.large]   # CPU only
      minSize: 2

  servestack:endpoints:
    # The iris classifier: CPU, sklearn.
    iris:
      pool: system
      model:
        format: sklearn
        storageUri: s3://acme-models/models/iris/1.0.0   # trained 2026-10-01
        version: "1.0.0"
      autoscaling: {minReplicas: 1, maxReplicas: 4}

    wine:
      pool: system
      model:
        format: xgboost
        storageUri: s3://acme-models/models/wine/7
        version: "7"
"""

IRIS_STARTED = STACK.replace(
    "      autoscaling: {minReplicas: 1, maxReplicas: 4}\n",
    "      autoscaling: {minReplicas: 1, maxReplicas: 4}\n"
    "      rollout:\n"
    "        candidate:\n"
    "          version: 1.1.0\n"
    "          storageUri: s3://acme-models/models/iris/1.1.0\n"
    "        stages: [10, 50, 100]\n"
    "        stage: 1\n",
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copy(REPO / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "Pulumi.dev.yaml").write_text(STACK)
    return tmp_path


def run(project: Path, *args: str):
    return CliRunner().invoke(cli, ["rollout", *args, "--project", str(project)], catch_exceptions=False)


def stack_text(project: Path) -> str:
    return (project / "stacks" / "Pulumi.dev.yaml").read_text()


def test_start_writes_the_rollout_and_prints_diff_and_commit(project):
    result = run(project, "start", "iris", "--stack", "dev", "--model-version", "1.1.0",
                 "--storage-uri", "s3://acme-models/models/iris/1.1.0")
    assert result.exit_code == 0, result.output
    assert stack_text(project) == IRIS_STARTED
    assert result.stdout == (
        "iris: start rolling out 1.1.0 (stable 90% / candidate 10%)\n"
        "\n"
        "Changed stacks/Pulumi.dev.yaml:\n"
        "--- a/stacks/Pulumi.dev.yaml\n"
        "+++ b/stacks/Pulumi.dev.yaml\n"
        "@@ -15,6 +15,12 @@\n"
        "         storageUri: s3://acme-models/models/iris/1.0.0   # trained 2026-10-01\n"
        '         version: "1.0.0"\n'
        "       autoscaling: {minReplicas: 1, maxReplicas: 4}\n"
        "+      rollout:\n"
        "+        candidate:\n"
        "+          version: 1.1.0\n"
        "+          storageUri: s3://acme-models/models/iris/1.1.0\n"
        "+        stages: [10, 50, 100]\n"
        "+        stage: 1\n"
        " \n"
        "     wine:\n"
        "       pool: system\n"
        "\n"
        "Review the plan, then commit:\n"
        "  servestack plan --stack dev\n"
        "  git add stacks/Pulumi.dev.yaml\n"
        '  git commit -m "rollout(dev/iris): start rolling out 1.1.0 (stable 90% / candidate 10%)"\n'
    )


def test_the_whole_rollout_edits_only_what_each_move_means(project):
    run(project, "start", "iris", "--stack", "dev", "--model-version", "1.1.0", "--storage-uri", "s3://acme-models/models/iris/1.1.0")
    result = run(project, "advance", "iris", "--stack", "dev")
    assert result.exit_code == 0
    assert stack_text(project) == IRIS_STARTED.replace("        stage: 1\n", "        stage: 2\n")
    assert result.stdout.splitlines()[0] == "iris: advance 1.1.0 to stage 2 of 3 (stable 50% / candidate 50%)"
    assert run(project, "advance", "iris", "--stack", "dev").exit_code == 0
    result = run(project, "promote", "iris", "--stack", "dev")
    assert result.exit_code == 0
    # The candidate becomes the model (its old end-of-line comment described the old URI and goes).
    assert stack_text(project) == STACK.replace(
        "        storageUri: s3://acme-models/models/iris/1.0.0   # trained 2026-10-01\n"
        '        version: "1.0.0"\n',
        "        storageUri: s3://acme-models/models/iris/1.1.0\n"
        '        version: "1.1.0"\n')
    assert result.stdout.splitlines()[-1] == '  git commit -m "rollout(dev/iris): promote 1.1.0 to stable (replaces 1.0.0)"'


def test_rollback_marks_the_rollout_and_a_new_start_replaces_it(project):
    run(project, "start", "wine", "--stack", "dev", "--model-version", "8", "--storage-uri", "s3://acme-models/models/wine/8",
        "--stages", "25,100")
    result = run(project, "rollback", "wine", "--stack", "dev")
    assert result.exit_code == 0
    assert stack_text(project) == STACK + (
        "      rollout:\n"
        "        candidate:\n"
        '          version: "8"\n'
        "          storageUri: s3://acme-models/models/wine/8\n"
        "        stages: [25, 100]\n"
        "        stage: 1\n"
        "        rolledBack: true\n")
    assert run(project, "start", "wine", "--stack", "dev", "--model-version", "9",
               "--storage-uri", "s3://acme-models/models/wine/9").exit_code == 0
    assert stack_text(project) == STACK + (
        "      rollout:\n"
        "        candidate:\n"
        '          version: "9"\n'
        "          storageUri: s3://acme-models/models/wine/9\n"
        "        stages: [10, 50, 100]\n"
        "        stage: 1\n")


@pytest.mark.parametrize("setup, args, message", [
    ([], ["advance", "iris"], "refused: iris: no rollout to advance: 1.0.0 is the only model (start one first)"),
    ([], ["promote", "iris"], "refused: iris: no rollout to promote: 1.0.0 is the only model (start one first)"),
    ([["start", "iris", "--model-version", "1.1.0", "--storage-uri", "s3://acme-models/models/iris/1.1.0"]],
     ["promote", "iris"], "refused: iris: 1.1.0 is at stage 1 of 3 (10%); advance it to the last stage (100%) before promoting"),
    ([["start", "iris", "--model-version", "1.1.0", "--storage-uri", "s3://acme-models/models/iris/1.1.0", "--stages", "100"]],
     ["advance", "iris"], "refused: iris: 1.1.0 is at the last stage (100%); promote it or roll it back"),
    ([["start", "iris", "--model-version", "1.1.0", "--storage-uri", "s3://acme-models/models/iris/1.1.0"]],
     ["start", "iris", "--model-version", "1.2.0", "--storage-uri", "s3://acme-models/models/iris/1.2.0"],
     "refused: iris: a rollout of 1.1.0 is in progress (stage 1 of 3); promote or roll it back before starting another"),
    ([], ["start", "cart", "--model-version", "2", "--storage-uri", "s3://acme-models/models/cart/2"],
     "refused: stack dev has no endpoint 'cart' (endpoints: iris, wine)"),
    ([], ["rollback", "iris"], "refused: iris: no rollout to roll back: 1.0.0 is the only model (start one first)"),
    ([], ["start", "iris", "--model-version", "1.1.0", "--storage-uri", "s3://acme-models/models/iris/1.1.0", "--stages", "50,10,100"],
     "refused: --stages must be strictly increasing"),
    ([], ["start", "iris", "--model-version", "1.1.0"],
     "refused: give the candidate's --storage-uri (or --image for a custom predictor)"),
    ([], ["start", "iris", "--model-version", "1.1.0", "--storage-uri", "http://example.com/iris"],
     "refused: the start would leave stacks/Pulumi.dev.yaml invalid; nothing was written:\n"
     "stack 'dev' has 1 config problem(s); nothing was created:\n"
     '  - servestack:endpoints.iris.rollout.candidate.storageUri: must start with one of s3://, oci://, hf://, pvc://, gs://, https://, hdfs://, webhdfs:// '
     '(got "http://example.com/iris")'),
])
def test_illegal_moves_exit_2_and_leave_the_file_untouched(project, setup, args, message):
    for step in setup:
        assert run(project, *step, "--stack", "dev").exit_code == 0
    before = (project / "stacks" / "Pulumi.dev.yaml").read_bytes()
    result = run(project, *args, "--stack", "dev")
    assert (result.exit_code, result.stderr, result.stdout) == (2, message + "\n", "")
    assert (project / "stacks" / "Pulumi.dev.yaml").read_bytes() == before


def test_unknown_stack_is_refused(project):
    result = run(project, "advance", "iris", "--stack", "prod")
    assert (result.exit_code, result.stderr) == (2, "error: no stack file stacks/Pulumi.prod.yaml (stacks here: dev)\n")


def test_status_table(project):
    run(project, "start", "iris", "--stack", "dev", "--model-version", "1.1.0", "--storage-uri", "s3://acme-models/models/iris/1.1.0")
    run(project, "advance", "iris", "--stack", "dev")
    result = run(project, "status", "--stack", "dev")
    assert result.exit_code == 0
    rows = [line for line in result.stdout.splitlines() if line.startswith("│")]
    assert [[cell.strip() for cell in row.strip("│").split("│")] for row in rows] == [
        ["dev", "iris", "Knative", "system", "1.0.0", "1.1.0", "2/3 (10,50,100)", "stable 50% / candidate 50%", "-"],
        ["dev", "wine", "Knative", "system", "7", "-", "-", "stable 100% / candidate 0%", "-"],
    ]


STANDARD_STACK = STACK.replace("  servestack:endpoints:\n",
                               "  servestack:platform:\n    kserve: {deploymentMode: Standard}\n\n  servestack:endpoints:\n")


@pytest.fixture
def standard_project(project: Path) -> Path:
    (project / "stacks" / "Pulumi.dev.yaml").write_text(STANDARD_STACK)
    return project


def test_standard_mode_starts_a_blue_green_candidate_and_promotes_it_from_its_only_stage(standard_project):
    project = standard_project
    result = run(project, "start", "wine", "--stack", "dev", "--model-version", "8", "--storage-uri", "s3://acme-models/models/wine/8")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "wine: start rolling out 8 (stable 100% / candidate 0%)"
    assert stack_text(project) == STANDARD_STACK + (
        "      rollout:\n"
        "        candidate:\n"
        '          version: "8"\n'
        "          storageUri: s3://acme-models/models/wine/8\n"
        "        stages: [0]\n"
        "        stage: 1\n")
    status = run(project, "status", "--stack", "dev")
    rows = [[c.strip() for c in line.strip("│").split("│")] for line in status.stdout.splitlines() if line.startswith("│")]
    assert rows[1] == ["dev", "wine", "Standard", "system", "7", "8", "1/1 (0)", "stable 100% / candidate 0%",
                       "stable min 1 kept, candidate 1"]
    result = run(project, "promote", "wine", "--stack", "dev")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "wine: promote 8 to stable (replaces 7)"
    assert stack_text(project) == STANDARD_STACK.replace("storageUri: s3://acme-models/models/wine/7\n        version: \"7\"",
                                                         "storageUri: s3://acme-models/models/wine/8\n        version: \"8\"")


STANDARD_STAGES_REFUSED = (
    "refused: --stages 10,50,100 must all be 0 in Standard mode: KServe v0.20.0 routes no traffic to spec.canary[] "
    "(every request goes to the stable predictor; weighted routing came later, with kserve/kserve#5912). Use stages "
    "[0] for a blue/green cutover (the candidate runs beside the stable model, reachable through its own predictor "
    "service, and promote switches all traffic), or Knative mode for traffic stages\n")


@pytest.mark.parametrize("fixture, stages, message", [
    ("standard_project", "10,50,100", STANDARD_STAGES_REFUSED),
    ("project", "0,100", "refused: --stages 0,100 must be percents from 1 to 100 in Knative mode: a candidate revision "
                         "at 0% receives no requests and has no address of its own (KServe tags it only with tag routing, "
                         "which servestack does not enable); 0 is Standard mode's blue/green stage\n"),
    ("project", "0", "refused: --stages 0 must be percents from 1 to 100 in Knative mode: a candidate revision "
                     "at 0% receives no requests and has no address of its own (KServe tags it only with tag routing, "
                     "which servestack does not enable); 0 is Standard mode's blue/green stage\n"),
    ("project", "10,50", "refused: --stages 10,50 must end at 100 in Knative mode (the candidate takes all traffic "
                         "before it is promoted)\n"),
])
def test_start_refuses_stages_the_stacks_mode_does_not_route(request, fixture, stages, message):
    project = request.getfixturevalue(fixture)
    before = stack_text(project)
    result = run(project, "start", "wine", "--stack", "dev", "--model-version", "8", "--storage-uri",
                 "s3://acme-models/models/wine/8", "--stages", stages)
    assert (result.exit_code, result.stderr, stack_text(project)) == (2, message, before)


MOVES = st.sampled_from(["start", "advance", "rollback", "promote"])


@settings(max_examples=40, deadline=None)
@given(st.lists(MOVES, max_size=8))
def test_any_sequence_of_moves_follows_the_state_machine(moves):
    """Each move either edits the file into the state the pure state machine predicts, or is
    refused exactly when the state machine refuses it, leaving the text as it was."""
    from components.config.stack import parse_stack_config
    from components.core.rollout import RolloutRefused, Stages
    from harness import PROJECT
    from servestack.commands.rollout import MoveRefused, apply_move

    text, versions = STACK, iter(f"1.{n}.0" for n in range(1, 20))
    state = parse_stack_config("dev", _config(text)).endpoints["iris"].rollout_state()
    for move in moves:
        version = next(versions)
        options = {"version": version, "storage_uri": f"s3://acme-models/models/iris/{version}", "stages": "20,100"} if move == "start" else {}
        try:
            expected = state.start(version, Stages.of(20, 100)) if move == "start" else getattr(state, move)()
        except RolloutRefused:
            expected = None
        try:
            text = apply_move(PROJECT, "dev", text, "iris", move, **options).after
        except MoveRefused:
            assert expected is None, f"{move} refused but the state machine allows it from {state}"
            continue
        assert expected is not None, f"{move} applied but the state machine refuses it from {state}"
        state = parse_stack_config("dev", _config(text)).endpoints["iris"].rollout_state()
        assert state == expected
        assert text.startswith(STACK[:STACK.index("    iris:")])  # nothing before the endpoint moved


def _config(text: str) -> dict:
    import yaml

    return yaml.safe_load(text)["config"]


@pytest.mark.parametrize("content, message", [
    (b"config: [unclosed\n", "stacks/Pulumi.dev.yaml is not valid YAML: "),
    (b"config:\n  aws:region: us-east-1\n  aws:region: us-east-2\n", "stacks/Pulumi.dev.yaml is not valid YAML: "),
    (b"\xff\xfe not utf-8\n", "stacks/Pulumi.dev.yaml is not UTF-8 text (byte 0xff at offset 0)"),
], ids=["unclosed", "duplicate-key", "not-utf8"])
@pytest.mark.parametrize("args", [["advance", "iris", "--stack", "dev"], ["status", "--stack", "dev"]], ids=["advance", "status"])
def test_a_stack_file_that_is_not_yaml_exits_2_with_a_message(project, content, message, args):
    path = project / "stacks" / "Pulumi.dev.yaml"
    path.write_bytes(content)
    result = run(project, *args)
    assert result.exit_code == 2, result.exception
    assert result.stdout == ""
    assert result.stderr.startswith(("refused: ", "error: ")) and message in result.stderr
    assert path.read_bytes() == content


@pytest.mark.parametrize("stages", ["10_0", "1_0,100", "10, 100", "+10,100", "\u0661\u0660\u0660"])
def test_start_refuses_stages_that_only_python_int_reads_as_numbers(project, stages):
    before = stack_text(project)
    result = run(project, "start", "wine", "--stack", "dev", "--model-version", "8", "--storage-uri",
                 "s3://acme-models/models/wine/8", "--stages", stages)
    assert (result.exit_code, result.stderr, stack_text(project)) == (
        2, "refused: --stages must be comma-separated whole percents such as 10,50,100 (digits 0-9 only, no spaces); "
           f"got {stages!r}\n", before)


@pytest.mark.parametrize("stages, shown", [
    ("1" * 5000, "1" * 57 + "..."), ("10," + "9" * 4301, "10," + "9" * 54 + "..."), ("1000", "1000"),
    ("0" * 5000 + "50,100", "0" * 57 + "..."),
])
def test_start_refuses_stages_of_numbers_too_long_to_be_percents(project, stages, shown):
    before = stack_text(project)
    result = run(project, "start", "wine", "--stack", "dev", "--model-version", "8", "--storage-uri",
                 "s3://acme-models/models/wine/8", "--stages", stages)
    if stages.startswith("0" * 5000):  # leading zeros: 50 is a percent
        assert result.exit_code == 0, result.stderr
        return
    assert (result.exit_code, result.stderr, stack_text(project)) == (
        2, f"refused: --stages must be percents from 0 to 100; got {shown!r}\n", before)
    assert "set_int_max_str_digits" not in result.output


@pytest.mark.parametrize("option, value", [
    ("--model-version", "["), ("--model-version", "*a"), ("--model-version", "!!python/name:x"),
    ("--model-version", "{a: 1}"), ("--storage-uri", "*a"), ("--storage-uri", "["),
])
def test_start_with_a_value_that_is_yaml_syntax_exits_2_naming_the_field(project, option, value):
    args = {"--model-version": "1.1.0", "--storage-uri": "s3://acme-models/models/iris/1.1.0", option: value}
    before = stack_text(project)
    result = run(project, "start", "iris", "--stack", "dev", *[item for pair in args.items() for item in pair])
    field = {"--model-version": "version", "--storage-uri": "storageUri"}[option]
    assert result.exit_code == 2 and stack_text(project) == before
    assert result.stderr.startswith("refused: the start would leave stacks/Pulumi.dev.yaml invalid; nothing was written:\n")
    assert f"servestack:endpoints.iris.rollout.candidate.{field}: " in result.stderr
    assert result.stderr.endswith(f'(got "{value}")\n')


def test_a_version_that_is_yaml_syntax_is_written_quoted_so_it_reads_back_as_itself():
    from servestack.stackio import stackfile

    document = stackfile.parse("config:\n  a: {}\n", "x")
    for value in ["[", "*a", "!!python/name:x", "{a: 1}", "1.10", "true", "- x", "a: b", "#x"]:
        document["config"]["a"] = stackfile.scalar(value)
        text = stackfile.render(document, "")
        assert __import__("yaml").safe_load(text)["config"]["a"] == value


def test_a_new_start_after_a_rollback_keeps_the_endpoints_candidate_replicas(standard_project):
    project = standard_project
    path = project / "stacks" / "Pulumi.dev.yaml"
    path.write_text(STANDARD_STACK.replace("autoscaling: {minReplicas: 1, maxReplicas: 4}",
                                           "autoscaling: {minReplicas: 2, maxReplicas: 4}") + (
        "      autoscaling: {minReplicas: 2, maxReplicas: 4}\n"
        "      rollout:\n"
        "        candidate:\n"
        '          version: "8"\n'
        "          storageUri: s3://acme-models/models/wine/8\n"
        "        stages: [0]\n"
        "        stage: 1\n"
        "        candidateReplicas: 2\n"
        "        rolledBack: true\n"))
    result = run(project, "start", "wine", "--stack", "dev", "--model-version", "9", "--storage-uri", "s3://acme-models/models/wine/9")
    assert result.exit_code == 0, result.output
    assert stack_text(project).endswith(
        "      rollout:\n"
        "        candidate:\n"
        '          version: "9"\n'
        "          storageUri: s3://acme-models/models/wine/9\n"
        "        stages: [0]\n"
        "        stage: 1\n"
        "        candidateReplicas: 2\n")


UNQUALIFIED = STACK.replace("  servestack:nodePools:\n", "  nodePools:\n").replace("  servestack:endpoints:\n", "  endpoints:\n")


def test_moves_edit_unqualified_keys_which_pulumi_reads_as_the_projects_own(project):
    path = project / "stacks" / "Pulumi.dev.yaml"
    path.write_text(UNQUALIFIED)
    result = run(project, "start", "iris", "--stack", "dev", "--model-version", "1.1.0",
                 "--storage-uri", "s3://acme-models/models/iris/1.1.0")
    assert result.exit_code == 0, result.output
    assert stack_text(project) == IRIS_STARTED.replace("  servestack:nodePools:\n", "  nodePools:\n").replace(
        "  servestack:endpoints:\n", "  endpoints:\n")
    for move in ("advance", "advance", "promote"):
        assert run(project, move, "iris", "--stack", "dev").exit_code == 0
    assert stack_text(project) == UNQUALIFIED.replace("iris/1.0.0   # trained 2026-10-01\n", "iris/1.1.0\n").replace(
        'version: "1.0.0"', 'version: "1.1.0"')


def test_an_endpoints_key_given_both_qualified_and_unqualified_is_refused(project):
    path = project / "stacks" / "Pulumi.dev.yaml"
    path.write_text(STACK + "  endpoints: {}\n")
    result = run(project, "advance", "iris", "--stack", "dev")
    assert (result.exit_code, result.stderr) == (
        2, "refused: stacks/Pulumi.dev.yaml sets servestack:endpoints twice, as 'servestack:endpoints' and as 'endpoints' "
           "(Pulumi reads a key without a namespace as project servestack's own); keep one\n")
    assert stack_text(project) == STACK + "  endpoints: {}\n"
