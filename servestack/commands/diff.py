"""``servestack diff``: what a change does to a stack, for review."""

from __future__ import annotations

from pathlib import Path

import click

from .common import EXIT_FAILED, EXIT_INVALID, EXIT_OK, fail


@click.command("diff")
@click.argument("base", type=click.Path(exists=True, path_type=Path))
@click.argument("head", required=False, type=click.Path(exists=True, path_type=Path))
@click.option("--format", "output_format", type=click.Choice(["markdown", "json"]), default="markdown", show_default=True)
def diff_command(base: Path, head: Path | None, output_format: str) -> None:
    """Compare two plans (plan directories or `pulumi preview --json` files): resources created,
    deleted and updated with their changed fields, endpoint rollouts, cost delta, unsafe
    transitions, and the Python and Pulumi SDK versions when the two plans were made with different
    ones. With only BASE, a real preview is compared with the deployed state it carries.

    Exit 0 when the change has no unsafe transition, 1 when it has one or more (a rollout that skips
    a stage, is promoted early, is rewritten mid-way or starts at 100%; an endpoint created
    mid-rollout; in staging and prod an endpoint's model, image or runtime changed outside a rollout;
    an endpoint's runtime changed by another runtime; a pool, CPU included, left below its demand; a
    protected resource deleted; the tier changed; the report is printed either way), 2 when an input
    is not a plan."""
    from plandoc.document import PlanInputError, load_plan

    from ..review.diff import diff_plans, preview_as_diff, render_json, render_markdown

    try:
        if head is None:
            plan = load_plan(base)
            if not plan.previous:
                raise fail(f"error: {base} carries no oldState (it is not a preview of a deployed stack); "
                           "give BASE and HEAD", EXIT_INVALID)
            before, after = preview_as_diff(plan)
        else:
            before, after = load_plan(base), load_plan(head)
    except PlanInputError as error:
        raise fail(f"error: {error}", EXIT_INVALID) from None
    result = diff_plans(before, after)
    from ..review.coldstart import cold_start_markdown

    text = render_json(result) if output_format == "json" else render_markdown(result) + cold_start_markdown(before, after)
    click.echo(text, nl=False)
    raise click.exceptions.Exit(EXIT_FAILED if result.flags else EXIT_OK)
