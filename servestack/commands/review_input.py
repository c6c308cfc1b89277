"""What check, diff and cost share: a plan from a PATH, or planned from --stack."""

from __future__ import annotations

from pathlib import Path

from .common import EXIT_INVALID, fail, plan_or_exit


def plan_input(path: Path | None, stack: str | None, project_dir: Path):
    """PATH (plan directory or preview JSON) if given, else the offline plan of ``stack``."""
    from plandoc.document import PlanInputError, load_plan, plan_from_document

    if path is not None and stack is not None:
        raise fail("error: give either PATH or --stack, not both", EXIT_INVALID)
    if path is not None:
        try:
            return load_plan(path)
        except PlanInputError as error:
            raise fail(f"error: {error}", EXIT_INVALID) from None
    _, plan = plan_or_exit(project_dir, stack or "dev")
    return plan_from_document(plan.document, str(plan.out / "preview.json"))


stack_or_path_help = "Stack to plan first (stacks/Pulumi.<stack>.yaml); default dev when PATH is not given."
