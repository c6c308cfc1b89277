"""`servestack rollout` moves on an LLM endpoint find it and say what it is and why the move does not
apply (never "stack dev has no endpoint"); an unknown name lists the LLM endpoints too."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from components.config.llm_endpoints import LLM_SPELLINGS
from servestack.cli import cli

MOVES = [
    ["start", "qwen-chat", "--model-version", "3", "--storage-uri", "s3://acme-ml-models-dev/models/qwen-chat/3"],
    ["advance", "qwen-chat"], ["promote", "qwen-chat"], ["rollback", "qwen-chat"],
]


def rollout(project_dir, *args):
    return CliRunner().invoke(cli, ["rollout", *args, "--stack", "dev", "--project", str(project_dir)])


@pytest.mark.parametrize("move", MOVES, ids=lambda m: m[0])
def test_a_move_on_an_llm_endpoint_says_what_the_endpoint_is_and_why(project_dir, move):
    path = project_dir / "stacks" / "Pulumi.dev.yaml"
    before = path.read_bytes()
    result = rollout(project_dir, *move)
    assert (result.exit_code, result.output) == (2, (
        "refused: qwen-chat is an LLM endpoint (servestack:llmEndpoints.qwen-chat: 2.5-1.5b-instruct, 1 replica(s), "
        f"no rollout); a rollout {LLM_SPELLINGS['rollout']}\n"))
    assert path.read_bytes() == before


def test_an_unknown_endpoint_lists_the_llm_endpoints_too(project_dir):
    result = rollout(project_dir, "advance", "nope")
    assert (result.exit_code, result.output) == (
        2, "refused: stack dev has no endpoint 'nope' (endpoints: chat, iris; LLM endpoints: qwen-chat)\n")
