"""What every subcommand shares: options, exit codes and error reporting."""

from __future__ import annotations

from pathlib import Path

import click

#: Exit codes of every servestack command.
EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2

project_option = click.option(
    "--project", "project_dir", type=click.Path(file_okay=False, path_type=Path), default=".",
    show_default=True, help="Directory holding Pulumi.yaml.",
)
stack_option = click.option("--stack", "-s", default="dev", show_default=True, help="Stack name (stacks/Pulumi.<stack>.yaml).")


def fail(message: str, code: int) -> "click.exceptions.Exit":
    click.echo(message, err=True)
    return click.exceptions.Exit(code)


def plan_or_exit(project_dir: Path, stack: str, out: Path | None = None, write: bool = True):
    """Plan a stack; print config problems and exit 2, or plan errors and exit 1. Never a traceback."""
    from components.config import ConfigError

    from ..plan import PlanError, ProjectError, build_plan, load_project, plan_stack

    try:
        project = load_project(project_dir)
        return project, (plan_stack(project, stack, out) if write else build_plan(project, stack))
    except ConfigError as error:
        raise fail(str(error), EXIT_INVALID) from None
    except ProjectError as error:
        raise fail(f"error: {error}", EXIT_INVALID) from None
    except PlanError as error:
        raise fail(f"error: planning stack {stack!r} failed: {error}", EXIT_FAILED) from None
