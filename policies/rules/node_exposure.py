"""Network exposure of nodes as a class: public addresses, selectors that can match public or every
subnet and security group, and node user data beyond what servestack renders.

Every launch path is covered: an ``aws:`` resource that asks for a public address under any key
(``associatePublicIpAddress`` of a launch template's network interfaces, an instance, a fleet...),
Karpenter's EC2NodeClass (``associatePublicIPAddress``, ``subnetSelectorTerms``,
``securityGroupSelectorTerms``, ``userData``) and managed node groups' launch templates (``userData``).
"""

from __future__ import annotations

import base64
import binascii
import email
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import yaml

from components.core.node_user_data import KUBELET_FLAGS, node_config_with, nodeadm_user_data
from plandoc.document import Resource
from plandoc.tokens import EC2_NODE_CLASS, LAUNCH_TEMPLATE
from plandoc.values import dig, is_unknown, items, mapping, truthy

from .model import Context, Rule

#: Subnet tag of the public subnets Kubernetes load balancers use (internet-facing ELBs).
PUBLIC_SUBNET_TAG = "kubernetes.io/role/elb"


def _public_ip_keys(value: Any, path: str) -> Iterator[str]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if str(key).lower() == "associatepublicipaddress" and truthy(item):
                yield here
            else:
                yield from _public_ip_keys(item, here)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _public_ip_keys(item, f"{path}[{i}]")


def node_no_public_ip(resources: list[Resource], ctx: Context) -> Iterable[tuple[str, str]]:
    for resource in resources:
        if resource["type"].startswith("aws:") or resource["type"] == EC2_NODE_CLASS:
            for path in _public_ip_keys(resource["inputs"], ""):
                yield resource["urn"], (f"{path} is true: every instance launched from it gets a public address, "
                                        "reachable from the internet whatever its subnet; allowed: false (nodes reach "
                                        "out through the NAT gateways)")


def _term_problems(field: str, terms: Any) -> Iterator[str]:
    what = "subnet" if field == "subnetSelectorTerms" else "security group"
    if is_unknown(terms):
        return
    if not items(terms):
        yield f"spec.{field} is empty or unset: no {what} is selected by a rule that the plan shows"
    for i, term in enumerate(items(terms)):
        term = mapping(term)
        here = f"spec.{field}[{i}]"
        if not any(term.get(k) for k in ("tags", "id", "name")):
            yield f"{here} is empty, which matches every {what} in the account"
        for key, value in mapping(term.get("tags")).items():
            if key == PUBLIC_SUBNET_TAG:
                yield f"{here}.tags selects {key} (the public subnets that internet-facing load balancers use)"
            elif "*" in str(key) or str(value).strip() in ("*", ""):
                yield f"{here}.tags {key}={value or '(empty)'} matches every {what} that has a {key} tag"
            elif "*" in str(value):
                yield f"{here}.tags {key}={value} is a pattern that can match {what}s of other clusters or public ones"
        for key in ("id", "name"):
            if "*" in str(term.get(key) or ""):
                yield f"{here}.{key} {term[key]} is a pattern, not one {what}"


def nodeclass_selectors_scoped(resource: Resource, ctx: Context) -> Iterable[str]:
    for field in ("subnetSelectorTerms", "securityGroupSelectorTerms"):
        for problem in _term_problems(field, dig(resource["inputs"], "spec", field)):
            yield (f"{problem}; required: terms naming this cluster's own private {('subnets' if 'subnet' in field else 'security groups')} "
                   f"(servestack selects karpenter.sh/discovery=<cluster>), so that nodes never land in a public subnet "
                   "or behind a security group another workload opened")


def _decoded(text: str) -> str | None:
    try:
        return base64.b64decode(text, validate=True).decode()
    except (binascii.Error, ValueError):
        return None


def user_data_difference(text: str) -> str | None:
    """What in (decoded) user data goes beyond servestack's nodeadm rendering; None when it is exactly that."""
    message = email.message_from_string(text)
    parts = [p for p in message.walk() if not p.is_multipart()] if message.is_multipart() else [message]
    types = [p.get_content_type() for p in parts]
    if types != ["application/node.eks.aws"]:
        return f"its parts are {', '.join(types) or 'none'} (servestack writes one application/node.eks.aws part)"
    try:
        config = yaml.safe_load(parts[0].get_payload())
    except yaml.YAMLError:
        return "its NodeConfig is not YAML"
    cluster = mapping(dig(config, "spec", "cluster"))
    flags = [f for f in items(dig(config, "spec", "kubelet", "flags")) if isinstance(f, str)]
    odd = [f for f in flags if not f.startswith(KUBELET_FLAGS)]
    if odd or len({f.split("=", 1)[0] for f in flags}) != len(flags):
        return f"its kubelet flags include {', '.join(odd) or 'a repeated flag'} (servestack writes {', '.join(KUBELET_FLAGS)} once each)"
    expected = nodeadm_user_data(node_config_with(cluster.get("name"), cluster.get("apiServerEndpoint"),
                                                  cluster.get("certificateAuthority"), cluster.get("cidr"), flags))
    if expected != text:
        return "its NodeConfig sets more than the cluster's name, endpoint, CA, service CIDR and the kubelet's flags"
    return None


def node_user_data_reviewed(resource: Resource, ctx: Context) -> Iterable[str]:
    if resource["type"] == EC2_NODE_CLASS:
        user_data = dig(resource["inputs"], "spec", "userData")
        if isinstance(user_data, str) and not is_unknown(user_data):
            yield ("spec.userData is set; servestack renders none for Karpenter nodes (Karpenter writes the bootstrap "
                   "itself), so any user data is a change to review: it runs as root on every node of the pool")
        return
    user_data = resource["inputs"].get("userData")
    if not isinstance(user_data, str) or is_unknown(user_data):
        return
    text = _decoded(user_data)
    difference = "it is not base64" if text is None else user_data_difference(text)
    if difference:
        yield (f"userData differs from what servestack renders: {difference}; any other user data runs as root on every "
               "node at boot (SSH keys, curl | bash), so it is flagged for review")


RULES = [
    Rule("node-no-public-ip", "security",
         "No launch template, EC2NodeClass or instance asks for a public IP address.",
         "mandatory", node_no_public_ip),
    Rule("nodeclass-selectors-scoped", "security",
         "EC2NodeClass subnet and security-group selectors name the cluster's own, never public, empty or wildcard terms.",
         "mandatory", nodeclass_selectors_scoped, (EC2_NODE_CLASS,)),
    Rule("node-user-data-reviewed", "security",
         "Node user data is exactly what servestack renders (none for Karpenter; one nodeadm NodeConfig for custom AMIs).",
         "mandatory", node_user_data_reviewed, (LAUNCH_TEMPLATE, EC2_NODE_CLASS)),
]
