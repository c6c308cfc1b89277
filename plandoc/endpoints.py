"""Model endpoints as a plan declares them: KServe InferenceServices, their predictors, and
the accelerators they may hold.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from components.core import catalog
from components.render import inference_service
from components.core.canary_replicas import kserve_canary_replicas, stable_min_during_canary
from components.core.rollout import routed_percent

from .accelerators import catalog_resources
from .document import Resource, of_type
from .pools import accelerator_resources
from .tokens import INFERENCE_SERVICE
from .values import decode_json, dig, items, mapping, name_of, whole_number

DEPLOYMENT_MODE_ANNOTATION = inference_service.DEPLOYMENT_MODE_ANNOTATION
#: KServe's old and new names of its deployment modes (v0.15 renamed them).
MODE_NAMES = {"Knative": "Knative", "Serverless": "Knative", "Standard": "Standard", "RawDeployment": "Standard",
              "ModelMesh": "ModelMesh"}
#: The extended resources that mean an accelerator when the plan's pools are not known (one resource alone).
CATALOG_ACCELERATOR_RESOURCES = frozenset(catalog_resources())


def accelerator_request(containers: Iterable[tuple[str, Mapping[str, Any]]],
                        resources: frozenset[str]) -> tuple[str, int] | None:
    """(resource name, count) of the first accelerator among ``resources`` that ``containers`` ask for."""
    for _, container in containers:
        for section in ("limits", "requests"):
            for resource, amount in mapping(dig(container, "resources", section)).items():
                if resource in resources:
                    return resource, whole_number(amount)
    return None


@dataclass(frozen=True)
class Predictor:
    """One predictor of an InferenceService: the main one, or a Standard-mode canary entry."""

    where: str
    """Where it sits in the spec: ``spec.predictor`` or ``spec.canary[0].predictor``."""
    spec: Mapping[str, Any]
    accelerator_resources: frozenset[str] = CATALOG_ACCELERATOR_RESOURCES
    """The extended resources that mean an accelerator in this plan."""

    @property
    def min_replicas(self) -> int | None:
        value = self.spec.get("minReplicas")
        return value if isinstance(value, int) else None

    @property
    def max_replicas(self) -> int | None:
        value = self.spec.get("maxReplicas")
        return value if isinstance(value, int) else None

    def containers(self) -> list[tuple[str, Mapping[str, Any]]]:
        """(path, container) for the model and every custom container."""
        found = []
        if isinstance(self.spec.get("model"), Mapping):
            found.append((f"{self.where}.model", self.spec["model"]))
        for i, c in enumerate(items(self.spec.get("containers"))):
            if isinstance(c, Mapping):
                found.append((f"{self.where}.containers[{i}]", c))
        return found

    def accelerator_request(self) -> tuple[str, int] | None:
        """(resource name, count per replica) of the accelerator the predictor asks for."""
        return accelerator_request(self.containers(), self.accelerator_resources)

    def storage_uris(self) -> list[tuple[str, str]]:
        found = []
        for path, container in self.containers():
            uri = container.get("storageUri")
            if isinstance(uri, str):
                found.append((f"{path}.storageUri", uri))
        if isinstance(self.spec.get("storageUri"), str):
            found.append((f"{self.where}.storageUri", self.spec["storageUri"]))
        return found


@dataclass(frozen=True)
class Endpoint:
    urn: str
    name: str
    namespace: str
    mode: str
    """``Knative``, ``Standard`` or ``ModelMesh``."""
    spec: Mapping[str, Any]
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    accelerator_resources: frozenset[str] = CATALOG_ACCELERATOR_RESOURCES
    """The extended resources that mean an accelerator in this plan."""

    @property
    def predictor(self) -> Predictor:
        return Predictor("spec.predictor", mapping(self.spec.get("predictor")), self.accelerator_resources)

    @property
    def canaries(self) -> list[tuple[Predictor, Any]]:
        """Standard-mode ``spec.canary[]`` entries: (predictor, trafficPercent)."""
        found = []
        for i, entry in enumerate(items(self.spec.get("canary"))):
            if isinstance(entry, Mapping):
                predictor = Predictor(f"spec.canary[{i}].predictor", mapping(entry.get("predictor")), self.accelerator_resources)
                found.append((predictor, entry.get("trafficPercent")))
        return found

    def predictors(self) -> list[Predictor]:
        return [self.predictor, *(p for p, _ in self.canaries)]

    @property
    def pool(self) -> str | None:
        value = mapping(self.predictor.spec.get("nodeSelector")).get(catalog.POOL_LABEL)
        return None if value is None else str(value)  # Kubernetes label values are strings

    @property
    def canary_traffic_percent(self) -> Any:
        return self.predictor.spec.get("canaryTrafficPercent")

    @property
    def routed_candidate_percent(self) -> int:
        """Percent of requests the platform really sends to candidates (Standard mode: none, KServe v0.20.0)."""
        if self.mode == "Knative":
            traffic = self.canary_traffic_percent
            return traffic if isinstance(traffic, int) and not isinstance(traffic, bool) else 0
        if self.mode != "Standard":
            return 0
        return sum(routed_percent(self.mode, t) for _, t in self.canaries if isinstance(t, int))

    @property
    def stable_min_during_canary(self) -> int | None:
        """Standard mode with ``spec.canary[]``: the stable minimum KServe really keeps (None otherwise)."""
        if self.mode != "Standard" or not self.canaries:
            return None
        stable = self.predictor.min_replicas
        canaries = sum(kserve_canary_replicas(stable, p.min_replicas, t if isinstance(t, int) else 0) for p, t in self.canaries)
        return stable_min_during_canary(1 if stable is None else stable, canaries)

    def label(self, keys: Iterable[str]) -> str | None:
        for key in keys:
            for source in (self.labels, self.annotations):
                if source.get(key):
                    return str(source[key])
        return None

    def components(self) -> list[tuple[str, Mapping[str, Any]]]:
        """(path, spec) of the predictors, transformer and explainer."""
        found: list[tuple[str, Mapping[str, Any]]] = [(p.where, p.spec) for p in self.predictors()]
        for part in ("transformer", "explainer"):
            if isinstance(self.spec.get(part), Mapping):
                found.append((f"spec.{part}", self.spec[part]))
        return found

    def all_containers(self) -> list[tuple[str, Mapping[str, Any]]]:
        found = []
        for predictor in self.predictors():
            found += predictor.containers()
        for part in ("transformer", "explainer"):
            spec = self.spec.get(part)
            if isinstance(spec, Mapping):
                found += Predictor(f"spec.{part}", spec, self.accelerator_resources).containers()
                if isinstance(spec.get("art"), Mapping):
                    found.append((f"spec.{part}.art", spec["art"]))
        return found


def endpoint_of(resource: Resource, default_mode: str = "Knative",
                accelerators: frozenset[str] = CATALOG_ACCELERATOR_RESOURCES) -> Endpoint:
    """The endpoint of one InferenceService; ``accelerators``: the extended resources that mean an
    accelerator in its plan (:func:`endpoints` passes those of the plan's pools too)."""
    inputs = resource.get("inputs") or {}
    metadata = mapping(inputs.get("metadata"))
    annotations = {k: str(v) for k, v in mapping(metadata.get("annotations")).items()}
    labels = {k: str(v) for k, v in mapping(metadata.get("labels")).items()}
    mode = MODE_NAMES.get(annotations.get(DEPLOYMENT_MODE_ANNOTATION, ""), MODE_NAMES.get(default_mode, "Knative"))
    return Endpoint(
        urn=resource["urn"],
        name=str(metadata.get("name") or name_of(resource["urn"])),
        namespace=str(metadata.get("namespace") or "default"),
        mode=mode,
        spec=mapping(inputs.get("spec")),
        labels=labels,
        annotations=annotations,
        accelerator_resources=accelerators,
    )


def default_mode(stack_config: Mapping[str, Any]) -> str:
    """The platform's default deployment mode from ``servestack:platform`` (KServe's own is Knative)."""
    platform = decode_json(stack_config.get("servestack:platform")) or {}
    return str(dig(platform, "kserve", "deploymentMode") or "Knative")


def endpoints(resources: Iterable[Resource], stack_config: Mapping[str, Any] | None = None) -> list[Endpoint]:
    resources = list(resources)
    mode, accelerators = default_mode(stack_config or {}), accelerator_resources(resources)
    return sorted((endpoint_of(r, mode, accelerators) for r in of_type(resources, INFERENCE_SERVICE)),
                  key=lambda e: (e.namespace, e.name))


# --------------------------------------------------------------------------- accelerator demand


def accelerator_demand(endpoint: Endpoint, count_canary: bool = True) -> int:
    """Accelerators an endpoint may hold at max replicas (both revisions while a canary runs)."""
    total = 0
    request = endpoint.predictor.accelerator_request()
    per_replica = request[1] if request else 0
    main_max = endpoint.predictor.max_replicas or max(endpoint.predictor.min_replicas or 1, 1)
    total += per_replica * main_max
    if not count_canary:
        return total
    traffic = endpoint.canary_traffic_percent
    if endpoint.mode == "Knative" and isinstance(traffic, int) and 0 < traffic < 100:
        total += per_replica * main_max  # the previous revision keeps serving the rest
    for canary, _ in endpoint.canaries:
        canary_request = canary.accelerator_request() or request
        replicas = canary.max_replicas or canary.min_replicas or main_max
        total += (canary_request[1] if canary_request else 0) * replicas
    return total


def accelerator_demand_by_pool(resources: Iterable[Resource], stack_config: Mapping[str, Any] | None = None,
                               count_canary: bool = True) -> dict[str, list[tuple[Endpoint, int]]]:
    """Pool name -> (endpoint, accelerators it may hold) for every endpoint that requests one on a pool."""
    found: dict[str, list[tuple[Endpoint, int]]] = defaultdict(list)
    for endpoint in endpoints(resources, stack_config):
        if endpoint.predictor.accelerator_request() and endpoint.pool:
            found[endpoint.pool].append((endpoint, accelerator_demand(endpoint, count_canary)))
    return found
