"""``in-place-update``: an endpoint's model, image or runtime changed outside a rollout, in staging or prod.

Such a change reaches every request as soon as the new pods are ready: an instant, full cutover that no
stage lets a part of the traffic judge first. What counts, in every component of the endpoint:

* an InferenceService's predictor (outside a rollout's own moves: start, promote, rollback), its
  Standard-mode candidate (``spec.canary[]``) while the rollout stays where it is, and always its
  transformer and explainer (a rollout stages only the predictor): any ``image``, ``storageUri``,
  ``storage``, ``modelFormat``, ``runtime``, ``runtimeVersion`` or ``protocolVersion``, wherever it
  sits (a custom container, an init container, a worker);
* an LLMInferenceService (which has no canary): ``spec.model``, ``spec.baseRefs`` (the preset that
  brings vLLM's image) and any ``image`` of its decode, worker or prefill pods;
* the container image of a ClusterServingRuntime an existing endpoint resolves to (before and after).

An endpoint opts out with ``allowInPlaceUpdate: true`` in its ``servestack:endpoints`` or
``servestack:llmEndpoints`` entry (default false): the change is then its owners' declared choice.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from plandoc.endpoints import default_mode, endpoint_of
from plandoc.llm import llm_endpoint_of
from plandoc.tokens import INFERENCE_SERVICE, LLM_INFERENCE_SERVICE
from plandoc.values import decode_json

from ..changes import FieldChange, ResourceChange
from ..fields import leaves, show
from ..rollout_changes import move
from .model import GUARDED_TIERS, Flag, Review
from .runtimes import resolved_runtimes, runtime_keys

#: The config key an endpoint opts out with (in servestack:endpoints.<name> and servestack:llmEndpoints.<name>).
OPT_OUT = "allowInPlaceUpdate"

_IDENTITY = re.compile(r"(^|\.)(image|storageUri|runtime|runtimeVersion|protocolVersion)$"
                       r"|(^|\.)(modelFormat|storage)(\.|\[|$)")
_LLM_IDENTITY = re.compile(r"^spec\.(model|baseRefs)(\.|\[|$)")
#: The rollout moves that change an InferenceService's predictor and Standard-mode canary by design.
_ROLLOUT_MOVES = ("start", "promote", "rollback", "rewrite")


def _leaf_changes(change: FieldChange) -> list[FieldChange]:
    """An added or removed structure as its leaves (a new transformer's image is a leaf of its own)."""
    if change.old is None and isinstance(change.new, (Mapping, list)):
        return [FieldChange(p, None, v) for p, v in leaves(change.new, change.path)]
    if change.new is None and isinstance(change.old, (Mapping, list)):
        return [FieldChange(p, v, None) for p, v in leaves(change.old, change.path)]
    return [change]


def _identity_changes(change: ResourceChange, llm: bool) -> list[FieldChange]:
    found = []
    for field in change.fields:
        for leaf in _leaf_changes(field):
            path = leaf.path.replace(" (order)", "")
            if _IDENTITY.search(path) or (llm and _LLM_IDENTITY.search(path)):
                found.append(leaf)
    return found


def opted_out(config: Mapping[str, Any], section: str, name: str) -> bool:
    """Whether ``servestack:<section>.<name>.allowInPlaceUpdate`` is true in the head's config."""
    declared = decode_json(config.get(f"servestack:{section}")) or {}
    entry = declared.get(name) if isinstance(declared, Mapping) else None
    return isinstance(entry, Mapping) and entry.get(OPT_OUT) is True


def _details(fields: list[FieldChange]) -> str:
    shown = "; ".join(f"{f.path}: {show(f.old, True)} -> {show(f.new, True)}" for f in fields[:3])
    return shown + (f"; and {len(fields) - 3} more" if len(fields) > 3 else "")


def _flag(subject: str, what: str, fields: list[FieldChange], tier: str, remedy: str) -> Flag:
    return Flag("in-place-update", subject,
                f"{what} changes in place in {tier} ({_details(fields)}): every request reaches it as soon as its pods "
                f"are ready, an instant full cutover; {remedy}, or set {OPT_OUT}: true on the endpoint to accept it")


def _inference_service(review: Review, change: ResourceChange) -> Flag | None:
    head = review.head
    endpoint = endpoint_of(head.resources[change.key], default_mode(head.config))
    subject = f"{endpoint.namespace}/{endpoint.name}"
    if opted_out(head.config, "endpoints", endpoint.name):
        return None
    rollout = next((r for r in review.rollouts if r.endpoint == subject), None)
    kind = move(rollout.before, rollout.after) if rollout else "none"
    staged = kind in _ROLLOUT_MOVES
    fields = [f for f in _identity_changes(change, llm=False)
              if not (staged and re.match(r"^spec\.(predictor|canary)\b", f.path))]
    if not fields:
        return None
    parts = sorted({f.path.split(".")[1].split("[")[0] if f.path.startswith("spec.") else "spec" for f in fields})
    what = f"the {' and '.join('candidate (spec.canary)' if p == 'canary' else p for p in parts)} of {endpoint.name}"
    return _flag(subject, what, fields, review.head_tier,
                 "roll a new model out with `servestack rollout start` (a transformer or explainer change goes out "
                 "with a new endpoint beside this one)")


def _llm(review: Review, change: ResourceChange) -> Flag | None:
    endpoint = llm_endpoint_of(review.head.resources[change.key])
    if opted_out(review.head.config, "llmEndpoints", endpoint.endpoint):
        return None
    fields = _identity_changes(change, llm=True)
    if not fields:
        return None
    return _flag(f"{endpoint.namespace}/{endpoint.name}", f"the LLM endpoint {endpoint.endpoint}", fields,
                 review.head_tier, "serve the new model as a second LLM endpoint and move clients to it")


def _runtime_images(review: Review) -> list[Flag]:
    """Endpoints that keep their runtime while that ClusterServingRuntime's image changes."""
    before_keys, after_keys = runtime_keys(review.base), runtime_keys(review.head)
    before, after = resolved_runtimes(review.base), resolved_runtimes(review.head)
    flags = []
    for subject in sorted(set(before) & set(after)):
        runtime = after[subject]
        if before[subject] != runtime or runtime not in after_keys or before_keys.get(runtime) != after_keys[runtime]:
            continue
        change = review.change(after_keys[runtime])
        fields = _identity_changes(change, llm=False) if change else []
        name = subject.split("/", 1)[1]
        if fields and not opted_out(review.head.config, "endpoints", name):
            flags.append(_flag(subject, f"the runtime {runtime} of {name}", fields, review.head_tier,
                               "publish the new runtime under a new name and move endpoints to it one rollout at a "
                               "time"))
    return flags


def in_place_updates(review: Review) -> list[Flag]:
    if review.head_tier not in GUARDED_TIERS:
        return []
    flags = []
    for change in review.changes:
        if change.op != "update":
            continue
        flag = (_inference_service(review, change) if change.type == INFERENCE_SERVICE
                else _llm(review, change) if change.type == LLM_INFERENCE_SERVICE else None)
        if flag is not None:
            flags.append(flag)
    return flags + _runtime_images(review)
