"""Deterministic answers of the offline plan, one module per provider area.

Each module registers into :mod:`.registry` with :func:`.registry.computes` (computed outputs of
a resource type) or :func:`.registry.answers` (an invoke); a token answered twice is an error, so
the order of the imports below does not matter. Add a module here and import it below; nothing
else needs to change.
"""

from . import aws_functions, eks, endpoints, network  # noqa: F401
