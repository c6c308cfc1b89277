"""Every field of the endpoint config models is documented and used by a conformance stack.

The field lists are read from the models themselves, so a field added to a model is checked the moment
it exists: without a docstring that states its default (or that it is required, which is what
``docs/configuration.md``, the reference README links, is generated from), or never planned in the
conformance layer (where the rendered object is judged against the pinned CRD), it fails here with its
model and name. A field of a model used in several places (a probe, a container) counts as used when
any of its places is.
"""

from __future__ import annotations

import re
import types
import typing
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from harness import REPO, REPOSITORY_STACKS, stack_config

from components.config.endpoints import EndpointConfig
from components.config.llm_endpoints import LlmEndpointConfig
from conformance.stacks import generated_configs

SECTIONS = {"servestack:endpoints": EndpointConfig, "servestack:llmEndpoints": LlmEndpointConfig}


def _models_in(annotation: Any) -> list[tuple[type[BaseModel], bool]]:
    """The models an annotation holds, each with whether it sits under a mapping keyed by user names."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [(annotation, False)]
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _models_in(args[0])
    if origin in (dict, typing.Mapping) and len(args) == 2:
        return [(model, True) for model, _ in _models_in(args[1])]
    if origin in (list, tuple, set, frozenset, typing.Union, types.UnionType):
        return [found for arg in args for found in _models_in(arg)]
    return []


def field_places(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> dict[tuple[str, str], set[tuple[str, ...]]]:
    """Every field of a model and of the models it nests, ``(model name, key)`` -> the paths of config keys
    where it can be written (``*`` for a key of the user's choosing)."""
    places: dict[tuple[str, str], set[tuple[str, ...]]] = {}
    for name, field in model.model_fields.items():
        path = (*prefix, field.alias or name)
        places.setdefault((model.__name__, field.alias or name), set()).add(path)
        if len(path) > 8:  # a recursive model: stop
            continue
        for nested, keyed in _models_in(field.annotation):
            if nested is not model:
                for key, paths in field_places(nested, (*path, "*") if keyed else path).items():
                    places.setdefault(key, set()).update(paths)
    return places


def field_paths(model: type[BaseModel]) -> set[tuple[str, ...]]:
    return {path for paths in field_places(model).values() for path in paths}


def field_infos(model: type[BaseModel], seen: frozenset[type[BaseModel]] = frozenset()) -> dict[tuple[str, str], Any]:
    found = {(model.__name__, field.alias or name): field for name, field in model.model_fields.items()}
    for field in model.model_fields.values():
        for nested, _ in _models_in(field.annotation):
            if nested not in seen | {model}:
                found |= field_infos(nested, seen | {model})
    return found


def used_paths(node: Any, prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    """Every key path a config tree uses (list items are transparent)."""
    found: set[tuple[str, ...]] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            found.add((*prefix, str(key)))
            found |= used_paths(value, (*prefix, str(key)))
    elif isinstance(node, list):
        for item in node:
            found |= used_paths(item, prefix)
    return found


def _matches(pattern: tuple[str, ...], path: tuple[str, ...]) -> bool:
    return len(pattern) == len(path) and all(p in ("*", q) for p, q in zip(pattern, path, strict=True))


def every_used_path(section: str) -> set[tuple[str, ...]]:
    configs = [*generated_configs().values(), *(stack_config(s) for s in REPOSITORY_STACKS)]
    found: set[tuple[str, ...]] = set()
    for config in configs:
        for endpoint in (config.get(section) or {}).values():
            found |= used_paths(endpoint)
    return found


@pytest.mark.parametrize("section", sorted(SECTIONS))
def test_every_field_of_the_endpoint_models_states_its_default_and_is_in_the_reference(section):
    reference = (REPO / "docs" / "configuration.md").read_text()
    undocumented = sorted(f"{model}.{key}" for (model, key), field in field_infos(SECTIONS[section]).items()
                          if not re.search(r"\b(Default|default|Required|required)\b", field.description or ""))
    assert undocumented == [], f"{section}: fields whose docstring states no default: " + ", ".join(undocumented)
    missing = sorted(key for (_, key) in field_infos(SECTIONS[section]) if f".{key}` |" not in reference
                     and f"`{key}` |" not in reference)
    assert missing == [], "docs/configuration.md lacks: " + ", ".join(missing) + " (run: servestack schema --write)"
    assert "docs/configuration.md" in (REPO / "README.md").read_text()


@pytest.mark.parametrize("section", sorted(SECTIONS))
def test_every_field_of_the_endpoint_models_is_planned_by_a_conformance_or_repository_stack(section):
    used = every_used_path(section)
    unused = sorted(f"{model}.{key}" for (model, key), paths in field_places(SECTIONS[section]).items()
                    if not any(_matches(p, u) for p in paths for u in used))
    assert unused == [], f"{section}: fields no conformance or repository stack plans: " + ", ".join(unused)


def test_the_field_walker_finds_nested_and_keyed_fields():
    paths = field_paths(EndpointConfig)
    assert ("model", "storageUri") in paths and ("autoscaling", "minReplicas") in paths
    assert any(p[:2] == ("model", "env") for p in paths)
    assert used_paths(yaml.safe_load("a: {b: [{c: 1}]}")) == {("a",), ("a", "b"), ("a", "b", "c")}
