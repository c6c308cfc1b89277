"""A container's default requests and limits, declared once for the config model (its defaults) and the
renderers (a container whose stack names no resources)."""

from __future__ import annotations

#: What the scheduler reserves for a container that states nothing.
DEFAULT_REQUESTS: dict[str, str] = {"cpu": "500m", "memory": "1Gi"}
#: The most such a container may use.
DEFAULT_LIMITS: dict[str, str] = {"cpu": "1", "memory": "2Gi"}
