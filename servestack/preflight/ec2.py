"""Instance types of node pools: offered in the region and in every zone the pool's subnets use.

EKS places a managed node group's instances in its subnets' availability zones; an instance
type that a zone does not offer makes the node group fail to scale there (or fail to create),
late in ``pulumi up``. The zones come from the plan (the ``availabilityZone`` of the subnets
a node group is wired to) or, for an existing network, from ``DescribeSubnets``.
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from plandoc.placement import PoolPlacement

from .aws import AwsClients, CannotTell, call
from .report import Result, Status


def _offered(clients: AwsClients, location_type: str, types: list[str], locations: list[str] | None = None) -> set[tuple[str, str]]:
    """(instance type, location) pairs that EC2 offers."""
    filters = [{"Name": "instance-type", "Values": types}]
    if locations:
        filters.append({"Name": "location", "Values": locations})
    paginator = clients("ec2").get_paginator("describe_instance_type_offerings")
    pages = call("ec2:DescribeInstanceTypeOfferings",
                 lambda: list(paginator.paginate(LocationType=location_type, Filters=filters)))
    return {(o["InstanceType"], o["Location"]) for page in pages for o in page.get("InstanceTypeOfferings", [])}


def _resolve_zones(pool: PoolPlacement, clients: AwsClients) -> tuple[tuple[str, ...], Result | None]:
    """The pool's zones; subnet ids (an existing network) are looked up with DescribeSubnets."""
    if pool.zones or not pool.subnet_ids:
        return pool.zones, None
    try:
        answer = call("ec2:DescribeSubnets", clients("ec2").describe_subnets, SubnetIds=list(pool.subnet_ids),
                      expected=("InvalidSubnetID.NotFound", "InvalidSubnetID.Malformed"))
    except CannotTell as error:
        return (), Result("ec2-subnets", pool.subject, Status.SKIP, f"cannot tell the zones of {', '.join(pool.subnet_ids)}: {error}")
    except ClientError as error:
        return (), Result("ec2-subnets", pool.subject, Status.FAIL,
                          f"subnets of {pool.zone_source} do not exist in {clients.region}: "
                          f"{error.response['Error'].get('Message', '')}",
                          f"correct {pool.zone_source} (aws ec2 describe-subnets --region {clients.region})")
    return tuple(sorted({s["AvailabilityZone"] for s in answer.get("Subnets", [])})), None


def check_pools(pools: list[PoolPlacement], clients: AwsClients) -> list[Result]:
    results: list[Result] = []
    pools = [p for p in pools if p.instance_types]
    if not pools:
        return results
    types = sorted({t for p in pools for t in p.instance_types})
    region = clients.region
    try:
        in_region = {t for t, _ in _offered(clients, "region", types)}
    except CannotTell as error:
        return [Result("ec2-region-offering", p.subject, Status.SKIP, f"cannot tell which instance types {region} offers: {error}")
                for p in pools]

    zones_of: dict[str, tuple[str, ...]] = {}
    for pool in pools:
        zones, problem = _resolve_zones(pool, clients)
        zones_of[pool.name] = zones
        if problem:
            results.append(problem)
    all_zones = sorted({z for zones in zones_of.values() for z in zones})
    try:
        in_zones: set[tuple[str, str]] | CannotTell = _offered(clients, "availability-zone", types, all_zones) if all_zones else set()
    except CannotTell as error:
        in_zones = error

    for pool in pools:
        zones = zones_of[pool.name]
        for instance_type in pool.instance_types:
            if instance_type not in in_region:
                results.append(Result(
                    "ec2-region-offering", pool.subject, Status.FAIL,
                    f"{instance_type} is not offered in region {region}",
                    f"choose another instance type for servestack:nodePools.{pool.name}.instanceTypes, or deploy the stack to a "
                    f"region that offers it (aws ec2 describe-instance-type-offerings --location-type region "
                    f"--filters Name=instance-type,Values={instance_type} --region <region>)",
                ))
                continue
            results.append(Result("ec2-region-offering", pool.subject, Status.PASS, f"{instance_type} is offered in region {region}"))
            if isinstance(in_zones, CannotTell):
                results.append(Result("ec2-zone-offering", pool.subject, Status.SKIP,
                                      f"cannot tell the zones that offer {instance_type}: {in_zones}"))
            elif not zones:
                results.append(Result("ec2-zone-offering", pool.subject, Status.SKIP,
                                      f"the plan names no availability zones for {pool.subject} (no subnet with a known "
                                      "availabilityZone), so zone offerings of "
                                      f"{instance_type} cannot be checked"))
            else:
                missing = [z for z in zones if (instance_type, z) not in in_zones]
                if missing:
                    results.append(Result(
                        "ec2-zone-offering", pool.subject, Status.FAIL,
                        f"{instance_type} is not offered in {', '.join(missing)} (zones from {pool.zone_source}: {', '.join(zones)})",
                        f"choose an instance type offered in every zone of the pool, or place the pool's subnets in zones that "
                        f"offer {instance_type} (aws ec2 describe-instance-type-offerings --location-type availability-zone "
                        f"--filters Name=instance-type,Values={instance_type} --region {region})",
                    ))
                else:
                    results.append(Result("ec2-zone-offering", pool.subject, Status.PASS,
                                          f"{instance_type} is offered in every zone of the pool: {', '.join(zones)}"))
    return results
