"""``servestack dependents``: the serving stacks a change to other stacks can break.

A serving stack (``servestack:cluster.existing``) is planned against the outputs of the platform
stack it names: renaming or shrinking a pool there breaks it without a line of its own changing.
The PR workflow reviews the stacks a change touches plus these dependents.
"""

from __future__ import annotations

from pathlib import Path

import click

from .common import EXIT_INVALID, fail, project_option


def referenced_stack(reference: object, project: str) -> str | None:
    """The stack of this project that a ``cluster.existing`` value names (``stack``, ``org/stack``,
    ``org/project/stack``), or None when it names none (another project, or not a name)."""
    from ..plan.references import other_project

    if not isinstance(reference, str) or not reference or other_project(reference, project):
        return None
    return reference.rsplit("/", 1)[-1]


def dependents(project, changed: set[str]) -> list[str]:
    """Stacks whose ``cluster.existing`` names one of ``changed`` (or a dependent of one), not in ``changed``."""
    from plandoc.values import decode_json

    references = {}
    for stack in project.stacks():
        cluster = decode_json(project.read_stack(stack).decoded.get("servestack:cluster"))
        target = referenced_stack(cluster.get("existing") if isinstance(cluster, dict) else None, project.name)
        if target:
            references[stack] = target
    found: set[str] = set()
    frontier = set(changed)
    while frontier:
        frontier = {s for s, target in references.items() if target in frontier and s not in changed | found}
        found |= frontier
    return sorted(found)


@click.command("dependents")
@click.argument("stacks", nargs=-1)
@project_option
def dependents_command(stacks: tuple[str, ...], project_dir: Path) -> None:
    """Print, one a line, the stacks of the project whose `servestack:cluster.existing` names one of
    STACKS, directly or through another dependent (STACKS themselves not repeated). Exit 2 when a
    stack of STACKS has no stack file or a stack file cannot be read."""
    from ..plan import ProjectError, load_project

    try:
        project = load_project(project_dir)
        known = project.stacks()
        unknown = [stack for stack in stacks if stack not in known]
        if unknown:
            raise fail(f"error: no stack file {', '.join(f'stacks/Pulumi.{s}.yaml' for s in unknown)} "
                       f"(stacks here: {', '.join(known)})", EXIT_INVALID)
        found = dependents(project, set(stacks))
    except ProjectError as error:
        raise fail(f"error: {error}", EXIT_INVALID) from None
    for stack in found:
        click.echo(stack)
