"""IAM and resource policies as a class: every policy document of a plan, and every workload identity.

:func:`plandoc.iam.policy_documents` finds every document an AWS resource carries (role trust and
inline policies, role/user/group policies, managed policies, KMS key, SQS queue, S3 bucket, SNS
topic, ECR repository and secret policies...). Identity statements (no ``Principal``) are judged by
what they grant; resource statements (trust policies included) by whom they grant it to. Karpenter's
controller is held to Karpenter's own reference policy; pod identities and IRSA roles to one service
account each. Whose accounts may appear is the organisation allow-list's (``org-allow-lists``).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from typing import Any

from components.core.karpenter_iam import reference_policies
from plandoc.document import Resource, of_type
from plandoc.iam import as_list, policy_documents, principals, role_grants, statements
from plandoc.values import decode_json, is_unknown, items, mapping, name_of

from .model import Context, Rule

POD_IDENTITY = "aws:eks/podIdentityAssociation:PodIdentityAssociation"
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
#: What iam-no-admin reports (every action): left to it.
ADMIN_ACTIONS = ("*", "*:*")
#: The name servestack gives Karpenter's controller policies (components/karpenter.py).
KARPENTER_POLICY_NAME = re.compile(r"^KarpenterController(\w+?)Policy-")


def _wildcard(text: Any) -> bool:
    return isinstance(text, str) and ("*" in text or "?" in text)


def _matches(pattern: Any, action: str) -> bool:
    return isinstance(pattern, str) and fnmatch.fnmatchcase(action.lower(), pattern.lower())


def _label(document) -> str:
    return f"{name_of(document.urn)} {document.where}"


# --- identity statements: wildcards and iam:PassRole ---------------------------------------------


def iam_wildcard_actions(resources: list[Resource], ctx: Context) -> Iterable[tuple[str, str]]:
    for document in policy_documents(resources):
        for i, statement in enumerate(statements(document.document)):
            if statement.get("Effect") != "Allow" or "Principal" in statement or "NotPrincipal" in statement:
                continue
            every = any(r == "*" for r in as_list(statement.get("Resource"))) or "NotResource" in statement
            wild = [a for a in as_list(statement.get("Action")) if _wildcard(a) and a not in ADMIN_ACTIONS]
            if every and wild:
                yield document.urn, (f"{document.where}: statement {i} allows {', '.join(wild)} on every resource; "
                                     "allowed: named actions on named resources (or on * only for actions that take no "
                                     "resource), because a service wildcard grows with every action AWS adds")


def iam_passrole_scoped(resources: list[Resource], ctx: Context) -> Iterable[tuple[str, str]]:
    for document in policy_documents(resources):
        for i, statement in enumerate(statements(document.document)):
            if statement.get("Effect") != "Allow" or "Principal" in statement:
                continue
            passing = [a for a in as_list(statement.get("Action")) if _matches(a, "iam:PassRole") and a not in ADMIN_ACTIONS]
            if not passing:
                continue
            targets = [r for r in as_list(statement.get("Resource")) if isinstance(r, str) and not is_unknown(r)]
            wide = [r for r in targets if _wildcard(r.rsplit("/", 1)[-1]) or r == "*"] or \
                (["NotResource"] if "NotResource" in statement else [])
            conditioned = any("iam:passedtoservice" in str(key).lower()
                              for block in mapping(statement.get("Condition")).values() for key in mapping(block))
            if wide or not conditioned:
                why = [f"on {', '.join(wide)}" if wide else "", "" if conditioned else "without an iam:PassedToService condition"]
                yield document.urn, (f"{document.where}: statement {i} allows {', '.join(passing)} "
                                     f"{' '.join(w for w in why if w)}; required: the ARNs of the roles it passes and "
                                     "the service it passes them to, because passing any role to any service is "
                                     "becoming that role")


# --- resource statements: who ------------------------------------------------------------------


def policy_public_principal(resources: list[Resource], ctx: Context) -> Iterable[tuple[str, str]]:
    for document in policy_documents(resources):
        for i, statement in enumerate(statements(document.document)):
            if statement.get("Effect") != "Allow":
                continue
            public = any(p == "*" for _, p in principals(statement))
            if (public or "NotPrincipal" in statement) and not mapping(statement.get("Condition")):
                actions = ", ".join(map(str, as_list(statement.get("Action")))) or "?"
                who = "Principal * (anyone, any account)" if public else "every principal but those of NotPrincipal"
                yield document.urn, (f"{document.where}: statement {i} allows {actions} to {who} without a condition; "
                                     "required: named principals, or a condition (aws:SourceArn, aws:SourceAccount, "
                                     "aws:PrincipalOrgID...) that limits who")


# --- Karpenter's controller: the reference, no more ------------------------------------------------


def _karpenter_policies(resources: list[Resource]) -> dict[str, tuple[str, str]]:
    """URN of each managed policy named as servestack names Karpenter's -> (reference policy name, its name)."""
    found = {}
    for policy in of_type(resources, "aws:iam/policy:Policy"):
        name = str(policy["inputs"].get("name") or "")
        match = KARPENTER_POLICY_NAME.match(name)
        if match:
            found[policy["urn"]] = (f"{match.group(1)}Policy", name)
    return found


