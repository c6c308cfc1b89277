"""Hand-built Karpenter pools (a NodePool and its EC2NodeClass) for the readers' tests.

Shaped exactly as Karpenter v1.14.1's CRDs take them (tests/conformance/data/crds/karpenter-v1.14.1.json),
as pulumi_kubernetes CustomResources appear in a plan (``apiVersion``, ``kind``, ``metadata``, ``spec``).
``test_karpenter_readers.py`` validates these fixtures against the vendored CRDs, so they stay real.
"""

from __future__ import annotations

from typing import Any

from review_stack import GPU_TAINT, cluster, good_stack, irsa_role, isvc, node_group, nvidia_plugin, res

NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
EC2_NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
K8S_GPU_TAINT = {"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}
AL2023 = "al2023@v20251120"


def node_class(pool: str, *, alias: str | None = AL2023, ami_id: str | None = None, hop_limit: int = 1,
               http_tokens: str = "required", encrypted: bool = True, **overrides: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "role": "servestack-prod-karpenter-node",
        "amiSelectorTerms": [{"id": ami_id}] if ami_id else [{"alias": alias}],
        "subnetSelectorTerms": [{"tags": {"karpenter.sh/discovery": "servestack-prod"}}],
        "securityGroupSelectorTerms": [{"tags": {"karpenter.sh/discovery": "servestack-prod"}}],
        "metadataOptions": {"httpEndpoint": "enabled", "httpProtocolIPv6": "disabled",
                            "httpPutResponseHopLimit": hop_limit, "httpTokens": http_tokens},
        "blockDeviceMappings": [{"deviceName": "/dev/xvda", "rootVolume": True,
                                 "ebs": {"volumeSize": "100Gi", "volumeType": "gp3", "encrypted": encrypted,
                                         "deleteOnTermination": True}}],
        "tags": {"servestack:stack": "prod", "servestack:pool": pool},
    }
    spec.update(overrides)
    return res(EC2_NODE_CLASS, f"servestack-{pool}", {
        "apiVersion": "karpenter.k8s.aws/v1", "kind": "EC2NodeClass",
        "metadata": {"name": f"servestack-{pool}", "labels": {"app.kubernetes.io/managed-by": "servestack"}},
        "spec": spec,
    })


def node_pool(pool: str, instance_types: list[str], limits: dict[str, Any] | None, *, accelerator: str = "nvidia",
              capacity_types: tuple[str, ...] = ("on-demand",), taints: list[dict] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "template": {
            "metadata": {"labels": {"servestack.io/pool": pool, "servestack.io/accelerator": accelerator}},
            "spec": {
                "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": f"servestack-{pool}"},
                "requirements": [
                    {"key": "node.kubernetes.io/instance-type", "operator": "In", "values": instance_types},
                    {"key": "karpenter.sh/capacity-type", "operator": "In", "values": list(capacity_types)},
                ],
                "taints": [K8S_GPU_TAINT] if taints is None else taints,
                "expireAfter": "720h",
            },
        },
        "disruption": {"consolidationPolicy": "WhenEmpty", "consolidateAfter": "10m"},
    }
    if limits is not None:
        spec["limits"] = limits
    return res(NODE_POOL, f"servestack-{pool}", {
        "apiVersion": "karpenter.sh/v1", "kind": "NodePool",
        "metadata": {"name": f"servestack-{pool}", "labels": {"app.kubernetes.io/managed-by": "servestack"}},
        "spec": spec,
    })


#: g6.xlarge: 4 vCPUs, 16 GiB, 1 GPU; limits of maxSize 4 x the largest type.
GPU_LIMITS = {"cpu": "16", "memory": "64Gi", "nvidia.com/gpu": "4"}


def karpenter_stack(limits: dict[str, Any] | None = None, **class_overrides: Any) -> list[dict[str, Any]]:
    """good_stack with its GPU pool on Karpenter instead of a node group (passes every rule)."""
    stack = [r for r in good_stack() if r["urn"] != node_group("gpu", [], 0, 0)["urn"]]
    return [*stack, node_class("gpu", **class_overrides),
            node_pool("gpu", ["g6.xlarge"], GPU_LIMITS if limits is None else limits)]


__all__ = ["AL2023", "EC2_NODE_CLASS", "GPU_LIMITS", "GPU_TAINT", "NODE_POOL", "cluster", "irsa_role", "isvc",
           "karpenter_stack", "node_class", "node_pool", "nvidia_plugin"]
