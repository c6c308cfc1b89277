"""Rendering of ``servestack:llmPresets`` as KServe's ``LLMInferenceServiceConfig`` objects (pure): one per
preset and namespace of an endpoint that names it (KServe looks a ``baseRefs`` name up in the endpoint's
namespace first, then in ``kserve``: ``llmisvc/config_merge.go`` getConfig)."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from ..core.labels import LABEL_MANAGED_BY
from .llm_inference_service import API_VERSION

if TYPE_CHECKING:  # the renderer reads the stack model's values; it does not load pydantic
    from ..config.llm_endpoints import LlmEndpointConfig
    from ..config.llm_presets import LlmPresetConfig

KIND = "LLMInferenceServiceConfig"
#: Label on a preset object: the name of the preset in ``servestack:llmPresets``.
LABEL_PRESET = "servestack.io/llm-preset"


def preset_namespaces(presets: dict[str, LlmPresetConfig], endpoints: dict[str, LlmEndpointConfig]) -> list[tuple[str, str]]:
    """(preset, namespace) for every preset of the stack's and namespace of an endpoint naming it, sorted."""
    return sorted({(p, e.namespace) for e in endpoints.values() for p in e.presets if p in presets})


def render_llm_preset(name: str, config: LlmPresetConfig, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": name, "namespace": namespace,
                     "labels": {LABEL_MANAGED_BY: "servestack", LABEL_PRESET: name}},
        "spec": copy.deepcopy(config.spec),
    }