def karpenter_controller_reference(resources: list[Resource], ctx: Context) -> Iterable[tuple[str, str]]:
    reference = reference_policies()
    karpenter = _karpenter_policies(resources)
    attached = {r["urn"]: next((u for u in mapping(r.get("propertyDependencies")).get("policyArn") or [] if u in karpenter), None)
                for r in of_type(resources, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")}
    for role_urn, grants in role_grants(resources).items():
        if not any(attached.get(holder) for holder, _, _ in grants.documents):
            continue  # not Karpenter's controller
        role = name_of(role_urn)
        why = "allowed: Karpenter's reference policies only, because the controller already launches and terminates instances"
        for holder, arn in grants.managed:
            if not attached.get(holder):
                yield holder, f"Karpenter's controller role {role} also gets {arn}; {why}"
        for holder, where, document in grants.documents:
            policy_urn = attached.get(holder)
            if policy_urn is None:
                yield holder, f"Karpenter's controller role {role}: {where} is not one of Karpenter's reference policies; {why}"
            else:
                yield from ((policy_urn, m) for m in _reference_growth(document, karpenter[policy_urn], reference))


def _reference_growth(document: Any, names: tuple[str, str], reference: Mapping[str, Any]) -> Iterable[str]:
    policy, shown = names
    expected = mapping(reference["policies"].get(policy))
    unscoped = set(items(mapping(reference.get("unscoped")).get(policy)))
    source = "Karpenter's reference policy " + policy
    if not expected:
        yield f"{shown} is not a policy of {source.rsplit(' ', 1)[0]} ({', '.join(sorted(reference['policies']))})"
        return
    for i, statement in enumerate(statements(decode_json(document))):
        if statement.get("Effect") == "Deny":
            continue
        sid = statement.get("Sid")
        if sid not in expected:
            yield f"{shown}: statement {i} ({sid or 'no Sid'}) is not in {source}; allowed: its statements only"
            continue
        extra = sorted({a for a in as_list(statement.get("Action")) if isinstance(a, str)} - set(expected[sid]))
        if extra:
            yield f"{shown}: {sid} grants {', '.join(extra)} beyond {source} ({', '.join(expected[sid])})"
        if sid not in unscoped and any(r == "*" for r in as_list(statement.get("Resource"))):
            yield f"{shown}: {sid} applies to every resource (*); {source} scopes it"
        if "NotAction" in statement or "NotResource" in statement:
            yield f"{shown}: {sid} uses NotAction/NotResource, which {source} does not"


# --- workload identities: one service account each ---------------------------------------------


def _declared_service_accounts(resources: list[Resource]) -> set[tuple[str, str]]:
    """(namespace, name) of the service accounts the plan creates: ServiceAccount objects and Helm releases'
    ``serviceAccount.name`` values (charts create them in the release's namespace)."""
    found = set()
    for account in of_type(resources, SERVICE_ACCOUNT):
        metadata = mapping(account["inputs"].get("metadata"))
        found.add((str(metadata.get("namespace") or "default"), str(metadata.get("name") or "")))

    def names(value: Any) -> Iterable[str]:
        if isinstance(value, Mapping):
            for key, item in value.items():
                if key == "serviceAccount" and isinstance(mapping(item).get("name"), str):
                    yield mapping(item)["name"]
                yield from names(item)
        elif isinstance(value, list):
            for item in value:
                yield from names(item)

    for release in of_type(resources, HELM_RELEASE):
        namespace = str(release["inputs"].get("namespace") or "default")
        found |= {(namespace, name) for name in names(release["inputs"].get("values"))}
    return found


def workload_identity_bound(resources: list[Resource], ctx: Context) -> Iterable[tuple[str, str]]:
    declared = _declared_service_accounts(resources)
    by_role: dict[str, list[tuple[str, str, str]]] = {}
    for association in of_type(resources, POD_IDENTITY):
        inputs = association["inputs"]
        namespace, account = inputs.get("namespace"), inputs.get("serviceAccount")
        if is_unknown(namespace) or is_unknown(account):
            continue
        subject = f"{namespace}/{account}"
        if account == "default":
            yield association["urn"], (f"binds role {inputs.get('roleArn')} to {subject}, the namespace's default service "
                                       "account; required: the workload's own service account, because every pod that "
                                       "names none runs as default and would get the role")
        elif (str(namespace), str(account)) not in declared:
            yield association["urn"], (f"binds role {inputs.get('roleArn')} to {subject}, a service account the stack does "
                                       "not create (no ServiceAccount, no chart value names it); required: the service "
                                       "account of the workload the role is for")
        role = str(inputs.get("roleArn"))
        if not is_unknown(role):
            by_role.setdefault(role, []).append((association["urn"], str(namespace), str(account)))
    for role, bound in sorted(by_role.items()):
        if len(bound) > 1:
            for urn, namespace, account in bound:
                others = ", ".join(f"{n}/{a}" for u, n, a in bound if u != urn)
                yield urn, (f"role {role} is bound to {namespace}/{account} and also to {others}; required: one service "
                            "account per role, so that a workload holds only its own permissions")
    for role in of_type(resources, "aws:iam/role:Role"):
        yield from ((role["urn"], m) for m in _irsa_subject_problems(role["inputs"].get("assumeRolePolicy")))


def _irsa_subject_problems(trust: Any) -> Iterable[str]:
    for i, statement in enumerate(statements(trust)):
        actions = as_list(statement.get("Action"))
        if statement.get("Effect") != "Allow" or not any(_matches(a, "sts:AssumeRoleWithWebIdentity") for a in actions):
            continue
        if not any(kind == "Federated" and "oidc-provider" in p for kind, p in principals(statement)):
            continue
        subjects = [(op, v) for op, block in mapping(statement.get("Condition")).items()
                    for key, values in mapping(block).items() if str(key).endswith(":sub") for v in as_list(values)]
        if not subjects:
            yield (f"assumeRolePolicy statement {i} lets any service account of the cluster assume the role (no :sub "
                   "condition); required: StringEquals on system:serviceaccount:<namespace>:<name>")
        for op, subject in subjects:
            parts = str(subject).split(":")
            if _wildcard(subject):
                yield (f"assumeRolePolicy statement {i} admits {subject} ({op}): a pattern, not one service account; "
                       "required: StringEquals on exactly one")
            elif len(parts) == 4 and parts[3] == "default":
                yield (f"assumeRolePolicy statement {i} admits {subject}, the namespace's default service account; "
                       "required: the workload's own service account")


RULES = [
    Rule("iam-wildcard-actions", "security",
         "No IAM document allows a wildcard action (ec2:*, s3:Get*...) on every resource.",
         "mandatory", iam_wildcard_actions),
    Rule("iam-passrole-scoped", "security",
         "iam:PassRole is allowed only on named roles with an iam:PassedToService condition.",
         "mandatory", iam_passrole_scoped),
    Rule("policy-public-principal", "security",
         "No policy (trust, KMS key, SQS queue, S3 bucket...) allows Principal * without a condition.",
         "mandatory", policy_public_principal),
    Rule("karpenter-controller-policy-reference", "security",
         "Karpenter's controller role holds Karpenter's reference policies at the pinned version and nothing more.",
         "mandatory", karpenter_controller_reference),
    Rule("workload-identity-bound", "security",
         "Pod identities and IRSA roles are bound to one named service account each, never default or a pattern.",
         "mandatory", workload_identity_bound),
]
