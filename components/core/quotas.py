"""EC2 vCPU quotas (Service Quotas, service code ``ec2``): the instance classes that have their own,
which the accelerator catalog assigns to its kinds and preflight checks against a pool's demand."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Quota:
    """One EC2 vCPU quota of Service Quotas (service code ``ec2``)."""

    code: str
    name: str


@dataclass(frozen=True)
class QuotaClass:
    """An EC2 instance class with its own vCPU quotas: one for running on-demand instances, one
    for open spot requests (``aws service-quotas list-service-quotas --service-code ec2``)."""

    on_demand: Quota
    spot: Quota
    letters: tuple[str, ...]
    """Leading letters of the instance families of the class (``g`` covers g5, g6e; ``gr`` gr6)."""


QUOTA_G_AND_VT = QuotaClass(
    Quota("L-DB2E81BA", "Running On-Demand G and VT instances"),
    Quota("L-3819A6DF", "All G and VT Spot Instance Requests"), ("g", "gr", "vt"))
QUOTA_P = QuotaClass(
    Quota("L-417A185B", "Running On-Demand P instances"),
    Quota("L-7212CCBC", "All P Spot Instance Requests"), ("p",))
QUOTA_INF = QuotaClass(
    Quota("L-1945791B", "Running On-Demand Inf instances"),
    Quota("L-B5D1601B", "All Inf Spot Instance Requests"), ("inf",))
QUOTA_TRN = QuotaClass(
    Quota("L-2C3B7624", "Running On-Demand Trn instances"),
    Quota("L-6B0D517C", "All Trn Spot Instance Requests"), ("trn",))
QUOTA_F = QuotaClass(
    Quota("L-74FC7D96", "Running On-Demand F instances"),
    Quota("L-88CF9481", "All F Spot Instance Requests"), ("f",))
QUOTA_STANDARD = QuotaClass(
    Quota("L-1216C47A", "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances"),
    Quota("L-34B43A08", "All Standard (A, C, D, H, I, M, R, T, Z) Spot Instance Requests"),
    ("a", "c", "d", "h", "i", "im", "is", "m", "r", "t", "z"))
