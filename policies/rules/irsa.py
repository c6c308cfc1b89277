"""IRSA rules: a role that reads models may read only its own endpoint's model prefix, and never write."""

from __future__ import annotations

import bisect
import fnmatch
import re
from collections.abc import Iterable, Mapping
from typing import Any

from plandoc.document import Resource
from plandoc.endpoints import endpoints
from plandoc.tokens import ROLE, ROLE_POLICY
from plandoc.values import decode_json, is_unknown, items, mapping

from .model import Context, Rule

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


RULES = [
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
]
