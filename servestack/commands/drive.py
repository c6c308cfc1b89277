"""``servestack rollout drive``: the rollout driver's command (``.github/workflows/rollout-driver.yml``).

``--list`` prints the endpoints with a rollout in progress and an analysis declared, as the JSON the
workflow's matrix reads (``targets=[...]``); otherwise each (or the one named) is analyzed and its move
proposed as a pull request (:mod:`servestack.driver`). Exit 0 when every endpoint was handled
(whatever its verdict), 2 on bad input or an unreachable Prometheus, 1 when git or GitHub failed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from .analyze import parse_at, prometheus_of, source_options
from .common import EXIT_FAILED, EXIT_INVALID, fail, project_option


@click.command("drive")
@click.option("--list", "list_only", is_flag=True, help="Print the endpoints to drive as JSON and stop.")
@click.option("--stack", "-s", default=None, help="Only this stack.")
@click.option("--endpoint", default=None, help="Only this endpoint (with --stack).")
@source_options
@click.option("--repo", "repository", default=lambda: os.environ.get("GITHUB_REPOSITORY"),
              help="owner/name on GitHub. Default: $GITHUB_REPOSITORY.")
@click.option("--github-api", default=lambda: os.environ.get("GITHUB_API_URL", "https://api.github.com"),
              help="GitHub's REST API. Default: $GITHUB_API_URL or https://api.github.com.")
@click.option("--base", default=None, help="The branch the pull requests target. Default: the checked-out branch.")
@click.option("--remote", default="origin", show_default=True, help="The git remote the branches are pushed to.")
@project_option
def drive_command(list_only: bool, stack: str | None, endpoint: str | None, prometheus_url, amp_workspace, amp_region,
                  amp_url, at_text, repository: str | None, github_api: str, base: str | None, remote: str,
                  project_dir: Path) -> None:
    """Analyze every rollout in progress and propose its next move (advance, promote or roll back) as a
    pull request; an inconclusive analysis proposes nothing and the summary says why."""
    from components.config import ConfigError

    from .. import driver
    from ..stackio import stackfile
    from ..analysis.prometheus import PrometheusError
    from ..plan import ProjectError, load_project
    from .rollout import MoveRefused

    try:
        project = load_project(project_dir)
        found = driver.targets(project)
    except (ProjectError, stackfile.StackFileError) as error:
        raise fail(f"error: {error}", EXIT_INVALID) from None
    except ConfigError as error:
        raise fail(str(error), EXIT_INVALID) from None
    if endpoint is not None and stack is None:
        raise fail("error: --endpoint needs --stack", EXIT_INVALID)
    found = [t for t in found if (stack is None or t["stack"] == stack) and (endpoint is None or t["endpoint"] == endpoint)]
    if list_only:
        click.echo(f"targets={json.dumps(found, separators=(',', ':'))}")
        return
    if stack is not None and endpoint is not None and not found:
        raise fail(f"error: {stack}/{endpoint} has no rollout in progress with an analysis", EXIT_INVALID)
    token = os.environ.get("GITHUB_TOKEN")
    if not repository or not token:
        raise fail("error: the driver needs --repo (or GITHUB_REPOSITORY) and GITHUB_TOKEN to open pull requests",
                   EXIT_INVALID)
    at = parse_at(at_text)
    outcomes = []
    try:
        base = base or driver._git(project.root, "rev-parse", "--abbrev-ref", "HEAD")
        github = driver.GitHub(github_api, repository, token)
        for item in found:
            prometheus = prometheus_of(_typed(project, item["stack"]), prometheus_url, amp_workspace, amp_region, amp_url)
            outcomes.append(driver.drive_one(project, item["stack"], item["endpoint"], prometheus.query, at, github,
                                             base=base, remote=remote))
    except PrometheusError as error:
        raise fail(f"error: {error}", EXIT_INVALID) from None
    except (driver.DriverError, stackfile.StackFileError, MoveRefused) as error:
        _write_summary(driver.summary(outcomes))
        raise fail(f"error: {error}", EXIT_FAILED) from None
    text = driver.summary(outcomes)
    click.echo(text.rstrip("\n"))
    _write_summary(text)


def _typed(project, stack: str):
    from ..stackio import stackfile
    from .analyze import typed_config

    path = project.stack_path(stack)
    document = stackfile.parse(stackfile.read(path, path.name), path.name)
    return typed_config(project, stack, document["config"])


def _write_summary(text: str) -> None:
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(text)
