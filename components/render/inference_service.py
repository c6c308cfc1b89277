"""Render one endpoint's KServe InferenceService (``serving.kserve.io/v1beta1``) and the record
of its rollout. Pure Python.

Everything placement-related comes from the pool's :class:`PoolPlacement` (node selector,
tolerations, the accelerator's extended resource), never from the endpoint's config; the
rollout part is compiled from the pure state machine of :mod:`components.core.rollout` by
:func:`compile_predictor`, so each deployment mode gets only the fields it honours.

KServe copies an InferenceService's labels and annotations into its pods' templates (in
Standard mode all of them; in Knative mode all but the ``serviceLabelDisallowedList`` /
``serviceAnnotationDisallowedList`` of ``inferenceservice-config``, which the kserve-resources
chart offers no value to extend), so a value there that changed at a rollout stage would
restart every pod, the stable model's included. The InferenceService therefore carries only
metadata that never moves with a rollout: the endpoint and model name (traceability), and its
deployment mode. Each predictor labels its own pods with its model version (it moves with the
model, whose pods are new anyway). Where the rollout stands goes to a ConfigMap that no pod
reads (:func:`render_rollout_record`): ``kubectl get cm <endpoint>-rollout -o yaml``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..core import versions
from ..core.model_runtime import ModelRuntime, rendered_model_runtime
from ..core.resources import DEFAULT_LIMITS, DEFAULT_REQUESTS
from ..core.kserve_runtimes import Runtime
from ..core.placement import PoolPlacement
from ..core.pod_security import container_security_context
from ..core.canary_replicas import stable_min_to_render
from ..core.rollout_record import RECORD_COMPONENT, RolloutRecord, record_name, rollout_record
from ..core.rollout import (
    DEFAULT_CANDIDATE_REPLICAS,
    Mode,
    Phase,
    Rollout,
    predictor_name,
    stages_problem,
)

from ..core.labels import (  # noqa: F401  (the keys, re-exported for readers of rendered objects)
    DEPLOYMENT_MODE_ANNOTATION,
    PROGRESS_DEADLINE_ANNOTATION,
    KSERVE_CONTAINER,
    STORAGE_URI_ENV,
    PREDICTOR_CONTAINER,
    LABEL_ENDPOINT,
    LABEL_MODEL,
    LABEL_MODEL_VERSION,
    LABEL_MANAGED_BY,
    PROMETHEUS_ANNOTATION,
    TAG_ROUTING_ANNOTATION,
    STORAGE_SECRET_ANNOTATION,
    VISIBILITY_LABELS,
    TRANSFORMER_CONTAINER,
    LABEL_COMPONENT,
)

if TYPE_CHECKING:  # the renderer reads the stack model's values; it does not load pydantic
    from ..config.endpoints import ContainerConfig, EndpointConfig, ModelConfig, ResourcesConfig

API_VERSION = "serving.kserve.io/v1beta1"
KIND = "InferenceService"


def service_account_name(endpoint: str) -> str:
    """The Kubernetes service account the endpoint's predictor runs as (and reads its model with)."""
    return f"{endpoint}-model"


def compile_predictor(mode: Mode | str, rollout: Rollout, *, shared: dict[str, Any], stable: dict[str, Any],
                      candidate: dict[str, Any] | None = None, candidate_replicas: int | None = None) -> dict[str, Any]:
    """The ``predictor`` (and, in Standard mode, ``canary``) part of an InferenceService spec.

    ``stable``/``candidate`` are the model-specific predictor fields of each model (``model`` or
    ``containers``); ``shared`` holds the fields both share (placement, autoscaling, logger...).
    ``candidate_replicas`` is Standard mode's canary replica count (Knative mode has none; default
    :data:`DEFAULT_CANDIDATE_REPLICAS`).
    """
    mode = Mode(mode)
    if rollout.phase is not Phase.STEADY and candidate is None:
        raise ValueError("a rollout needs the candidate's predictor fields")
    if mode is Mode.KNATIVE:
        if candidate_replicas is not None:
            raise ValueError("candidate replicas belong to Standard mode; Knative mode has no such field")
        if rollout.phase is Phase.STEADY:
            return {"predictor": {**shared, **stable}}
        return {"predictor": {**shared, **candidate, "canaryTrafficPercent": rollout.traffic.candidate}}

    predictor = {"name": predictor_name(rollout.stable), **shared, **stable}
    if rollout.phase is not Phase.IN_PROGRESS:
        return {"predictor": predictor}
    problem = stages_problem(mode, rollout.stages)
    if problem:
        raise ValueError(f"stages {rollout.stages} {problem}")
    canary_predictor = {"name": predictor_name(rollout.candidate), **candidate}
    if "serviceAccountName" in shared:  # the candidate reads its model through the endpoint's IRSA identity too
        canary_predictor["serviceAccountName"] = shared["serviceAccountName"]
    for field in ("nodeSelector", "tolerations", "affinity"):  # a spec.canary[] predictor inherits no placement
        if field in shared:
            canary_predictor[field] = shared[field]
    if "model" in canary_predictor:
        # The CRD requires the model's (container) name on a canary; KServe's own is kserve-container.
        canary_predictor["model"] = {"name": KSERVE_CONTAINER, **canary_predictor["model"]}
    canary_predictor["minReplicas"] = DEFAULT_CANDIDATE_REPLICAS if candidate_replicas is None else candidate_replicas
    if isinstance(predictor.get("minReplicas"), int):  # KServe lowers it by the canary's replicas: keep the minimum
        predictor["minReplicas"] = stable_min_to_render(predictor["minReplicas"], canary_predictor["minReplicas"])
        if isinstance(predictor.get("maxReplicas"), int):
            predictor["maxReplicas"] = max(predictor["maxReplicas"], predictor["minReplicas"])
    return {"predictor": predictor, "canary": [{"trafficPercent": rollout.traffic.candidate, "predictor": canary_predictor}]}


