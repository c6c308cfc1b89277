"""Cost rules: per-stack caps on accelerators and on the estimated hourly cost."""

from __future__ import annotations

from collections.abc import Iterable

from plandoc.cost import accelerator_count, estimate, money
from plandoc.document import Resource

from .model import Context, Rule


def accelerator_count_cap(resources: list[Resource], ctx: Context) -> Iterable[tuple[str, str]]:
    total, parts = accelerator_count(resources)
    if total is None:
        yield "", (f"the stack's accelerator pools have no ceiling ({'; '.join(parts)}): a Karpenter NodePool without a "
                   f"limit of its accelerator, cpu or memory; allowed: at most {ctx['maxAccelerators']} per stack "
                   "(policy setting maxAccelerators), so set the NodePool's limits")
    elif total > ctx["maxAccelerators"]:
        yield "", (f"the stack's accelerator pools reach {total} accelerators at max size ({'; '.join(parts)}); "
                   f"allowed: at most {ctx['maxAccelerators']} per stack (policy setting maxAccelerators), so that "
                   "an autoscaler cannot run up an unreviewed bill")


def hourly_cost_cap(resources: list[Resource], ctx: Context) -> Iterable[tuple[str, str]]:
    cost = estimate(resources, ctx.stack_config)
    if cost.hourly_max > ctx["maxHourlyCost"]:
        top = sorted(cost.lines, key=lambda line: -line.hourly_max)[:3]
        yield "", (f"the stack's estimated cost at max size is {money(cost.hourly_max)}/h "
                   f"(largest: {', '.join(f'{line.item} {money(line.hourly_max)}/h' for line in top)}); allowed: at most "
                   f"{money(ctx['maxHourlyCost'])}/h (policy setting maxHourlyCost), so that a change that raises "
                   "the ceiling gets an explicit decision")


RULES = [
    Rule("accelerator-count-cap", "cost",
         "The accelerators of all pools at max size stay under a per-stack cap.",
         "mandatory", accelerator_count_cap,
         settings={"maxAccelerators": {"type": "integer", "minimum": 0, "default": 64,
                                       "description": "Most accelerators (GPUs, Neuron devices, FPGAs) per stack."}}),
    Rule("hourly-cost-cap", "cost",
         "The estimated on-demand cost of the stack at max size stays under a per-stack cap.",
         "mandatory", hourly_cost_cap,
         settings={"maxHourlyCost": {"type": "number", "minimum": 0, "default": 100,
                                     "description": "Most estimated USD per hour at max size."}}),
]
