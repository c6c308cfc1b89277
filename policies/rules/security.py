"""Security rules: the EKS control plane, nodes, IRSA and images."""

from __future__ import annotations

import bisect
import fnmatch
import re
from collections.abc import Iterable, Mapping
from typing import Any

from components.core.cidrs import open_to_internet
from components.core.images import ImagePin, image_pin
from plandoc.document import Resource
from plandoc.endpoints import endpoints
from plandoc.tokens import (CLUSTER, HELM_CHART, HELM_RELEASE, INFERENCE_SERVICE, LAUNCH_TEMPLATE, LLM_INFERENCE_SERVICE, NODE_GROUP, ROLE, ROLE_POLICY,
                            WORKLOADS)
from plandoc.values import decode_json, dig, is_unknown, items, mapping, truthy

from .model import Context, Rule, cidr_is_open

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


# --- IRSA: a role that reads models may read only its model's prefix --------------------------

_READ_ACTIONS = ("s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket", "s3:GetBucketLocation")


def _statements(document: Any) -> list[Mapping[str, Any]]:
    document = decode_json(document)
    if not isinstance(document, Mapping):
        return []
    statements = document.get("Statement")
    return [s for s in ([statements] if isinstance(statements, Mapping) else items(statements)) if isinstance(s, Mapping)]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value] if value is not None else []


def s3_policy_problems(document: Any, allowed_actions: list[str], min_depth: int) -> list[str]:
    """What lets a policy read more than one model prefix (or write), as messages."""
    problems = []
    for i, statement in enumerate(_statements(document)):
        if statement.get("Effect") != "Allow":
            continue
        actions = [a for a in _as_list(statement.get("Action")) if isinstance(a, str)]
        s3_actions = [a for a in actions if a.lower().startswith("s3:") or a == "*"]
        if not s3_actions:
            continue
        extra = [a for a in s3_actions if a not in allowed_actions]
        if extra:
            problems.append(f"statement {i} allows {', '.join(extra)}; allowed S3 actions: {', '.join(allowed_actions)} "
                            "(a serving role only reads its model)")
        object_actions = [a for a in s3_actions if a not in ("s3:ListBucket", "s3:GetBucketLocation")]
        for arn in _as_list(statement.get("Resource")):
            if not isinstance(arn, str) or is_unknown(arn):
                continue
            if arn == "*" or not arn.startswith("arn:aws"):
                problems.append(f"statement {i} grants S3 on resource {arn}; allowed: arn:aws:s3:::<bucket>/<model prefix>/*")
                continue
            key = arn.split(":::", 1)[-1].partition("/")[2]
            if object_actions and key:
                prefix = key.removesuffix("*").rstrip("/")
                segments = [s for s in prefix.split("/") if s]
                if "*" in prefix or len(segments) < min_depth:
                    problems.append(f"statement {i} grants {', '.join(object_actions)} on {arn}; allowed: objects under a "
                                    f"model prefix at least {min_depth} levels deep without wildcards "
                                    "(s3://bucket/models/<model>/...), so one endpoint cannot read another's model")
            elif object_actions and not key:
                problems.append(f"statement {i} grants {', '.join(object_actions)} on the bucket {arn} itself or all of it; "
                                "allowed: objects under the model's prefix only")
            elif "s3:ListBucket" in s3_actions and not key:
                condition = mapping(statement.get("Condition"))
                prefixes = [v for op in condition.values() if isinstance(op, Mapping) for k, v in op.items() if k == "s3:prefix"]
                if not prefixes:
                    problems.append(f"statement {i} allows s3:ListBucket on {arn} without an s3:prefix condition; "
                                    "allowed: listing the model's prefix only")
    return problems


def _is_irsa_role(inputs: Mapping[str, Any]) -> bool:
    return any("sts:AssumeRoleWithWebIdentity" in _as_list(s.get("Action")) for s in _statements(inputs.get("assumeRolePolicy")))


