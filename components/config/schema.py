"""The stack file's shape for editors and readers, generated from the config models themselves:

- :func:`stack_file_schema`: a JSON Schema (draft 2020-12) of ``stacks/Pulumi.<stack>.yaml``: every
  ``servestack:*`` section with its fields, types, defaults and docstrings, ``aws:region`` from
  botocore's EKS regions, and other namespaces' keys left open (Pulumi and providers read them);
- :func:`reference_markdown`: the same fields as a reference page, one table per section.

Both are committed (``docs/stack-file.schema.json``, ``docs/configuration.md``, written by
``servestack schema --write``) and a test keeps them in step with the models. The schema checks shapes
and values a field can check alone; the rest (an endpoint's pool exists, a rollout fits its mode) is
what ``servestack plan`` reports.
"""

from __future__ import annotations

import json
import types
import typing
from typing import Any

from pydantic import BaseModel, Field, create_model
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from ..core.stack_keys import NAMESPACE, REGION_KEY
from .stack import StackConfig, known_regions, section_keys

SCHEMA_ID = "https://servestack.dev/schemas/stack-file.schema.json"


def _sections_model() -> type[BaseModel]:
    fields: dict[str, Any] = {}
    for key, name in section_keys().items():
        field = StackConfig.model_fields[name]
        annotation = typing.Annotated[field.annotation, *field.metadata] if field.metadata else field.annotation
        fields[name] = (annotation | None, Field(default=None, alias=key, description=field.description))
    return create_model("StackFileConfig", **fields)


def stack_file_schema() -> dict[str, Any]:
    """The JSON Schema of a stack file (deterministic: keys sorted when written)."""
    config = _sections_model().model_json_schema(by_alias=True, mode="validation")
    definitions = config.pop("$defs", {})
    properties = {key: value for key, value in config["properties"].items()}
    for key, value in properties.items():
        value.pop("default", None)  # a section left out is absent, not null
        value.pop("title", None)
        options = [o for o in value.get("anyOf", []) if o != {"type": "null"}]
        if len(options) == 1:  # the optional wrapper of the synthetic model, not the section's own type
            del value["anyOf"]
            value.update(options[0])
    properties[REGION_KEY] = {"type": "string", "enum": sorted(known_regions()),
                              "description": "The AWS region of the stack (an EKS region). Required."}
    known = "|".join(key.split(":", 1)[1] for key in section_keys())
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "servestack stack file (stacks/Pulumi.<stack>.yaml)",
        "description": "Generated from servestack's config models by `servestack schema`; do not edit.",
        "type": "object",
        "required": ["config"],
        "properties": {
            "config": {
                "type": "object",
                "required": [REGION_KEY],
                "properties": properties,
                # Unknown servestack settings are refused; other namespaces belong to Pulumi and providers.
                "patternProperties": {f"^{NAMESPACE}:(?!({known})$)": False},
            },
            "secretsprovider": {"type": "string"},
            "encryptedkey": {"type": "string"},
            "encryptionsalt": {"type": "string"},
        },
        "$defs": definitions,
    }


def schema_text() -> str:
    return json.dumps(stack_file_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


# --- the reference page -----------------------------------------------------------------------------------


def _type_name(annotation: Any) -> str:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin is typing.Literal:
        return " \\| ".join(json.dumps(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " \\| ".join(_type_name(a) for a in args if a is not type(None))
    if origin in (list, tuple, set, frozenset):
        return f"list of {_type_name(args[0])}" if args else "list"
    if origin is dict:
        return f"map of {_type_name(args[1])}" if len(args) == 2 else "map"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "object"
    return getattr(annotation, "__name__", str(annotation))


def _models(annotation: Any) -> list[tuple[type[BaseModel], str]]:
    """Models nested in an annotation, each with the path part it adds (``.``, ``.<name>.``, ``[]``)."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [(annotation, "")]
    if origin is typing.Annotated:
        return _models(args[0])
    if origin is dict and len(args) == 2:
        return [(m, ".<name>" + part) for m, part in _models(args[1])]
    if origin in (list, tuple, set, frozenset):
        return [(m, "[]" + part) for a in args for m, part in _models(a)]
    if origin in (typing.Union, types.UnionType):
        return [found for a in args for found in _models(a)]
    return []


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    default = field.default if field.default is not PydanticUndefined else field.default_factory()  # type: ignore[misc]
    if isinstance(default, BaseModel):
        return "see fields"
    return f"`{json.dumps(default, default=str, sort_keys=True)}`"


def _rows(model: type[BaseModel], prefix: str, seen: tuple[type[BaseModel], ...]) -> list[str]:
    rows = []
    for name, field in model.model_fields.items():
        path = f"{prefix}.{field.alias or name}" if prefix else (field.alias or name)
        text = " ".join((field.description or "").split()).replace("|", "\\|")
        rows.append(f"| `{path}` | {_type_name(field.annotation)} | {_default(field)} | {text} |")
        for nested, part in _models(field.annotation):
            if nested not in seen:
                rows += _rows(nested, path + part, (*seen, nested))
    return rows


def reference_markdown() -> str:
    """Every setting of a stack file, one table per ``servestack:*`` section."""
    lines = ["# Stack file reference", "",
             "Generated from servestack's config models by `servestack schema --write`; do not edit. Every",
             "setting below lives under `config:` in `stacks/Pulumi.<stack>.yaml`. Editors that read",
             "`docs/stack-file.schema.json` (the stack files name it) complete and check the same fields.", ""]
    for key, name in section_keys().items():
        field = StackConfig.model_fields[name]
        lines += [f"## `{key}`", "", " ".join((field.description or "").split()), ""]
        lines += ["| setting | type | default | meaning |", "|---|---|---|---|"]
        models = _models(field.annotation)
        if models:
            for model, part in models:
                lines += _rows(model, part.lstrip("."), (model,))
        else:
            text = " ".join((field.description or "").split()).replace("|", "\\|")
            lines.append(f"| `{key}` | {_type_name(field.annotation)} | {_default(field)} | {text} |")
        lines.append("")
    return "\n".join(lines)
