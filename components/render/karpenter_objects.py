"""Karpenter pools as Kubernetes objects: the EC2NodeClass and NodePool of one pool, and the chart values.

Pure functions, no Pulumi. A Karpenter pool is rendered from the same :class:`PoolPlacement` as a
managed node group (labels, taints, accelerator resource), so device plugins and endpoint placement
do not care who provisions the nodes. Shapes follow Karpenter v1.14.1's ``karpenter.sh/v1`` NodePool
and ``karpenter.k8s.aws/v1`` EC2NodeClass CRDs (vendored in ``tests/conformance/data``).

Disruption (README "Managed and Karpenter pools"): ``consolidationPolicy: WhenEmpty``, so Karpenter
never evicts a serving model to repack nodes; a node with no pods of the pool (the last replica of a
scaled-to-zero endpoint went away) is removed after :data:`CONSOLIDATE_AFTER`; voluntary disruptions
(emptiness, drift after an AMI pin moves) take at most ``maxUnavailable`` nodes at once; every node is
replaced after :data:`EXPIRE_AFTER` so that it runs a patched AMI. Expiry is forceful in Karpenter v1
(not held back by budgets), but draining honours PodDisruptionBudgets (no ``terminationGracePeriod``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..core import catalog, karpenter_limits, versions
from ..core.pools import GP3_IOPS, GP3_THROUGHPUT_MIBPS, ROOT_DEVICE
from ..core.placement import PoolPlacement

if TYPE_CHECKING:  # the renderer reads the stack model's values; it does not load pydantic
    from ..config.node_pools import NodePoolConfig

NODEPOOL_API = "karpenter.sh/v1"
NODECLASS_API = "karpenter.k8s.aws/v1"
NODECLASS_GROUP = "karpenter.k8s.aws"
#: Type tokens of the CustomResources in a plan (readers of pools rely on them).
NODEPOOL_TYPE = f"kubernetes:{NODEPOOL_API}:NodePool"
NODECLASS_TYPE = f"kubernetes:{NODECLASS_API}:EC2NodeClass"
#: Tag on the private subnets and the cluster security group that EC2NodeClasses select by.
DISCOVERY_TAG = "karpenter.sh/discovery"
#: Namespace and service account of the controller (its Pod Identity association names them).
NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "karpenter"
#: An empty node goes away after this long (scale-to-zero endpoints release their GPU).
CONSOLIDATE_AFTER = "10m"
#: Nodes are replaced after 30 days (Karpenter's default, stated): a node never outlives its AMI's patches.
EXPIRE_AFTER = "720h"
#: Config capacity type -> the values of the ``karpenter.sh/capacity-type`` label. A Capacity Block
#: is reserved capacity in Karpenter v1.14 (EC2NodeClass ``capacityReservationSelectorTerms``).
CAPACITY_TYPES = {"onDemand": "on-demand", "spot": "spot", "capacityBlock": "reserved"}
#: Catalog architecture -> the ``kubernetes.io/arch`` label.
ARCHITECTURES = {"x86_64": "amd64", "arm64": "arm64"}
#: Label domains a NodePool template may not set (the CRD refuses them).
RESTRICTED_LABEL_DOMAINS = ("karpenter.sh", "karpenter.k8s.aws")


def ami_alias() -> str:
    """The pinned EKS-optimized AL2023 release: Karpenter picks its standard, NVIDIA or Neuron variant."""
    return f"al2023@{versions.EKS_AL2023_AMI.version}"


def nodepool_limits(pool: NodePoolConfig, placement: PoolPlacement) -> dict[str, str]:
    """``maxSize`` nodes of the largest instance type (per dimension): what the NodePool may launch in all."""
    return karpenter_limits.rendered(karpenter_limits.limits(pool.instance_types, pool.max_size, placement.resource_name))


def requirements(pool: NodePoolConfig) -> list[dict[str, Any]]:
    """What a node of the pool may be: its instance types, capacity type, architecture, Linux."""
    architecture = pool.instance_specs()[0].architecture
    return [
        {"key": "node.kubernetes.io/instance-type", "operator": "In", "values": list(pool.instance_types)},
        {"key": "karpenter.sh/capacity-type", "operator": "In", "values": [CAPACITY_TYPES[pool.capacity_type]]},
        {"key": "kubernetes.io/arch", "operator": "In", "values": [ARCHITECTURES[architecture]]},
        {"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]},
    ]


def nodepool(pool: NodePoolConfig, placement: PoolPlacement) -> dict[str, Any]:
    """The NodePool of a pool (``metadata`` and ``spec``): nodes labelled and tainted as the catalog says."""
    template_spec: dict[str, Any] = {
        "nodeClassRef": {"group": NODECLASS_GROUP, "kind": "EC2NodeClass", "name": placement.name},
        "requirements": requirements(pool),
        "expireAfter": EXPIRE_AFTER,
    }
    if placement.taints:
        template_spec["taints"] = [{"key": t.key, "value": t.value, "effect": t.effect} for t in placement.taints]
    return {
        "metadata": {"name": placement.name},
        "spec": {
            "template": {"metadata": {"labels": dict(sorted(placement.labels.items()))}, "spec": template_spec},
            "limits": nodepool_limits(pool, placement),
            "disruption": {
                "consolidationPolicy": "WhenEmpty",
                "consolidateAfter": CONSOLIDATE_AFTER,
                "budgets": [{"nodes": str(pool.max_unavailable)}],
            },
        },
    }


def ec2_node_class(pool: NodePoolConfig, placement: PoolPlacement, cluster_name: str, role: Any,
                   tags: dict[str, str]) -> dict[str, Any]:
    """The EC2NodeClass of a pool: pinned AMI, IMDSv2, encrypted gp3 root volume, discovery selectors.

    ``role`` is the node role's name (a Pulumi output when rendered by the component).
    """
    selector = [{"tags": {DISCOVERY_TAG: cluster_name}}]
    spec: dict[str, Any] = {"role": role}
    if pool.ami_id is not None:
        # A custom AL2023 AMI (FPGA): Karpenter writes the nodeadm NodeConfig as for its own AL2023 AMIs.
        spec["amiFamily"] = "AL2023"
        spec["amiSelectorTerms"] = [{"id": pool.ami_id}]
    else:
        spec["amiSelectorTerms"] = [{"alias": ami_alias()}]
    spec["subnetSelectorTerms"] = selector
    spec["securityGroupSelectorTerms"] = selector
    if pool.capacity_reservation_id is not None:
        spec["capacityReservationSelectorTerms"] = [{"id": pool.capacity_reservation_id}]
    spec["metadataOptions"] = {
        "httpEndpoint": "enabled",
        "httpProtocolIPv6": "disabled",
        "httpPutResponseHopLimit": 2 if pool.pod_metadata_access else 1,
        "httpTokens": "required",
    }
    spec["blockDeviceMappings"] = [{
        "deviceName": ROOT_DEVICE,
        "rootVolume": True,
        "ebs": {
            "volumeSize": f"{pool.disk_size_gib}Gi",
            "volumeType": "gp3",
            "iops": GP3_IOPS,
            "throughput": GP3_THROUGHPUT_MIBPS,
            "encrypted": True,
            "deleteOnTermination": True,
        },
    }]
    spec["tags"] = dict(sorted({**tags, "servestack:pool": placement.name}.items()))
    return {"metadata": {"name": placement.name}, "spec": spec}


def chart_values(cluster_name: str, queue_name: str, system_pools: list[str], system_nodes: int) -> dict[str, Any]:
    """Values of the ``karpenter`` chart: this cluster and queue, the controller on the managed CPU pools.

    The chart's required pod anti-affinity puts each replica on its own node, so there are as many
    replicas as the managed CPU pools have nodes, at most 2 (the chart's default).
    """
    return {
        "settings": {"clusterName": cluster_name, "interruptionQueue": queue_name},
        "serviceAccount": {"create": True, "name": SERVICE_ACCOUNT},
        "replicas": min(2, system_nodes),
        "affinity": {
            "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [
                # Never on a node Karpenter manages (the chart's own rule), and only on the managed CPU pools.
                {"key": "karpenter.sh/nodepool", "operator": "DoesNotExist"},
                {"key": catalog.POOL_LABEL, "operator": "In", "values": sorted(system_pools)},
            ]}]}},
            "podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{"topologyKey": "kubernetes.io/hostname"}]},
        },
        "controller": {"resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}},
    }