def irsa_model_prefix_only(resource: Resource, ctx: Context) -> Iterable[str]:
    inputs = resource["inputs"]
    documents: list[tuple[str, Any]] = []
    if resource["type"] == ROLE:
        if not _is_irsa_role(inputs):
            return
        documents = [(f"inlinePolicies[{i}] ({p.get('name', '')})", p.get("policy"))
                     for i, p in enumerate(items(inputs.get("inlinePolicies"))) if isinstance(p, Mapping)]
    else:
        documents = [("policy", inputs.get("policy"))]
    for where, document in documents:
        for problem in s3_policy_problems(document, ctx["allowedActions"], ctx["minPrefixDepth"]):
            yield f"{where}: {problem}"


def _subjects(trust: Any) -> set[tuple[str, str]]:
    """(namespace, service account) pairs an IRSA trust policy admits."""
    found = set()
    for statement in _statements(trust):
        for condition in mapping(statement.get("Condition")).values():
            for key, values in mapping(condition).items():
                if key.endswith(":sub"):
                    for value in _as_list(values):
                        parts = str(value).split(":")
                        if len(parts) == 4 and parts[:2] == ["system", "serviceaccount"]:
                            found.add((parts[2], parts[3]))
    return found


def _object_grants(document: Any) -> list[str]:
    """``bucket/key-pattern`` of every S3 object ARN a policy lets its holder read."""
    grants = []
    for statement in _statements(document):
        actions = [a for a in _as_list(statement.get("Action")) if isinstance(a, str)]
        if statement.get("Effect") != "Allow" or not any(a in ("*", "s3:*") or a.startswith("s3:GetObject") for a in actions):
            continue
        for arn in _as_list(statement.get("Resource")):
            if isinstance(arn, str) and (arn == "*" or arn.startswith("arn:aws")):
                grants.append("*" if arn == "*" else arn.split(":::", 1)[-1])
    return grants


def _readable(grant: str, uri: str) -> bool:
    """Whether a grant (``bucket/models/x/*``) lets its holder read the model at ``s3://bucket/...``."""
    target = uri.removeprefix("s3://").rstrip("/")
    return any(fnmatch.fnmatchcase(path, grant) for path in (target, f"{target}/model"))


class _ModelIndex:
    """The S3 models of a stack's endpoints, found by the grants that can read them.

    A grant can only match a path that starts with its literal part (the text before its first
    wildcard), so each grant is matched against those models only, not against every model of
    the stack: with one role per endpoint, the rule no longer grows with the square of them.
    """

    _SUFFIX = "/model"  # _readable also tries <target>/model

    def __init__(self, models: list[tuple[Any, str]]):
        self.models = models
        targets = sorted((uri.removeprefix("s3://").rstrip("/"), i) for i, (_, uri) in enumerate(models))
        self._keys = [t for t, _ in targets]
        self._indices = [i for _, i in targets]

    def readable_by(self, grant: str) -> list[int]:
        """Indices (in model order) of the models ``grant`` lets its holder read."""
        literal = re.split(r"[*?\[]", grant, maxsplit=1)[0]
        candidates = set()
        at = bisect.bisect_left(self._keys, literal)
        while at < len(self._keys) and self._keys[at].startswith(literal):
            candidates.add(self._indices[at])
            at += 1
        # <target>/model may start with a literal longer than the target itself
        for cut in range(1, len(self._SUFFIX) + 1):
            if literal.endswith(self._SUFFIX[:cut]):
                key = literal[:-cut]
                at = bisect.bisect_left(self._keys, key)
                while at < len(self._keys) and self._keys[at] == key:
                    candidates.add(self._indices[at])
                    at += 1
        return sorted(i for i in candidates if _readable(grant, self.models[i][1]))


def _service_account(predictor) -> str | None:
    account = predictor.spec.get("serviceAccountName")
    return account if isinstance(account, str) else None  # only a name can match a trust policy's subject


