"""Every pod a plan declares, whatever object carries it: one reader of pod specs and their containers.

Kubernetes objects carry pods in many places: a Pod's ``spec``; the ``spec.template.spec`` of a
Deployment, DaemonSet, StatefulSet, ReplicaSet or Job; a CronJob's ``spec.jobTemplate.spec.template.spec``;
a LeaderWorkerSet's leader and worker templates; an LLMInferenceService's ``spec.template``,
``spec.worker``, ``spec.prefill.*`` and its router's scheduler template; a (Cluster)ServingRuntime's
``spec`` and ``spec.workerSpec``. All of these are a mapping holding a list of ``containers`` (or
``initContainers``), which is how :func:`pod_specs` finds them in any Kubernetes object, kinds it has
never heard of included (and the objects a ``yaml/v2:ConfigGroup`` lists in ``objs``). An InferenceService is the one exception: its predictor, transformer and
explainer are pod specs whose containers may also be named fields (``model``, ``sklearn``, ``art``...),
so they are read component by component.

Helm values show only what the stack sets of a chart's pods: :func:`pod_specs` gives them as one
fragment (``complete`` False), in which only what is written can be judged, not what is left out.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .endpoints import endpoint_of
from .document import Resource
from .tokens import HELM_CHART, HELM_RELEASE, INFERENCE_SERVICE
from .values import items, mapping

#: The lists of containers a pod spec has.
CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")
#: Fields that make a mapping of an InferenceService component a container (``model``, ``sklearn``, ``art``...).
CONTAINER_FIELDS = frozenset({"image", "storageUri", "modelFormat", "runtime", "args", "command", "env", "securityContext",
                              "resources", "ports", "volumeMounts", "type"})
#: Pod-level mappings of a component that are not containers even if they share a field name.
POD_MAPPINGS = frozenset({"securityContext", "resources", "logger", "batcher", "affinity", "nodeSelector", "dnsConfig",
                          "labels", "annotations", "overhead", "os", "storage"})


@dataclass(frozen=True)
class PodSpec:
    """One pod template of a resource."""

    urn: str
    type: str
    """The resource's type token."""
    where: str
    """Path of the pod spec in the resource's inputs (``spec.template.spec``, ``spec.predictor``, ``values``)."""
    spec: Mapping[str, Any]
    containers: tuple[tuple[str, Mapping[str, Any]], ...] = ()
    """(path, container) of every container, init and ephemeral ones included."""
    complete: bool = True
    """False for Helm values: a fragment of the pods a chart renders."""
    annotations: Mapping[str, str] = field(default_factory=dict)
    """The object's ``metadata.annotations`` (where exceptions are documented)."""


def _containers(where: str, spec: Mapping[str, Any], named: bool) -> tuple[tuple[str, Mapping[str, Any]], ...]:
    found = []
    for key in CONTAINER_LISTS:
        for i, container in enumerate(items(spec.get(key))):
            if isinstance(container, Mapping):
                found.append((f"{where}.{key}[{i}]", container))
    if named:  # InferenceService components: model, sklearn, pytorch, art... are containers by name
        for key, value in spec.items():
            if key not in POD_MAPPINGS and isinstance(value, Mapping) and CONTAINER_FIELDS & set(value):
                found.append((f"{where}.{key}", value))
    return tuple(found)


def _is_pod(value: Mapping[str, Any]) -> bool:
    return any(isinstance(value.get(key), list) for key in CONTAINER_LISTS)


def _walk(value: Any, path: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(path, pod spec) of every mapping under ``value`` that holds a list of containers."""
    if isinstance(value, Mapping):
        if _is_pod(value):
            yield path, value
            return
        for key, item in value.items():
            yield from _walk(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _walk(item, f"{path}[{i}]")


def annotations_of(resource: Resource) -> dict[str, str]:
    metadata = mapping(mapping(resource.get("inputs")).get("metadata"))
    return {str(k): str(v) for k, v in mapping(metadata.get("annotations")).items()}


def pod_specs(resource: Resource) -> list[PodSpec]:
    """Every pod template ``resource`` declares (none for objects that run no pods)."""
    inputs = mapping(resource.get("inputs"))
    kind, urn = resource["type"], resource["urn"]
    annotations = annotations_of(resource)
    if kind in (HELM_RELEASE, HELM_CHART):
        values = mapping(inputs.get("values"))
        return [PodSpec(urn, kind, "values", values, complete=False, annotations=annotations)] if values else []
    if not kind.startswith("kubernetes:"):
        return []
    if kind == INFERENCE_SERVICE:
        endpoint = endpoint_of(resource)
        return [PodSpec(urn, kind, where, spec, _containers(where, spec, named=True), annotations=annotations)
                for where, spec in endpoint.components()]
    return [PodSpec(urn, kind, where, spec, _containers(where, spec, named=False), annotations=annotations)
            for where, spec in _walk({k: v for k, v in inputs.items() if k != "metadata"}, "")]
