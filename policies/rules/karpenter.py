"""Karpenter rules: a NodePool's spend is bounded, its nodes are as locked down as managed nodes.

An EC2NodeClass is the launch template of a Karpenter pool: the same IMDSv2 and encryption rules
apply to it, in its own spelling (``spec.metadataOptions``, ``spec.blockDeviceMappings[].ebs``).
Karpenter's defaults are read as Karpenter applies them: metadata options left out mean
``httpTokens: required`` and hop limit 1 (the CRD's defaults).
"""

from __future__ import annotations

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
    Rule("karpenter-nodepool-node-class", "karpenter",
         "Each NodePool's EC2NodeClass is in the stack, and accelerator NodePools taint their nodes.",
         "mandatory", nodepool_has_node_class),
]
