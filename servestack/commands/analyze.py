"""``servestack rollout analyze``: evaluate a rollout's declared analysis against Prometheus (or AMP).

Exit codes: 0 pass, 1 fail, 3 inconclusive, 2 bad input or an unreachable Prometheus (one line).
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click

from ..stackio import stackfile
from .common import EXIT_INVALID, fail, project_option

EXIT_INCONCLUSIVE = 3


def source_options(function):
    """``--prometheus URL | --amp WORKSPACE_ID`` (with ``--amp-region``, ``--amp-url``)."""
    for option in reversed([
        click.option("--prometheus", "prometheus_url", default=None, metavar="URL",
                     help="Prometheus HTTP API base URL (http://prometheus.monitoring:9090)."),
        click.option("--amp", "amp_workspace", default=None, metavar="WORKSPACE_ID",
                     help="Amazon Managed Service for Prometheus workspace (requests signed with SigV4)."),
        click.option("--amp-region", default=None, help="The workspace's region. Default: the stack's aws:region."),
        click.option("--amp-url", default=None, metavar="URL",
                     help="The workspace's query URL, when not the public one (a VPC endpoint)."),
        click.option("--at", "at_text", default=None, metavar="RFC3339",
                     help="Evaluate at this instant (2026-12-07T10:00:00Z). Default: now."),
    ]):
        function = option(function)
    return function


def typed_config(project, stack: str, config: dict[str, Any]):
    """Validate a stack's ``config:`` mapping exactly as the program does; ConfigError if invalid."""
    from components.config.stack import NAMESPACE, REGION_KEY, parse_stack_config

    stack_file = project.stack_from_config(stack, stackfile.plain(config))
    relevant = {k: v for k, v in stack_file.decoded.items() if k.startswith(f"{NAMESPACE}:") or k == REGION_KEY}
    return parse_stack_config(stack, relevant, stack_file.secret_keys)


def parse_at(text: str | None) -> datetime:
    if text is None:
        return datetime.now(timezone.utc).replace(microsecond=0)
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise fail(f"error: --at must be an RFC 3339 time such as 2026-12-07T10:00:00Z; got {text!r}", EXIT_INVALID) from None
    if at.tzinfo is None:
        raise fail(f"error: --at needs a time zone (Z or +hh:mm); got {text!r}", EXIT_INVALID)
    return at


def load_target(project_dir: Path, stack: str, endpoint: str):
    """(project, typed config, target) of an endpoint's analysis, or exit 2 with one line."""
    from components.config import ConfigError

    from ..analysis.engine import AnalysisInputError, target_of
    from ..plan import ProjectError, load_project
    try:
        project = load_project(project_dir)
        path = project.stack_path(stack)
        if not path.is_file():
            raise fail(f"error: no stack file {path.relative_to(project.root)} (stacks here: "
                       f"{', '.join(project.stacks()) or 'none'})", EXIT_INVALID)
        shown = path.relative_to(project.root).as_posix()
        document = stackfile.parse(stackfile.read(path, shown), shown)
        typed = typed_config(project, stack, document["config"])
        return project, typed, target_of(typed, stack, endpoint)
    except ProjectError as error:
        raise fail(f"error: {error}", EXIT_INVALID) from None
    except stackfile.StackFileError as error:
        raise fail(f"error: {error}", EXIT_INVALID) from None
    except ConfigError as error:
        raise fail(str(error), EXIT_INVALID) from None
    except AnalysisInputError as error:
        raise fail(f"error: {error}", EXIT_INVALID) from None


def prometheus_of(typed, prometheus_url: str | None, amp_workspace: str | None, amp_region: str | None,
                  amp_url: str | None):
    from ..analysis.prometheus import Prometheus, PrometheusError, amp_query_url

    if (prometheus_url is None) == (amp_workspace is None):
        raise fail("error: give exactly one of --prometheus URL and --amp WORKSPACE_ID", EXIT_INVALID)
    try:
        if prometheus_url is not None:
            return Prometheus(prometheus_url)
        region = amp_region or getattr(typed, "region", None)
        if not region:
            raise fail("error: --amp needs the workspace's region (--amp-region, or aws:region in the stack)", EXIT_INVALID)
        return Prometheus(amp_url or amp_query_url(amp_workspace, region), sign_region=region)
    except PrometheusError as error:
        raise fail(f"error: {error}", EXIT_INVALID) from None


def run_analysis(project_dir: Path, stack: str, endpoint: str, prometheus_url, amp_workspace, amp_region, amp_url,
                 at_text) -> Any:
    """The analysis result of an endpoint, or exit 2 with one line."""
    from ..analysis.engine import analyze
    from ..analysis.prometheus import PrometheusError

    at = parse_at(at_text)
    _, typed, target = load_target(project_dir, stack, endpoint)
    prometheus = prometheus_of(typed, prometheus_url, amp_workspace, amp_region, amp_url)
    try:
        return analyze(target, prometheus.query, at)
    except PrometheusError as error:
        raise fail(f"error: {error}", EXIT_INVALID) from None


@click.command("analyze")
@click.argument("endpoint")
@click.option("--stack", "-s", required=True, help="Stack name (stacks/Pulumi.<stack>.yaml).")
@source_options
@click.option("--format", "output_format", type=click.Choice(["text", "json", "markdown"]), default="text",
              show_default=True)
@project_option
def analyze_command(endpoint: str, stack: str, prometheus_url, amp_workspace, amp_region, amp_url, at_text,
                    output_format: str, project_dir: Path) -> None:
    """Evaluate ENDPOINT's rollout analysis: per check the candidate's and the stable's value, the
    threshold and the verdict, then pass (exit 0), fail (1) or inconclusive (3)."""
    from ..analysis.engine import EXIT_CODES
    from ..analysis.report import FORMATS

    result = run_analysis(project_dir, stack, endpoint, prometheus_url, amp_workspace, amp_region, amp_url, at_text)
    click.echo(FORMATS[output_format](result).rstrip("\n"))
    raise click.exceptions.Exit(EXIT_CODES[result.verdict])
