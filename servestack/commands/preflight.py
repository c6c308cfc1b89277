"""``servestack preflight``: check a stack's plan against AWS before ``pulumi up``."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import click

from .common import EXIT_FAILED, EXIT_INVALID, EXIT_OK, fail, plan_or_exit, project_option

_STYLE = {"pass": "green", "fail": "bold red", "warn": "yellow", "skip": "dim"}


def _plan(plan_path: Path | None, stack: str | None, project_dir: Path):
    """The plan to check: ``--plan``'s (named after the stack its URNs carry), else STACK's offline plan."""
    from plandoc.document import PlanInputError, load_plan, plan_from_document

    if plan_path is None:
        return plan_from_document(plan_or_exit(project_dir, stack or "dev", write=False)[1].document)
    try:
        plan = load_plan(plan_path)
    except PlanInputError as error:
        raise fail(f"error: {error}", EXIT_INVALID) from None
    if stack is not None and plan.stack and plan.stack != stack:
        raise fail(f"error: {plan.source} is a plan of stack {plan.stack}, not of --stack {stack}; "
                   "drop --stack or pass a plan of that stack", EXIT_INVALID)
    return plan if plan.stack else replace(plan, stack=stack or "?")  # a plan without resources names no stack


def _print_text(report) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console(highlight=False)
    console.print(f"Preflight of stack [bold]{report.stack}[/bold] against AWS account {report.account} in {report.region}\n")
    # A grid, not a boxed table: findings are long and must wrap whole, in any terminal width.
    grid = Table.grid(padding=(0, 2))
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    for result in report.results:
        status = result.status.value
        finding = f"[bold]{escape(result.subject)}[/bold] [dim]{result.check}[/dim]\n{escape(result.message)}"
        if result.fix:
            finding += f"\n[bold]fix:[/bold] {escape(result.fix)}"
        grid.add_row(f"[{_STYLE[status]}]{status.upper()}[/]", finding)
    console.print(grid)
    counts = report.counts()
    verdict = "[green]preflight passed[/green]" if report.ok else "[bold red]preflight failed[/bold red]"
    console.print(f"\n{verdict}: {counts['pass']} passed, {counts['fail']} failed, {counts['warn']} warnings, "
                  f"{counts['skip']} skipped (a skipped check is not a pass: the API could not tell)")


@click.command("preflight")
@click.option("--stack", "-s", default=None,
              help="Stack name (stacks/Pulumi.<stack>.yaml); default dev. With --plan, the plan's own stack.")
@project_option
@click.option("--plan", "plan_path", type=click.Path(path_type=Path), default=None,
              help="Check this preview.json (or plan directory; a real `pulumi preview --json` works too) instead of planning STACK.")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
def preflight_command(stack: str | None, project_dir: Path, plan_path: Path | None, output_format: str) -> None:
    """Check STACK against AWS before `pulumi up`: model artifacts on S3, instance type
    offerings per region and zone, EKS and add-on versions, on-demand vCPU quotas.

    Uses the standard AWS credential and endpoint resolution (AWS_PROFILE, AWS_REGION,
    AWS_ENDPOINT_URL). Exit 0 when every check passes or is skipped, 1 on any failure,
    2 when AWS cannot be reached or no credentials are found.
    """
    from ..preflight import AwsUnavailable, run_preflight

    plan = _plan(plan_path, stack, project_dir)
    try:
        report = run_preflight(plan)
    except AwsUnavailable as error:
        if output_format == "json":
            click.echo(json.dumps({"stack": plan.stack, "ok": False, "error": str(error)}, indent=2))
        raise fail(f"error: preflight needs AWS: {error}", EXIT_INVALID) from None
    if output_format == "json":
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        _print_text(report)
    raise click.exceptions.Exit(EXIT_OK if report.ok else EXIT_FAILED)
