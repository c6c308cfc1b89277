"""``servestack plan``: the offline plan of one stack."""

from __future__ import annotations

from pathlib import Path

import click

from .common import plan_or_exit, project_option, stack_option


@click.command("plan")
@stack_option
@project_option
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Plan directory. Default: build/plan/<stack>.")
def plan_command(stack: str, project_dir: Path, out: Path | None) -> None:
    """Plan STACK offline: run the program under Pulumi's mock runtime and write
    preview.json (the shape of `pulumi preview --json`) and manifests/."""
    from rich.console import Console

    from plandoc.capacity import capacity_model
    from plandoc.coldstart import cold_start_lines
    from plandoc.cost import estimate
    from plandoc.document import plan_from_document

    from ..summary import component_tree, pool_lines, rollout_lines

    project, plan = plan_or_exit(project_dir, stack, out)
    console = Console(highlight=False)
    console.print(component_tree(plan.document))
    where = plan.out.relative_to(project.root) if plan.out.is_relative_to(project.root) else plan.out
    console.print(f"\nPlan of stack [bold]{stack}[/bold]: {len(plan.steps)} steps, "
                  f"{len(plan.manifests())} Kubernetes manifests, written to {where}/")
    reviewed = plan_from_document(plan.document)
    model = capacity_model(reviewed.resource_list(), reviewed.config)
    node_pools = pool_lines(reviewed.resource_list(), reviewed.config, model)
    console.print("Node pools:" if node_pools else "Node pools: none in the plan", soft_wrap=True)
    for line in node_pools:
        console.print(f"  {line}", soft_wrap=True, markup=False)
    starts = cold_start_lines(reviewed.resource_list(), reviewed.config)
    console.print("Cold starts (estimate, README \"Cold-start estimate\"):" if starts else "Cold starts: none (every endpoint "
                  "starts on warm nodes)", soft_wrap=True)
    for line in starts:
        console.print(f"  {line}", soft_wrap=True, markup=False)
    console.print(f"Estimated cost: {estimate(reviewed.resource_list(), reviewed.config, model).summary()}", soft_wrap=True)
    rollouts = rollout_lines(reviewed.resource_list())
    console.print("Rollouts (traffic as the platform routes it):" if rollouts else "Rollouts: none in progress", soft_wrap=True)
    for line in rollouts:
        console.print(f"  {line}", soft_wrap=True, markup=False)
