"""``servestack:nodePools``: EKS managed node groups, keyed by pool name.

A pool names its instance types; the accelerator catalog derives everything else (AMI type,
taint, labels, device plugin), so a GPU pool is tainted ``nvidia.com/gpu`` without anyone
writing it.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

from .. import catalog
from .base import ConfigModel, Finding

_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")


def _pool_name(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError("a pool name must start with a lowercase letter and hold only lowercase letters, digits and '-', at most 31 characters")
    return name


PoolName = Annotated[str, AfterValidator(_pool_name)]


class NodePoolConfig(ConfigModel):
    """One EKS managed node group."""

    instance_types: list[str] = Field(min_length=1)
    """EC2 instance types, all of one accelerator kind and one architecture. Required."""
    min_size: int = Field(default=1, ge=0, le=1000)
    """Fewest nodes. Accelerator pools may use 0 and scale from zero. Default 1."""
    max_size: int = Field(default=3, ge=1, le=1000)
    """Most nodes. Default 3."""
    desired_size: int | None = Field(default=None, ge=0, le=1000)
    """Nodes at creation; the autoscaler owns it afterwards. Default: ``minSize``."""

    def instance_specs(self) -> list[catalog.InstanceType]:
        """Catalog entries of the instance types (call only on a pool without problems)."""
        return [catalog.lookup(t) for t in self.instance_types]

    def problems(self) -> list[Finding]:
        found = []
        specs = []
        for i, name in enumerate(self.instance_types):
            try:
                specs.append(catalog.lookup(name))
            except catalog.CatalogError as error:
                found.append(Finding(("instanceTypes", i), str(error), name))
        if len(set(self.instance_types)) != len(self.instance_types):
            found.append(Finding(("instanceTypes",), "must not list an instance type twice", self.instance_types))
        kinds = sorted({s.kind.value for s in specs})
        if len(kinds) > 1:
            found.append(Finding(
                ("instanceTypes",),
                f"mixes accelerator kinds ({', '.join(kinds)}); one pool holds one kind, so declare a pool per kind",
                self.instance_types,
            ))
        archs = sorted({s.architecture for s in specs})
        if len(archs) > 1:
            found.append(Finding(
                ("instanceTypes",),
                f"mixes CPU architectures ({', '.join(archs)}); one pool runs one AMI, so declare a pool per architecture",
                self.instance_types,
            ))
        if self.min_size > self.max_size:
            found.append(Finding(("minSize",), f"must not exceed maxSize ({self.max_size})", self.min_size))
        if self.desired_size is not None and not self.min_size <= self.desired_size <= self.max_size:
            found.append(Finding(("desiredSize",), f"must lie between minSize ({self.min_size}) and maxSize ({self.max_size})", self.desired_size))
        return found
