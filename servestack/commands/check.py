"""``servestack check``: the policy pack's rules over a plan, offline."""

from __future__ import annotations

from pathlib import Path

import click

from .common import EXIT_FAILED, EXIT_INVALID, EXIT_OK, fail, project_option
from .review_input import plan_input, stack_or_path_help


def default_policy_config(project_dir: Path, stack: str) -> Path | None:
    """``policies/config/<stack>.json`` of the project, the file the PR workflow passes for that stack."""
    candidate = project_dir / "policies" / "config" / f"{stack}.json"
    return candidate if candidate.is_file() else None


@click.command("check")
@click.argument("path", required=False, type=click.Path(exists=True, path_type=Path))
@click.option("--stack", "-s", default=None, help=stack_or_path_help)
@project_option
@click.option("--format", "output_format", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True)
@click.option("--policy-config", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Policy settings: the same JSON file as `pulumi preview --policy-pack-config`. With --stack S "
                   "it defaults to policies/config/S.json of the project when that file exists, as the PR workflow does.")
@click.option("--with-serving-plan", "serving_paths", multiple=True,
              type=click.Path(exists=True, path_type=Path),
              help="A plan (directory or preview JSON) of a serving stack on this platform stack (cluster.existing); "
                   "its endpoints' accelerators at max replicas count against the platform's pools. Repeatable.")
def check_command(path: Path | None, stack: str | None, project_dir: Path, output_format: str, policy_config: Path | None,
                  serving_paths: tuple[Path, ...]) -> None:
    """Run the policy pack's rules over PATH (a plan directory or the JSON of `pulumi preview --json`)
    or over the offline plan of --stack. Exit 1 when a mandatory rule fails, 0 otherwise, 2 on bad input."""
    from plandoc.document import PlanInputError, load_plan
    from policies.rules.model import PolicyConfigError

    from ..review.check import (load_policy_config, render_json, render_markdown, render_text, run_check,
                                serving_plan_problem)

    source = "--policy-config"
    if policy_config is None and path is None and stack is not None:
        policy_config = default_policy_config(project_dir, stack)
        if policy_config is not None:
            source = str(policy_config)
            click.echo(f"policy config: {policy_config} (the stack's own; --policy-config overrides it)", err=True)
    try:
        settings = load_policy_config(policy_config)
    except PolicyConfigError as error:
        raise fail(f"error: {source}: {error}", EXIT_INVALID) from None
    serving_plans = []
    for serving_path in serving_paths:
        try:
            serving_plans.append(load_plan(serving_path))
        except PlanInputError as error:
            raise fail(f"error: --with-serving-plan: {error}", EXIT_INVALID) from None
    plan = plan_input(path, stack, project_dir)
    for serving in serving_plans:
        problem = serving_plan_problem(plan, serving)
        if problem:
            raise fail(f"error: --with-serving-plan {problem}", EXIT_INVALID)
    report = run_check(plan, settings, serving_plans)
    render = {"text": render_text, "json": render_json, "markdown": render_markdown}[output_format]
    click.echo(render(report), nl=False)
    raise click.exceptions.Exit(EXIT_OK if report.passed else EXIT_FAILED)
