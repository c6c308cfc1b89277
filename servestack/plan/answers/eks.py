"""Computed outputs of the EKS, IAM, KMS, CloudWatch and launch-template resources of the cluster
layer (the IAM role answer is every role's, the endpoints' IRSA roles too)."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from .registry import ACCOUNT_ID, PARTITION, MockContext, ResourceCall, arn, computes, digest


def certificate_authority_data(seed: str) -> str:
    """A deterministic, well-formed (base64 PEM) stand-in for a cluster's CA certificate."""
    body = base64.b64encode(hashlib.sha512(seed.encode()).digest() * 6).decode()
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    pem = "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n"
    return base64.b64encode(pem.encode()).decode()


def _generated_name(call: ResourceCall) -> str:
    # Auto-named resources get the resource name plus a random suffix from the provider.
    return call.inputs.get("name") or f"{call.name}-{digest(call.urn, 'name', length=7)}"


@computes("aws:eks/cluster:Cluster", "cluster")
def _cluster(call: ResourceCall, rid: str, ctx: MockContext) -> dict[str, Any]:
    name = call.inputs.get("name") or call.name
    oidc_id = digest(call.urn, "oidc", length=32).upper()
    host = f"{digest(call.urn, 'endpoint', length=32).upper()}.gr7.{ctx.region}.eks.amazonaws.com"
    vpc_config = {**(call.inputs.get("vpcConfig") or {}),
                  "clusterSecurityGroupId": f"sg-{digest(call.urn, 'cluster-sg')}",
                  "vpcId": f"vpc-{digest(call.urn, 'vpc')}"}
    network = {**(call.inputs.get("kubernetesNetworkConfig") or {})}
    network.setdefault("serviceIpv4Cidr", "172.20.0.0/16")
    return {
        "name": name,
        "arn": arn(ctx, "eks", f"cluster/{name}"),
        "clusterId": digest(call.urn, "cluster-id", length=36),
        "endpoint": f"https://{host}",
        "certificateAuthority": {"data": certificate_authority_data(call.urn)},
        "identities": [{"oidcs": [{"issuer": f"https://oidc.eks.{ctx.region}.amazonaws.com/id/{oidc_id}"}]}],
        "platformVersion": "eks.1",
        "status": "ACTIVE",
        "vpcConfig": vpc_config,
        "kubernetesNetworkConfig": network,
    }


@computes("aws:iam/openIdConnectProvider:OpenIdConnectProvider", "oidc")
def _oidc_provider(call: ResourceCall, rid: str, ctx: MockContext) -> dict[str, Any]:
    url = str(call.inputs.get("url", "")).removeprefix("https://")
    return {"arn": f"arn:{PARTITION}:iam::{ACCOUNT_ID}:oidc-provider/{url}", "thumbprintLists": ["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"]}


@computes("aws:iam/role:Role", None)
def _role(call: ResourceCall, rid: str, ctx: MockContext) -> dict[str, Any]:
    name = _generated_name(call)
    return {"name": name, "arn": arn(ctx, "iam", f"role/{name}", region=False),
            "uniqueId": "AROA" + digest(call.urn, "role", length=17).upper()}


@computes("aws:iam/rolePolicyAttachment:RolePolicyAttachment", None)
def _attachment(call: ResourceCall, rid: str, ctx: MockContext) -> dict[str, Any]:
    return {}


@computes("aws:kms/key:Key", None)
def _kms_key(call: ResourceCall, rid: str, ctx: MockContext) -> dict[str, Any]:
    h = digest(call.urn, "kms", length=32)
    key_id = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"
    return {"keyId": key_id, "arn": arn(ctx, "kms", f"key/{key_id}")}


@computes("aws:kms/alias:Alias", None)
def _kms_alias(call: ResourceCall, rid: str, ctx: MockContext) -> dict[str, Any]:
    return {"arn": arn(ctx, "kms", str(call.inputs.get("name", call.name))), "targetKeyArn": arn(ctx, "kms", f"key/{call.inputs.get('targetKeyId')}")}


@computes("aws:cloudwatch/logGroup:LogGroup", None)
def _log_group(call: ResourceCall, rid: str, ctx: MockContext) -> dict[str, Any]:
    return {"arn": arn(ctx, "logs", f"log-group:{_generated_name(call)}")}


@computes("aws:eks/accessEntry:AccessEntry", None)
def _access_entry(call: ResourceCall, rid: str, ctx: MockContext) -> dict[str, Any]:
    role = str(call.inputs.get("principalArn", "")).rsplit("/", 1)[-1]
    return {"accessEntryArn": arn(ctx, "eks", f"access-entry/{call.inputs.get('clusterName')}/role/{ACCOUNT_ID}/{role}/{digest(call.urn, length=8)}"),
            "kubernetesGroups": [], "userName": call.inputs.get("principalArn")}


@computes("aws:eks/accessPolicyAssociation:AccessPolicyAssociation", None)
def _access_policy(call: ResourceCall, rid: str, ctx: MockContext) -> dict[str, Any]:
    return {"associatedAt": "2026-01-01T00:00:00Z", "modifiedAt": "2026-01-01T00:00:00Z"}


@computes("aws:eks/addon:Addon", None)
def _addon(call: ResourceCall, rid: str, ctx: MockContext) -> dict[str, Any]:
    cluster, addon = call.inputs.get("clusterName"), call.inputs.get("addonName")
    return {"arn": arn(ctx, "eks", f"addon/{cluster}/{addon}/{digest(call.urn, length=8)}")}


@computes("aws:eks/nodeGroup:NodeGroup", None)
def _node_group(call: ResourceCall, rid: str, ctx: MockContext) -> dict[str, Any]:
    cluster = call.inputs.get("clusterName")
    name = call.inputs.get("nodeGroupName") or f"{call.name}-{digest(call.urn, 'name', length=7)}"
    return {
        "nodeGroupName": name,
        "arn": arn(ctx, "eks", f"nodegroup/{cluster}/{name}/{digest(call.urn, length=8)}"),
        "status": "ACTIVE",
        "resources": [{"autoscalingGroups": [{"name": f"eks-{name}-{digest(call.urn, 'asg', length=8)}"}], "remoteAccessSecurityGroupId": ""}],
    }


@computes("aws:ec2/launchTemplate:LaunchTemplate", "lt")
def _launch_template(call: ResourceCall, rid: str, ctx: MockContext) -> dict[str, Any]:
    return {"arn": arn(ctx, "ec2", f"launch-template/{rid}"), "latestVersion": 1, "defaultVersion": 1,
            "name": _generated_name(call)}


@computes("aws:iam/policy:Policy", None)
def _managed_policy(call: ResourceCall, rid: str, ctx: MockContext) -> dict[str, Any]:
    # Known, as a role's: an attachment then names the policy (policyArn) and the plan links the two.
    name = _generated_name(call)
    return {"name": name, "arn": arn(ctx, "iam", f"policy/{name}", region=False),
            "policyId": "ANPA" + digest(call.urn, "policy", length=17).upper()}


@computes("aws:sqs/queue:Queue", None)
def _queue(call: ResourceCall, rid: str, ctx: MockContext) -> dict[str, Any]:
    # Karpenter's interruption queue: its policy and the controller's policy name its ARN.
    name = _generated_name(call)
    return {"name": name, "arn": arn(ctx, "sqs", name), "url": f"https://sqs.{ctx.region}.amazonaws.com/{ACCOUNT_ID}/{name}"}
