"""The offline plan: run the program under mocks and write ``preview.json`` and ``manifests/``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .document import kubernetes_objects, preview_document, write_plan
from .engine import PlanError, run_program
from .project import Project, ProjectError, StackFile, load_project
from .references import reference_problem, stack_in_project

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
        # (another project's stack is refused: servestack/plan/references.py). What the reference cannot
        # name is a config problem of this stack (exit 2), said once, whichever stack of a chain it is in.
        target = stack_in_project(reference, project.name, stack)
        if target in (*_referencing, stack):
            chain = " -> ".join((*_referencing, stack, target))
            raise reference_problem(stack, reference, f"forms a cycle of stack references ({chain}); reference the "
                                                      "platform stack that owns the cluster")
        missing = project.missing_stack(target)
        if missing is not None:
            raise reference_problem(stack, reference, f"names stack {target!r}, but {missing}")
        target_file = project.read_stack(target)
        owner = target_file.decoded.get("servestack:cluster")
        owner = owner.get("existing") if isinstance(owner, dict) else None
        if owner is not None:
            raise reference_problem(stack, reference, f"names stack {target!r}, a serving stack whose cluster belongs to "
                                                      f"{owner!r}: reference the platform stack that owns the cluster")
        from components.cluster import EXPORTED_OUTPUTS  # the program's module: loaded when it runs, not before

        outputs = build_plan(project, target, (*_referencing, stack), stack_file=target_file).document["outputs"]
        absent = [name for name in EXPORTED_OUTPUTS if name not in outputs]
        if absent:
            raise reference_problem(stack, reference, f"names stack {target!r}, which exports no {', '.join(absent)}: "
                                                      "reference a servestack platform stack")
        return outputs

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