def render_inference_service(name: str, endpoint: EndpointConfig, placement: PoolPlacement, mode: str,
                             service_account: str | None = None, kserve_version: str | None = None,
                             runtimes: tuple[Runtime, ...] = ()) -> dict[str, Any]:
    """The full InferenceService object of one endpoint in one deployment mode, for the KServe that
    serves it (``kserve_version``; default: the standalone KServe servestack installs), whose
    built-in runtimes (and the platform's own, ``runtimes``) decide the model format's spelling and any
    protocol KServe needs spelt out."""
    mode = Mode(mode)
    rollout = endpoint.rollout_state()
    candidate = endpoint.candidate_model()
    # The candidate replaces only version and location: it resolves to the stable model's runtime.
    runtime = rendered_model_runtime(endpoint.model, kserve_version or versions.KSERVE_RESOURCES.version, runtimes)

    labels = {LABEL_ENDPOINT: name, LABEL_MODEL: endpoint.model.name or name}
    annotations = {DEPLOYMENT_MODE_ANNOTATION: mode.value}
    if endpoint.visibility == "cluster-local":
        labels[VISIBILITY_LABELS[mode.value]] = "cluster-local"
    if endpoint.prometheus_scraping:
        annotations[PROMETHEUS_ANNOTATION] = "true"
    if endpoint.tag_routing and mode is Mode.KNATIVE:
        annotations[TAG_ROUTING_ANNOTATION] = "true"
    if endpoint.model.storage_secret_name is not None:
        annotations[STORAGE_SECRET_ANNOTATION] = endpoint.model.storage_secret_name
    account = service_account or endpoint.service_account_name or service_account_name(name)
    collocated = _collocated_transformer(endpoint)

    spec: dict[str, Any] = compile_predictor(
        mode, rollout,
        shared=_shared_predictor_fields(endpoint, placement, mode, account),
        stable=_with_pod_labels(endpoint, model_fields(endpoint.model, endpoint.resources, endpoint.accelerators, placement,
                                                       runtime, collocated)),
        candidate=None if candidate is None else _with_pod_labels(endpoint, model_fields(
            candidate, endpoint.resources, endpoint.accelerators, placement, runtime, collocated)),
        candidate_replicas=endpoint.rollout.candidate_replicas if endpoint.rollout is not None and mode is Mode.STANDARD else None,
    )
    if endpoint.transformer is not None and not endpoint.transformer.collocated:
        spec["transformer"] = {**component_extension(endpoint.transformer, mode), **_transformer(endpoint, account)}
    if endpoint.explainer is not None:
        spec["explainer"] = {**component_extension(endpoint.explainer, mode), **_explainer(endpoint)}
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": name, "namespace": endpoint.namespace, "labels": dict(sorted(labels.items())),
                     "annotations": dict(sorted(annotations.items()))},
        "spec": spec,
    }


def _with_pod_labels(endpoint: EndpointConfig, fields: dict[str, Any]) -> dict[str, Any]:
    """A model version's predictor fields with the endpoint's pod labels beside its version label."""
    if endpoint.pod_labels:
        fields["labels"] = {**dict(sorted(endpoint.pod_labels.items())), **fields["labels"]}
    return fields


