"""What preflight checks, read from a plan through :mod:`plandoc`.

(a) model URIs per endpoint, stable and candidate (:mod:`plandoc.models`), and each LLM
    endpoint's ``spec.model.uri`` (:mod:`plandoc.llm`);
(b) instance types, capacity type, max size and availability zones (or subnet ids to resolve)
    per pool (:mod:`plandoc.placement`);
(c) the Kubernetes version and the EKS add-on versions (:mod:`plandoc.cluster`).
Each reads the resources first (what ``pulumi up`` will send to AWS) and fills what they leave
unknown from config; shapes it does not recognise are ignored, never fatal.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from plandoc.cluster import Addon, cluster_versions
from plandoc.document import PlanDoc
from plandoc.llm import llm_model_uris
from plandoc.models import ModelUri, model_uris
from plandoc.placement import PoolPlacement, pool_placements
from plandoc.values import is_known


@dataclass
class PreflightInputs:
    region: str | None = None
    models: list[ModelUri] = field(default_factory=list)
    pools: list[PoolPlacement] = field(default_factory=list)
    kubernetes_version: str | None = None
    support_type: str | None = None
    addons: list[Addon] = field(default_factory=list)


def collect(plan: PlanDoc) -> PreflightInputs:
    """Everything preflight checks, from one plan."""
    versions = cluster_versions(plan)
    region = plan.config.get("aws:region")
    return PreflightInputs(
        region=region if is_known(region) else None,
        models=model_uris(plan) + llm_model_uris(plan.resources.values()),
        pools=pool_placements(plan),
        kubernetes_version=versions.kubernetes_version,
        support_type=versions.support_type,
        addons=versions.addons,
    )
