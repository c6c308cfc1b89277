"""``servestack cost``: the estimated on-demand cost of a stack."""

from __future__ import annotations

from pathlib import Path

import click

from .common import project_option
from .review_input import plan_input, stack_or_path_help


def render_text(cost, llm=(), platform=()) -> str:
    from plandoc.cost import PRICE_SOURCE, money

    width = max([len(line.item) for line in cost.lines] + [10])
    lines = [f"{'item':<{width}}  {'count':>7}  {'$/h each':>9}  {'$/h min':>9}  {'$/h max':>9}"]
    for line in cost.lines:
        count = str(line.count_min) if line.count_min == line.count_max else f"{line.count_min}-{line.count_max}"
        lines.append(f"{line.item:<{width}}  {count:>7}  {line.unit_hourly:>9.4f}  {line.hourly_min:>9.4f}  {line.hourly_max:>9.4f}")
    lines.append(f"{'total':<{width}}  {'':>7}  {'':>9}  {cost.hourly_min:>9.4f}  {cost.hourly_max:>9.4f}")
    lines.append("")
    lines.append(f"Hourly: {money(cost.hourly_min)} at min size, {money(cost.hourly_max)} at max size")
    lines.append(f"Monthly ({cost.hours_per_month} h): {money(cost.monthly_min)} at min size, {money(cost.monthly_max)} at max size")
    lines.append(f"Prices: {cost.region} on-demand of {cost.price_date} ({PRICE_SOURCE}); "
                 "excludes data transfer, EBS, load balancers and logs")
    lines += [f"Unpriced instance types (not counted): {', '.join(cost.unpriced)}"] if cost.unpriced else []
    lines += [f"Note: {n}" for n in cost.notes]
    lines += _llm_text(llm)
    lines += _platform_text(platform)
    return "\n".join(lines) + "\n"


def _platform_text(demands) -> list[str]:
    """A serving stack's endpoints on the platform stack's nodes (that stack pays for them)."""
    if not demands:
        return []
    lines = ["", "On the platform stack's nodes (estimate at max replicas, not added to the total):"]
    for d in demands:
        price = (f"{d.nodes} node(s) x {d.node_hourly:.4f} = {d.hourly:.4f} $/h" if d.node_hourly is not None
                 else f"{d.nodes} node(s), unpriced")
        lines.append(f"  endpoint {d.endpoint}: {d.accelerators} {d.resource} on pool {d.pool} of stack "
                     f"{d.platform_stack or '(unnamed)'}: {price}")
    priced = [d.hourly for d in demands if d.hourly is not None]
    lines.append(f"  subtotal on the platform stack's nodes: {sum(priced):.4f} $/h")
    return lines


def _llm_text(llm) -> list[str]:
    """LLM endpoints' share of their pools' nodes (already counted in the pools' lines above)."""
    costs, notes = llm
    if not costs and not notes:
        return []
    lines = ["", "LLM endpoints (their share of the node pools above, not added to the total):"]
    lines += [f"  {c.item}: {c.nodes:g} node(s) x {c.node_hourly:.4f} = {c.hourly:.4f} $/h" for c in costs]
    return lines + [f"  Note: {n}" for n in notes]


def _cold_start_text(starts) -> str:
    """What a cold start costs in time (the price of keeping nodes warm is the table above)."""
    if not starts:
        return ""
    lines = ["", "Cold starts (time to the first answer on a new node; README \"Cold-start estimate\"):"]
    for c in starts:
        lines.append(f"  {c.text()} ({c.reason})")
    return "\n".join(lines) + "\n"


@click.command("cost")
@click.argument("path", required=False, type=click.Path(exists=True, path_type=Path))
@click.option("--stack", "-s", default=None, help=stack_or_path_help)
@project_option
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
def cost_command(path: Path | None, stack: str | None, project_dir: Path, output_format: str) -> None:
    """Estimated hourly and monthly cost of PATH (plan directory or `pulumi preview --json`) or of
    the offline plan of --stack: EKS control plane, node pools at min and max size, NAT gateways;
    and each LLM endpoint's GPUs (per pod x pods) priced through its pool's node type."""
    import json

    from plandoc.coldstart import cold_starts
    from plandoc.cost import estimate, node_price, platform_demand
    from plandoc.llm import llm_costs

    plan = plan_input(path, stack, project_dir)
    cost = estimate(plan.resource_list(), plan.config)
    llm = llm_costs(plan.resource_list(), node_price)
    platform = platform_demand(plan.resource_list(), plan.config)
    starts = cold_starts(plan.resource_list(), plan.config)
    if output_format == "json":
        extra = {"llmEndpoints": [c.to_json() for c in llm[0]], "llmNotes": llm[1]} if llm[0] or llm[1] else {}
        if platform:
            extra["platformDemand"] = [d.to_json() for d in platform]
        if starts:
            extra["coldStarts"] = [c.to_json() for c in starts]
        click.echo(json.dumps({"stack": plan.stack, **cost.to_json(), **extra}, indent=2, sort_keys=True))
    else:
        click.echo(render_text(cost, llm, platform) + _cold_start_text(starts), nl=False)
