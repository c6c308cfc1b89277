"""Organisation allow-lists, kept per stack in its policy config, and the tier each stack is bound to.

``org-allow-lists`` holds four lists, each judged over every object of the plan that carries one:

- ``registries``: every container image (any pod template, Helm values' ``image``) comes from one
  (``<host>/`` or ``<host>/<path>/`` prefixes);
- ``modelStorage``: every model URI (InferenceService ``storageUri``/``storageUris`` and ``STORAGE_URI``
  env of custom containers, LLMInferenceService ``model.uri``) starts with one: ``s3://<bucket>/<prefix>/``,
  ``hf://<org>/``, ``oci://<registry>/<path>/``, ``gs://``...;
- ``trustedAccounts``: every AWS account an ARN names anywhere in the plan (principals, resources, access
  entries, role ARNs in annotations) or a policy names as a principal is one;
- ``loggerEndpoints``: a payload logger outside the cluster (not ``*.svc``/``*.svc.cluster.local``) sends to one
  (URL prefixes).

In the tiers of ``requiredIn`` (``policies/config/staging.json`` and ``prod.json`` name staging and prod) ``registries``, ``modelStorage`` and ``trustedAccounts``
must be set (a stack without one fails, so that a plan cannot leave the organisation by leaving a list
out), and a logger outside the cluster must be in ``loggerEndpoints`` (empty: none may be). Elsewhere a
list is enforced when set.
``stack-tier-bound`` binds the stack to the tier its policy config names (``stackTier``): a stack whose
``servestack:tier`` says otherwise (prod switched to dev, with every prod rule off) fails.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from plandoc.document import Resource
from plandoc.endpoints import endpoint_of
from plandoc.iam import account_of, policy_documents, principals, statements
from plandoc.models import storage_uris
from plandoc.pods import pod_specs
from plandoc.tokens import HELM_CHART, HELM_RELEASE, INFERENCE_SERVICE, LLM_INFERENCE_SERVICE
from plandoc.values import dig, is_unknown, items, mapping

from .model import TIERS, Context, Rule, resolve_tier

#: An ARN that names an account: ``arn:<partition>:<service>:<region>:<account>:...``.
ACCOUNT_ARN = re.compile(r"arn:aws[\w-]*:[\w-]+:[\w-]*:(\d{12}):")
#: The lists that must be set where they are required (an organisation may have no external logger at all:
#: then every logger must be in the cluster).
LISTS = ("registries", "modelStorage", "trustedAccounts")


def registry_of(image: str) -> str:
    """The registry host of an image reference (Docker's rule: a first part with a dot, a colon or localhost)."""
    first, _, rest = image.partition("/")
    return first if rest and ("." in first or ":" in first or first == "localhost") else "docker.io"


def _allowed(value: str, prefixes: list[str]) -> bool:
    return any(value.startswith(p if p.endswith(("/", ":")) else p + "/") or value == p for p in prefixes)


def _values_images(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            here = f"{path}.{key}"
            if key == "image" and isinstance(item, str):
                yield here, item
            elif key == "image" and isinstance(item, Mapping) and isinstance(item.get("repository"), str):
                registry = item.get("registry")
                yield here, f"{registry}/{item['repository']}" if isinstance(registry, str) and registry else item["repository"]
            else:
                yield from _values_images(item, here)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _values_images(item, f"{path}[{i}]")


def images(resource: Resource) -> list[tuple[str, str]]:
    """(path, image) of every container image the resource declares."""
    if resource["type"] in (HELM_RELEASE, HELM_CHART):
        return list(_values_images(resource["inputs"].get("values"), "values"))
    return [(f"{path}.image", c["image"]) for spec in pod_specs(resource) for path, c in spec.containers
            if isinstance(c.get("image"), str) and not is_unknown(c["image"])]


def model_uris(resource: Resource) -> list[tuple[str, str]]:
    """(path, URI) of every model an InferenceService or LLMInferenceService serves."""
    spec = resource["inputs"].get("spec")
    if resource["type"] == LLM_INFERENCE_SERVICE:
        uri = dig(spec, "model", "uri")
        return [("spec.model.uri", uri)] if isinstance(uri, str) and not is_unknown(uri) else []
    if resource["type"] != INFERENCE_SERVICE:
        return []
    found = [(".".join(p), uri) for p, uri in storage_uris(spec, ("spec",))]
    for pod in pod_specs(resource):
        for path, container in pod.containers:
            for i, env in enumerate(items(container.get("env"))):
                env = mapping(env)
                if env.get("name") == "STORAGE_URI" and isinstance(env.get("value"), str):
                    found.append((f"{path}.env[{i}] STORAGE_URI", env["value"]))
    return found


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def accounts(resources: list[Resource]) -> dict[str, list[str]]:
    """Account -> URNs of the resources that name it (ARNs anywhere, bare ids as principals)."""
    found: dict[str, list[str]] = {}
    for resource in resources:
        named = {m for text in _strings(resource.get("inputs")) for m in ACCOUNT_ARN.findall(text)}
        for account in sorted(named):
            found.setdefault(account, []).append(resource["urn"])
    for document in policy_documents(resources):
        for statement in statements(document.document):
            for _, principal in principals(statement):
                account = account_of(principal)
                if account and document.urn not in found.get(account, []):
                    found.setdefault(account, []).append(document.urn)
    return found


def _logger_urls(resource: Resource) -> Iterator[tuple[str, str]]:
    if resource["type"] != INFERENCE_SERVICE:
        return
    for where, spec in endpoint_of(resource).components():
        url = mapping(spec.get("logger")).get("url")
        if isinstance(url, str) and not is_unknown(url):
            yield f"{where}.logger.url", url


def _cluster_local(url: str, domains: list[str]) -> bool:
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    return bool(host) and ("." not in host or any(host.endswith("." + d.lower()) for d in domains))


def org_allow_lists(resources: list[Resource], ctx: Context) -> Iterable[tuple[str, str]]:
    required = ctx.tier in ctx["requiredIn"]
    for setting in LISTS:
        if required and not ctx[setting]:
            yield "", (f"the policy config sets no {setting} allow-list for this {ctx.tier} stack; required in "
                       f"{', '.join(ctx['requiredIn'])}: the organisation's {setting} (org-allow-lists.{setting}), so "
                       "that nothing the plan names can leave them unnoticed")
    registries, storage, loggers = ctx["registries"], ctx["modelStorage"], ctx["loggerEndpoints"]
    for resource in resources:
        urn = resource["urn"]
        if registries:
            for path, image in images(resource):
                if not _allowed(image, registries) and not _allowed(registry_of(image), registries):
                    yield urn, (f"{path} {image} comes from {registry_of(image)}, outside the allowed registries "
                                f"({', '.join(registries)}); add the registry to org-allow-lists.registries after review")
        if storage:
            for path, uri in model_uris(resource):
                if not _allowed(uri, storage):
                    yield urn, (f"{path} {uri} is outside the allowed model storage ({', '.join(storage)}); add its "
                                "bucket/prefix (or hf://<org>/) to org-allow-lists.modelStorage after review")
        for path, url in _logger_urls(resource):
            if (loggers or required) and not _cluster_local(url, ctx["clusterDomains"]) and not _allowed(url, loggers):
                yield urn, (f"{path} {url} sends every request and response outside the cluster to a host not in "
                            f"org-allow-lists.loggerEndpoints ({', '.join(loggers) or 'none'})")
    trusted = ctx["trustedAccounts"]
    if trusted:
        for account, urns in sorted(accounts(resources).items()):
            if account not in trusted:
                for urn in urns:
                    yield urn, (f"names AWS account {account}, which is not a trusted account "
                                f"({', '.join(trusted)}); add it to org-allow-lists.trustedAccounts after review")


def stack_tier_bound(resources: list[Resource], ctx: Context) -> Iterable[tuple[str, str]]:
    bound = ctx.settings.get("stackTier")
    if bound in (None, "any"):
        return
    actual = resolve_tier(None, ctx.stack_config, ctx.stack)
    if actual != bound:
        source = "servestack:tier" if ctx.stack_config.get("servestack:tier") else "its name (no servestack:tier)"
        yield "", (f"the stack's tier is {actual} (from {source}) but its policy config binds it to {bound}; required: "
                   f"servestack:tier {bound}, because the tier turns rules on and off (a prod stack checked as {actual} "
                   "skips every prod rule)")


_LIST = {"type": "array", "items": {"type": "string"}, "default": []}
RULES = [
    Rule("org-allow-lists", "security",
         "Images, model storage, AWS accounts and external logger endpoints are the organisation's allowed ones; "
         "the lists must be set in staging and prod.",
         "mandatory", org_allow_lists, tiered=True,
         settings={
             "registries": {**_LIST, "description": "Allowed image registries: <host> or <host>/<path> prefixes."},
             "modelStorage": {**_LIST, "description": "Allowed model URI prefixes: s3://<bucket>/<prefix>/, hf://<org>/..."},
             "trustedAccounts": {**_LIST, "description": "AWS account ids the plan may name."},
             "loggerEndpoints": {**_LIST, "description": "URL prefixes payload loggers outside the cluster may send to."},
             "clusterDomains": {"type": "array", "items": {"type": "string"}, "default": ["svc", "svc.cluster.local"],
                                "description": "Host suffixes of in-cluster services (loggers there need no entry)."},
             "requiredIn": {"type": "array", "items": {"type": "string", "enum": list(TIERS)},
                            "default": [], "description": "Tiers in which every list must be set (the staging and prod "
                                                         "policy configs say staging, prod)."},
         }),
    Rule("stack-tier-bound", "security",
         "A stack's tier (servestack:tier) is the one its policy config binds it to.",
         "mandatory", stack_tier_bound,
         settings={"stackTier": {"type": "string", "enum": ["any", *TIERS], "default": "any",
                                 "description": "The tier this policy config is for; the stack must say the same "
                                                "(any: not bound)."}}),
]
