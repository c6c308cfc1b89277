"""``servestack preflight``: check a stack's plan against AWS before ``pulumi up``.

:mod:`.inputs` reads what to check from a plan (through :mod:`plandoc`); :mod:`.s3`, :mod:`.ec2`,
:mod:`.eks`, :mod:`.quotas` and :mod:`.amis` check it with boto3; :func:`run_preflight` runs them all.
"""

from __future__ import annotations

from plandoc.document import PlanDoc

from .amis import ami_uses, check_amis
from .aws import AwsClients, AwsUnavailable
from .ec2 import check_pools
from .eks import check_addons, check_kubernetes_version
from .inputs import PreflightInputs, collect
from .quotas import check_quotas
from .report import Report, Result, Status
from .s3 import check_models

__all__ = ["AwsClients", "AwsUnavailable", "PreflightInputs", "Report", "Result", "Status", "collect", "run_preflight"]


def run_preflight(plan: PlanDoc, clients: AwsClients | None = None) -> Report:
    """Every check for one plan, reported under the plan's own stack name. Raises
    :class:`AwsUnavailable` when AWS cannot be used."""
    inputs = collect(plan)
    clients = clients or AwsClients(inputs.region)
    report = Report(plan.stack, clients.region, clients.account())
    report.results += check_models(inputs.models, clients)
    report.results += check_pools(inputs.pools, clients)
    report.results += check_kubernetes_version(inputs.kubernetes_version, clients)
    report.results += check_addons(inputs.addons, inputs.kubernetes_version, clients)
    report.results += check_quotas(inputs.pools, clients)
    report.results += check_amis(ami_uses(plan), inputs.kubernetes_version, clients)
    return report
