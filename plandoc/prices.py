"""Price tables by region: ``plandoc/data/prices-<region>.json``, one file per AWS region.

A figure is only ever priced with the table of the stack's own region (``aws:region``); a region
without a file has no prices (:func:`price_table` returns None) and every reader says so, with
the command that writes the file (:data:`UPDATE_COMMAND`), never another region's numbers.
``servestack prices update --region R`` writes these files from the AWS Price List API.

A table: ``region``, ``date`` (when its prices were read), ``currency`` (USD), ``hoursPerMonth``,
``instances`` (on-demand USD per hour by instance type), optionally ``spot`` (USD per hour by
instance type, the lowest recent spot price over the region's zones), ``eksControlPlane``
(``STANDARD``, ``EXTENDED``), ``natGateway`` and ``publicIpv4Address`` (USD per hour each).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

#: The region a plan without ``aws:region`` runs in (the AWS provider requires one; servestack's stacks set it).
DEFAULT_REGION = "us-east-1"
#: How a region's price file is written; ``{region}`` filled in.
UPDATE_COMMAND = "servestack prices update --region {region}"
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]$")


def price_file(region: str) -> str:
    """The table's path inside the ``plandoc`` package: ``data/prices-us-east-1.json``."""
    return f"data/prices-{region}.json"


@dataclass(frozen=True)
class PriceTable:
    region: str
    date: str
    instances: Mapping[str, float]
    spot: Mapping[str, float] = field(default_factory=dict)
    eks_control_plane: Mapping[str, float] = field(default_factory=dict)
    nat_gateway: float | None = None
    public_ipv4_address: float | None = None
    hours_per_month: int = 730

    @property
    def source(self) -> str:
        """Where the table lives in the project, for people reading a cost report."""
        return f"plandoc/{price_file(self.region)}"

    def instance(self, instance_type: str, capacity_type: str = "ON_DEMAND") -> float | None:
        """USD per hour of one node: the spot price for a spot pool when the table has one, else on-demand."""
        if capacity_type == "SPOT" and instance_type in self.spot:
            return self.spot[instance_type]
        return self.instances.get(instance_type)

    def market(self, instance_type: str, capacity_type: str) -> str:
        """``spot`` or ``on-demand``: which price :meth:`instance` gives."""
        return "spot" if capacity_type == "SPOT" and instance_type in self.spot else "on-demand"


def table_of(data: Mapping[str, Any]) -> PriceTable:
    """A :class:`PriceTable` from the JSON of a price file."""
    return PriceTable(
        region=str(data["region"]), date=str(data["date"]),
        instances={str(k): float(v) for k, v in data.get("instances", {}).items()},
        spot={str(k): float(v) for k, v in data.get("spot", {}).items()},
        eks_control_plane={str(k): float(v) for k, v in data.get("eksControlPlane", {}).items()},
        nat_gateway=float(data["natGateway"]) if data.get("natGateway") is not None else None,
        public_ipv4_address=float(data["publicIpv4Address"]) if data.get("publicIpv4Address") is not None else None,
        hours_per_month=int(data.get("hoursPerMonth", 730)),
    )


@cache
def price_table(region: str = DEFAULT_REGION) -> PriceTable | None:
    """The table of ``region``; None when the project has no price file for it (or the name is not a region)."""
    if not _REGION.match(region):
        return None
    path = resources.files("plandoc").joinpath(price_file(region))
    if not path.is_file():
        return None
    with path.open() as f:
        table = table_of(json.load(f))
    return table if table.region == region else None


def region_of(stack_config: Mapping[str, Any] | None) -> str:
    region = (stack_config or {}).get("aws:region")
    return region if isinstance(region, str) and region else DEFAULT_REGION
