"""The unsafe transitions ``servestack diff`` flags: one registry of rules over a plan pair.

Each rule is a function of :class:`Review` (base and head plans, their resource and rollout changes)
that returns :class:`Flag` s. :data:`RULES` lists them in the order the report shows them and
:func:`collect_flags` is the one place they run: a check of another module joins the diff by adding
its function to :data:`RULES` (one line). Report sections (analysis evidence, cost) join through
:data:`servestack.review.sections.SECTIONS` the same way.
"""

from __future__ import annotations

from .capacity import pool_below_demand
from .in_place import in_place_updates
from .model import GUARDED_TIERS, Flag, Review, Rule
from .platform import protected_deletions, runtime_resolution_changes, tier_changes
from .rollouts import created_mid_rollout_flags, rollout_flags, rollout_rewrites

RULES: tuple[Rule, ...] = (
    rollout_flags,               # rollout-skips-stage, premature-promotion
    rollout_rewrites,            # rollout-rewritten, rollout-starts-at-full-traffic
    created_mid_rollout_flags,   # created-mid-rollout
    in_place_updates,            # in-place-update
    runtime_resolution_changes,  # runtime-resolution-changed
    pool_below_demand,           # pool-below-demand
    protected_deletions,         # protected-resource-deleted
    tier_changes,                # tier-changed
)

#: Every kind of flag the rules return (README's exit-code table and "What diff flags" name each).
KINDS: tuple[str, ...] = ("rollout-skips-stage", "premature-promotion", "rollout-rewritten",
                          "rollout-starts-at-full-traffic", "created-mid-rollout", "in-place-update",
                          "runtime-resolution-changed", "pool-below-demand", "protected-resource-deleted",
                          "tier-changed")


def collect_flags(review: Review) -> list[Flag]:
    """Every rule's flags, in :data:`RULES`' order."""
    return [flag for rule in RULES for flag in rule(review)]


__all__ = ["GUARDED_TIERS", "KINDS", "RULES", "Flag", "Review", "Rule", "collect_flags"]
