"""Security rules on what a stack exposes: subnets, the default security group, KMS keys, IAM
grants, and the EKS support policy (a cost a stack must opt into)."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from typing import Any

from plandoc.document import Resource, of_type
from plandoc.iam import as_list, is_irsa_role, role_grants, statements
from plandoc.network import node_group_subnets, node_groups, subnets
from plandoc.tokens import CLUSTER, DEFAULT_SECURITY_GROUP, IAM_POLICY, KMS_KEY, SUBNET
from plandoc.values import dig, is_unknown, items, mapping, name_of, truthy

from .model import Context, Rule

# --- network ------------------------------------------------------------------------------------


def nodes_in_private_subnets(resources: list[Resource], ctx: Context) -> Iterable[tuple[str, str]]:
    known = subnets(resources, ctx.stack_config)
    for group in node_groups(resources):
        labels = mapping(group["inputs"].get("labels"))
        kind = labels.get("servestack.io/accelerator")
        what = f"{kind} accelerator nodes" if kind and kind != "none" else "nodes"
        for subnet in node_group_subnets(group, known):
            if subnet.public_because:
                yield group["urn"], (f"launches {what} in the public subnet {subnet.name} ({'; '.join(subnet.public_because)}); "
                                     "allowed: private subnets only, because a node there is reachable from the internet "
                                     "and its pods (and model weights) sit one security group away from it")


def subnet_no_public_ip_on_launch(resource: Resource, ctx: Context) -> Iterable[str]:
    if truthy(resource["inputs"].get("mapPublicIpOnLaunch")):
        yield ("mapPublicIpOnLaunch is true; allowed: false, because every instance launched there (a node group's or "
               "one Karpenter finds by tag) gets a public address; NAT gateways and load balancers bring their own")


def _rule_text(rule: Mapping[str, Any]) -> str:
    sources = [*as_list(rule.get("cidrBlocks")), *as_list(rule.get("ipv6CidrBlocks")),
               *as_list(rule.get("securityGroups")), *as_list(rule.get("prefixListIds"))]
    if truthy(rule.get("self")):
        sources.append("itself")
    ports = f"ports {rule.get('fromPort')}-{rule.get('toPort')}"
    return f"protocol {rule.get('protocol')} {ports} with {', '.join(map(str, sources)) or 'no source'}"


def default_security_group_closed(resource: Resource, ctx: Context) -> Iterable[str]:
    for direction in ("ingress", "egress"):
        rules = resource["inputs"].get(direction)
        if is_unknown(rules):
            continue
        for i, rule in enumerate(items(rules)):
            yield (f"{direction}[{i}] allows {_rule_text(mapping(rule))}; allowed: no rules, because every instance or "
                   "ENI created without a security group lands in the default one (CIS AWS 5.4)")


def kms_key_rotation(resource: Resource, ctx: Context) -> Iterable[str]:
    inputs = resource["inputs"]
    spec = inputs.get("customerMasterKeySpec") or inputs.get("keySpec") or "SYMMETRIC_DEFAULT"
    if spec != "SYMMETRIC_DEFAULT" or is_unknown(inputs.get("enableKeyRotation")):
        return  # AWS rotates only symmetric keys
    if truthy(inputs.get("enableKeyRotation")) is not True:
        yield (f"enableKeyRotation is {inputs.get('enableKeyRotation', 'unset (false)')}; required: true, so that the key "
               "material that encrypts the cluster's secrets is replaced every year (CIS AWS 3.6)")


# --- EKS support policy ------------------------------------------------------------------------


def eks_extended_support_opt_in(resource: Resource, ctx: Context) -> Iterable[str]:
    policy = resource["inputs"].get("upgradePolicy")
    support = dig(policy, "supportType")
    if is_unknown(policy) or is_unknown(support) or support == "STANDARD" or ctx["allowExtendedSupport"]:
        return
    shown = "EXTENDED" if support == "EXTENDED" else f"unset ({support or 'EKS'} defaults to EXTENDED)"
    yield (f"upgradePolicy.supportType is {shown}; EXTENDED keeps an old Kubernetes version for 12 more months at six "
           "times the control plane's hourly price; allowed: STANDARD, or EXTENDED with this rule's setting "
           "allowExtendedSupport: true in the policy config (an explicit, reviewed opt-in)")


# --- IAM -----------------------------------------------------------------------------------------


def _matches(pattern: Any, action: str) -> bool:
    return isinstance(pattern, str) and fnmatch.fnmatchcase(action.lower(), pattern.lower())


def _any_resource(statement: Mapping[str, Any]) -> bool:
    return any(r == "*" for r in as_list(statement.get("Resource")))


def admin_statements(document: Any) -> list[str]:
    """What in a policy document grants every action on every resource."""
    found = []
    for i, statement in enumerate(statements(document)):
        if statement.get("Effect") != "Allow" or not _any_resource(statement):
            continue
        if any(a in ("*", "*:*") for a in as_list(statement.get("Action"))):
            found.append(f"statement {i} allows action * on resource *")
        elif statement.get("NotAction") is not None:
            found.append(f"statement {i} allows every action but {', '.join(map(str, as_list(statement.get('NotAction'))))} "
                         "on resource * (NotAction)")
    return found


def iam_no_admin(resources: list[Resource], ctx: Context) -> Iterable[tuple[str, str]]:
    forbidden = set(ctx["forbiddenManagedPolicies"])
    why = "; allowed: the actions and resources the role's job needs, because admin on the account is every other hole at once"
    for urn, grants in role_grants(resources).items():
        role = name_of(urn)
        for holder, arn in grants.managed:
            if arn.rsplit("/", 1)[-1] in forbidden and arn.startswith("arn:aws") and ":iam::aws:policy/" in arn:
                yield holder, f"role {role} gets the AWS managed policy {arn}{why}"
        for holder, where, document in grants.documents:
            for problem in admin_statements(document):
                yield holder, f"role {role}: {where} {problem}{why}"
    for policy in of_type(resources, IAM_POLICY):  # a managed policy of the stack, attached or not (yet)
        for problem in admin_statements(policy["inputs"].get("policy")):
            yield policy["urn"], f"policy {problem}{why}"


def escalation_statements(document: Any) -> list[str]:
    """What in a policy document lets a workload change IAM or assume any role."""
    found = []
    for i, statement in enumerate(statements(document)):
        if statement.get("Effect") != "Allow":
            continue
        actions = [a for a in as_list(statement.get("Action")) if isinstance(a, str)]
        iam = [a for a in actions if a.lower().startswith("iam:") or _matches(a, "iam:passrole")]
        if iam:
            found.append(f"statement {i} allows {', '.join(iam)} (a model server has no business with IAM)")
        assume = [a for a in actions if _matches(a, "sts:assumerole") and a not in iam]
        wildcard = [r for r in as_list(statement.get("Resource")) if r == "*" or (isinstance(r, str) and r.endswith((":role/*", ":*")))]
        if assume and wildcard:
            found.append(f"statement {i} allows {', '.join(assume)} on {', '.join(wildcard)} (any role in reach)")
    return found


def irsa_no_privilege_escalation(resources: list[Resource], ctx: Context) -> Iterable[tuple[str, str]]:
    for urn, grants in role_grants(resources).items():
        if not is_irsa_role(grants.role):
            continue
        for holder, where, document in grants.documents:
            for problem in escalation_statements(document):
                yield holder, (f"IRSA role {name_of(urn)}: {where} {problem}; allowed: no IAM actions and sts:AssumeRole only on "
                               "named roles, because any pod of its service account could otherwise make itself admin")


RULES = [
    Rule("nodes-in-private-subnets", "security",
         "Node groups (accelerator pools included) launch nodes in private subnets only.",
         "mandatory", nodes_in_private_subnets),
    Rule("subnet-no-public-ip-on-launch", "security",
         "No subnet gives instances a public address at launch.",
         "mandatory", subnet_no_public_ip_on_launch, (SUBNET,)),
    Rule("default-security-group-closed", "security",
         "The VPC's default security group has no rules.",
         "mandatory", default_security_group_closed, (DEFAULT_SECURITY_GROUP,)),
    Rule("kms-key-rotation", "security",
         "Symmetric KMS keys rotate their key material yearly.",
         "mandatory", kms_key_rotation, (KMS_KEY,)),
    Rule("eks-extended-support-opt-in", "cost",
         "An EKS cluster uses STANDARD support unless the policy config opts into EXTENDED.",
         "mandatory", eks_extended_support_opt_in, (CLUSTER,),
         settings={"allowExtendedSupport": {"type": "boolean", "default": False,
                                            "description": "Accept upgradePolicy.supportType EXTENDED (six times the price)."}}),
    Rule("iam-no-admin", "security",
         "No role gets AdministratorAccess or a policy that allows * on *.",
         "mandatory", iam_no_admin,
         settings={"forbiddenManagedPolicies": {"type": "array", "items": {"type": "string"},
                                                "default": ["AdministratorAccess", "IAMFullAccess"],
                                                "description": "AWS managed policies no role of the stack may hold."}}),
    Rule("irsa-no-privilege-escalation", "security",
         "IRSA roles allow no IAM action and no sts:AssumeRole on any role.",
         "mandatory", irsa_no_privilege_escalation),
]
