"""Pulumi's wire format and the plan's JSON: the special-value signatures, and the conversions the
recording monitor makes between protobuf structs and plain values.

Pure data conversion: no Pulumi runtime, no event loop. The fast paths here do in one pass what
``json_format.MessageToDict`` plus Pulumi's (de)serializers do, and say so where they hand a
value back to those (see :class:`NotPlain`).
"""

from __future__ import annotations

import math
from typing import Any

from google.protobuf import json_format, struct_pb2

from components.config.stack import SECRET_MASK
from plandoc.values import UNKNOWN  # the value of an output not known during a preview

# Signatures Pulumi's wire format uses for special values (sdk/go/common/resource/sig).
SIG = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
RESOURCE_REF_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
ASSET_SIG = "c44067f5952c0a294b673a41bacd8c17"
ARCHIVE_SIG = "0def7320c3a5731c473e5ecbe6d01bc7"
OUTPUT_SIG = "d0e6a833031e9bbcd3f4e8bde6ca49a4"


def to_plain(value: Any) -> Any:
    """Pulumi wire value (protobuf Struct as python) -> JSON value; secrets become the mask."""
    if isinstance(value, dict):
        sig = value.get(SIG)
        if sig == SECRET_SIG:
            return SECRET_MASK
        if sig == RESOURCE_REF_SIG:
            return value.get("urn")
        if sig == OUTPUT_SIG:
            return SECRET_MASK if value.get("secret") else to_plain(value.get("value", UNKNOWN))
        if sig in (ASSET_SIG, ARCHIVE_SIG):
            return {k: to_plain(v) for k, v in sorted(value.items()) if k != SIG}
        return {k: to_plain(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [to_plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def struct_to_plain(struct) -> dict[str, Any]:
    return to_plain(json_format.MessageToDict(struct)) if struct is not None else {}


def recorded(struct: struct_pb2.Struct) -> dict[str, Any]:
    """``struct_to_plain`` with one pass over the protobuf where it can."""
    try:
        return to_plain(struct_to_python(struct, [False]))
    except NotPlain:
        return struct_to_plain(struct)


class NotPlain(Exception):
    """A value the fast conversion leaves to protobuf's and Pulumi's own converters."""


def struct_to_python(struct: struct_pb2.Struct, special: list[bool]) -> dict[str, Any]:
    """``json_format.MessageToDict(struct)`` (numbers as floats, nulls kept, the struct's key order).

    Sets ``special[0]`` when the struct holds a value Pulumi's deserializer does not pass through
    as it is (a signature: secret, resource reference, asset, output value; or the unknown
    value). Raises NotPlain where MessageToDict would raise (a non-finite number, a Value
    without a kind), so that the caller's fallback raises exactly as before.
    """
    out = {}
    for key, value in struct.fields.items():
        out[key] = _value_to_python(value, special)
    if SIG in out:
        special[0] = True
    return out


def _value_to_python(value: struct_pb2.Value, special: list[bool]) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "string_value":
        text = value.string_value
        if text == UNKNOWN:
            special[0] = True
        return text
    if kind == "struct_value":
        return struct_to_python(value.struct_value, special)
    if kind == "list_value":
        return [_value_to_python(item, special) for item in value.list_value.values]
    if kind == "bool_value":
        return value.bool_value
    if kind == "number_value":
        number = value.number_value
        if not math.isfinite(number):
            raise NotPlain
        return number
    if kind == "null_value":
        return None
    raise NotPlain


def as_deserialized(value: Any) -> Any:
    """What ``rpc.deserialize_properties`` makes of a struct holding no special value: the same
    values, without the keys whose value is null."""
    if type(value) is dict:
        return {k: as_deserialized(v) for k, v in value.items() if v is not None}
    if type(value) is list:
        return [as_deserialized(v) for v in value]
    return value


def is_plain(value: Any) -> bool:
    """JSON data that ``rpc.serialize_properties`` would pass through unchanged."""
    kind = type(value)
    if kind is dict:
        return SIG not in value and all(type(k) is str and is_plain(v) for k, v in value.items())
    if kind is list:
        return all(is_plain(v) for v in value)
    return kind is str or kind is float or kind is int or kind is bool or value is None


def plain_struct(state: dict[str, Any]) -> struct_pb2.Struct:
    """``rpc.serialize_properties(state, {})`` for plain JSON ``state``: the same assignments
    (a top-level null is left out), without an event loop round trip per value."""
    struct = struct_pb2.Struct()
    for key, value in state.items():
        if value is not None:
            struct[key] = value
    return struct
