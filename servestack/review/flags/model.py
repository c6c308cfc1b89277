"""What a diff rule reads (:class:`Review`) and returns (:class:`Flag`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from plandoc.document import PlanDoc
from policies.rules.model import resolve_tier

from ..changes import ResourceChange
from ..rollout_changes import RolloutChange

#: Tiers in which an endpoint's model, image or runtime may not change in place unless the endpoint opts out.
GUARDED_TIERS = ("staging", "prod")


@dataclass(frozen=True)
class Flag:
    kind: str
    """The rule's name (``in-place-update``, ``rollout-rewritten``, ...): README's review section lists them."""
    subject: str
    message: str


@dataclass(frozen=True)
class Review:
    """A plan pair and what changed between them."""

    base: PlanDoc
    head: PlanDoc
    changes: tuple[ResourceChange, ...] = ()
    rollouts: tuple[RolloutChange, ...] = ()
    _cache: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def base_tier(self) -> str:
        return resolve_tier(None, self.base.config, self.base.stack or self.head.stack)

    @property
    def head_tier(self) -> str:
        return resolve_tier(None, self.head.config, self.head.stack or self.base.stack)

    def change(self, key: str) -> ResourceChange | None:
        """The change of the resource with this key (None when it is unchanged)."""
        if "changes" not in self._cache:
            self._cache["changes"] = {c.key: c for c in self.changes}
        return self._cache["changes"].get(key)


Rule = Callable[[Review], list[Flag]]
