"""The repository's real dev and prod plans as documents to edit: each call returns a fresh copy,
so a test injects its fault the way ``pulumi preview --json`` would show it and writes it out."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from harness import repository_plan

LLM = "kubernetes:serving.kserve.io/v1alpha2:LLMInferenceService"


def document(stack: str) -> dict[str, Any]:
    return copy.deepcopy(repository_plan(stack).document)


def state(doc: dict[str, Any], type_: str, name: str) -> dict[str, Any]:
    """The ``newState`` of the step of that type and resource name (to edit in place)."""
    found = [s["newState"] for s in doc["steps"] if s["newState"]["type"] == type_ and s["urn"].endswith(f"::{name}")]
    assert len(found) == 1, f"{len(found)} steps of {type_} named {name}"
    return found[0]


def llm(doc: dict[str, Any], name: str) -> dict[str, Any]:
    """The spec of the LLMInferenceService of LLM endpoint ``name``."""
    return state(doc, LLM, f"servestack-llm-{name}-llmisvc")["inputs"]["spec"]


def write(doc: dict[str, Any], directory: Path) -> Path:
    path = directory / "preview.json"
    path.write_text(json.dumps(doc))
    return path
