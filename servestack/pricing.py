"""``servestack prices update``: a region's price file (``plandoc/data/prices-<region>.json``) from AWS.

- On-demand instance prices: the AWS Price List API (``pricing:GetProducts``, service ``AmazonEC2``) with the
  filters of a plain Linux node: ``instanceType``, ``regionCode``, ``operatingSystem`` Linux, ``tenancy`` Shared,
  ``preInstalledSw`` NA, ``capacitystatus`` Used; the hourly ``OnDemand`` price dimension in USD.
- Spot prices, for the instance types of spot pools only: the Price List API does not publish spot prices, so
  they come from EC2 ``DescribeSpotPriceHistory`` in the region (Linux/UNIX, the lowest current price over its
  zones: what Karpenter's price-capacity-optimized strategy starts from).
- The EKS control plane (``AmazonEKS``, usage types ``...AmazonEKS-Hours:perCluster`` and
  ``...AmazonEKS-Hours:extendedSupport``), NAT gateway hours (``AmazonEC2``, ``NatGateway-Hours``) and public IPv4
  addresses (``AmazonVPC``, ``PublicIPv4:InUseAddress``), by region code.

The Price List API answers from us-east-1 (its endpoint regions: us-east-1, eu-central-1, ap-south-1) for every
region. What is not found is left out of the file and priced "unpriced" by ``servestack cost``, never guessed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from plandoc.pools import configured_pools
from plandoc.prices import price_file

PRICING_ENDPOINT_REGION = "us-east-1"
_LINUX = {"operatingSystem": "Linux", "tenancy": "Shared", "preInstalledSw": "NA", "capacitystatus": "Used"}


def stack_instance_types(stacks_dir: Path, region: str) -> tuple[list[str], list[str]]:
    """(every instance type, those of spot pools) that the stack files in ``stacks_dir`` for ``region`` name."""
    every, spot = set(), set()
    for path in sorted(stacks_dir.glob("Pulumi.*.yaml")):
        try:
            config = (yaml.safe_load(path.read_text()) or {}).get("config") or {}
        except (OSError, yaml.YAMLError, AttributeError):
            continue
        if not isinstance(config, Mapping) or config.get("aws:region", region) != region:
            continue
        pools = config.get("servestack:nodePools")
        for pool in configured_pools({"servestack:nodePools": pools} if isinstance(pools, Mapping) else {}).values():
            every.update(pool.instance_types)
            if pool.capacity_type == "SPOT":
                spot.update(pool.instance_types)
    return sorted(every), sorted(spot)


def _products(client: Any, service: str, filters: Mapping[str, str]) -> list[dict[str, Any]]:
    terms = [{"Type": "TERM_MATCH", "Field": k, "Value": v} for k, v in filters.items()]
    found, token = [], None
    while True:
        kwargs: dict[str, Any] = {"ServiceCode": service, "Filters": terms, "FormatVersion": "aws_v1", "MaxResults": 100}
        if token:
            kwargs["NextToken"] = token
        answer = client.get_products(**kwargs)
        found += [json.loads(item) if isinstance(item, str) else item for item in answer.get("PriceList", [])]
        token = answer.get("NextToken")
        if not token:
            return found


def _hourly_usd(product: Mapping[str, Any]) -> float | None:
    """The hourly on-demand USD price of a Price List product; None when it has none above zero."""
    for term in (product.get("terms") or {}).get("OnDemand", {}).values():
        for dimension in (term.get("priceDimensions") or {}).values():
            usd = (dimension.get("pricePerUnit") or {}).get("USD")
            if dimension.get("unit") in ("Hrs", "Hours", "hours") and usd is not None and float(usd) > 0:
                return float(usd)
    return None


def _by_usage(products: Iterable[Mapping[str, Any]], suffix: str) -> float | None:
    for product in products:
        usage = str(((product.get("product") or {}).get("attributes") or {}).get("usagetype", ""))
        if usage.endswith(suffix):
            price = _hourly_usd(product)
            if price is not None:
                return price
    return None


def on_demand_prices(client: Any, region: str, instance_types: Iterable[str]) -> dict[str, float]:
    found = {}
    for instance_type in instance_types:
        products = _products(client, "AmazonEC2", {"instanceType": instance_type, "regionCode": region, **_LINUX})
        prices = sorted(p for p in (_hourly_usd(product) for product in products) if p is not None)
        if prices:
            found[instance_type] = prices[0]
    return found


def spot_prices(ec2: Any, instance_types: list[str]) -> dict[str, float]:
    if not instance_types:
        return {}
    answer = ec2.describe_spot_price_history(InstanceTypes=instance_types, ProductDescriptions=["Linux/UNIX"],
                                             MaxResults=1000)
    found: dict[str, float] = {}
    for entry in answer.get("SpotPriceHistory", []):
        price = float(entry["SpotPrice"])
        name = entry["InstanceType"]
        found[name] = min(price, found.get(name, price))
    return found


def fetch_prices(region: str, instance_types: list[str], spot_types: list[str], pricing: Any, ec2: Any,
                 date: str) -> dict[str, Any]:
    """The content of a region's price file (see the module)."""
    eks = _products(pricing, "AmazonEKS", {"regionCode": region})
    control_plane = {k: v for k, v in (("STANDARD", _by_usage(eks, "AmazonEKS-Hours:perCluster")),
                                       ("EXTENDED", _by_usage(eks, "AmazonEKS-Hours:extendedSupport"))) if v is not None}
    nat = _by_usage(_products(pricing, "AmazonEC2", {"regionCode": region, "productFamily": "NAT Gateway"}),
                    "NatGateway-Hours")
    ipv4 = _by_usage(_products(pricing, "AmazonVPC", {"regionCode": region}), "PublicIPv4:InUseAddress")
    data: dict[str, Any] = {
        "region": region, "date": date, "currency": "USD", "hoursPerMonth": 730,
        "unit": "per hour, On-Demand, Linux, shared tenancy (spot: lowest current Linux/UNIX spot price of the region)",
        "source": f"AWS Price List API (pricing:GetProducts) for {region}, and EC2 DescribeSpotPriceHistory for spot; "
                  f"written by `servestack prices update --region {region}` on {date}",
        "instances": on_demand_prices(pricing, region, instance_types),
        "spot": spot_prices(ec2, spot_types),
        "eksControlPlane": control_plane,
    }
    if nat is not None:
        data["natGateway"] = nat
    if ipv4 is not None:
        data["publicIpv4Address"] = ipv4
    return data


def write_price_file(project_dir: Path, data: Mapping[str, Any]) -> Path:
    path = project_dir / "plandoc" / price_file(str(data["region"]))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    return path


ClientFactory = Callable[[str, str], Any]
"""(service, region) -> a boto3 client: the seam tests put a botocore Stubber behind."""