def endpoint_rollout_record(name: str, endpoint: EndpointConfig, mode: str) -> RolloutRecord:
    """Where the endpoint's rollout stands, as ``mode`` really runs it."""
    return rollout_record(name, endpoint.namespace, mode, endpoint.rollout_state(),
                          stable_min_replicas=endpoint.autoscaling.min_replicas,
                          candidate_replicas=endpoint.rollout.candidate_replicas if endpoint.rollout is not None else None)


def render_rollout_record(name: str, endpoint: EndpointConfig, mode: str) -> dict[str, Any]:
    """The ConfigMap ``<endpoint>-rollout`` (in the endpoint's namespace) holding the rollout record."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": record_name(name), "namespace": endpoint.namespace,
                     "labels": {LABEL_COMPONENT: RECORD_COMPONENT, LABEL_MANAGED_BY: "servestack", LABEL_ENDPOINT: name}},
        "data": endpoint_rollout_record(name, endpoint, mode).to_data(),
    }


def model_fields(model: ModelConfig, resources: ResourcesConfig, accelerators: int, placement: PoolPlacement,
                 runtime: ModelRuntime | None = None, collocated: dict[str, Any] | None = None) -> dict[str, Any]:
    """The predictor fields that belong to one model version (what a canary replaces). ``runtime`` is
    the format model's resolution (:func:`~components.config.endpoint_fit.model_runtime`): the format as
    the runtime spells it and the protocol to spell out; without it, the config's own values. ``collocated``
    is a transformer container in the predictor's pod (KServe's ``transformer-container``)."""
    requirements = resource_requirements(resources, accelerators, placement)
    fields: dict[str, Any] = {"labels": {LABEL_MODEL_VERSION: model.version}}
    extra = [collocated] if collocated is not None else []
    if model.container is not None:
        body = container(model.container, None)
        body["resources"] = requirements
        if model.storage_uri is not None:
            # A custom predictor names its model through STORAGE_URI; KServe's storage initializer
            # then downloads it to /mnt/models before the container starts.
            body["env"] = sorted([*body.get("env", []), {"name": STORAGE_URI_ENV, "value": model.storage_uri}], key=lambda e: e["name"])
        fields["containers"] = [body, *extra]
        return fields
    protocol = runtime.protocol if runtime is not None else model.protocol_version
    model_format = {"name": runtime.format_name if runtime is not None else model.format}
    if model.format_version is not None:
        model_format["version"] = model.format_version
    spec: dict[str, Any] = {"modelFormat": model_format}
    if model.runtime is not None:
        spec["runtime"] = model.runtime
    if model.runtime_version is not None:
        spec["runtimeVersion"] = model.runtime_version
    if protocol is not None:
        spec["protocolVersion"] = protocol
    if model.storage is not None:
        storage: dict[str, Any] = {"key": model.storage.key, "path": model.storage.path}
        if model.storage.parameters:
            storage["parameters"] = dict(sorted(model.storage.parameters.items()))
        spec["storage"] = storage
    else:
        spec["storageUri"] = model.storage_uri
    model.render_into(spec)
    spec["resources"] = requirements
    spec["securityContext"] = container_security_context()  # the restricted profile
    fields["model"] = spec
    if extra:
        fields["containers"] = extra
    return fields


def resource_requirements(resources: ResourcesConfig | None, accelerators: int = 0,
                          placement: PoolPlacement | None = None) -> dict[str, dict[str, Any]]:
    """Kubernetes ResourceRequirements; accelerators use the pool's extended resource name."""
    if resources is None:
        requests, limits = dict(DEFAULT_REQUESTS), dict(DEFAULT_LIMITS)
    else:
        requests, limits = resources.requests.as_dict(), resources.limits.as_dict()
    if accelerators:
        assert placement is not None and placement.resource_name, "checked by the config: the pool has accelerators"
        # Extended resources cannot be overcommitted: request exactly what the limit says.
        requests[placement.resource_name] = str(accelerators)
        limits[placement.resource_name] = str(accelerators)
    return {key: value for key, value in (("requests", requests), ("limits", limits)) if value}


def container(config: ContainerConfig, resources: ResourcesConfig | None, name: str = PREDICTOR_CONTAINER) -> dict[str, Any]:
    body: dict[str, Any] = config.render_into({"name": name, "image": config.image})
    if resources is not None:
        body["resources"] = resource_requirements(resources)
    body["securityContext"] = container_security_context()  # the restricted profile: the image runs as non-root
    return body


