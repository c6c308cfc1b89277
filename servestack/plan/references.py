"""What a ``cluster.existing`` stack reference names, for the offline plan.

Pulumi's names: ``stack``, ``org/stack`` (both in the current project) or ``org/project/stack``.
An offline plan answers a reference by planning that stack's file in this project, so it can plan
only this project's stacks: a reference into another project is refused as a config error (exit 2),
never answered with this project's stack of the same name. ``pulumi preview`` with credentials
reads another project's outputs for real.
"""

from __future__ import annotations

from components.config.base import ConfigError, ConfigProblem

FIELD = "servestack:cluster.existing"


def other_project(reference: str, project: str) -> str | None:
    """The project a fully-qualified reference names when it is not ``project``, else None."""
    parts = reference.split("/")
    return parts[1] if len(parts) == 3 and parts[1] != project else None


def stack_in_project(reference: str, project: str, stack: str) -> str:
    """The stack of this project ``reference`` names; ConfigError when it names another project."""
    foreign = other_project(reference, project)
    if foreign is not None:
        raise ConfigError(stack, [ConfigProblem(
            FIELD, f"names a stack of project {foreign!r}, but an offline plan can plan only stacks of this project "
                   f"({project!r}): use org/{project}/<stack>, or review with `pulumi preview` and credentials", reference)])
    return reference.rsplit("/", 1)[-1]


def reference_problem(stack: str, reference: str, message: str) -> ConfigError:
    """A config error of ``stack``'s ``cluster.existing`` (``reference``), saying ``message``."""
    return ConfigError(stack, [ConfigProblem(FIELD, message, reference)])
