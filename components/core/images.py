"""Is a container image pinned? One answer for config validation and the policy pack alike."""

from __future__ import annotations

import re
from enum import Enum

_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


class ImagePin(str, Enum):
    PINNED = "pinned"
    BAD_DIGEST = "bad-digest"
    UNTAGGED = "untagged"
    LATEST = "latest"


def image_pin(image: str) -> ImagePin:
    """How ``image`` is pinned: a version tag other than ``latest``, or a well-formed digest."""
    if "@" in image:
        return ImagePin.PINNED if _DIGEST.match(image.split("@", 1)[1]) else ImagePin.BAD_DIGEST
    last = image.rsplit("/", 1)[-1]  # a registry host may carry a port: registry:5000/repo
    if ":" not in last:
        return ImagePin.UNTAGGED
    return ImagePin.LATEST if last.rsplit(":", 1)[1] == "latest" else ImagePin.PINNED