def _shared_predictor_fields(endpoint: EndpointConfig, placement: PoolPlacement, mode: Mode, service_account: str) -> dict[str, Any]:
    """Predictor fields that stay the same across model versions (a stage change never moves them)."""
    autoscaling = endpoint.autoscaling
    # Placement fields come from the pool alone (the platform enables Knative's matching features from them).
    fields: dict[str, Any] = {"serviceAccountName": service_account, **placement.pod_spec_fields()}
    fields["minReplicas"] = autoscaling.min_replicas
    fields["maxReplicas"] = autoscaling.max_replicas
    if autoscaling.scale_metric is not None:
        fields["scaleMetric"] = autoscaling.scale_metric
    if autoscaling.scale_target is not None:
        fields["scaleTarget"] = autoscaling.scale_target
    if endpoint.container_concurrency is not None and mode is Mode.KNATIVE:
        fields["containerConcurrency"] = endpoint.container_concurrency
    if endpoint.timeout_seconds is not None:
        fields["timeout"] = endpoint.timeout_seconds
    if endpoint.logger is not None:
        fields["logger"] = {"mode": endpoint.logger.mode, "url": endpoint.logger.url}
    if endpoint.batcher is not None:
        fields["batcher"] = {"maxBatchSize": endpoint.batcher.max_batch_size, "maxLatency": endpoint.batcher.max_latency_ms}
    if endpoint.deployment_strategy is not None and mode is Mode.STANDARD:
        fields["deploymentStrategy"] = endpoint.deployment_strategy.render()
    # One annotations map: the user's pod annotations and servestack's own (merged, never one replacing the other).
    annotations = dict(endpoint.pod_annotations)
    if endpoint.startup_timeout_minutes is not None and mode is Mode.KNATIVE:
        annotations[PROGRESS_DEADLINE_ANNOTATION] = f"{endpoint.startup_timeout_minutes}m"
    if annotations:
        fields["annotations"] = dict(sorted(annotations.items()))
    return fields


def component_extension(component: Any, mode: Mode) -> dict[str, Any]:
    """A transformer's or explainer's own replicas, scaling, pod labels and annotations and (Standard mode)
    deployment strategy: KServe's ComponentExtensionSpec fields."""
    fields: dict[str, Any] = {}
    autoscaling = component.autoscaling
    if autoscaling is not None:
        fields["minReplicas"] = autoscaling.min_replicas
        fields["maxReplicas"] = autoscaling.max_replicas
        if autoscaling.scale_metric is not None:
            fields["scaleMetric"] = autoscaling.scale_metric
        if autoscaling.scale_target is not None:
            fields["scaleTarget"] = autoscaling.scale_target
    if component.pod_labels:
        fields["labels"] = dict(sorted(component.pod_labels.items()))
    if component.pod_annotations:
        fields["annotations"] = dict(sorted(component.pod_annotations.items()))
    strategy = getattr(component, "deployment_strategy", None)
    if strategy is not None and mode is Mode.STANDARD:
        fields["deploymentStrategy"] = strategy.render()
    return fields


def _collocated_transformer(endpoint: EndpointConfig) -> dict[str, Any] | None:
    """A collocated transformer: KServe's ``transformer-container`` among the predictor's containers."""
    transformer = endpoint.transformer
    if transformer is None or not transformer.collocated:
        return None
    return container(transformer.container, transformer.resources, TRANSFORMER_CONTAINER)


def transformer_reads_s3(endpoint: EndpointConfig) -> bool:
    """Whether the endpoint's transformer loads artifacts from S3 (and so needs the endpoint's IRSA identity)."""
    return endpoint.transformer is not None and (endpoint.transformer.storage_uri or "").startswith("s3://")


def _transformer(endpoint: EndpointConfig, service_account: str) -> dict[str, Any]:
    """The transformer: its container, its artifacts' URI as KServe's ``STORAGE_URI`` (KServe's storage
    initializer then downloads them to /mnt/models), and for ``s3://`` artifacts the endpoint's service
    account, the only identity with AWS credentials (its role reads the model's and these prefixes)."""
    transformer = endpoint.transformer
    body = container(transformer.container, transformer.resources)
    if transformer.storage_uri is not None:
        body["env"] = sorted([*body.get("env", []), {"name": STORAGE_URI_ENV, "value": transformer.storage_uri}], key=lambda e: e["name"])
    fields: dict[str, Any] = {}
    if transformer_reads_s3(endpoint):
        fields["serviceAccountName"] = service_account
    fields["containers"] = [body]
    return fields


def _explainer(endpoint: EndpointConfig) -> dict[str, Any]:
    explainer = endpoint.explainer
    if explainer.type == "art":
        art: dict[str, Any] = {"type": explainer.art_type}
        if explainer.config:
            art["config"] = dict(sorted(explainer.config.items()))
        art["resources"] = resource_requirements(explainer.resources)
        art["securityContext"] = container_security_context()
        return {"art": art}
    return {"containers": [container(explainer.container, explainer.resources)]}
