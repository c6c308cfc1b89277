"""The pull-request workflow: triggers, no cloud credentials, and only commands that exist."""

from __future__ import annotations

import re

import yaml

from harness import REPO
from servestack.cli import cli

WORKFLOW = REPO / ".github" / "workflows" / "pr-review.yml"


def test_runs_on_pull_requests_with_only_the_github_token():
    text = WORKFLOW.read_text()
    workflow = yaml.safe_load(text)
    assert list(workflow[True]) == ["pull_request"]  # YAML reads the key `on` as True
    assert workflow["permissions"] == {"contents": "read", "pull-requests": "write"}
    assert "secrets." not in text and "aws-actions" not in text and "AWS_" not in text


def test_plans_base_and_head_checks_and_posts_the_diff():
    steps = yaml.safe_load(WORKFLOW.read_text())["jobs"]["review"]["steps"]
    script = "\n".join(s.get("run", "") for s in steps)
    assert 'git worktree add --detach ../base "$BASE_SHA"' in script
    for command in ("servestack plan", "servestack check", "servestack diff"):
        assert command in script
    uses = [s["uses"] for s in steps if "uses" in s]
    assert uses == ["actions/checkout@v4", "actions/setup-python@v5", "actions/github-script@v7"]
    # Every servestack subcommand the workflow calls is registered.
    called = set(re.findall(r"\.venv/bin/servestack (\w+) ", script))
    assert called <= set(cli.commands), called - set(cli.commands)


def test_readme_documents_the_flow():
    readme = (REPO / "README.md").read_text()
    assert "## Reviewing changes in pull requests" in readme
    assert "pulumi preview --stack prod --policy-pack policies --policy-pack-config" in readme
