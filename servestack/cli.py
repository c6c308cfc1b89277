"""The ``servestack`` command line. Subcommands live in :mod:`servestack.commands`."""

from __future__ import annotations

import click

from . import __version__
from .commands.check import check_command
from .commands.cost import cost_command
from .commands.diff import diff_command
from .commands.plan import plan_command
from .commands.preflight import preflight_command
from .commands.rollout import rollout_command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="servestack")
def cli() -> None:
    """servestack: a model-serving environment on EKS as code.

    Exit codes: 0 success, 1 a check or plan failed, 2 invalid input (config, arguments).
    """


cli.add_command(plan_command)
cli.add_command(preflight_command)
cli.add_command(check_command)
cli.add_command(diff_command)
cli.add_command(cost_command)
cli.add_command(rollout_command)


def main() -> None:
    cli()
