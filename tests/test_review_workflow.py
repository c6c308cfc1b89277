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
    uses = [s["uses"].split("@")[0] for s in steps if "uses" in s]  # pins: tests/test_workflow_hardening.py
    assert uses == ["actions/checkout", "actions/setup-python", "actions/cache", "actions/github-script"]
    # Every servestack subcommand the workflow calls is registered.
    called = set(re.findall(r"\.venv/bin/servestack (\w+) ", script))
    assert called <= set(cli.commands), called - set(cli.commands)


def test_readme_documents_the_flow():
    readme = (REPO / "README.md").read_text()
    assert "## Reviewing changes in pull requests" in readme
    assert "pulumi preview --stack prod --policy-pack policies --policy-pack-config" in readme


def test_installs_from_the_lock_with_uv_cached_by_the_locks_hash():
    steps = yaml.safe_load(WORKFLOW.read_text())["jobs"]["review"]["steps"]
    by_name = {s.get("name", s.get("uses", "").split("@")[0]): s for s in steps}
    assert "cache" not in by_name["actions/setup-python"]["with"]  # pip is not the installer any more
    cache = by_name["actions/cache"]["with"]
    assert cache == {"path": "~/.cache/uv", "key": "uv-${{ runner.os }}-py3.11-${{ hashFiles('uv.lock') }}",
                     "restore-keys": "uv-${{ runner.os }}-py3.11-"}
    # make installs the pinned uv and syncs .venv to uv.lock (tests/test_lock.py checks those commands).
    assert by_name["Install servestack (head) from its lock"]["run"] == "make .venv/.installed"
    base = by_name["Install servestack (base) from its lock"]["run"]
    assert base.splitlines()[0] == "if cmp -s uv.lock ../base/uv.lock; then"
    assert 'echo "BASE_VENV=$GITHUB_WORKSPACE/.venv" >> "$GITHUB_ENV"' in base  # equal locks: one environment
    assert "make -C ../base .venv/.installed" in base  # another lock: its own
    plan = by_name["Plan, check and diff each stack"]["run"]
    # The base runs its own code even in the head's environment, whose servestack is the head's editable install.
    assert ('(cd ../base && PYTHONPATH="$PWD" "$BASE_VENV/bin/servestack" plan --stack "$stack" '
            '--out "$GITHUB_WORKSPACE/$base_plan")') in plan


def test_a_change_to_the_lock_reviews_every_stack():
    steps = yaml.safe_load(WORKFLOW.read_text())["jobs"]["review"]["steps"]
    script = next(s["run"] for s in steps if s.get("id") == "stacks")
    assert r"grep -qE '^(__main__\.py|Pulumi\.yaml|pyproject\.toml|uv\.lock|components/|servestack/|policies/)'" in script
