"""The ``servestack`` command line. Subcommands live in :mod:`servestack.commands`."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

import click

from . import __version__
from .commands.check import check_command
from .commands.cost import cost_command
from .commands.deploy_path import deploy_path_command
from .commands.dependents import dependents_command
from .commands.diff import diff_command
from .commands.init import init_command
from .commands.plan import plan_command
from .commands.preflight import preflight_command
from .commands.prices import prices_command
from .commands.drive import drive_command
from .commands.rollout import rollout_command
from .commands.schema import schema_command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="servestack")
def cli() -> None:
    """servestack: a model-serving environment on EKS as code.

    Exit codes: 0 success, 1 a check or plan failed, 2 invalid input (config, arguments).
    """


cli.add_command(init_command)
cli.add_command(plan_command)
cli.add_command(preflight_command)
cli.add_command(check_command)
cli.add_command(diff_command)
cli.add_command(cost_command)
cli.add_command(deploy_path_command)
cli.add_command(rollout_command)
rollout_command.add_command(drive_command)  # the rollout driver (servestack.driver)
cli.add_command(dependents_command)
cli.add_command(prices_command)
cli.add_command(schema_command)


@contextmanager
def short_lived_process() -> Iterator[None]:
    """A servestack command is a process that exits when it is done: the cyclic garbage collector
    stays off throughout, and what is alive at the end is frozen, so that the collection Python
    runs at exit skips it.

    Nearly everything a plan creates (hundreds of thousands of outputs, futures, dicts) lives until
    the command ends, and collecting would only traverse it again: once right after the program
    (over 2 s at a thousand endpoints) and once more at exit. The plan engine also turns the
    collector off for the program itself (servestack.plan.speedups), for library use.
    """
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()


def main() -> None:
    with short_lived_process():
        cli()
