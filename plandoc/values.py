"""Reading values out of a plan: unknowns, nested lookups, JSON text, booleans, names.

A plan's values come from three writers that spell things differently: servestack's offline
plan, the JSON of a real ``pulumi preview`` (structured config as JSON text, values not known
until deployment as Pulumi's unknown markers) and CrossGuard's analyzer (the same markers).
Everything that reads a plan reads values through these helpers, so that the three agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from components.core.stack_keys import decode_value

#: Pulumi's marker for a value that is not known until the resource exists (preview only).
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"

#: Pulumi's unknown markers per value type (strings stand in for unknown bools, numbers, lists...).
UNKNOWN_MARKERS = frozenset({
    UNKNOWN, "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7", "3eeb2bf0-c639-47a8-9e75-3b44932eb421",
    "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2", "030794c1-ac77-496b-92df-f27374a8bd58",
    "e48ece36-62e2-4504-bad9-02848725956a", "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",
})


def is_unknown(value: Any) -> bool:
    """Whether ``value`` is one of Pulumi's unknown markers (known only after deployment)."""
    return isinstance(value, str) and value in UNKNOWN_MARKERS


def is_known(value: Any) -> bool:
    """Whether the plan says something: not absent, not empty text, not unknown."""
    return value is not None and value != "" and not is_unknown(value)


def dig(value: Any, *path: Any, default: Any = None) -> Any:
    """``dig(inputs, "spec", "predictor", "minReplicas")``: None-safe nested lookup."""
    for part in path:
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and isinstance(part, int) and -len(value) <= part < len(value):
            value = value[part]
        else:
            return default
    return value


def mapping(value: Any) -> Mapping[str, Any]:
    """The value if it is a mapping, else empty (absent, or unknown during preview)."""
    return value if isinstance(value, Mapping) else {}


def items(value: Any) -> list[Any]:
    """The value if it is a list, else empty (absent, or unknown during preview)."""
    return value if isinstance(value, list) else []


def truthy(value: Any) -> bool | None:
    """Pulumi inputs spell booleans as bools or strings ("true"); None when unknown or absent."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def whole_number(value: Any) -> int:
    """``value`` as an int; 0 when it is absent, unknown or not a number."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def decode_json(value: Any) -> Any:
    """Structured config and policy documents arrive as JSON text in real previews."""
    return decode_value(value)


def name_of(urn: str) -> str:
    """``urn:pulumi:dev::servestack::aws:eks/cluster:Cluster::main`` -> ``main``."""
    return urn.rsplit("::", 1)[-1]


def type_of(urn: str) -> str:
    """The resource's own type token from its URN (the last of its ``$``-joined parent types)."""
    return urn.split("::")[2].rsplit("$", 1)[-1]


def resource_key(urn: str) -> str:
    """``urn:pulumi:dev::servestack::type::name`` -> ``type::name`` (stable across stacks)."""
    parts = urn.split("::", 2)
    return parts[2] if len(parts) == 3 else urn


def stack_and_project(urn: str) -> tuple[str, str] | None:
    """``urn:pulumi:prod::servestack::...`` -> ``("prod", "servestack")``; None for a malformed URN."""
    parts = urn.split("::")
    return (parts[0].removeprefix("urn:pulumi:"), parts[1]) if len(parts) >= 2 else None
