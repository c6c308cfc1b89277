"""``servestack:llmPresets``: LLMInferenceServiceConfig presets of the team's own, keyed by name.

A preset is a part of an LLMInferenceService spec (``serving.kserve.io/v1alpha2``
``LLMInferenceServiceConfig``) that KServe merges under the endpoints that name it in ``baseRefs``,
after its own presets (``llmisvc/config_merge.go``): a vLLM command line shared by a family of
endpoints, a scheduler configuration with its picker's plugins, a prefill/decode wiring. An endpoint
names presets in its ``presets`` list; servestack renders each preset as an LLMInferenceServiceConfig
in the namespace of every endpoint that names it (KServe looks there first, then in ``kserve``).

The spec is KServe's own (the conformance layer checks every rendered preset against the v0.20.0
CRD), under servestack's rules for what a stack may run: every image pinned, no secret in clear (a
plain environment value that looks like a credential is refused), placement from the pools (no
``nodeSelector``, ``tolerations``, ``affinity``), no model (an endpoint names its own), and none of
the labels and annotations servestack writes.
"""

from __future__ import annotations

import re
from typing import Any, Iterator

from pydantic import Field

from ..core.labels import reserved_keys, reserved_keys_message
from .base import ConfigModel, Finding
from .values import image_pin_problem

PRESET_NAME = r"^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$"
#: Pod-spec fields the pool decides (an endpoint's placement).
PLACEMENT_FIELDS = ("nodeSelector", "tolerations", "affinity")
#: Where an LLMInferenceServiceConfig spec holds pod specs.
POD_SPEC_PATHS = (("template",), ("worker",), ("prefill", "template"), ("prefill", "worker"),
                  ("router", "scheduler", "template"))


class LlmPresetConfig(ConfigModel):
    """One preset (see the module's docstring)."""

    spec: dict[str, Any] = Field(min_length=1)
    """The LLMInferenceServiceConfig spec, as KServe spells it (``template``, ``router.scheduler.config``,
    ``prefill``...). Required."""

    def problems(self) -> list[Finding]:
        found = []
        if "model" in self.spec:
            found.append(Finding(("spec", "model"), "must not be set in a preset: each endpoint names its own model "
                                 "(model.uri, pinned and read with the endpoint's identity)", "[set]"))
        for key in ("labels", "annotations"):
            values = self.spec.get(key)
            if isinstance(values, dict) and reserved_keys(values):
                found.append(Finding(("spec", key), reserved_keys_message(reserved_keys(values)), reserved_keys(values)))
        for path in POD_SPEC_PATHS:
            pod = _at(self.spec, path)
            if not isinstance(pod, dict):
                continue
            found += [Finding(("spec", *path, f), "comes from the endpoint's pool; a preset must not set it", "[set]")
                      for f in PLACEMENT_FIELDS if f in pod]
            if "serviceAccountName" in pod:
                found.append(Finding(("spec", *path, "serviceAccountName"), "is the endpoint's (serviceAccountName on "
                                     "the endpoint, or servestack's own account)", pod["serviceAccountName"]))
            for loc, container in _containers(pod):
                found += [Finding(("spec", *path, *loc, *f.loc), f.message, f.value) for f in container_problems(container)]
        return found


def _at(spec: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = spec
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _containers(pod: dict[str, Any]) -> Iterator[tuple[tuple[Any, ...], dict[str, Any]]]:
    for key in ("containers", "initContainers"):
        for i, container in enumerate(pod.get(key) or []):
            if isinstance(container, dict):
                yield (key, i), container


def container_problems(container: dict[str, Any]) -> list[Finding]:
    """An image that floats; a plain environment value that looks like a credential."""
    found = []
    image = container.get("image")
    if image is not None:
        problem = image_pin_problem(str(image))
        if problem:
            found.append(Finding(("image",), problem, image))
    # A credential in a plain env value is found by the config's secret scan (components/config/secrets.py),
    # which reads every string of servestack:llmPresets too.
    return found


def preset_problems(presets: dict[str, LlmPresetConfig], endpoints: dict[str, Any], kserve_presets: frozenset[str]
                    ) -> list[Finding]:
    """Every preset an endpoint names exists (the stack's or KServe's), no preset of the stack takes a
    KServe preset's name, and every preset of the stack is named by some endpoint (else it would not be installed)."""
    found = [Finding(("llmPresets", name), "is the name of a preset of KServe's; a preset of that name in an endpoint's "
                                           "namespace would replace KServe's own for every endpoint there: choose another",
                     name) for name in sorted(presets) if name in kserve_presets]
    found += [Finding(("llmPresets", name), f"must be a DNS subdomain name ({PRESET_NAME})", name)
              for name in sorted(presets) if not re.fullmatch(PRESET_NAME, name)]
    named: set[str] = set()
    for endpoint, config in sorted(endpoints.items()):
        for i, preset in enumerate(config.presets):
            named.add(preset)
            if preset not in presets and preset not in kserve_presets:
                found.append(Finding(("llmEndpoints", endpoint, "presets", i), "is neither a key of servestack:llmPresets "
                                     f"({', '.join(sorted(presets)) or 'none'}) nor a preset of KServe's "
                                     f"({', '.join(sorted(kserve_presets))})", preset))
    found += [Finding(("llmPresets", name), "is named by no LLM endpoint's presets, so it would not be installed", name)
              for name in sorted(set(presets) - named)]
    return found
