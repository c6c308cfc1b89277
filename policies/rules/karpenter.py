"""Karpenter rules: a NodePool's spend is bounded, its nodes are as locked down as managed nodes.

An EC2NodeClass is the launch template of a Karpenter pool: the same IMDSv2 and encryption rules
apply to it, in its own spelling (``spec.metadataOptions``, ``spec.blockDeviceMappings[].ebs``).
Karpenter's defaults are read as Karpenter applies them: metadata options left out mean
``httpTokens: required`` and hop limit 1 (the CRD's defaults).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from components.core import catalog
from plandoc.document import Resource
from plandoc.karpenter import karpenter_pools, node_classes, pool_of_node_class
from plandoc.pools import configured_pools
from plandoc.tokens import EC2_NODE_CLASS, NODE_POOL
from plandoc.values import decode_json, dig, is_unknown, items, mapping, truthy

from .model import Context, Rule

#: What bounds a NodePool's spend: Karpenter counts these for every instance type.
BOUNDING = ("cpu", "memory")


def nodepool_limits(resource: Resource, ctx: Context) -> Iterable[str]:
    limits = dig(resource["inputs"], "spec", "limits")
    if is_unknown(limits):
        return
    limits = mapping(limits)
    if not any(key in limits for key in BOUNDING):
        found = ", ".join(f"{k}={v}" for k, v in sorted(limits.items())) or "none"
        yield (f"spec.limits has no cpu or memory limit (limits: {found}); required: cpu and memory limits (servestack "
               "sets maxSize x the largest instance type), because without them Karpenter launches nodes for every "
               "pending pod and the bill has no ceiling")


def _pod_metadata_access(ctx: Context, pool: str) -> bool:
    entry = mapping(mapping(decode_json(ctx.stack_config.get("servestack:nodePools"))).get(pool))
    return truthy(entry.get("podMetadataAccess")) is True


def nodeclass_imdsv2(resources: list[Resource], ctx: Context) -> Iterable[tuple[str, str]]:
    for name, node_class in sorted(node_classes(resources).items()):
        options = dig(node_class["inputs"], "spec", "metadataOptions")
        if is_unknown(options):
            continue
        options = mapping(options)
        tokens = options.get("httpTokens", "required")  # the CRD's default
        if tokens != "required" and not is_unknown(tokens):
            yield node_class["urn"], (f"EC2NodeClass {name}: spec.metadataOptions.httpTokens is {tokens}; required: "
                                      "\"required\" (IMDSv2), because IMDSv1 lets any SSRF in a pod read the node role's "
                                      "credentials")
        hops = options.get("httpPutResponseHopLimit", 1)
        pool = pool_of_node_class(resources, node_class)
        relaxed = _pod_metadata_access(ctx, pool)
        allowed = ctx["maxHopLimit"] if relaxed else 1
        if isinstance(hops, int) and hops > allowed:
            why = (f"the pool's podMetadataAccess allows at most {allowed}" if relaxed else
                   f"allowed: 1 unless servestack:nodePools.{pool}.podMetadataAccess is true")
            yield node_class["urn"], (f"EC2NodeClass {name}: spec.metadataOptions.httpPutResponseHopLimit is {hops}; {why}, "
                                      "so that pods (one hop further than the node) cannot reach the node role's credentials")


def nodeclass_encrypted_volumes(resource: Resource, ctx: Context) -> Iterable[str]:
    mappings = dig(resource["inputs"], "spec", "blockDeviceMappings")
    if is_unknown(mappings):
        return
    mappings = items(mappings)
    if not mappings:
        yield ("spec.blockDeviceMappings is empty, so the root volume is whatever the AMI maps, encrypted only if the "
               "account default says so; required: the root volume with ebs.encrypted true")
    for i, block in enumerate(mappings):
        ebs = mapping(mapping(block).get("ebs"))
        encrypted = ebs.get("encrypted")
        if truthy(encrypted) is not True and not is_unknown(encrypted):
            device = mapping(block).get("deviceName", f"#{i}")
            yield (f"spec.blockDeviceMappings[{i}] ({device}) has ebs.encrypted {encrypted if encrypted is not None else 'unset'}; "
                   "required: true, because node volumes hold model weights and container layers")


def _ami_problem(term: Any) -> str | None:
    term = mapping(term)
    alias = term.get("alias")
    if isinstance(alias, str):
        family, _, version = alias.partition("@")
        if not version:
            return f"alias {alias} names no version"
        if version == "latest":
            return f"alias {alias} follows every new AMI release (drift replaces every node)"
        return None
    if isinstance(term.get("id"), str) or is_unknown(term.get("id")):
        return None  # an AMI id is one image
    return f"term {dict(term)} selects AMIs by {', '.join(sorted(term)) or 'nothing'}, which matches new images as they appear"


def nodeclass_ami_pinned(resource: Resource, ctx: Context) -> Iterable[str]:
    terms = dig(resource["inputs"], "spec", "amiSelectorTerms")
    if is_unknown(terms):
        return
    if not items(terms):
        yield "spec.amiSelectorTerms is empty; required: an alias with a version (al2023@v20251120) or an AMI id"
    for i, term in enumerate(items(terms)):
        problem = _ami_problem(term)
        if problem:
            yield (f"spec.amiSelectorTerms[{i}]: {problem}; required: a pinned version (al2023@v<date>) or an AMI id, "
                   "so that nodes change only in a reviewed commit")


def nodepool_has_node_class(resources: list[Resource], ctx: Context) -> Iterable[tuple[str, str]]:
    classes = node_classes(resources)
    for pool in karpenter_pools(resources):
        if pool.node_class not in classes:
            yield pool.urn, (f"NodePool {pool.node_pool} launches with EC2NodeClass {pool.node_class or '(none)'}, which the "
                             f"stack does not declare (EC2NodeClasses: {', '.join(sorted(classes)) or 'none'}); required: "
                             "its EC2NodeClass, or Karpenter launches nothing for the pool")
        elif pool.labels.get(catalog.ACCELERATOR_LABEL) not in (None, "none") and not pool.taints:
            yield pool.urn, (f"NodePool {pool.node_pool} launches {pool.labels[catalog.ACCELERATOR_LABEL]} nodes without "
                             "taints; required: the accelerator taint, so that other pods stay off these expensive nodes")


# --- disruption and instance types: fail closed -------------------------------------------------

#: Requirement keys that bound which instance types a NodePool may launch (Karpenter's well-known labels,
#: karpenter.sh/docs/concepts/scheduling, v1.14).
INSTANCE_TYPE_KEYS = ("node.kubernetes.io/instance-type", "karpenter.k8s.aws/instance-family",
                      "karpenter.k8s.aws/instance-category")
#: Disruption reasons whose budgets hold back evictions of running pods (Empty nodes run none of the pool's pods).
EVICTING_REASONS = ("Drifted", "Underutilized")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|m|s)")


def seconds(duration: Any) -> float | None:
    """A Go duration (``10m``, ``1h30m``, ``0s``) in seconds; None for ``Never`` or what is not one."""
    if not isinstance(duration, str) or duration == "Never":
        return None
    parts = _DURATION.findall(duration)
    if not parts or "".join(n + u for n, u in parts) != duration:
        return None
    return sum(float(n) * {"h": 3600, "m": 60, "s": 1}[u] for n, u in parts)


def _budget_limit(budgets: Any, reason: str) -> str | None:
    """The most an always-active budget lets Karpenter disrupt at once for ``reason`` (``"10%"``, ``"1"``), None
    when no budget applies (unlimited). Karpenter's default when ``budgets`` is left out: ``10%``."""
    if budgets is None:
        return "10%"
    limits = [str(mapping(b).get("nodes")) for b in items(budgets)
              if not mapping(b).get("schedule") and reason in (mapping(b).get("reasons") or EVICTING_REASONS + (reason,))]
    if not limits:
        return None
    return min(limits, key=lambda n: (0, int(n)) if n.isdigit() else (1, float(n.rstrip("%") or 100)))


