"""Serving rules: what every KServe InferenceService must get right."""

from __future__ import annotations

import re
from collections.abc import Iterable

from .facts import INFERENCE_SERVICE, endpoint_of, default_mode
from .model import Context, Resource, Rule, is_unknown, mapping

#: Annotation an InferenceService carries when its owners accept scale to zero in prod.
SCALE_TO_ZERO_ANNOTATION = "servestack.io/allow-scale-to-zero"


def _endpoint(resource: Resource, ctx: Context):
    return endpoint_of(resource, default_mode(ctx.stack_config))


def _known_spec(resource: Resource) -> bool:
    """False while the whole spec is unknown (preview): then nothing in it can be judged."""
    return not is_unknown(resource["inputs"].get("spec"))


def model_version_pinned(resource: Resource, ctx: Context) -> Iterable[str]:
    if not _known_spec(resource):
        return
    mutable = {m.lower() for m in ctx["mutableNames"]}
    for predictor in _endpoint(resource, ctx).predictors():
        for path, uri in predictor.storage_uris():
            if is_unknown(uri):
                continue
            body = re.sub(r"^[a-z0-9]+://", "", uri)
            segments = [s for s in re.split(r"[/:@]", body) if s]
            floating = sorted({s for s in segments[1:] if s.lower() in mutable})
            if floating:
                yield (f"{path} {uri} names the mutable path {', '.join(floating)}; required: an immutable version "
                       "(s3://bucket/models/<model>/<version>/ or an OCI digest), so that a rollout is reviewable and "
                       "a rollback serves the same bytes")
            elif uri.startswith("oci://") and "@" not in uri and ":" not in uri.rsplit("/", 1)[-1]:
                yield f"{path} {uri} has no tag or digest; required: a pinned OCI tag or @sha256 digest"
            elif uri.startswith("hf://") and ":" not in uri.removeprefix("hf://") and ctx["requireHfRevision"]:
                yield (f"{path} {uri} names no revision, so it serves whatever the repository's main branch holds at "
                       "pod start; required: hf://<org>/<model>:<commit hash> (KServe's revision syntax)")


def endpoint_resources_set(resource: Resource, ctx: Context) -> Iterable[str]:
    if not _known_spec(resource):
        return
    required = ctx["requiredResources"]
    for path, container in _endpoint(resource, ctx).all_containers():
        resources = container.get("resources")
        if is_unknown(resources):
            continue
        for section in ("requests", "limits"):
            have = mapping(mapping(resources).get(section))
            missing = [r for r in required if r not in have]
            if missing:
                yield (f"{path}.resources.{section} lacks {', '.join(missing)}; required: {section} for "
                       f"{', '.join(required)}, so that the scheduler packs nodes correctly and one model cannot "
                       "starve its neighbours")


def prod_min_replicas(resource: Resource, ctx: Context) -> Iterable[str]:
    if not ctx.is_prod or not _known_spec(resource):
        return
    endpoint = _endpoint(resource, ctx)
    floor = ctx["minReplicas"]
    allowed_zero = endpoint.name in ctx["allowScaleToZero"] or endpoint.annotations.get(SCALE_TO_ZERO_ANNOTATION) == "true"
    replicas = endpoint.predictor.min_replicas
    replicas = 1 if replicas is None else replicas  # KServe's default
    if replicas == 0 and allowed_zero:
        return
    if replicas < floor:
        yield (f"spec.predictor.minReplicas is {replicas} on a prod endpoint; required: at least {floor}, so that one "
               "pod's restart or node's loss does not take the model offline (scale to zero needs the endpoint in "
               f"allowScaleToZero or the annotation {SCALE_TO_ZERO_ANNOTATION}: \"true\")")


def canary_fields_match_mode(resource: Resource, ctx: Context) -> Iterable[str]:
    if not _known_spec(resource):
        return
    endpoint = _endpoint(resource, ctx)
    if endpoint.mode == "Knative" and endpoint.spec.get("canary"):
        yield ("spec.canary is set on a Knative-mode endpoint; KServe honours it only in Standard mode and would "
               "silently send all traffic to the predictor; allowed in Knative mode: spec.predictor.canaryTrafficPercent")
    if endpoint.mode != "Knative" and endpoint.canary_traffic_percent is not None:
        yield (f"spec.predictor.canaryTrafficPercent is set on a {endpoint.mode}-mode endpoint, which ignores it "
               "(the canary would silently take no traffic); allowed in Standard mode: spec.canary[] entries with trafficPercent")
    traffic = endpoint.canary_traffic_percent
    if traffic is not None and not is_unknown(traffic) and not (isinstance(traffic, int) and 0 <= traffic <= 100):
        yield f"spec.predictor.canaryTrafficPercent is {traffic}; allowed: a whole percent from 0 to 100"


def prod_payload_logging(resource: Resource, ctx: Context) -> Iterable[str]:
    if not ctx.is_prod or not _known_spec(resource):
        return
    endpoint = _endpoint(resource, ctx)
    logger = endpoint.predictor.spec.get("logger")
    if is_unknown(logger):
        return
    logger = mapping(logger)
    if not logger.get("url"):
        yield ("spec.predictor.logger is not set on a prod endpoint; required: a logger with mode all (or request) and "
               "a sink url, so that every prediction served in prod can be audited and replayed")
    elif logger.get("mode", "all") not in ctx["allowedLoggerModes"]:
        yield (f"spec.predictor.logger.mode is {logger.get('mode')}; allowed in prod: {', '.join(ctx['allowedLoggerModes'])}")


RULES = [
    Rule("model-version-pinned", "serving",
         "Storage URIs pin a model version: no mutable path such as latest.",
         "mandatory", model_version_pinned, (INFERENCE_SERVICE,),
         settings={"mutableNames": {"type": "array", "items": {"type": "string"},
                                    "default": ["latest", "current", "stable", "main", "master", "head", "newest"],
                                    "description": "Path segments that name a moving target."},
                   "requireHfRevision": {"type": "boolean", "default": True,
                                         "description": "Require hf:// URIs to pin a commit (hf://org/model:hash)."}}),
    Rule("endpoint-resources-set", "serving",
         "Every container of an endpoint sets CPU and memory requests and limits.",
         "mandatory", endpoint_resources_set, (INFERENCE_SERVICE,),
         settings={"requiredResources": {"type": "array", "items": {"type": "string"}, "default": ["cpu", "memory"],
                                         "description": "Resources every container must request and limit."}}),
    Rule("prod-endpoint-min-replicas", "serving",
         "Prod endpoints keep at least minReplicas replicas unless scale to zero is explicitly allowed.",
         "mandatory", prod_min_replicas, (INFERENCE_SERVICE,), tiered=True,
         settings={
             "minReplicas": {"type": "integer", "minimum": 1, "default": 2,
                             "description": "Fewest predictor replicas of a prod endpoint."},
             "allowScaleToZero": {"type": "array", "items": {"type": "string"}, "default": [],
                                  "description": "Endpoints allowed to scale to zero in prod."},
         }),
    Rule("canary-fields-match-mode", "serving",
         "Canary fields appear only in the deployment mode that honours them.",
         "mandatory", canary_fields_match_mode, (INFERENCE_SERVICE,)),
    Rule("prod-payload-logging", "serving",
         "Prod endpoints log their payloads.",
         "mandatory", prod_payload_logging, (INFERENCE_SERVICE,), tiered=True,
         settings={"allowedLoggerModes": {"type": "array", "items": {"type": "string"}, "default": ["all", "request"],
                                          "description": "Logger modes accepted in prod."}}),
]
