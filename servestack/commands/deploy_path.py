"""``servestack deploy-path``: the simulated critical path of a ``pulumi up`` from empty."""

from __future__ import annotations

from pathlib import Path

import click

from .common import EXIT_INVALID, fail, plan_or_exit, project_option
from .review_input import stack_or_path_help


def render_text(document, source: str) -> str:
    from collections import Counter

    from components.core.coldstart import duration
    from components.core.create_times import DEFAULT_SECONDS, create_seconds
    from plandoc.deploy_path import deploy_path

    path = deploy_path(document)
    lines = [f"Critical path of {source}: {duration(path.total_seconds)} ({path.total_seconds} s) with the create "
             "times below (components/core/create_times.py; typical, not measured)", ""]
    lines += [f"  {s.finish:>5}s  +{s.seconds:>3}s  {s.type}  {s.name}" for s in path.steps if s.seconds]
    counts = Counter((s["newState"]["type"], create_seconds(s["newState"]["type"], s["urn"].rsplit("::", 1)[1]))
                     for s in document.get("steps") or [] if s.get("newState", {}).get("custom"))
    lines += ["", "Create times assumed (type: seconds x resources):"]
    lines += [f"  {t}: {sec}s x {n}" for (t, sec), n in sorted(counts.items()) if sec != DEFAULT_SECONDS]
    others = sum(n for (_, sec), n in counts.items() if sec == DEFAULT_SECONDS)
    lines += [f"  every other resource: {DEFAULT_SECONDS}s x {others}"]
    return "\n".join(lines) + "\n"


@click.command("deploy-path")
@click.argument("path", required=False, type=click.Path(exists=True, path_type=Path))
@click.option("--stack", "-s", default=None, help=stack_or_path_help)
@project_option
def deploy_path_command(path: Path | None, stack: str | None, project_dir: Path) -> None:
    """The simulated critical path of PATH (plan directory or `pulumi preview --json`) or of the offline plan
    of --stack: the longest chain of typical create times through the dependency graph, and the times assumed.
    Exit 0 when printed, 2 when the input is not a plan."""
    from plandoc.document import PlanInputError, read_document

    if path is not None and stack is not None:
        raise fail("error: give either PATH or --stack, not both", EXIT_INVALID)
    if path is not None:
        try:
            document, source = read_document(path)
        except PlanInputError as error:
            raise fail(f"error: {error}", EXIT_INVALID) from None
    else:
        _, plan = plan_or_exit(project_dir, stack or "dev")
        document, source = plan.document, str(plan.out / "preview.json")
    click.echo(render_text(document, source), nl=False)
