"""Shared test inputs of the endpoint tests: a stack config with endpoints, and the program that
plans ModelEndpoints against handles shaped like the cluster and platform layers' (no cluster
or platform component needed)."""

from __future__ import annotations

import copy
from typing import Any

from components.config.stack import parse_stack_config
from components.core.placement import placement_for

NODE_POOLS = {
    "system": {"instanceTypes": ["m7i.large"], "minSize": 2},
    # Karpenter pools (the default for accelerators), sized so that 3 replicas fit their limits.
    "gpu": {"instanceTypes": ["g6.xlarge", "g5.xlarge"], "minSize": 0, "maxSize": 3},
    "gpu4": {"instanceTypes": ["g6.12xlarge"], "minSize": 0, "maxSize": 3},
    "neuron": {"instanceTypes": ["inf2.xlarge"], "minSize": 0, "maxSize": 3},
    "fpga": {"instanceTypes": ["f2.6xlarge"], "minSize": 0, "maxSize": 1, "amiId": "ami-0a1b2c3d4e5f60718",
             "devicePlugin": {"image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/fpga-device-plugin:1.0.0",
                                  "resourceName": "acme.com/fpga"}},
}

IRIS = {
    "pool": "system",
    "model": {"format": "sklearn", "storageUri": "s3://acme-models/models/iris/1.0.0", "version": "1.0.0"},
    "autoscaling": {"minReplicas": 1, "maxReplicas": 4},
}
IRIS_ROLLOUT = {"candidate": {"version": "1.1.0", "storageUri": "s3://acme-models/models/iris/1.1.0"}, "stages": [10, 50, 100], "stage": 1}
#: A Hugging Face model pinned to a commit (config rejects an unpinned hf:// URI).
LLM_URI = "hf://meta-llama/Llama-3.1-8B-Instruct:0e9e39f249a16976918f6564b8830bc894c89659"
LLM = {
    "pool": "gpu",
    "accelerators": 1,
    "model": {"format": "huggingface", "storageUri": LLM_URI, "version": "3.1"},
    "resources": {"requests": {"cpu": "2", "memory": "8Gi"}, "limits": {"cpu": "4", "memory": "14Gi"}},
    "autoscaling": {"minReplicas": 0, "maxReplicas": 2},
    "startupTimeoutMinutes": 20,
}


def config(endpoints: dict[str, Any], mode: str = "Knative", namespaces: tuple[str, ...] = ("models",)) -> dict[str, Any]:
    """A stack config (as in a stack file) with the test pools and these endpoints."""
    return {
        "aws:region": "us-east-1",
        "servestack:nodePools": copy.deepcopy(NODE_POOLS),
        "servestack:platform": {"kserve": {"deploymentMode": mode}, "endpointNamespaces": list(namespaces)},
        "servestack:endpoints": copy.deepcopy(endpoints),
    }


def parsed(endpoints: dict[str, Any], mode: str = "Knative", namespaces: tuple[str, ...] = ("models",)):
    return parse_stack_config("test", config(endpoints, mode, namespaces))


def placements(stack) -> dict:
    return {name: placement_for(name, pool.instance_types, pool.max_size, resource_name=pool.resource_name)
            for name, pool in stack.node_pools.items()}


def endpoints_program(endpoints: dict[str, Any], mode: str = "Knative", cluster_placements: dict | None = None,
                      config_namespaces: tuple[str, ...] = ("models",), referenced_platform: bool = False,
                      partition: str = "aws"):
    """A program that declares one ModelEndpoint per endpoint against stand-in handles.

    ``cluster_placements`` replaces the pools the cluster hands over (a cluster another stack owns);
    the platform handle always offers the namespace ``models`` whatever ``config_namespaces`` says.
    ``referenced_platform``: the platform hands over nothing to wait for (another stack installed it).
    ``partition``: the AWS partition the cluster handle names.
    """

    def program():
        import pulumi
        import pulumi_kubernetes as k8s

        from components.endpoint import ModelEndpoint, ModelEndpointArgs
        from components.handles import ClusterHandle, PlatformHandle

        stack = parsed(endpoints, mode, config_namespaces)
        provider = k8s.Provider("cluster-k8s", kubeconfig="{}", enable_server_side_apply=True)
        # Stand-ins for what the cluster (node groups, device plugins) and platform (KServe) hand over.
        on_cluster = pulumi.ResourceOptions(provider=provider)
        node_pools = k8s.core.v1.ConfigMap("node-pools-ready", metadata={"name": "node-pools", "namespace": "default"}, opts=on_cluster)
        # As the real platform's last install does, the stand-in waits for the cluster's.
        kserve = k8s.core.v1.ConfigMap("kserve-ready", metadata={"name": "kserve", "namespace": "default"},
                                       opts=pulumi.ResourceOptions.merge(on_cluster, pulumi.ResourceOptions(depends_on=[node_pools])))
        cluster = ClusterHandle(
            name="servestack-test", endpoint="https://example.eks.amazonaws.com", certificate_authority="Q0E=",
            kubernetes_provider=provider,
            oidc_provider_arn="arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC123",
            oidc_issuer="oidc.eks.us-east-1.amazonaws.com/id/ABC123", partition=partition,
            placements=cluster_placements or placements(stack), ready=[node_pools],
        )
        namespace = k8s.core.v1.Namespace("models", metadata={"name": "models"}, opts=on_cluster)
        platform = PlatformHandle(deployment_mode=mode, kserve_version="v0.20.0", namespaces={"models": namespace},
                                  ready=[] if referenced_platform else [kserve])
        for name, endpoint in sorted(stack.endpoints.items()):
            ModelEndpoint(name, ModelEndpointArgs(config=endpoint, cluster=cluster, platform=platform, tags={"team": "ml"}))

    return program
