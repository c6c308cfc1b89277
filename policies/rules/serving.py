"""Serving rules: what every KServe InferenceService must get right."""

from __future__ import annotations

from collections.abc import Iterable

from components.core.rollout import STANDARD_CANARY_ROUTING_PR, STANDARD_CANARY_UNROUTED_IN, Phase
from components.core.rollout_record import RolloutRecord

from plandoc.document import Resource, created, of_type
from plandoc.endpoints import Endpoint, default_mode, endpoint_of
from plandoc.rollouts import rollout_records
from plandoc.tokens import INFERENCE_SERVICE, LLM_INFERENCE_SERVICE
from plandoc.values import is_unknown, mapping

from .helpers import floating_segments, oci_unpinned
from .llm import llm_prod_min_replicas
from .model import Context, Rule

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
    mutable = ctx["mutableNames"]
    for predictor in _endpoint(resource, ctx).predictors():
        for path, uri in predictor.storage_uris():
            if is_unknown(uri):
                continue
            floating = floating_segments(uri, mutable)
            if floating:
                yield (f"{path} {uri} names the mutable path {', '.join(floating)}; required: an immutable version "
                       "(s3://bucket/models/<model>/<version>/ or an OCI digest), so that a rollout is reviewable and "
                       "a rollback serves the same bytes")
            elif oci_unpinned(uri):
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
    if resource["type"] == LLM_INFERENCE_SERVICE:
        yield from llm_prod_min_replicas(resource, ctx)
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
        return
    during = endpoint.stable_min_during_canary
    if during is not None and during < floor:
        yield (f"spec.predictor.minReplicas is {replicas}, but KServe keeps only {during} while spec.canary[] runs "
               f"(it lowers the stable minimum by the canary's replicas, which serve no traffic); required: at least "
               f"{floor}: raise minReplicas or lower rollout.candidateReplicas")


def canary_fields_match_mode(resource: Resource, ctx: Context) -> Iterable[str]:
    if not _known_spec(resource):
        return
    endpoint = _endpoint(resource, ctx)
    if endpoint.mode == "Knative" and endpoint.spec.get("canary"):
        yield ("spec.canary is set on a Knative-mode endpoint; KServe honours it only in Standard mode and would "
               "silently send all traffic to the predictor; allowed in Knative mode: spec.predictor.canaryTrafficPercent")
    if endpoint.mode != "Knative" and endpoint.canary_traffic_percent is not None:
        yield (f"spec.predictor.canaryTrafficPercent is set on a {endpoint.mode}-mode endpoint, which ignores it "
               "(the canary would silently take no traffic); allowed in Standard mode: spec.canary[] entries, which KServe "
               f"{STANDARD_CANARY_UNROUTED_IN} runs beside the stable predictor without traffic")
    traffic = endpoint.canary_traffic_percent
    if traffic is not None and not is_unknown(traffic) and not (isinstance(traffic, int) and 0 <= traffic <= 100):
        yield f"spec.predictor.canaryTrafficPercent is {traffic}; allowed: a whole percent from 0 to 100"
    if endpoint.mode == "Standard":
        for index, (_, percent) in enumerate(endpoint.canaries):
            if isinstance(percent, int) and not isinstance(percent, bool) and percent > endpoint.routed_candidate_percent:
                yield (f"spec.canary[{index}].trafficPercent is {percent}, but KServe {STANDARD_CANARY_UNROUTED_IN} routes no "
                       f"traffic to spec.canary[] (every request goes to the stable predictor; weighted routing came "
                       f"with {STANDARD_CANARY_ROUTING_PR}); allowed: 0 (a blue/green candidate that promotion cuts over to)")


def created_mid_rollout(endpoint: Endpoint, record: RolloutRecord | None) -> str | None:
    """Why creating this InferenceService as it stands would not run its rollout as declared (None if it would).

    Knative mode: KServe splits canaryTrafficPercent between the latest ready revision and the last
    rolled-out one; a new InferenceService has no rolled-out revision, so its candidate takes all
    traffic, and the stable model, which the predictor does not carry, never runs.
    """
    traffic = endpoint.canary_traffic_percent
    if endpoint.mode != "Knative" or traffic is None or is_unknown(traffic):
        return None
    candidate = f"candidate {record.candidate}" if record is not None and record.candidate else "the candidate"
    if record is not None and record.phase == Phase.ROLLED_BACK.value:
        where = f"rolled back, canaryTrafficPercent {traffic}"
    elif record is not None and record.stage:
        where = f"stage {record.stage} of {len(record.stages)}, canaryTrafficPercent {traffic}"
    else:
        where = f"canaryTrafficPercent {traffic}"
    stable = f"the stable model {record.stable}" if record is not None else "the stable model"
    effect = (f"so {candidate} would take all traffic, not {traffic}%, and {stable} would never run"
              if traffic != 100 else f"so {stable} would never run and a rollback would have no revision to return to")
    return (f"is created with a Knative-mode rollout in place ({candidate}, {where}): a new InferenceService has no "
            f"rolled-out revision for KServe to keep the rest of the traffic on, {effect}; create the endpoint steady "
            "(without rollout) first, then start the rollout in a following change")


def no_create_mid_rollout(resources: list[Resource], ctx: Context) -> Iterable[tuple[str, str]]:
    records = rollout_records(resources)
    for resource in of_type(resources, INFERENCE_SERVICE):
        if not created(resource) or not _known_spec(resource):
            continue
        endpoint = _endpoint(resource, ctx)
        message = created_mid_rollout(endpoint, records.get((endpoint.namespace, endpoint.name)))
        if message:
            yield resource["urn"], f"{endpoint.namespace}/{endpoint.name} {message}"


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
         "Prod endpoints (InferenceServices and LLM endpoints) keep at least minReplicas replicas unless scale to zero "
         "is explicitly allowed.",
         "mandatory", prod_min_replicas, (INFERENCE_SERVICE, LLM_INFERENCE_SERVICE), tiered=True,
         settings={
             "minReplicas": {"type": "integer", "minimum": 1, "default": 2,
                             "description": "Fewest predictor replicas of a prod endpoint."},
             "allowScaleToZero": {"type": "array", "items": {"type": "string"}, "default": [],
                                  "description": "Endpoints allowed to scale to zero in prod."},
         }),
    Rule("canary-fields-match-mode", "serving",
         "Canary fields appear only in the deployment mode that honours them.",
         "mandatory", canary_fields_match_mode, (INFERENCE_SERVICE,)),
    Rule("no-create-mid-rollout", "serving",
         "A Knative-mode InferenceService is not created with a rollout already in place (its candidate would take all "
         "traffic); judged where the plan says what it creates: a real preview (servestack diff compares two plans).",
         # Advisory, as before: an offline plan knows nothing deployed, so its resources carry no op and the rule
         # is silent there (plandoc.document.is_offline_plan); a real preview's create steps are real creations.
         "advisory", no_create_mid_rollout),
    Rule("prod-payload-logging", "serving",
         "Prod endpoints log their payloads.",
         "mandatory", prod_payload_logging, (INFERENCE_SERVICE,), tiered=True,
         settings={"allowedLoggerModes": {"type": "array", "items": {"type": "string"}, "default": ["all", "request"],
                                          "description": "Logger modes accepted in prod."}}),
]