def nodepool_disruption_budget(resource: Resource, ctx: Context) -> Iterable[str]:
    disruption = dig(resource["inputs"], "spec", "disruption")
    if is_unknown(disruption):
        return
    disruption = mapping(disruption)
    policy = disruption.get("consolidationPolicy", "WhenEmptyOrUnderutilized")  # the CRD's default
    reasons = EVICTING_REASONS if policy == "WhenEmptyOrUnderutilized" else ("Drifted",)
    for reason in reasons:
        limit = _budget_limit(disruption.get("budgets"), reason)
        percent = float(limit.rstrip("%")) if limit and limit.endswith("%") and limit[:-1].replace(".", "").isdigit() else None
        if limit is None or (percent is not None and percent > ctx["maxDisruptedPercent"]):
            shown = "no always-active budget applies" if limit is None else f"the budget allows {limit} of the nodes at once"
            yield (f"spec.disruption: for {reason} nodes {shown}; required: a budget without a schedule of at most "
                   f"{ctx['maxDisruptedPercent']}% (or a node count), because each disrupted node evicts the serving "
                   "pods on it")
    if policy == "WhenEmptyOrUnderutilized":
        after = seconds(disruption.get("consolidateAfter"))
        if after is not None and after < ctx["minConsolidateAfterSeconds"]:
            yield (f"spec.disruption.consolidateAfter is {disruption.get('consolidateAfter')} with consolidationPolicy "
                   f"WhenEmptyOrUnderutilized: Karpenter repacks (evicting serving pods) as soon as load dips; required: "
                   f"at least {ctx['minConsolidateAfterSeconds']}s, or WhenEmpty as servestack renders")


