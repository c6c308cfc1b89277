"""The offline plan: run the program under mocks and write ``preview.json`` and ``manifests/``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .document import kubernetes_objects, preview_document, write_plan
from .engine import PlanError, run_program
from .project import Project, ProjectError, StackFile, load_project
from .references import stack_in_project

__all__ = ["Plan", "PlanError", "ProjectError", "build_plan", "load_project", "plan_stack"]


@dataclass
class Plan:
    stack: str
    document: dict[str, Any]
    out: Path | None = None

    @property
    def steps(self) -> list[dict[str, Any]]:
        return self.document["steps"]

    def manifests(self) -> list[tuple[str, dict[str, Any]]]:
        return kubernetes_objects(self.document)


def build_plan(project: Project, stack: str, _referencing: tuple[str, ...] = (), *,
               stack_file: StackFile | None = None, program: Callable[[], Any] | None = None) -> Plan:
    """Plan one stack in memory. Stacks it references (StackReference) are planned first.

    ``stack_file`` replaces the stack's file on disk, ``program`` the project's ``__main__.py``
    (tests use both to plan a component on its own).
    """
    stack_file = stack_file or project.read_stack(stack)

    def stack_outputs(reference: str) -> dict[str, Any]:
        # "org/project/stack", "org/stack" or "stack": answered by planning that stack of this project
        # (another project's stack is refused: servestack/plan/references.py).
        target = stack_in_project(reference, project.name, stack)
        if target in (*_referencing, stack):
            raise PlanError(f"stack references form a cycle: {' -> '.join((*_referencing, stack, target))}")
        if target not in project.stacks():
            raise PlanError(
                f"stack {stack!r} references {reference!r}, which has no stack file in {project.stack_dir.name}/ "
                f"(stacks here: {', '.join(project.stacks())})"
            )
        return build_plan(project, target, (*_referencing, stack)).document["outputs"]

    run = run_program(project, stack_file, stack_outputs, program)
    return Plan(stack, preview_document(run, stack_file.decoded))


def plan_stack(project: Project, stack: str, out: Path | None = None) -> Plan:
    """Plan one stack and write its plan directory (default ``build/plan/<stack>``)."""
    plan = build_plan(project, stack)
    plan.out = out or project.root / "build" / "plan" / stack
    try:
        write_plan(plan.document, plan.out)
    except OSError as error:  # --out under a file, in /proc, read-only, full: say so, exit 2
        where = error.filename or plan.out
        raise ProjectError(f"cannot write the plan to {plan.out}: {where}: {error.strerror or error}") from None
    return plan
