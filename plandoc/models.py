"""The models a plan serves: every storage URI per endpoint, as stable or candidate.

From the InferenceServices (Knative mode: a predictor with ``canaryTrafficPercent`` carries the
candidate, the stable revision lives on in KServe; Standard mode: ``spec.canary[]`` carries it)
and from ``servestack:endpoints`` (where a Knative-mode rollout keeps the stable model).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from components.render.inference_service import LABEL_ENDPOINT

from .document import PlanDoc, of_type
from .tokens import INFERENCE_SERVICE
from .values import decode_json, is_known, mapping, name_of


@dataclass(frozen=True)
class ModelUri:
    endpoint: str
    uri: str
    roles: tuple[str, ...]
    """``stable``, ``candidate`` or both (sorted)."""
    sources: tuple[str, ...]
    """Where it was found: ``config servestack:endpoints.iris.model.storageUri``, ``resource ...``."""

    @property
    def subject(self) -> str:
        return f"endpoint {self.endpoint} ({', '.join(self.roles)})"


def storage_uris(value: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], str]]:
    """Every ``storageUri`` (and ``storageUris[]``) under ``value`` with its key path."""
    if isinstance(value, dict):
        for key, child in value.items():
            if key == "storageUri" and isinstance(child, str) and is_known(child):
                yield (*path, key), child
            elif key == "storageUris" and isinstance(child, list):
                for i, item in enumerate(child):
                    uri = item.get("uri") if isinstance(item, dict) else item
                    if isinstance(uri, str) and is_known(uri):
                        yield (*path, key, str(i)), uri
            else:
                yield from storage_uris(child, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from storage_uris(item, (*path, str(i)))


def _models_from_config(plan: PlanDoc) -> Iterator[tuple[str, str, str, str]]:
    """(endpoint, role, uri, source): a URI under any key containing ``candidate`` is the
    candidate's (``rollout.candidate.storageUri``), every other one the stable model's."""
    endpoints = decode_json(plan.config.get("servestack:endpoints"))
    if not isinstance(endpoints, dict):
        return
    for name, endpoint in sorted(endpoints.items()):
        for path, uri in storage_uris(endpoint, ()):
            role = "candidate" if any("candidate" in key.lower() for key in path) else "stable"
            yield str(name), role, uri, f"config servestack:endpoints.{name}.{'.'.join(path)}"


def _models_from_inference_services(plan: PlanDoc) -> Iterator[tuple[str, str, str, str]]:
    for isvc in of_type(plan.resources.values(), INFERENCE_SERVICE):
        inputs, urn = isvc["inputs"], isvc["urn"]
        metadata = mapping(inputs.get("metadata"))
        name = mapping(metadata.get("labels")).get(LABEL_ENDPOINT) or metadata.get("name") or name_of(urn)
        spec = mapping(inputs.get("spec"))
        predictor = mapping(spec.get("predictor"))
        predictor_role = "candidate" if is_known(predictor.get("canaryTrafficPercent")) else "stable"
        for path, uri in storage_uris(predictor, ("spec", "predictor")):
            yield name, predictor_role, uri, f"resource {name_of(urn)} {'.'.join(path)}"
        for path, uri in storage_uris(spec.get("canary"), ("spec", "canary")):
            yield name, "candidate", uri, f"resource {name_of(urn)} {'.'.join(path)}"


def model_uris(plan: PlanDoc) -> list[ModelUri]:
    """Each (endpoint, URI) once, with every role it plays and every place that names it."""
    found: dict[tuple[str, str], tuple[set[str], list[str]]] = {}
    for endpoint, role, uri, source in (*_models_from_inference_services(plan), *_models_from_config(plan)):
        roles, sources = found.setdefault((endpoint, uri), (set(), []))
        roles.add(role)
        if source not in sources:
            sources.append(source)
    return [ModelUri(endpoint, uri, tuple(sorted(roles)), tuple(sources))
            for (endpoint, uri), (roles, sources) in sorted(found.items())]
