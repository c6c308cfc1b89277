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
