"""``servestack cost``: the estimated cost of a stack, from the capacity model (plandoc.capacity)."""

from __future__ import annotations

from pathlib import Path

import click

from .common import project_option
from .review_input import plan_input, stack_or_path_help


def _gib(memory: int) -> str:
    return f"{memory / 2**30:g}Gi"


def workload_lines(model) -> list[str]:
    """Per pool: the nodes at min and at max, and every workload's pods and requests (what decides them)."""
    lines = []
    for pool in model.pools:
        if not pool.workloads and not pool.floor.count:
            continue
        short = "".join(f"; at max {n} pod(s) of {owner} fit on no node" for owner, n in pool.ceiling.short)
        daemons = f", DaemonSets {', '.join(pool.daemons)} on every node" if pool.daemons else ""
        lines.append(f"  pool {pool.name}{pool.pool.owner_text}: at min {pool.floor.text()}, at max {pool.ceiling.text()}"
                     f"{daemons}{short}")
        for w in pool.workloads:
            pods = str(w.pods_min) if w.pods_min == w.pods_max else f"{w.pods_min}-{w.pods_max}"
            accel = f", {w.pod.accelerators} {w.pod.resource}" if w.pod.accelerators else ""
            lines.append(f"    {w.owner}{' (' + w.stack + ')' if w.stack else ''}: {pods} pod(s) x "
                         f"{w.pod.cpu_m}m cpu, {_gib(w.pod.memory)}{accel}")
    return lines


def render_text(cost, model) -> str:
    from plandoc.cost import money

    if not cost.known:
        return f"{cost.prices_text}\n" + "\n".join(["", "Nodes the demand needs:", *workload_lines(model)]) + "\n"
    width = max([len(line.item) for line in cost.lines] + [10])
    lines = [f"{'item':<{width}}  {'count':>7}  {'$/h each':>9}  {'$/h min':>9}  {'$/h max':>9}"]
    for line in cost.lines:
        count = str(line.count_min) if line.count_min == line.count_max else f"{line.count_min}-{line.count_max}"
        lines.append(f"{line.item:<{width}}  {count:>7}  {line.unit_hourly:>9.4f}  {line.hourly_min:>9.4f}  {line.hourly_max:>9.4f}")
    lines.append(f"{'total':<{width}}  {'':>7}  {'':>9}  {cost.hourly_min:>9.4f}  {cost.hourly_max:>9.4f}")
    lines.append("")
    lines.append(f"Hourly: {money(cost.hourly_min)} at min replicas, {money(cost.hourly_max)} at max replicas")
    lines.append(f"Monthly ({cost.hours_per_month} h): {money(cost.monthly_min)} at min replicas, "
                 f"{money(cost.monthly_max)} at max replicas")
    bound = cost.hourly_bound
    if cost.bound_lines:
        lines.append(f"Bound (every pool at its maxSize or NodePool limits): "
                     + (f"{money(bound)}/h" if bound is not None else "none (a pool is unbounded or unpriced)"))
    lines.append(f"Prices: {cost.prices_text} ({cost.price_source}); "
                 "excludes data transfer, EBS, load balancers and logs")
    lines += [f"Unpriced instance types (not counted): {', '.join(cost.unpriced)}"] if cost.unpriced else []
    lines += [f"Note: {n}" for n in cost.notes]
    lines += ["", "On the platform stack's nodes (not added to the total):" if model.referenced
              else "Nodes the demand needs (min and max replicas):", *workload_lines(model)]
    return "\n".join(lines) + "\n"


def model_json(model) -> list[dict]:
    found = []
    for pool in model.pools:
        found.append({
            "pool": pool.name, "platformStack": pool.pool.platform_stack or None, "source": pool.source,
            "provisioner": pool.pool.provisioner, "instanceTypes": list(pool.pool.instance_types),
            "nodesMin": dict(pool.floor.nodes), "nodesMax": dict(pool.ceiling.nodes),
            "hourlyMin": pool.hourly(pool.floor), "hourlyMax": pool.hourly(pool.ceiling),
            "shortAtMin": dict(pool.floor.short), "shortAtMax": dict(pool.ceiling.short),
            "daemonSets": list(pool.daemons),
            "workloads": [{"owner": w.owner, "endpoint": w.endpoint, "stack": w.stack or None, "podsMin": w.pods_min,
                           "podsMax": w.pods_max, "cpuMillicores": w.pod.cpu_m, "memoryBytes": w.pod.memory,
                           "accelerators": w.pod.accelerators, "resource": w.pod.resource or None,
                           "candidate": w.candidate} for w in pool.workloads]})
    return found


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
    the offline plan of --stack: EKS control plane, the nodes every pool needs for its workloads at min and at max
    replicas (LLM endpoints' pods included), NAT gateways; priced with the stack's region's price file."""
    import json

    from plandoc.capacity import capacity_model
    from plandoc.coldstart import cold_starts
    from plandoc.cost import estimate

    plan = plan_input(path, stack, project_dir)
    model = capacity_model(plan.resource_list(), plan.config)
    cost = estimate(plan.resource_list(), plan.config, model)
    starts = cold_starts(plan.resource_list(), plan.config)
    if output_format == "json":
        extra = {"coldStarts": [c.to_json() for c in starts]} if starts else {}
        click.echo(json.dumps({"stack": plan.stack, **cost.to_json(), "pools": model_json(model), **extra}, indent=2,
                              sort_keys=True))
    else:
        click.echo(render_text(cost, model) + _cold_start_text(starts), nl=False)
