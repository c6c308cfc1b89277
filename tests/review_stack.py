"""Hand-built resources and plan documents for the policy, check, diff and cost tests.

Small dicts in the shape of ``pulumi preview --json`` steps (camelCase engine names), so these
tests do not depend on what the cluster, platform and endpoint components declare today.
"""

from __future__ import annotations

import copy
import json
from typing import Any

STACK = "prod"
PROJECT = "servestack"
ISVC = "kubernetes:serving.kserve.io/v1beta1:InferenceService"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
#: The securityContext servestack renders on a runtime's model container.
MODEL_SECURITY_CONTEXT = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "privileged": False,
                          "runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}


def urn(type_: str, name: str, stack: str = STACK) -> str:
    return f"urn:pulumi:{stack}::{PROJECT}::{type_}::{name}"


def res(type_: str, name: str, inputs: dict[str, Any], protect: bool = False) -> dict[str, Any]:
    return {"type": type_, "urn": urn(type_, name), "inputs": inputs, "protect": protect}


def cluster(**overrides) -> dict[str, Any]:
    inputs = {
        "name": "servestack-prod",
        "vpcConfig": {"endpointPrivateAccess": True, "endpointPublicAccess": False, "subnetIds": ["subnet-a", "subnet-b"]},
        "encryptionConfig": {"provider": {"keyArn": "arn:aws:kms:us-east-1:123456789012:key/abc"}, "resources": ["secrets"]},
        "enabledClusterLogTypes": ["api", "audit", "authenticator", "controllerManager", "scheduler"],
        "upgradePolicy": {"supportType": "STANDARD"},
    }
    inputs.update(overrides)
    return res("aws:eks/cluster:Cluster", "servestack-cluster", inputs)


def launch_template(name: str = "servestack-gpu", **overrides) -> dict[str, Any]:
    inputs = {
        "metadataOptions": {"httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": 1},
        "blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"encrypted": "true", "volumeSize": 100, "volumeType": "gp3"}}],
    }
    inputs.update(overrides)
    return res("aws:ec2/launchTemplate:LaunchTemplate", name, inputs)


def node_group(pool: str, instance_types: list[str], min_size: int, max_size: int, taints: list[dict] | None = None,
               accelerator: str = "none", **overrides) -> dict[str, Any]:
    inputs = {
        "clusterName": "servestack-prod",
        "instanceTypes": instance_types,
        "scalingConfig": {"minSize": min_size, "maxSize": max_size, "desiredSize": min_size},
        "labels": {"servestack.io/pool": pool, "servestack.io/accelerator": accelerator},
        "taints": taints or [],
        "launchTemplate": {"id": "lt-0123", "version": "1"},
    }
    inputs.update(overrides)
    return res(NODE_GROUP, f"servestack-{pool}", inputs)


