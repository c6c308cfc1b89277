"""Cost rules: per-stack caps on accelerators and on the estimated hourly cost."""

from __future__ import annotations

from collections.abc import Iterable

from plandoc.capacity import capacity_model
from plandoc.cost import accelerator_count, estimate, pool_unpriced, money
from plandoc.document import Resource

from .model import Context, Rule


def accelerator_count_cap(resources: list[Resource], ctx: Context) -> Iterable[tuple[str, str]]:
    total, parts = accelerator_count(capacity_model(resources, ctx.stack_config))
    if total is None:
        yield "", (f"the stack's accelerator pools have no ceiling ({'; '.join(parts)}): a Karpenter NodePool without a "
                   f"limit of its accelerator, cpu or memory; allowed: at most {ctx['maxAccelerators']} per stack "
                   "(policy setting maxAccelerators), so set the NodePool's limits")
    elif total > ctx["maxAccelerators"]:
        yield "", (f"the stack's accelerator pools reach {total} accelerators at max size ({'; '.join(parts)}); "
                   f"allowed: at most {ctx['maxAccelerators']} per stack (policy setting maxAccelerators), so that "
                   "an autoscaler cannot run up an unreviewed bill")


def hourly_cost_cap(resources: list[Resource], ctx: Context) -> Iterable[tuple[str, str]]:
    """Fail closed: a bound that cannot be priced (a region without prices, an unpriced type) is a violation."""
    model = capacity_model(resources, ctx.stack_config)
    cost = estimate(resources, ctx.stack_config, model)
    cap = money(ctx["maxHourlyCost"])
    if not cost.known:
        yield "", (f"the stack's cost cannot be checked against the cap of {cap}/h: {cost.prices_text}")
        return
    own = [] if model.referenced else model.pools
    for pool in own:
        missing = pool_unpriced(pool)
        if missing:
            yield pool.pool.urn, (f"pool {pool.name} may launch {', '.join(missing)}, which the {cost.prices_text} "
                                  f"do not price; required: a price for every instance type a pool may launch, so "
                                  f"that the cap of {cap}/h (policy setting maxHourlyCost) bounds it")
    bound = cost.hourly_bound
    if bound is not None and bound > ctx["maxHourlyCost"]:
        top = sorted(cost.bound_lines, key=lambda item: -(item[1] or 0))[:3]
        yield "", (f"the stack's estimated cost with every pool at its bound is {money(bound)}/h "
                   f"(largest: {', '.join(f'pool {name} {money(h or 0)}/h' for name, h in top)}); allowed: at most "
                   f"{cap}/h (policy setting maxHourlyCost), so that a change that raises the ceiling gets an "
                   "explicit decision")


RULES = [
    Rule("accelerator-count-cap", "cost",
         "The accelerators of all pools at max size stay under a per-stack cap.",
         "mandatory", accelerator_count_cap,
         settings={"maxAccelerators": {"type": "integer", "minimum": 0, "default": 64,
                                       "description": "Most accelerators (GPUs, Neuron devices, FPGAs) per stack."}}),
    Rule("hourly-cost-cap", "cost",
         "The estimated cost of the stack with every pool at its bound stays under a per-stack cap; an unpriced type or region fails.",
         "mandatory", hourly_cost_cap,
         settings={"maxHourlyCost": {"type": "number", "minimum": 0, "default": 100,
                                     "description": "Most estimated USD per hour at max size."}}),
]
