"""The vocabulary of node pools, shared by the config model, the components that build pools and the
readers of a plan: who provisions a pool, capacity types, a pool's defaults and its root volume."""

from __future__ import annotations

from . import catalog

#: Config spelling of a capacity type -> the EKS API's.
CAPACITY_TYPES = {"onDemand": "ON_DEMAND", "spot": "SPOT", "capacityBlock": "CAPACITY_BLOCK"}
#: Label domains a Karpenter NodePool refuses in its template (karpenter.sh/v1 CRD validations).
KARPENTER_LABEL_DOMAINS = ("karpenter.sh", "karpenter.k8s.aws")
#: Who provisions a pool's nodes.
PROVISIONERS = ("karpenter", "managed")

#: A pool's sizes and capacity type when the stack leaves them out (``NodePoolConfig``'s defaults).
DEFAULT_MIN_SIZE = 1
DEFAULT_MAX_SIZE = 3
DEFAULT_CAPACITY_TYPE = "onDemand"

#: Root device of AL2023 AMIs (EKS-optimized and those built from the EKS AMI templates): the root
#: volume of every node (managed launch templates and Karpenter EC2NodeClasses alike).
ROOT_DEVICE = "/dev/xvda"
#: gp3 baseline performance, stated so that a plan shows what the volume gets.
GP3_IOPS = 3000
GP3_THROUGHPUT_MIBPS = 125


def default_provisioner(instance_types: object) -> str | None:
    """``karpenter`` for accelerator pools, ``managed`` for CPU pools; None when the instance types
    are not (yet) known to the catalog (the pool's problems then say why)."""
    try:
        kinds = {catalog.lookup(t).kind for t in instance_types}  # type: ignore[attr-defined]
    except (catalog.CatalogError, TypeError, AttributeError):
        return None
    if not kinds:
        return None
    return "managed" if kinds == {catalog.AcceleratorKind.NONE} else "karpenter"
