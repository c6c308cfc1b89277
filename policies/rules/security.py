"""Security rules: the EKS control plane, node launch templates and images (IRSA is :mod:`.irsa`'s)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from components.core.cidrs import open_to_internet
from components.core.images import ImagePin, image_pin
from plandoc.document import Resource
from plandoc.tokens import (CLUSTER, HELM_CHART, HELM_RELEASE, INFERENCE_SERVICE, LAUNCH_TEMPLATE, LLM_INFERENCE_SERVICE,
                            NODE_GROUP, WORKLOADS)
from plandoc.values import dig, is_unknown, items, mapping, truthy

from .helpers import cidr_is_open
from .model import Context, Rule

ALL_LOG_TYPES = ["api", "audit", "authenticator", "controllerManager", "scheduler"]


def eks_endpoint_private(resource: Resource, ctx: Context) -> Iterable[str]:
    if is_unknown(resource["inputs"].get("vpcConfig")):
        return
    vpc = mapping(resource["inputs"].get("vpcConfig"))
    public = truthy(vpc.get("endpointPublicAccess"))
    if is_unknown(vpc.get("endpointPublicAccess")):
        return
    public = True if public is None else public  # EKS default: public access on
    if not public:
        return
    if ctx.is_prod:
        yield ("vpcConfig.endpointPublicAccess is true (or unset, which EKS treats as true) on a prod cluster; "
               "allowed: false with endpointPrivateAccess true, because a prod API server must not be reachable "
               "from the internet")
    cidrs = vpc.get("publicAccessCidrs")
    if cidrs is None:
        yield ("vpcConfig.publicAccessCidrs is unset while the public endpoint is on, so EKS opens it to 0.0.0.0/0; "
               "allowed: the office/VPN ranges that need the API, never 0.0.0.0/0")
    elif isinstance(cidrs, list):
        open_ = [c for c in cidrs if isinstance(c, str) and cidr_is_open(c)]
        if open_:
            yield (f"vpcConfig.publicAccessCidrs contains {', '.join(open_)}; allowed: specific ranges, never the "
                   "whole internet, because the API server would accept connections from anyone")
        else:  # blocks that add up to the internet (0.0.0.0/1 + 128.0.0.0/1, or a /4)
            for reason in open_to_internet(c for c in cidrs if isinstance(c, str) and not is_unknown(c)):
                yield (f"vpcConfig.publicAccessCidrs {reason}, because the API server would accept connections from "
                       "a large part of the internet")


def eks_secrets_encryption(resource: Resource, ctx: Context) -> Iterable[str]:
    config = resource["inputs"].get("encryptionConfig")
    if is_unknown(config):
        return
    if isinstance(config, list):  # older providers: a list of one block
        config = config[0] if config else None
    resources = items(mapping(config).get("resources"))
    if "secrets" not in resources:
        yield ("encryptionConfig does not encrypt secrets (found resources "
               f"{resources or 'none'}); required: resources [\"secrets\"] with a KMS key, so that Kubernetes "
               "Secrets are envelope-encrypted in etcd")
    elif not dig(config, "provider", "keyArn"):
        yield "encryptionConfig.provider.keyArn is missing; required: the ARN of the KMS key that encrypts secrets"


def eks_control_plane_logging(resource: Resource, ctx: Context) -> Iterable[str]:
    enabled = resource["inputs"].get("enabledClusterLogTypes")
    if is_unknown(enabled):
        return
    enabled = items(enabled)
    missing = [t for t in ctx["requiredLogTypes"] if t not in enabled]
    if missing:
        yield (f"enabledClusterLogTypes lacks {', '.join(missing)} (enabled: {', '.join(map(str, enabled)) or 'none'}); "
               f"required: {', '.join(ctx['requiredLogTypes'])}, so that API calls and authentication are auditable")


def launch_template_imdsv2(resource: Resource, ctx: Context) -> Iterable[str]:
    if is_unknown(resource["inputs"].get("metadataOptions")):
        return
    options = mapping(resource["inputs"].get("metadataOptions"))
    tokens = options.get("httpTokens")
    if tokens != "required" and not is_unknown(tokens):
        yield (f"metadataOptions.httpTokens is {tokens or 'unset (optional)'}; required: \"required\" (IMDSv2), "
               "because IMDSv1 lets any SSRF in a pod read the node role's credentials")
    hops = options.get("httpPutResponseHopLimit")
    if isinstance(hops, int) and hops > ctx["maxHopLimit"]:
        yield (f"metadataOptions.httpPutResponseHopLimit is {hops}; allowed: at most {ctx['maxHopLimit']}, so that pods "
               "(one hop further than the node) cannot reach the node role's credentials")


def launch_template_encrypted_volumes(resource: Resource, ctx: Context) -> Iterable[str]:
    mappings = resource["inputs"].get("blockDeviceMappings")
    if is_unknown(mappings):
        return
    mappings = items(mappings)
    if not mappings:
        yield ("blockDeviceMappings is empty, so the root volume's encryption depends on the AMI and the account "
               "default; required: a mapping of the root device with ebs.encrypted true")
    for i, block in enumerate(mappings):
        ebs = mapping(mapping(block).get("ebs"))
        if not ebs:
            continue
        encrypted = ebs.get("encrypted")
        if truthy(encrypted) is not True and not is_unknown(encrypted):
            device = mapping(block).get("deviceName", f"#{i}")
            yield (f"blockDeviceMappings[{i}] ({device}) has ebs.encrypted {encrypted if encrypted is not None else 'unset'}; "
                   "required: true, because node volumes hold model weights and container layers")


def node_group_no_ssh(resource: Resource, ctx: Context) -> Iterable[str]:
    remote = resource["inputs"].get("remoteAccess")
    if remote and not is_unknown(remote):
        key = remote.get("ec2SshKey") if isinstance(remote, Mapping) else None
        yield (f"remoteAccess is set (ec2SshKey {key or 'unset'}); allowed: none, because SSH opens port 22 on "
               "every node; use SSM Session Manager or kubectl debug instead")


# --- images -------------------------------------------------------------------------------


def image_problem(image: str) -> str | None:
    return {
        ImagePin.PINNED: None,
        ImagePin.BAD_DIGEST: "has a malformed digest (want @sha256:<64 hex>)",
        ImagePin.UNTAGGED: "has no tag, so it floats with whatever is pushed as latest",
        ImagePin.LATEST: "uses the tag latest, which floats",
    }[image_pin(image)]


def _images(value: Any, path: str = "") -> list[tuple[str, str]]:
    found = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            here = f"{path}.{key}" if path else key
            if key == "image" and isinstance(item, str):
                found.append((here, item))
            elif key == "image" and isinstance(item, Mapping) and isinstance(item.get("tag"), str):
                found.append((here, f"{item.get('repository', 'image')}:{item['tag']}" if item["tag"] else "<chart appVersion>"))
            else:
                found += _images(item, here)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += _images(item, f"{path}[{i}]")
    return found


def container_image_pinned(resource: Resource, ctx: Context) -> Iterable[str]:
    inputs = resource["inputs"]
    where = inputs.get("values") if resource["type"] in (HELM_RELEASE, HELM_CHART) else inputs.get("spec")
    prefix = "values" if resource["type"] in (HELM_RELEASE, HELM_CHART) else "spec"
    if resource["type"] in (HELM_RELEASE, HELM_CHART) and not inputs.get("version"):
        yield (f"chart {inputs.get('chart')} has no version, so every deploy installs whatever the repository "
               "publishes last (and the images of that release); required: a pinned chart version")
    for path, image in _images(where or {}, prefix):
        if image == "<chart appVersion>" or is_unknown(image):
            continue  # an empty tag means the chart's appVersion, pinned by the chart version
        problem = image_problem(image)
        if problem:
            yield f"{path} {image} {problem}; required: a version tag or an @sha256 digest, so that a deploy is reproducible"


RULES = [
    Rule("eks-endpoint-private", "security",
         "The EKS API endpoint is private in prod and never open to 0.0.0.0/0.",
         "mandatory", eks_endpoint_private, (CLUSTER,), tiered=True),
    Rule("eks-secrets-encryption", "security",
         "EKS envelope-encrypts Kubernetes Secrets with a KMS key.",
         "mandatory", eks_secrets_encryption, (CLUSTER,)),
    Rule("eks-control-plane-logging", "security",
         "Every EKS control-plane log type is sent to CloudWatch.",
         "mandatory", eks_control_plane_logging, (CLUSTER,),
         settings={"requiredLogTypes": {"type": "array", "items": {"type": "string"}, "default": ALL_LOG_TYPES,
                                        "description": "Control-plane log types that must be enabled."}}),
    Rule("launch-template-imdsv2", "security",
         "Node launch templates require IMDSv2 with a hop limit that keeps pods away from node credentials.",
         "mandatory", launch_template_imdsv2, (LAUNCH_TEMPLATE,),
         # Default 1: podMetadataAccess (hop 2) gives pods the node role; allowing it is a reviewed setting.
         settings={"maxHopLimit": {"type": "integer", "minimum": 1, "default": 1,
                                   "description": "Largest httpPutResponseHopLimit allowed (2 admits podMetadataAccess)."}}),
    Rule("launch-template-encrypted-volumes", "security",
         "Node volumes (root included) are EBS-encrypted.",
         "mandatory", launch_template_encrypted_volumes, (LAUNCH_TEMPLATE,)),
    Rule("node-group-no-ssh", "security",
         "Node groups allow no SSH access.",
         "mandatory", node_group_no_ssh, (NODE_GROUP,)),
    Rule("container-image-pinned", "security",
         "Every container image is pinned by a version tag or a digest (never latest or untagged), every Helm chart by a version.",
         "mandatory", container_image_pinned, (*WORKLOADS, INFERENCE_SERVICE, LLM_INFERENCE_SERVICE, HELM_RELEASE, HELM_CHART)),
]