def nodepool_instance_types(resource: Resource, ctx: Context) -> Iterable[str]:
    requirements = dig(resource["inputs"], "spec", "template", "spec", "requirements")
    if is_unknown(requirements):
        return
    bounding = [r for r in map(mapping, items(requirements))
                if r.get("key") in INSTANCE_TYPE_KEYS and r.get("operator") == "In" and items(r.get("values"))
                and not any("*" in str(v) for v in items(r.get("values")))]
    if not bounding:
        keys = ", ".join(f"{mapping(r).get('key')} {mapping(r).get('operator')}" for r in items(requirements)) or "none"
        yield (f"spec.template.spec.requirements do not bound the instance types (requirements: {keys}); required: "
               f"{' or '.join(INSTANCE_TYPE_KEYS)} with operator In and named values, because otherwise Karpenter may "
               "launch any instance type AWS offers, at any price")


RULES = [
    Rule("karpenter-nodepool-limits", "karpenter",
         "Every Karpenter NodePool has cpu and memory limits, so that its spend has a ceiling.",
         "mandatory", nodepool_limits, (NODE_POOL,)),
    Rule("karpenter-nodeclass-imdsv2", "karpenter",
         "EC2NodeClasses require IMDSv2 with hop limit 1 (more only where the pool's podMetadataAccess allows it).",
         "mandatory", nodeclass_imdsv2,
         settings={"maxHopLimit": {"type": "integer", "minimum": 1, "default": 2,
                                   "description": "Largest httpPutResponseHopLimit of a pool with podMetadataAccess."}}),
    Rule("karpenter-nodeclass-encrypted-volumes", "karpenter",
         "Volumes of Karpenter nodes (root included) are EBS-encrypted.",
         "mandatory", nodeclass_encrypted_volumes, (EC2_NODE_CLASS,)),
    Rule("karpenter-ami-pinned", "karpenter",
         "EC2NodeClasses select AMIs by a pinned alias version or an AMI id, never @latest.",
         "mandatory", nodeclass_ami_pinned, (EC2_NODE_CLASS,)),
    Rule("karpenter-disruption-budget", "karpenter",
         "A NodePool's voluntary disruptions that evict serving pods are held back by a budget, and consolidation waits.",
         "mandatory", nodepool_disruption_budget, (NODE_POOL,),
         settings={"maxDisruptedPercent": {"type": "number", "minimum": 0, "default": 50,
                                           "description": "Largest percentage of nodes an always-active budget may allow."},
                   "minConsolidateAfterSeconds": {"type": "number", "minimum": 0, "default": 300,
                                                  "description": "Shortest consolidateAfter with WhenEmptyOrUnderutilized."}}),
    Rule("karpenter-nodepool-instance-types", "karpenter",
         "Every NodePool names the instance types (or families, categories) it may launch.",
         "mandatory", nodepool_instance_types, (NODE_POOL,)),
    Rule("karpenter-nodepool-node-class", "karpenter",
         "Each NodePool's EC2NodeClass is in the stack, and accelerator NodePools taint their nodes.",
         "mandatory", nodepool_has_node_class),
]
