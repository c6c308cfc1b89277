"""``servestack prices update --region R``: write the region's price file from the AWS Price List API."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

import click

from .common import EXIT_FAILED, EXIT_INVALID, fail, project_option

_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]$")


def _boto3_client(service: str, region: str):
    import boto3

    return boto3.Session().client(service, region_name=region)


@click.group("prices")
def prices_command() -> None:
    """Price files by region (plandoc/data/prices-<region>.json) that `servestack cost` reads."""


@prices_command.command("update")
@click.option("--region", required=True, help="AWS region code, e.g. eu-west-1.")
@project_option
@click.option("--instance-type", "extra_types", multiple=True,
              help="Also price this instance type (repeatable); by default the types of the stacks in the region.")
@click.pass_context
def update_command(ctx: click.Context, region: str, project_dir: Path, extra_types: tuple[str, ...]) -> None:
    """Fetch on-demand prices (AWS Price List API) of the instance types the project's stacks in REGION use, spot
    prices (EC2 DescribeSpotPriceHistory) of those of spot pools, the EKS control plane, NAT gateway and public IPv4
    prices, and write plandoc/data/prices-REGION.json. Needs AWS credentials (pricing:GetProducts,
    ec2:DescribeSpotPriceHistory). Exit 2 on a bad region, 1 when AWS cannot be asked."""
    from botocore.exceptions import BotoCoreError, ClientError

    from ..pricing import PRICING_ENDPOINT_REGION, fetch_prices, stack_instance_types, write_price_file

    if not _REGION.match(region):
        raise fail(f"error: --region {region!r} is not an AWS region code (e.g. us-east-1, eu-west-1)", EXIT_INVALID)
    types, spot = stack_instance_types(project_dir / "stacks", region)
    types = sorted(set(types) | set(extra_types))
    if not types:
        raise fail(f"error: no stack in {project_dir / 'stacks'} runs in {region} and no --instance-type was given: "
                   "nothing to price", EXIT_INVALID)
    factory = (ctx.obj or {}).get("client_factory", _boto3_client)
    date = (ctx.obj or {}).get("today") or datetime.now(timezone.utc).strftime("%Y-%m-%d")
    try:
        data = fetch_prices(region, types, spot, factory("pricing", PRICING_ENDPOINT_REGION), factory("ec2", region), date)
    except (BotoCoreError, ClientError) as error:
        raise fail(f"error: AWS could not be asked for prices: {error}", EXIT_FAILED) from None
    path = write_price_file(project_dir, data)
    missing = [t for t in types if t not in data["instances"]]
    click.echo(f"wrote {path}: {len(data['instances'])} on-demand and {len(data['spot'])} spot prices of {date}"
               + (f"; not found (priced 'unpriced'): {', '.join(missing)}" if missing else ""))
