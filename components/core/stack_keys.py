"""How a stack's config reaches a program: the key namespace, the region key, the mask that stands for
a secret, and Pulumi's JSON encoding of structured values."""

from __future__ import annotations

import json
from typing import Any

#: Every servestack setting is ``servestack:<key>`` in the stack file.
NAMESPACE = "servestack"
#: The AWS provider's region setting.
REGION_KEY = "aws:region"
#: What plans, logs and messages show instead of a secret's value.
SECRET_MASK = "[secret]"


def decode_value(value: Any) -> Any:
    """Pulumi hands structured config to programs as JSON text; scalars stay strings."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except (ValueError, RecursionError):  # not JSON, an integer of over 4300 digits, too deep
            return value
    return value
