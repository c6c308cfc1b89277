"""How an endpoint's pods read their model: an IRSA role that may read only the model's S3 prefixes,
and the Kubernetes service account that assumes it. Shared by InferenceService endpoints
(:mod:`components.endpoint`) and LLM endpoints (:mod:`components.llm_endpoint`)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from .handles import ClusterHandle
from .core.iam import S3Prefix, irsa_trust_policy, read_policy

#: The annotation by which EKS's pod identity webhook gives a service account's pods an IAM role.
IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"


@dataclass(frozen=True)
class ModelAccess:
    role: aws.iam.Role | None
    """The role that reads the model; None when nothing is read from S3."""
    read_access: list[pulumi.Resource]
    """What must exist before a pod reads the model (the role's policy)."""
    service_account: k8s.core.v1.ServiceAccount | None
    """None when the endpoint runs as an account of the user's own."""


def model_access(parent: pulumi.Resource, name: str, *, endpoint: str, described_as: str, namespace: str,
                 service_account: str, create_service_account: bool, prefixes: list[S3Prefix],
                 kms_key_arn: str | None, cluster: ClusterHandle, tags: dict[str, str],
                 namespace_resource: pulumi.Resource) -> ModelAccess:
    """The IRSA role (for ``prefixes``) and the service account of one endpoint, children of ``parent``."""
    role = None
    read_access: list[pulumi.Resource] = []
    annotations: dict[str, pulumi.Input[str]] = {}
    if prefixes:
        trust = pulumi.Output.all(cluster.oidc_provider_arn, cluster.oidc_issuer).apply(
            lambda v: json.dumps(irsa_trust_policy(v[0], v[1], namespace, service_account), sort_keys=True))
        role = aws.iam.Role(
            f"{name}-model-reader",
            assume_role_policy=trust,
            description=f"Reads the model of {described_as} {endpoint} ({namespace}/{service_account}) from S3",
            max_session_duration=3600,
            tags={**tags, "servestack:endpoint": endpoint},
            opts=pulumi.ResourceOptions(parent=parent),
        )
        partition = pulumi.Output.from_input(cluster.partition)
        policy = aws.iam.RolePolicy(
            f"{name}-model-read",
            role=role.name,
            policy=partition.apply(lambda p: json.dumps(read_policy(p, prefixes, kms_key_arn), sort_keys=True)),
            opts=pulumi.ResourceOptions(parent=parent),
        )
        read_access = [policy]
        annotations[IRSA_ANNOTATION] = role.arn
    account = None if not create_service_account else k8s.core.v1.ServiceAccount(
        f"{name}-sa",
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=service_account, namespace=namespace,
            labels={"servestack.io/endpoint": endpoint, "app.kubernetes.io/managed-by": "servestack"},
            annotations=annotations or None,
        ),
        # Pods get the IRSA token through the webhook's own projected volume; they need no API token.
        automount_service_account_token=False,
        opts=pulumi.ResourceOptions(parent=parent, provider=cluster.kubernetes_provider, depends_on=[namespace_resource]),
    )
    return ModelAccess(role, read_access, account)
