"""IAM policy documents: who may assume servestack's roles and what they may do.

Pure functions, no Pulumi: trust policies (an AWS service; one Kubernetes service account through
IRSA), the read policy of an endpoint's model (exactly its S3 prefixes, and its SSE-KMS key only
through S3), and the ARNs of AWS managed policies. The components that create the roles
(:mod:`components.cluster`, :mod:`components.node_pools`, :mod:`components.endpoint`) serialize
these documents with sorted keys, so plans stay byte-identical.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

#: A KMS key's full ARN in the ``aws`` partition: ``arn:aws:kms:<region>:<account>:key/<key id>``, the key id
#: a UUID or a multi-Region key's ``mrk-`` id. Aliases are refused: IAM authorizes kms:Decrypt by the
#: key's ARN, so a grant on an alias ARN would not let the endpoint read its model.
KMS_KEY_ARN = re.compile(
    r"arn:aws:kms:(?P<region>[a-z]{2}-[a-z]+-[0-9]):[0-9]{12}:key/"
    r"(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
)

#: The audience IRSA tokens are issued for.
STS_AUDIENCE = "sts.amazonaws.com"


def service_trust_policy(service: str) -> dict[str, Any]:
    """Trust policy that lets one AWS service assume a role."""
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
        }],
    }


def irsa_trust_policy(oidc_provider_arn: str, oidc_issuer: str, namespace: str, service_account: str) -> dict[str, Any]:
    """Trust policy for IRSA: only this service account's tokens, issued for STS, may assume the role."""
    issuer = oidc_issuer.removeprefix("https://")
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": oidc_provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {
                f"{issuer}:aud": STS_AUDIENCE,
                f"{issuer}:sub": f"system:serviceaccount:{namespace}:{service_account}",
            }},
        }],
    }


def managed_policy_arn(partition: str, name: str) -> str:
    return f"arn:{partition}:iam::aws:policy/{name}"


def cluster_access_policy_arn(partition: str, name: str) -> str:
    """An EKS access policy (``AmazonEKSClusterAdminPolicy``), granted to an access entry."""
    return f"arn:{partition}:eks::aws:cluster-access-policy/{name}"


@dataclass(frozen=True, order=True)
class S3Prefix:
    """Objects an endpoint may read: every key under ``prefix`` (ends with ``/``) in ``bucket``."""

    bucket: str
    prefix: str

    @classmethod
    def of_model(cls, storage_uri: str) -> "S3Prefix":
        """The model's prefix: the parent of its versioned URI (``models/iris/`` of ``models/iris/1.4.0``)."""
        bucket, _, key = storage_uri.removeprefix("s3://").partition("/")
        parent = key.rstrip("/").rsplit("/", 1)[0]
        return cls(bucket, f"{parent}/")


def kms_via_s3(kms_key_arn: str) -> str:
    """The ``kms:ViaService`` value of S3 in the key's region (S3 uses a key of its own region only)."""
    return f"s3.{KMS_KEY_ARN.fullmatch(kms_key_arn)['region']}.amazonaws.com"


def read_policy(partition: str, prefixes: list[S3Prefix], kms_key_arn: str | None = None) -> dict[str, Any]:
    """IAM policy: GetObject under each prefix, ListBucket only for keys under it, and for SSE-KMS
    objects kms:Decrypt with exactly their key, only when S3 asks KMS on the endpoint's behalf."""
    statements = []
    for bucket in sorted({p.bucket for p in prefixes}):
        keys = sorted(p.prefix for p in prefixes if p.bucket == bucket)
        statements.append({
            "Sid": "ReadModel" + "".join(c for c in bucket.title() if c.isalnum()),
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": [f"arn:{partition}:s3:::{bucket}/{k}*" for k in keys],
        })
        statements.append({
            "Sid": "ListModel" + "".join(c for c in bucket.title() if c.isalnum()),
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": f"arn:{partition}:s3:::{bucket}",
            "Condition": {"StringLike": {"s3:prefix": [f"{k}*" for k in keys]}},
        })
    if kms_key_arn is not None:
        statements.append({
            "Sid": "DecryptModel",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": kms_key_arn,
            "Condition": {"StringEquals": {"kms:ViaService": kms_via_s3(kms_key_arn)}},
        })
    return {"Version": "2012-10-17", "Statement": statements}
