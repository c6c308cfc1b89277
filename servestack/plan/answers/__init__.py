"""Deterministic answers of the offline plan, one module per provider area.

Each module registers with :func:`servestack.plan.mocks.computes` (computed outputs of a
resource type) or :func:`servestack.plan.mocks.answers` (an invoke). Add a module here and
import it below; nothing else needs to change.
"""

from . import aws_functions, network  # noqa: F401
from . import eks  # noqa: F401,E402 - after network: it adds the launch template's computed outputs
