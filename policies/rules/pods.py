"""Rules on what KServe will run for an endpoint: its identity, where its payloads go, and whether its
model URI names a version (pod security is :mod:`policies.rules.pod_security`'s, over every pod)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from components.render.inference_service import LABEL_MODEL_VERSION
from plandoc.document import Resource
from plandoc.endpoints import Endpoint, default_mode, endpoint_of
from plandoc.tokens import DAEMON_SET, INFERENCE_SERVICE
from plandoc.values import dig, is_unknown, items, mapping

from .model import Context, Rule

#: Label of an endpoint's candidate version (servestack's ModelEndpoint sets it during a rollout).
LABEL_CANDIDATE_VERSION = "servestack.io/candidate-version"
#: A path segment that names a version: starts with a digit (``2.3.1``, ``2026-05-01``) or v and a digit (``v3``).
VERSION_SEGMENT = re.compile(r"^v?\d")
#: Storage schemes whose versions other rules judge (tags, digests, revisions).
PINNED_ELSEWHERE = ("hf://", "oci://")


def _endpoint(resource: Resource, ctx: Context) -> Endpoint | None:
    if is_unknown(resource["inputs"].get("spec")):
        return None
    return endpoint_of(resource, default_mode(ctx.stack_config))


def endpoint_own_service_account(resource: Resource, ctx: Context) -> Iterable[str]:
    endpoint = _endpoint(resource, ctx)
    if endpoint is None:
        return
    why = ("; required: the endpoint's own service account, because the namespace's default one is shared by every pod "
           "that names none (its IRSA role and RBAC reach them all)")
    for predictor in endpoint.predictors():
        account = predictor.spec.get("serviceAccountName")
        if is_unknown(account):
            continue
        if not account or account == "default":
            shown = "default" if account == "default" else "unset (the namespace's default)"
            yield f"{predictor.where}.serviceAccountName is {shown}{why}"
    for part in ("transformer", "explainer"):  # they may run without AWS access, but never as "default" by name
        if mapping(endpoint.spec.get(part)).get("serviceAccountName") == "default":
            yield f"spec.{part}.serviceAccountName is default{why}"


def _cluster_local(host: str, domains: list[str]) -> bool:
    host = host.rstrip(".").lower()
    return bool(host) and ("." not in host or any(host.endswith("." + d.lower()) for d in domains))


def payload_logger_tls(resource: Resource, ctx: Context) -> Iterable[str]:
    if not ctx.is_prod:
        return
    endpoint = _endpoint(resource, ctx)
    if endpoint is None:
        return
    for where, spec in endpoint.components():
        url = mapping(spec.get("logger")).get("url")
        if not isinstance(url, str) or is_unknown(url):
            continue
        parts = urlsplit(url)
        if parts.scheme.lower() == "http" and not _cluster_local(parts.hostname or "", ctx["clusterDomains"]):
            yield (f"{where}.logger.url {url} sends every request and response in clear text to {parts.hostname or 'no host'}, "
                   f"outside the cluster; allowed in prod: https://, or http:// to a service in the cluster "
                   f"(*.{', *.'.join(ctx['clusterDomains'])})")


def _declared_versions(endpoint: Endpoint) -> set[str]:
    found = {endpoint.labels.get(LABEL_MODEL_VERSION), endpoint.labels.get(LABEL_CANDIDATE_VERSION)}
    for predictor in endpoint.predictors():
        found.add(mapping(predictor.spec.get("labels")).get(LABEL_MODEL_VERSION))
    return {str(v) for v in found if v}


def model_uri_names_version(resource: Resource, ctx: Context) -> Iterable[str]:
    endpoint = _endpoint(resource, ctx)
    if endpoint is None:
        return
    versions = _declared_versions(endpoint)
    for predictor in endpoint.predictors():
        for path, uri in predictor.storage_uris():
            if is_unknown(uri) or uri.startswith(PINNED_ELSEWHERE) or "://" not in uri:
                continue
            segments = [s for s in uri.split("://", 1)[1].split("/")[1:] if s]  # the path after the bucket
            if any(s in versions or VERSION_SEGMENT.match(s) for s in segments):
                continue
            named = f"the endpoint's version{'s' if len(versions) > 1 else ''} {', '.join(sorted(versions))}" if versions else \
                "a version"
            yield (f"{path} {uri} names no version: no path segment is {named} or starts with a digit (or v and a digit); "
                   "required: s3://<bucket>/models/<model>/<version>/, so that two versions never share a prefix and a "
                   "rollback serves the bytes it served before")


def declared_plugin_image_digest(resource: Resource, ctx: Context) -> Iterable[str]:
    if not ctx.is_prod:
        return
    for i, container in enumerate(items(dig(resource["inputs"], "spec", "template", "spec", "containers"))):
        image = mapping(container).get("image")
        if isinstance(image, str) and not is_unknown(image) and "@sha256:" not in image:
            yield (f"spec.template.spec.containers[{i}].image {image} is pulled by tag; required in prod: "
                   "<image>:<tag>@sha256:<digest>, because a DaemonSet runs on every node it selects (a device plugin "
                   "with the node's /dev and the kubelet's socket) and a tag can be pushed again")


RULES = [
    Rule("declared-plugin-image-digest", "security",
         "In prod, DaemonSets the stack declares (device plugins) pull their images by digest.",
         "mandatory", declared_plugin_image_digest, (DAEMON_SET,), tiered=True),
    Rule("endpoint-own-service-account", "security",
         "Endpoint predictors run as their own service account, never the namespace's default one.",
         "mandatory", endpoint_own_service_account, (INFERENCE_SERVICE,)),
    Rule("payload-logger-tls", "serving",
         "In prod, payload loggers send over TLS unless their sink is a service in the cluster.",
         "mandatory", payload_logger_tls, (INFERENCE_SERVICE,), tiered=True,
         settings={"clusterDomains": {"type": "array", "items": {"type": "string"}, "default": ["svc", "svc.cluster.local"],
                                      "description": "Host suffixes of in-cluster services (plain http allowed)."}}),
    Rule("model-uri-names-version", "serving",
         "A model's storage URI has a path segment that names its version.",
         "mandatory", model_uri_names_version, (INFERENCE_SERVICE,)),
]
