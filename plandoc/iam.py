"""IAM roles as a plan declares them: the policy documents and managed policies each one holds.

A role gets permissions four ways: ``inlinePolicies`` and ``managedPolicyArns`` on the role
itself, an ``aws:iam/rolePolicy:RolePolicy`` (an inline policy of its own resource), and an
``aws:iam/rolePolicyAttachment:RolePolicyAttachment`` of a managed policy: AWS's (by ARN) or an
``aws:iam/policy:Policy`` of the stack (its document is in the plan). Resources are tied to their
role by ``propertyDependencies.role`` (or their dependencies), which both servestack's offline
plan and a real preview record.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .document import Resource, of_type
from .tokens import IAM_POLICY, ROLE, ROLE_POLICY, ROLE_POLICY_ATTACHMENT
from .values import decode_json, is_unknown, items, mapping, name_of


@dataclass
class RoleGrants:
    role: Resource
    documents: list[tuple[str, str, Any]] = field(default_factory=list)
    """(URN of the resource that holds it, where in it, the decoded policy document)."""
    managed: list[tuple[str, str]] = field(default_factory=list)
    """(URN of the resource that attaches it, managed policy ARN)."""


def statements(document: Any) -> list[Mapping[str, Any]]:
    """The statements of a policy document (JSON text or decoded), one-statement form included."""
    document = decode_json(document)
    if not isinstance(document, Mapping):
        return []
    found = document.get("Statement")
    return [s for s in ([found] if isinstance(found, Mapping) else items(found)) if isinstance(s, Mapping)]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value] if value is not None else []


def is_irsa_role(role: Resource) -> bool:
    """Whether a role is assumed by Kubernetes service accounts (web identity through the cluster's OIDC provider)."""
    return any("sts:AssumeRoleWithWebIdentity" in as_list(s.get("Action")) for s in statements(role["inputs"].get("assumeRolePolicy")))


def _owner(resource: Resource, roles: Mapping[str, Resource]) -> str | None:
    for urn in [*(mapping(resource.get("propertyDependencies")).get("role") or []), *(resource.get("dependencies") or [])]:
        if urn in roles:
            return urn
    return None


def role_grants(resources: Iterable[Resource]) -> dict[str, RoleGrants]:
    """Role URN -> everything the plan grants it."""
    resources = list(resources)
    roles = {r["urn"]: r for r in of_type(resources, ROLE)}
    policies = {r["urn"]: r for r in of_type(resources, IAM_POLICY)}
    grants = {urn: RoleGrants(role) for urn, role in roles.items()}
    for urn, role in roles.items():
        for i, inline in enumerate(items(role["inputs"].get("inlinePolicies"))):
            if isinstance(inline, Mapping):
                grants[urn].documents.append((urn, f"inlinePolicies[{i}] ({inline.get('name', '')})", decode_json(inline.get("policy"))))
        for arn in items(role["inputs"].get("managedPolicyArns")):
            if isinstance(arn, str) and not is_unknown(arn):
                grants[urn].managed.append((urn, arn))
    for resource in of_type(resources, ROLE_POLICY):
        owner = _owner(resource, roles)
        if owner:
            grants[owner].documents.append((resource["urn"], "policy", decode_json(resource["inputs"].get("policy"))))
    for attachment in of_type(resources, ROLE_POLICY_ATTACHMENT):
        owner = _owner(attachment, roles)
        if not owner:
            continue
        arn = attachment["inputs"].get("policyArn")
        if isinstance(arn, str) and not is_unknown(arn):
            grants[owner].managed.append((attachment["urn"], arn))
        for policy_urn in mapping(attachment.get("propertyDependencies")).get("policyArn") or []:
            if policy_urn in policies:
                grants[owner].documents.append((attachment["urn"], f"policy {name_of(policy_urn)}",
                                                decode_json(policies[policy_urn]["inputs"].get("policy"))))
    return grants


# --------------------------------------------------------------------------- every policy document of a plan


@dataclass(frozen=True)
class PolicyDocument:
    """One IAM or resource policy document a plan declares."""

    urn: str
    type: str
    where: str
    """Where it sits in the resource's inputs: ``assumeRolePolicy``, ``inlinePolicies[0] (read)``, ``policy``..."""
    document: Mapping[str, Any]

    @property
    def is_trust(self) -> bool:
        return self.where == "assumeRolePolicy"


def _is_document(value: Any) -> bool:
    return isinstance(value, Mapping) and "Statement" in value


def policy_documents(resources: Iterable[Resource]) -> list[PolicyDocument]:
    """Every policy document of every AWS resource: role trust and inline policies, role/user/group policies,
    managed policies, KMS key, SQS queue, S3 bucket, SNS topic, ECR repository, secret policies... any input
    of an ``aws:`` resource whose value is a policy document (JSON text or decoded)."""
    found = []
    for resource in resources:
        if not resource["type"].startswith("aws:"):
            continue
        for key, value in sorted(mapping(resource.get("inputs")).items()):
            decoded = decode_json(value)
            if _is_document(decoded):
                found.append(PolicyDocument(resource["urn"], resource["type"], key, decoded))
            elif key == "inlinePolicies":
                for i, inline in enumerate(items(value)):
                    inline = mapping(inline)
                    if _is_document(decode_json(inline.get("policy"))):
                        found.append(PolicyDocument(resource["urn"], resource["type"],
                                                    f"inlinePolicies[{i}] ({inline.get('name', '')})",
                                                    decode_json(inline.get("policy"))))
    return found


def principals(statement: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(kind, principal) of a statement: ``("*", "*")`` for ``Principal: "*"``, else ``("AWS", arn)``,
    ``("Service", name)``, ``("Federated", arn)``..."""
    principal = statement.get("Principal")
    if principal == "*":
        return [("*", "*")]
    return [(str(kind), str(value)) for kind, values in mapping(principal).items() for value in as_list(values)
            if isinstance(value, str)]


def account_of(principal: str) -> str | None:
    """The account an ``arn:aws:iam::<account>:...`` ARN or a bare 12-digit account id names (None otherwise)."""
    if len(principal) == 12 and principal.isdigit():
        return principal
    parts = principal.split(":")
    if len(parts) >= 6 and parts[0] == "arn" and parts[4].isdigit():
        return parts[4]
    return None