GPU_TAINT = {"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}
GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Equal", "value": "true", "effect": "NoSchedule"}


def nvidia_plugin(tolerations: list[dict] | None = None) -> dict[str, Any]:
    return res("kubernetes:helm.sh/v3:Release", "nvidia-device-plugin", {
        "chart": "nvidia-device-plugin",
        "version": "0.17.1",
        "repositoryOpts": {"repo": "https://nvidia.github.io/k8s-device-plugin"},
        "namespace": "kube-system",
        "values": {"nodeSelector": {"servestack.io/accelerator": "nvidia"},
                   "tolerations": [GPU_TOLERATION] if tolerations is None else tolerations},
    })


def irsa_role(policy: dict[str, Any] | None = None) -> dict[str, Any]:
    policy = policy or {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::models-bucket/models/fraud/*"]},
        {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": ["arn:aws:s3:::models-bucket"],
         "Condition": {"StringLike": {"s3:prefix": ["models/fraud/*"]}}},
    ]}
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
        "Principal": {"Federated": "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC"},
        "Condition": {"StringEquals": {"oidc.eks.us-east-1.amazonaws.com/id/ABC:sub": "system:serviceaccount:models:fraud-model",
                                       "oidc.eks.us-east-1.amazonaws.com/id/ABC:aud": "sts.amazonaws.com"}}}]}
    return res("aws:iam/role:Role", "fraud-model-reader", {
        "assumeRolePolicy": json.dumps(trust),
        "inlinePolicies": [{"name": "read-model", "policy": json.dumps(policy)}],
    })


def isvc(name: str = "fraud", *, mode: str | None = "Knative", version: str = "1.0.0", pool: str = "gpu",
         gpus: int = 1, min_replicas: int = 2, max_replicas: int = 2, canary: int | None = None,
         candidate: str | None = None, logger: bool = True) -> dict[str, Any]:
    served = candidate if canary is not None and candidate else version
    predictor: dict[str, Any] = {
        "serviceAccountName": f"{name}-model",
        "minReplicas": min_replicas,
        "maxReplicas": max_replicas,
        "nodeSelector": {"servestack.io/pool": pool},
        "tolerations": [GPU_TOLERATION] if gpus else [],
        "model": {
            "modelFormat": {"name": "pytorch"},
            "storageUri": f"s3://models-bucket/models/{name}/{served}",
            "resources": {"requests": {"cpu": "1", "memory": "4Gi", **({"nvidia.com/gpu": str(gpus)} if gpus else {})},
                          "limits": {"cpu": "2", "memory": "8Gi", **({"nvidia.com/gpu": str(gpus)} if gpus else {})}},
            "securityContext": copy.deepcopy(MODEL_SECURITY_CONTEXT),
        },
    }
    if logger:
        predictor["logger"] = {"mode": "all", "url": "http://payload-sink.monitoring.svc"}
    if canary is not None:
        predictor["canaryTrafficPercent"] = canary
    labels = {"servestack.io/model-version": version}
    if candidate:
        labels["servestack.io/candidate-version"] = candidate
    annotations = {"serving.kserve.io/deploymentMode": mode} if mode else {}
    return res(ISVC, name, {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": name, "namespace": "models", "labels": labels, "annotations": annotations},
        "spec": {"predictor": predictor},
    })


def good_stack() -> list[dict[str, Any]]:
    """A prod stack that passes every rule."""
    return [
        cluster(),
        launch_template(),
        node_group("system", ["m7i.xlarge"], 3, 6),
        node_group("gpu", ["g6.xlarge"], 1, 4, [GPU_TAINT], "nvidia"),
        nvidia_plugin(),
        irsa_role(),
        isvc(),
    ]


def document(resources: list[dict[str, Any]], config: dict[str, Any] | None = None, stack: str = STACK) -> dict[str, Any]:
    """A preview document in servestack's offline plan shape (every step a create)."""
    steps = []
    for r in resources:
        u = r["urn"].replace(f"urn:pulumi:{STACK}::", f"urn:pulumi:{stack}::")
        steps.append({"op": "create", "urn": u, "newState": {
            "type": r["type"], "urn": u, "custom": True, "parent": "", "protect": r.get("protect", False),
            "inputs": copy.deepcopy(r["inputs"])}})
    return {"config": config or {"aws:region": "us-east-1", "servestack:tier": "prod"}, "steps": steps,
            "changeSummary": {"create": len(steps)}}


def replace(resources: list[dict[str, Any]], new: dict[str, Any]) -> list[dict[str, Any]]:
    """The resources with the one of the same URN swapped for ``new``."""
    return [new if r["urn"] == new["urn"] else r for r in resources]


def standard_isvc(name: str, version: str, candidate: str | None = None, traffic: int = 0, pool: str = "gpu",
                  max_replicas: int = 1, gpus: int = 1, candidate_replicas: int = 1) -> dict[str, Any]:
    """A Standard-mode endpoint: the stable predictor named by version, the candidate in spec.canary[]."""
    def model(v: str) -> dict[str, Any]:
        accelerator = {"nvidia.com/gpu": str(gpus)} if gpus else {}
        return {"modelFormat": {"name": "sklearn"}, "storageUri": f"s3://models-bucket/models/{name}/{v}",
                "resources": {"requests": {"cpu": "1", "memory": "2Gi", **accelerator},
                              "limits": {"cpu": "1", "memory": "2Gi", **accelerator}},
                "securityContext": copy.deepcopy(MODEL_SECURITY_CONTEXT)}

    spec: dict[str, Any] = {"predictor": {
        "name": "v" + version.replace(".", "-"), "minReplicas": max_replicas, "maxReplicas": max_replicas,
        "nodeSelector": {"servestack.io/pool": pool}, "tolerations": [GPU_TOLERATION] if gpus else [],
        "logger": {"mode": "all", "url": "http://payload-sink.monitoring.svc"}, "model": model(version)}}
    labels = {"servestack.io/model-version": version}
    if candidate:
        labels["servestack.io/candidate-version"] = candidate
        spec["canary"] = [{"trafficPercent": traffic, "predictor": {
            "name": "v" + candidate.replace(".", "-"), "minReplicas": candidate_replicas,
            "model": {"name": "kserve-container", **model(candidate)}}}]
    return res(ISVC, name, {
        "apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
        "metadata": {"name": name, "namespace": "models", "labels": labels,
                     "annotations": {"serving.kserve.io/deploymentMode": "Standard"}},
        "spec": spec,
    })


def rollout_record(name: str, **data: str) -> dict[str, Any]:
    """The ConfigMap ``<name>-rollout`` in which servestack's ModelEndpoint records an endpoint's rollout."""
    return res("kubernetes:core/v1:ConfigMap", f"{name}-rollout", {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": f"{name}-rollout", "namespace": "models",
                     "labels": {"app.kubernetes.io/component": "rollout-record", "app.kubernetes.io/managed-by": "servestack",
                                "servestack.io/endpoint": name}},
        "data": dict(sorted(data.items())),
    })


def knative_record(name: str, stable: str, candidate: str | None = None, stages: str = "", stage: int = 0,
                   rolled_back: bool = False, min_replicas: int = 2) -> dict[str, Any]:
    """The rollout record of a Knative-mode endpoint (steady without a candidate)."""
    traffic = 0 if candidate is None or rolled_back else int(stages.split(",")[stage - 1])
    data = {"mode": "Knative", "phase": "rolledBack" if rolled_back else "inProgress" if candidate else "steady",
            "stableVersion": stable, "stableMinReplicas": str(min_replicas), "candidateTrafficPercent": str(traffic),
            "traffic": f"stable {100 - traffic}% / candidate {traffic}%"}
    if candidate:
        data.update(candidateVersion=candidate, stages=stages, stage=str(stage))
    return rollout_record(name, **data)


def standard_record(name: str, stable: str, candidate: str | None = None, min_replicas: int = 1,
                    candidate_replicas: int = 1) -> dict[str, Any]:
    """The rollout record of a Standard-mode endpoint: steady, or a blue/green candidate at stages [0]."""
    data = {"mode": "Standard", "phase": "inProgress" if candidate else "steady", "stableVersion": stable,
            "stableMinReplicas": str(min_replicas), "candidateTrafficPercent": "0", "traffic": "stable 100% / candidate 0%"}
    if candidate:
        data.update(candidateVersion=candidate, stages="0", stage="1", candidateReplicas=str(candidate_replicas),
                    stableMinReplicasDuringCanary=str(max(min_replicas - candidate_replicas, 1)),
                    candidateService=f"{name}-v{candidate.replace('.', '-')}-predictor.models")
    return rollout_record(name, **data)


def bucket(protect: bool = True) -> dict[str, Any]:
    return res("aws:s3/bucketV2:BucketV2", "model-artifacts", {"bucket": "models-bucket"}, protect=protect)


def endpoints_config(**rollouts: tuple[str, str, list[int], int] | str) -> dict[str, Any]:
    """``servestack:endpoints`` with, per endpoint, (stable, candidate, stages, stage) or just the stable version."""
    config = {}
    for name, value in rollouts.items():
        if isinstance(value, str):
            config[name] = {"pool": "gpu", "model": {"version": value}}
        else:
            stable, candidate, stages, stage = value
            config[name] = {"pool": "gpu", "model": {"version": stable},
                            "rollout": {"candidate": {"version": candidate}, "stages": stages, "stage": stage}}
    return config
