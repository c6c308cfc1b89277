"""LLM endpoint rules: what the InferenceService rules ask, asked of KServe LLMInferenceServices
(read through :mod:`plandoc.llm`). Image pins are :mod:`.security`'s ``container-image-pinned``,
which inspects LLMInferenceServices too."""

from __future__ import annotations

import re
from collections.abc import Iterable

from plandoc.document import Resource
from plandoc.llm import llm_endpoint_of, llm_endpoints
from plandoc.pools import placement_pools
from plandoc.tokens import LLM_INFERENCE_SERVICE
from plandoc.values import dig, is_unknown, items

from .accelerators import capacity_violations
from .helpers import floating_segments, oci_unpinned, show_taint, untolerated
from .model import Context, Rule


def llm_model_pinned(resource: Resource, ctx: Context) -> Iterable[str]:
    uri = dig(resource["inputs"], "spec", "model", "uri")
    if not isinstance(uri, str) or is_unknown(uri):
        return
    floating = floating_segments(uri, ctx["mutableNames"])
    if floating:
        yield (f"spec.model.uri {uri} names the mutable path {', '.join(floating)}; required: an immutable version "
               "(s3://bucket/models/<model>/<version>/, an hf:// commit or an OCI digest), so that what serves is what "
               "was reviewed")
    elif oci_unpinned(uri):
        yield f"spec.model.uri {uri} has no tag or digest; required: a pinned OCI tag or @sha256 digest"
    elif uri.startswith("hf://") and not re.search(r":[0-9a-f]{40}$", uri):
        yield (f"spec.model.uri {uri} is not pinned to a commit, so it serves whatever that revision holds at pod "
               "start; required: hf://<org>/<model>:<40-hex commit hash>")


def llm_own_service_account(resource: Resource, ctx: Context) -> Iterable[str]:
    endpoint = llm_endpoint_of(resource)
    for path, pod in endpoint.pod_templates():
        account = pod.get("serviceAccountName")
        if is_unknown(account):
            continue
        if not isinstance(account, str) or account in ("", "default"):
            yield (f"{path}.serviceAccountName is {account or 'not set'} (the namespace's default service account); "
                   "required: the endpoint's own service account, so that its model access (IRSA) is its own and "
                   "no other pod of the namespace shares it")


def llm_endpoint_on_accelerator_pool(resources: list[Resource], ctx: Context) -> Iterable[tuple[str, str]]:
    by_name = {p.name: p for p in placement_pools(resources)}
    for endpoint in llm_endpoints(resources):
        request = endpoint.accelerator_request()
        if request is None:
            continue
        where = f"LLM endpoint {endpoint.namespace}/{endpoint.name} requests {request[0]}"
        pool = by_name.get(endpoint.pool or "")
        if pool is None:
            yield endpoint.urn, (f"{where} but spec.template's nodeSelector names "
                                 f"{'pool ' + endpoint.pool if endpoint.pool else 'no pool (servestack.io/pool)'}, "
                                 f"which is not a node pool of the stack (pools: {', '.join(sorted(by_name)) or 'none'}); "
                                 "required: a pool that has it, or the pods stay Pending")
            continue
        if pool.resource_name != request[0]:
            yield endpoint.urn, (f"{where} but is placed on pool {pool.name}, whose nodes offer "
                                 f"{pool.resource_name or 'no accelerator'} ({', '.join(pool.instance_types)}); "
                                 "required: a pool of that accelerator")
            continue
        for path, pod in endpoint.pod_templates():
            missing = untolerated(items(pod.get("tolerations")), pool.taints)
            if ctx["trustExtendedResourceToleration"]:
                missing = [t for t in missing if t.get("key") != request[0]]
            if missing:
                yield endpoint.urn, (f"{where} on pool {pool.name} but {path} does not tolerate "
                                     f"{', '.join(show_taint(t) for t in missing)}; required: a toleration of every "
                                     "taint of the pool, or the pods stay Pending")


def llm_accelerator_capacity_fits(resources: list[Resource], ctx: Context) -> Iterable[tuple[str, str]]:
    return capacity_violations(resources, ctx, llm=True)


def llm_prod_min_replicas(resource: Resource, ctx: Context) -> Iterable[str]:
    """``prod-endpoint-min-replicas`` for an LLMInferenceService: every workload (decode, prefill) keeps the floor."""
    endpoint = llm_endpoint_of(resource)
    if endpoint.endpoint in ctx["allowScaleToZero"] or endpoint.name in ctx["allowScaleToZero"]:
        return
    for workload in endpoint.workloads():
        if workload.replicas < ctx["minReplicas"]:
            shown = workload.spec.get("replicas", "unset (1)")
            yield (f"{workload.where}.replicas is {shown} on a prod LLM endpoint; required: at least {ctx['minReplicas']}, "
                   "so that one pod's restart or node's loss does not take the model offline")


RULES = [
    Rule("llm-model-pinned", "serving",
         "An LLM endpoint's model URI pins a version: an hf:// commit, an OCI tag or digest, no mutable path.",
         "mandatory", llm_model_pinned, (LLM_INFERENCE_SERVICE,),
         settings={"mutableNames": {"type": "array", "items": {"type": "string"},
                                    "default": ["latest", "current", "stable", "main", "master", "head", "newest"],
                                    "description": "Path segments that name a moving target."}}),
    Rule("llm-own-service-account", "security",
         "Every pod of an LLM endpoint runs as a service account of its own, never the namespace's default.",
         "mandatory", llm_own_service_account, (LLM_INFERENCE_SERVICE,)),
    Rule("llm-endpoint-on-accelerator-pool", "accelerators",
         "An LLM endpoint is placed on a pool that has its accelerator, and every pod tolerates the pool's taints.",
         "mandatory", llm_endpoint_on_accelerator_pool,
         settings={"trustExtendedResourceToleration": {
             "type": "boolean", "default": False,
             "description": "Count EKS's ExtendedResourceToleration instead of requiring explicit tolerations."}}),
    Rule("llm-accelerator-capacity-fits", "accelerators",
         "A pool's LLM endpoints (accelerators per pod x pods) and other endpoints fit the pool at its max size.",
         "mandatory", llm_accelerator_capacity_fits,
         settings={"countCanaryReplicas": {
             "type": "boolean", "default": True,
             "description": "Count both models of the pool's InferenceServices while a canary runs."}}),
]
