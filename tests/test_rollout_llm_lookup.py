"""`servestack rollout` finds LLM endpoints (LLM rollouts are routing-group members, issue 21): a move on
one is judged by the rollout state machine, never refused as "stack dev has no endpoint"; an unknown
name lists the LLM endpoints too."""

from __future__ import annotations

from click.testing import CliRunner

from servestack.cli import cli


def rollout(project_dir, *args):
    return CliRunner().invoke(cli, ["rollout", *args, "--stack", "dev", "--project", str(project_dir)])


def test_a_move_on_an_llm_endpoint_is_judged_as_that_endpoints_rollout(project_dir):
    path = project_dir / "stacks" / "Pulumi.dev.yaml"
    before = path.read_bytes()
    result = rollout(project_dir, "advance", "qwen-chat")
    assert result.exit_code == 2 and "has no endpoint" not in result.output and "qwen-chat" in result.output
    assert path.read_bytes() == before


def test_an_unknown_endpoint_lists_the_llm_endpoints_too(project_dir):
    result = rollout(project_dir, "advance", "nope")
    assert (result.exit_code, result.output) == (
        2, "refused: stack dev has no endpoint 'nope' (endpoints: chat, iris, qwen-chat)\n")
