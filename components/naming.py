"""Names and tags shared by every component, derived from the project and stack."""

from __future__ import annotations

import pulumi

#: Tag on every AWS resource naming the stack that owns it.
STACK_TAG = "servestack:stack"


def cluster_name() -> str:
    """The EKS cluster name: ``<project>-<stack>``, stable across runs and unique per stack."""
    return f"{pulumi.get_project()}-{pulumi.get_stack()}"


def base_tags(extra: dict[str, str]) -> dict[str, str]:
    """Tags for every AWS resource: the stack's own tags plus the owning stack."""
    return {**extra, STACK_TAG: f"{pulumi.get_project()}/{pulumi.get_stack()}"}