def irsa_role_scoped_to_endpoint(resources: list[Resource], ctx: Context) -> Iterable[tuple[str, str]]:
    all_endpoints = endpoints(resources, ctx.stack_config)
    models = [(e, uri) for e in all_endpoints for p in e.predictors() for _, uri in p.storage_uris() if uri.startswith("s3://")]
    index = _ModelIndex(models)
    models_of: dict[str, list[int]] = {}
    for i, (endpoint, _) in enumerate(models):
        models_of.setdefault(endpoint.urn, []).append(i)
    # (namespace, service account) -> the endpoints whose predictors run as it, in endpoint order
    by_subject: dict[tuple[str, Any], list[int]] = {}
    for i, endpoint in enumerate(all_endpoints):
        for subject in {(endpoint.namespace, _service_account(p)) for p in endpoint.predictors()}:
            by_subject.setdefault(subject, []).append(i)
    policies_by_role: dict[str, list[Any]] = {}
    for r in resources:
        if r["type"] == ROLE_POLICY:
            for urn in r.get("dependencies") or []:
                policies_by_role.setdefault(urn, []).append(r["inputs"].get("policy"))
    for role in resources:
        if role["type"] != ROLE or not _is_irsa_role(role["inputs"]):
            continue
        subjects = _subjects(role["inputs"].get("assumeRolePolicy"))
        own = [all_endpoints[i] for i in sorted({i for s in subjects for i in by_subject.get(s, [])})]
        if not own:
            continue
        own_urns = {e.urn for e in own}  # URNs are unique within a stack
        documents = [p.get("policy") for p in items(role["inputs"].get("inlinePolicies")) if isinstance(p, Mapping)]
        documents += policies_by_role.get(role["urn"], [])
        grants = [g for d in documents for g in _object_grants(d)]
        names = ", ".join(sorted(e.name for e in own))
        readable_by_model: dict[int, list[str]] = {}
        for grant in grants:
            for i in index.readable_by(grant):
                readable_by_model.setdefault(i, []).append(grant)
        own_models = {i for e in own for i in models_of.get(e.urn, [])}
        for i in sorted(own_models | set(readable_by_model)):
            endpoint, uri = models[i]
            readable = readable_by_model.get(i, [])
            if endpoint.urn in own_urns and not readable:
                yield role["urn"], (f"the role of endpoint {names} cannot read its model {uri} (grants: "
                                    f"{', '.join(grants) or 'none'}); required: read access to the endpoint's own model "
                                    "prefix, or the storage initializer fails to download it")
            elif endpoint.urn not in own_urns and readable:
                yield role["urn"], (f"the role of endpoint {names} can read {uri} of endpoint {endpoint.name} through "
                                    f"{', '.join(readable)}; allowed: only its own endpoint's model prefix, so that one "
                                    "endpoint cannot read another's model")


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
    Rule("irsa-model-prefix-only", "security",
         "IRSA roles read only their model's S3 prefix, and never write.",
         "mandatory", irsa_model_prefix_only, (ROLE, ROLE_POLICY),
         settings={
             "allowedActions": {"type": "array", "items": {"type": "string"}, "default": list(_READ_ACTIONS),
                                "description": "S3 actions a model-reading role may have."},
             "minPrefixDepth": {"type": "integer", "minimum": 1, "default": 2,
                                "description": "Fewest key segments of the readable prefix (models/<model> is 2)."},
         }),
    Rule("irsa-role-scoped-to-endpoint", "security",
         "An endpoint's IRSA role reads its own models and no other endpoint's.",
         "mandatory", irsa_role_scoped_to_endpoint),
    Rule("container-image-pinned", "security",
         "Every container image is pinned by a version tag or a digest (never latest or untagged), every Helm chart by a version.",
         "mandatory", container_image_pinned, (*WORKLOADS, INFERENCE_SERVICE, LLM_INFERENCE_SERVICE, HELM_RELEASE, HELM_CHART)),
]
