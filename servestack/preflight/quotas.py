"""EC2 vCPU quotas per instance class (on-demand, or spot) against the pools at max size.

EC2 limits running on-demand instances, and open spot requests, per class in vCPUs; each
accelerator kind of the catalog (:mod:`components.core.catalog`) lists the quota classes of its
instance families, with the codes of Service Quotas (service code ``ec2``). A pool needs ``maxSize`` x the vCPUs of
its largest instance type (the worst case: every node on the largest type); pools of one class
and market add up. Instances the account already runs count against the same quota, so a pass
here is necessary, not sufficient. A new account's spot quotas for accelerated classes are
often 0, the commonest reason a spot GPU pool never gets a node.

Capacity-block pools run on capacity already purchased and are not checked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from botocore.exceptions import ClientError

from components.core import catalog
from components.core.catalog import Quota, QuotaClass
from plandoc.placement import PoolPlacement

from .aws import AwsClients, CannotTell, call
from .report import Result, Status

#: EKS capacity type -> which quota of an instance class the pool's instances count against.
_MARKETS: dict[str, Callable[[QuotaClass], Quota]] = {"ON_DEMAND": lambda c: c.on_demand, "SPOT": lambda c: c.spot}
SPOT_QUOTAS: frozenset[Quota] = frozenset(c.spot for c in catalog.quota_classes())


def quota_for(instance_type: str, capacity_type: str = "ON_DEMAND") -> Quota | None:
    """The quota an instance type counts against in a market (EKS capacity type ``ON_DEMAND`` or
    ``SPOT``): its catalog quota class's, by its family's leading letters."""
    quota_class = catalog.quota_class_of(instance_type)
    return None if quota_class is None else _MARKETS[capacity_type](quota_class)


@dataclass(frozen=True)
class PoolNeed:
    pool: str
    vcpus: int
    detail: str
    """``2 x g6.xlarge (4 vCPUs)``."""


def pool_needs(pools: list[PoolPlacement]) -> tuple[dict[Quota, list[PoolNeed]], list[Result]]:
    """vCPUs each on-demand or spot pool needs at max size, grouped by quota; skips for what cannot
    be counted."""
    needs: dict[Quota, list[PoolNeed]] = {}
    skipped = []
    for pool in pools:
        if not pool.instance_types:
            continue
        market = pool.capacity_type.upper()
        if market not in _MARKETS:
            skipped.append(Result("ec2-quota", pool.subject, Status.SKIP,
                                  f"capacity type {pool.capacity_type}: the pool runs on capacity already purchased; "
                                  "on-demand and spot vCPU quotas are not checked for it"))
            continue
        try:
            specs = [catalog.lookup(t) for t in pool.instance_types]
        except catalog.CatalogError as error:
            skipped.append(Result("ec2-quota", pool.subject, Status.SKIP, f"vCPUs unknown: {error}"))
            continue
        quotas = {quota_for(s.name, market) for s in specs}
        if None in quotas or len(quotas) != 1:
            kind = "on-demand" if market == "ON_DEMAND" else "spot"
            skipped.append(Result("ec2-quota", pool.subject, Status.SKIP,
                                  f"{', '.join(pool.instance_types)} map to no single {kind} quota class; not checked"))
            continue
        largest = max(specs, key=lambda s: s.vcpus)
        if pool.vcpu_limit is not None:  # a Karpenter pool launches up to its NodePool's cpu limit
            need = PoolNeed(pool.name, pool.vcpu_limit, f"NodePool cpu limit {pool.vcpu_limit} vCPUs of {', '.join(pool.instance_types)}")
        else:
            need = PoolNeed(pool.name, pool.max_size * largest.vcpus, f"{pool.max_size} x {largest.name} ({largest.vcpus} vCPUs)")
        needs.setdefault(quotas.pop(), []).append(need)
    return needs, skipped


def _quota_value(clients: AwsClients, quota: Quota) -> float:
    """The applied quota, or the AWS default when the account has none applied (NoSuchResource)."""
    client = clients("service-quotas")
    try:
        answer = call("servicequotas:GetServiceQuota", client.get_service_quota, ServiceCode="ec2", QuotaCode=quota.code,
                      expected=("NoSuchResourceException",))
    except ClientError:
        answer = call("servicequotas:GetAWSDefaultServiceQuota", client.get_aws_default_service_quota,
                      ServiceCode="ec2", QuotaCode=quota.code, expected=("NoSuchResourceException",))
    return float(answer["Quota"]["Value"])


def check_quotas(pools: list[PoolPlacement], clients: AwsClients) -> list[Result]:
    needs, results = pool_needs(pools)
    for quota in sorted(needs, key=lambda q: (q in SPOT_QUOTAS, q.code)):  # on-demand first
        pool_list = needs[quota]
        subject = "pool " + ", ".join(n.pool for n in pool_list) if len(pool_list) == 1 else "pools " + ", ".join(n.pool for n in pool_list)
        total = sum(n.vcpus for n in pool_list)
        detail = "; ".join(f"{n.pool}: {n.detail}" for n in pool_list)
        try:
            value = _quota_value(clients, quota)
        except CannotTell as error:
            results.append(Result("ec2-quota", subject, Status.SKIP,
                                  f"cannot tell the quota {quota.name} ({quota.code}) for {total} vCPUs: {error}"))
            continue
        except ClientError as error:
            results.append(Result("ec2-quota", subject, Status.SKIP,
                                  f"Service Quotas knows no quota {quota.code} ({quota.name}) in {clients.region}: "
                                  f"{error.response['Error'].get('Message', '')}"))
            continue
        if total > value:
            # A spot pool can also move to on-demand capacity (a quota of its own).
            instead = ", lower maxSize, or set capacityType onDemand" if quota in SPOT_QUOTAS else " or lower maxSize"
            results.append(Result(
                "ec2-quota", subject, Status.FAIL,
                f"at max size the pools need {total} vCPUs of {quota.name} ({detail}); the account's quota {quota.code} "
                f"in {clients.region} is {value:g} vCPUs",
                f"request an increase (aws service-quotas request-service-quota-increase --service-code ec2 --quota-code "
                f"{quota.code} --desired-value {total} --region {clients.region}){instead}",
            ))
        else:
            results.append(Result("ec2-quota", subject, Status.PASS,
                                  f"{total} vCPUs at max size ({detail}) fit the quota {quota.code} ({quota.name}) of {value:g} vCPUs"))
    return results
