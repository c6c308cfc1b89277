"""``servestack preflight``: check a stack's plan against AWS before ``pulumi up``.

:mod:`.inputs` reads what to check from a plan document; :mod:`.s3`, :mod:`.ec2`,
:mod:`.eks` and :mod:`.quotas` check it with boto3; :func:`run_preflight` runs them all.
"""

from __future__ import annotations

from typing import Any

from .aws import AwsClients, AwsUnavailable
from .inputs import PreflightInputs, collect
from .report import Report, Result, Status

__all__ = ["AwsClients", "AwsUnavailable", "PreflightInputs", "Report", "Result", "Status", "collect", "run_preflight"]


def run_preflight(document: dict[str, Any], stack: str, clients: AwsClients | None = None) -> Report:
    """Every check for one plan document. Raises :class:`AwsUnavailable` when AWS cannot be used."""
    from .ec2 import check_pools
    from .eks import check_addons, check_kubernetes_version
    from .quotas import check_quotas
    from .s3 import check_models

    inputs = collect(document)
    clients = clients or AwsClients(inputs.region)
    report = Report(stack, clients.region, clients.account())
    report.results += check_models(inputs.models, clients)
    report.results += check_pools(inputs.pools, clients)
    report.results += check_kubernetes_version(inputs.kubernetes_version, clients)
    report.results += check_addons(inputs.addons, inputs.kubernetes_version, clients)
    report.results += check_quotas(inputs.pools, clients)
    return report
