"""``pool-below-demand``: a pool, CPU pools included, that cannot hold what is placed on it after the change,
where the change made it so: the pool shrank or is removed, or the demand grew.

Demand and capacity are the capacity model's (:func:`plandoc.capacity.capacity_model`: every workload's pods at
min and at max, packed onto the nodes the pool's bounds allow, with allocatable resources and DaemonSets), read
through one function, :func:`pool_loads`. A pool is below its demand when pods fit on no node within its bounds
(``short``), at min replicas or at max. To tell the two causes apart the head's demand is also packed onto the
base's pools: more pods short after than on the former bounds is the pool's change; more pods short on the former
bounds than before is the demand's. A pool short before and no shorter after is ``servestack check``'s business.
"""

from __future__ import annotations

from dataclasses import dataclass

from plandoc.capacity import capacity_model
from plandoc.document import PlanDoc
from plandoc.tokens import EC2_NODE_CLASS, NODE_GROUP, NODE_POOL

from .model import Flag, Review


@dataclass(frozen=True)
class PoolLoad:
    """One pool under the demand a plan places on it."""

    size: str
    """How the pool's size is bounded: ``maxSize 3``, ``NodePool limits cpu=64, ...``."""
    types: str
    """Its instance types: ``m7i.xlarge``."""
    owners: tuple[str, ...]
    """What runs on it (``models/fraud predictor``, ``LLM models/assistant``)."""
    short_min: tuple[tuple[str, int], ...]
    """(workload, pods) that fit on no node at min replicas."""
    short_max: tuple[tuple[str, int], ...]
    """... at max replicas."""


#: The resources that declare a pool's bounds (swapped to pack the head's demand onto the base's pools).
POOL_TYPES = (NODE_GROUP, NODE_POOL, EC2_NODE_CLASS)


def pool_loads(plan: PlanDoc, pools_of: PlanDoc | None = None) -> dict[str, PoolLoad]:
    """Pool name -> its load: the diff's one reading of the capacity model. With ``pools_of``, the plan's demand
    on that plan's pools."""
    resources = plan.resource_list()
    if pools_of is not None:
        resources = [r for r in resources if r["type"] not in POOL_TYPES] + \
            [r for r in pools_of.resource_list() if r["type"] in POOL_TYPES]
    model = capacity_model(resources, plan.config)
    return {p.name: PoolLoad(p.pool.size_text, ", ".join(p.pool.instance_types) or "no instance type",
                             tuple(dict.fromkeys(w.owner for w in p.workloads if w.pods_max)),
                             p.floor.short, p.ceiling.short)
            for p in model.pools}


def _pods(short: tuple[tuple[str, int], ...]) -> int:
    return sum(n for _, n in short)


def _judge(name: str, old: PoolLoad | None, new: PoolLoad | None, former: PoolLoad | None) -> Flag | None:
    """``former``: the head's demand on the base's pool (None when the base has no such pool)."""
    if new is None:
        if old is None or not old.owners:
            return None
        return Flag("pool-below-demand", name, f"pool {name} ({old.size}, {old.types}) is removed while "
                                               f"{', '.join(old.owners)} run on it; move them to another pool first")
    for when, short_before, short_former, short_after in (
            ("min", old.short_min if old else (), former.short_min if former else (), new.short_min),
            ("max", old.short_max if old else (), former.short_max if former else (), new.short_max)):
        pods, before, on_former = _pods(short_after), _pods(short_before), _pods(short_former)
        if not pods:
            continue
        if old is not None and pods > on_former:  # the pool's new bounds hold less of this demand
            change, then = f"pool {name} changes from {old.size} ({old.types}) to {new.size} ({new.types})", \
                f"{on_former} with its former bounds"
        elif on_former > before or old is None:  # more demand than the pool held before
            change, then = f"more is placed on pool {name} ({new.size}, {new.types}) than it holds", f"{before} before"
        else:
            continue
        return Flag("pool-below-demand", name,
                    f"{change}: at {when} replicas {pods} pod{' fits' if pods == 1 else 's fit'} on no node within "
                    f"its bounds ({', '.join(f'{owner} {n}' for owner, n in short_after)}), {then}; "
                    f"{'it' if pods == 1 else 'they'} would stay Pending")
    return None


def pool_below_demand(review: Review) -> list[Flag]:
    before, after = pool_loads(review.base), pool_loads(review.head)
    former = pool_loads(review.head, pools_of=review.base)
    flags = [_judge(name, before.get(name), after.get(name), former.get(name))
             for name in sorted(set(before) | set(after))]
    return [flag for flag in flags if flag is not None]
