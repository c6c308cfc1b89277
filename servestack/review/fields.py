"""Which changed fields the markdown diff shows whole: what a reviewer of a rollout must see.

Long values are cut to 100 characters in the PR comment, except the fields a rollout turns on:
an InferenceService's ``spec.canary`` (Standard mode: the candidate's predictor, its storageUri
and traffic), ``canaryTrafficPercent``, every ``storageUri`` / ``storage`` and the predictor's
``model``, and all of the rollout record ConfigMap's ``data``. An added or removed structure
among them is shown leaf by leaf (``spec.canary[0].predictor.model.storageUri``), so the
candidate's model location is a line of its own, never the tail of a cut JSON string. An
LLMInferenceService has no canary: a new model is rolled out by changing ``spec.model`` (or as a
second LLM endpoint), so its ``model``, ``replicas``, ``parallelism``, pod ``labels`` (the model
version), ``worker`` and ``prefill`` sizes, and the vLLM ``args`` and ``resources`` are shown whole.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from components.render import inference_service
from components.core.rollout_record import RECORD_COMPONENT
from plandoc.tokens import CONFIG_MAP, INFERENCE_SERVICE, LLM_INFERENCE_SERVICE
from plandoc.values import mapping

from .names import identity_key, label

SHORT = 100

_ISVC_ROLLOUT_PATH = re.compile(
    r"^spec\.canary\b|canaryTrafficPercent|\.(storageUri|storage)\b|^spec\.predictor\.model\b")

_LLM_ROLLOUT_PATH = re.compile(
    r"^spec\.(prefill\.)?(model|replicas|parallelism|labels|worker)\b"
    r"|^spec\.(prefill\.)?template\.containers\[[^\]]+\]\.(args|resources)\b")


def is_rollout_record(resource: Mapping[str, Any] | None) -> bool:
    """The ConfigMap where servestack's ModelEndpoint keeps an endpoint's rollout."""
    if not resource or resource.get("type") != CONFIG_MAP:
        return False
    labels = mapping(mapping(mapping(resource.get("inputs")).get("metadata")).get("labels"))
    return labels.get(inference_service.LABEL_COMPONENT) == RECORD_COMPONENT


def rollout_relevant(type_: str, path: str, rollout_record: bool) -> bool:
    if rollout_record:
        return path.startswith("data")
    if type_ == LLM_INFERENCE_SERVICE:
        return bool(_LLM_ROLLOUT_PATH.search(path))
    return type_ == INFERENCE_SERVICE and bool(_ISVC_ROLLOUT_PATH.search(path))


def show(value: Any, whole: bool = False) -> str:
    text = json.dumps(value, sort_keys=True, separators=(", ", ": ")) if value is not None else "(none)"
    return text if whole or len(text) <= SHORT else text[:SHORT - 3] + "..."


def leaves(value: Any, path: str) -> list[tuple[str, Any]]:
    """Every leaf of ``value`` with its nested path, in the diff's path notation."""
    if isinstance(value, Mapping) and value:
        found = []
        for key in sorted(value, key=str):
            part = f'["{key}"]' if "." in str(key) else (f".{key}" if path else str(key))
            found += leaves(value[key], f"{path}{part}")
        return found
    if isinstance(value, list) and value and any(isinstance(v, (Mapping, list)) for v in value):
        key = identity_key(value)  # the same names as the field diff: env[name=X], tolerations[key=Y]
        return [leaf for i, item in enumerate(value)
                for leaf in leaves(item, f"{path}{label(key, item[key]) if key else f'[{i}]'}")]
    return [(path, value)]


def whole_lines(path: str, old: Any, new: Any) -> list[str]:
    """Markdown lines for a rollout-relevant change: never cut; an added or removed structure leaf by leaf."""
    if old is None and isinstance(new, (Mapping, list)):
        return [f"  - `{p}`: `(none)` → `{show(v, True)}`" for p, v in leaves(new, path)]
    if new is None and isinstance(old, (Mapping, list)):
        return [f"  - `{p}`: `{show(v, True)}` → `(none)`" for p, v in leaves(old, path)]
    return [f"  - `{path}`: `{show(old, True)}` → `{show(new, True)}`"]
