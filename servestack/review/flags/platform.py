"""Stack-wide transitions: a protected resource deleted, the tier changed, an endpoint's runtime changed
by a runtime it does not name."""

from __future__ import annotations

from components.core.kserve_runtimes import Runtime

from .model import Flag, Review
from .runtimes import plan_runtimes, resolved_runtimes


def protected_deletions(review: Review) -> list[Flag]:
    """``protected-resource-deleted``."""
    return [Flag("protected-resource-deleted", c.name, f"{c.type} {c.name} is protected and would be deleted; "
                                                       "remove protect in a separate, reviewed change first")
            for c in review.changes if c.op == "delete" and c.protect]


def _tier_source(config: dict, stack: str) -> str:
    tier = config.get("servestack:tier")
    return f"servestack:tier {tier}" if tier is not None else f"derived from the stack name {stack or '?'}"


def tier_changes(review: Review) -> list[Flag]:
    """``tier-changed``: any change of the tier the rules apply (servestack:tier, else derived from the stack name)."""
    before, after = review.base_tier, review.head_tier
    if before == after:
        return []
    stack = review.head.stack or review.base.stack
    return [Flag("tier-changed", stack or "?",
                 f"the stack's tier changes from {before} ({_tier_source(review.base.config, review.base.stack)}) to "
                 f"{after} ({_tier_source(review.head.config, review.head.stack or review.base.stack)}): the rules of "
                 f"{before} stop applying to it (policy checks, this diff's in-place rule); change a tier in a change "
                 "of its own that the stack's owners approve, never beside other changes")]


def _why(runtime: Runtime | None) -> str:
    if runtime is None or runtime.builtin:
        return "built in"
    formats = ", ".join(f"{f.name}" + (" autoSelect" if f.auto_select else "")
                        + (f" priority {f.priority}" if f.priority is not None else "")
                        for f in runtime.supported_model_formats)
    return f"ClusterServingRuntime: {formats}"


def runtime_resolution_changes(review: Review) -> list[Flag]:
    """``runtime-resolution-changed``: an existing endpoint that names no new runtime resolves to another one,
    by KServe's rules over the runtimes before and after (a runtime added, removed or given another
    autoSelect or priority). One flag per runtime the endpoints move to, naming them."""
    before, after = resolved_runtimes(review.base), resolved_runtimes(review.head)
    runtimes = {r.name: r for r in plan_runtimes(review.head)}
    moved: dict[str, list[str]] = {}
    for endpoint in sorted(set(before) & set(after)):
        if before[endpoint] != after[endpoint] and not _renamed(review, endpoint, after[endpoint]):
            moved.setdefault(after[endpoint], []).append(f"{endpoint} ({before[endpoint]} -> {after[endpoint]})")
    return [Flag("runtime-resolution-changed", runtime,
                 f"{len(names)} existing endpoint{'s' if len(names) != 1 else ''} now "
                 f"resolve{'s' if len(names) == 1 else ''} to runtime {runtime} ({_why(runtimes.get(runtime))}) "
                 f"without naming it: {', '.join(names)}; each restarts on another model server at once; name the "
                 "runtime on the endpoints that should keep theirs (model.runtime), or give the new runtime no "
                 "autoSelect")
            for runtime, names in sorted(moved.items())]


def _renamed(review: Review, endpoint: str, runtime: str) -> bool:
    """Whether the head names the runtime on the endpoint's predictor itself (a chosen change, not a silent one)."""
    from plandoc.endpoints import endpoints

    for e in endpoints(review.head.resource_list(), review.head.config):
        if f"{e.namespace}/{e.name}" == endpoint:
            return (e.predictor.spec.get("model") or {}).get("runtime") == runtime
    return False
