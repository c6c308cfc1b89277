"""What KServe makes of an InferenceService's predictors: the pod templates it would create (pure).

Transcribed from KServe v0.20.0 (pkg/controller/v1beta1/inferenceservice/components/predictor.go
``buildPredictorResources``/``buildObjectMeta``/``buildCanaryPredictor``, reconcilers/knative/
ksvc_reconciler.go and reconcilers/deployment/deployment_reconciler.go); v0.16.0 builds the
Knative revision template the same way:

- labels: the InferenceService's labels, then the predictor's own ``labels`` (which win), plus
  ``serving.kserve.io/inferenceservice`` and ``component: predictor``. **Knative** mode drops the
  keys of ``serviceLabelDisallowedList`` from the revision template; **Standard** mode copies the
  labels to the Deployment's pod template unfiltered.
- annotations: the InferenceService's annotations minus ``serviceAnnotationDisallowedList``, then
  the predictor's own annotations minus that list.
- the pod: every predictor field that builds it. In Knative mode ``canaryTrafficPercent`` is
  routing (the Knative Service's traffic block), not the revision template; in Standard mode the
  replica and autoscaling fields size the Deployment and its HPA, not the pod template, and the
  predictor ``name`` names the Deployment (``<isvc>-<name>-predictor``).
- Standard-mode canaries (``spec.canary[]``): the stable predictor merged with the canary's
  predictor (the canary's fields win, maps merge), with the autoscaling fields cleared.
- the model's container: KServe merges ``predictor.model`` into the runtime's container
  (``MergeRuntimeContainers``, pkg/controller/v1beta1/inferenceservice/utils/utils.go), which keeps
  the runtime container's name when the model names none; that container must be
  ``kserve-container`` (constants.InferenceServiceContainerName: the predictor reconciler and the
  storage initializer look it up by that name, and every built-in runtime names it so). A model
  without ``name`` and one named ``kserve-container`` therefore build the same container.

The disallow lists are KServe's built-in ones plus those of the ``inferenceService`` key of the
``inferenceservice-config`` ConfigMap KServe reads (a list there is appended to the built-in one).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

ISVC_POD_LABEL = "serving.kserve.io/inferenceservice"
COMPONENT_LABEL = "component"
#: constants.InferenceServiceContainerName: the runtime container a predictor model is merged into.
KSERVE_CONTAINER = "kserve-container"

#: Predictor fields that are not part of the pod template, per deployment mode.
NOT_TEMPLATE = {
    "Knative": frozenset({"canaryTrafficPercent", "labels", "annotations"}),
    "Standard": frozenset({"name", "minReplicas", "maxReplicas", "scaleMetric", "scaleTarget", "autoScaling",
                           "canaryTrafficPercent", "labels", "annotations"}),
}
_CANARY_CLEARED = ("maxReplicas", "scaleTarget", "scaleMetric", "autoScaling", "minReplicas")


@dataclass(frozen=True)
class DisallowLists:
    labels: tuple[str, ...]
    annotations: tuple[str, ...]


def disallow_lists(isvc_config: dict[str, Any], deployed: dict[str, Any] | None = None) -> DisallowLists:
    """KServe's effective lists: the built-in ones plus what the ``inferenceService`` key sets.

    ``isvc_config`` is the derived ``kserve-<version>-inferenceservice-config.json``; ``deployed``
    the parsed ``inferenceService`` JSON of a ConfigMap the plan itself writes (None: the chart's).
    """
    builtin = isvc_config["builtinDisallowed"]
    configured = deployed if deployed is not None else isvc_config["configMap"]["inferenceService"]
    labels = list(builtin["serviceLabelDisallowedList"]) + list(configured.get("serviceLabelDisallowedList") or [])
    annotations = list(builtin["serviceAnnotationDisallowedList"]) + list(configured.get("serviceAnnotationDisallowedList") or [])
    return DisallowLists(tuple(labels), tuple(annotations))


def _merge(base: Any, override: Any) -> Any:
    """mergo.Merge(..., WithOverride) as KServe uses it for canaries: maps merge, the rest is replaced."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = _merge(base[key], value) if key in base else copy.deepcopy(value)
        return merged
    return copy.deepcopy(override)


def _template(isvc: dict[str, Any], predictor: dict[str, Any], mode: str, lists: DisallowLists) -> dict[str, Any]:
    metadata = isvc.get("metadata") or {}
    labels = {**(metadata.get("labels") or {}), **(predictor.get("labels") or {}),
              ISVC_POD_LABEL: metadata.get("name"), COMPONENT_LABEL: "predictor"}
    if mode == "Knative":
        labels = {k: v for k, v in labels.items() if k not in lists.labels}
    annotations = {k: v for k, v in (metadata.get("annotations") or {}).items() if k not in lists.annotations}
    annotations.update({k: v for k, v in (predictor.get("annotations") or {}).items() if k not in lists.annotations})
    pod = {k: v for k, v in predictor.items() if k not in NOT_TEMPLATE[mode]}
    if isinstance(pod.get("model"), dict) and not pod["model"].get("name"):
        pod["model"] = {**pod["model"], "name": KSERVE_CONTAINER}  # MergeRuntimeContainers keeps the runtime's name
    return {"labels": dict(sorted(labels.items())), "annotations": dict(sorted(annotations.items())), "pod": pod}


def deployment_name(isvc_name: str, predictor_name: str | None) -> str:
    """constants.PredictorServiceName."""
    return f"{isvc_name}-{predictor_name}-predictor" if predictor_name else f"{isvc_name}-predictor"


def pod_templates(isvc: dict[str, Any], mode: str, lists: DisallowLists) -> dict[str, dict[str, Any]]:
    """The predictor pod templates KServe would create, by workload name.

    Knative: ``<isvc>-predictor`` (the Knative Service whose template makes the latest revision).
    Standard: one Deployment per predictor, the stable one and each canary.
    """
    name = isvc["metadata"]["name"]
    spec = isvc.get("spec") or {}
    stable = spec.get("predictor") or {}
    if mode == "Knative":
        return {deployment_name(name, None): _template(isvc, stable, mode, lists)}
    templates = {deployment_name(name, stable.get("name")): _template(isvc, stable, mode, lists)}
    for canary in spec.get("canary") or []:
        merged = _merge(stable, canary.get("predictor") or {})
        for key in _CANARY_CLEARED:
            merged.pop(key, None)
        templates[deployment_name(name, (canary.get("predictor") or {}).get("name"))] = _template(isvc, merged, mode, lists)
    return templates


def renamed(obj: Any, old: str, new: str) -> Any:
    """``obj`` with every occurrence of the endpoint name ``old`` replaced (to compare two endpoints
    that hold two states of one rollout)."""
    return json.loads(json.dumps(obj).replace(old, new))


def template_difference(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Dotted paths where two pod templates differ, with the values (empty when identical)."""
    out: list[str] = []

    def walk(a: Any, b: Any, path: str) -> None:
        if isinstance(a, dict) and isinstance(b, dict):
            for key in sorted(set(a) | set(b)):
                walk(a.get(key, "<absent>"), b.get(key, "<absent>"), f"{path}.{key}" if path else key)
        elif a != b:
            out.append(f"{path}: {a!r} -> {b!r}")

    walk(before, after, "")
    return out
