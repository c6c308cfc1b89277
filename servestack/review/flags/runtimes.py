"""Which serving runtime each InferenceService of a plan resolves to, by KServe's own rules
(:func:`components.core.kserve_runtimes.resolve_runtime`): the built-in runtimes of the plan's KServe
release and the ClusterServingRuntimes the plan declares (``servestack:servingRuntimes``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from components.core import versions
from components.core.kserve_runtimes import (Runtime, SupportedFormat, builtin_runtimes, resolve_runtime,
                                             runtime_versions)

from plandoc.document import PlanDoc
from plandoc.endpoints import endpoints
from plandoc.values import dig, items, mapping, name_of

CLUSTER_SERVING_RUNTIME = "kubernetes:serving.kserve.io/v1alpha1:ClusterServingRuntime"
_KSERVE_CHARTS = ("kserve-resources", "kserve")


def kserve_version(plan: PlanDoc) -> str | None:
    """The KServe release of the plan: its platform output, else its KServe chart, else Kubeflow's bundled one."""
    for resource in plan.resource_list():
        version = dig(mapping(resource.get("outputs")), "platform", "kserveVersion")
        if isinstance(version, str):
            return version
    for resource in plan.resource_list():
        chart = str(mapping(resource.get("inputs")).get("chart") or "")
        if resource["type"].startswith("kubernetes:helm.sh/") and chart.rsplit("/", 1)[-1] in _KSERVE_CHARTS:
            return str(resource["inputs"].get("version") or "") or None
    directories = (str(mapping(r.get("inputs")).get("directory") or "") for r in plan.resource_list())
    if any("applications/kserve/kserve" in directory for directory in directories):
        return versions.KUBEFLOW_KSERVE.version
    return None


def custom_runtime(resource: Mapping[str, Any], kserve: str) -> Runtime:
    """A ClusterServingRuntime of the plan, as KServe's selection sees it."""
    inputs = mapping(resource.get("inputs"))
    spec = mapping(inputs.get("spec"))
    formats = tuple(SupportedFormat(str(f.get("name")), f.get("version"), bool(f.get("autoSelect")), f.get("priority"))
                    for f in items(spec.get("supportedModelFormats")) if isinstance(f, Mapping))
    return Runtime(name=str(dig(inputs, "metadata", "name") or name_of(resource["urn"])), kind="ClusterServingRuntime",
                   kserve_version=kserve, supported_model_formats=formats,
                   protocol_versions=tuple(str(p) for p in items(spec.get("protocolVersions"))),
                   multi_model=bool(spec.get("multiModel")), multi_node=isinstance(spec.get("workerSpec"), Mapping),
                   disabled=bool(spec.get("disabled")), builtin=False)


def plan_runtimes(plan: PlanDoc) -> tuple[Runtime, ...]:
    """The runtimes an InferenceService of the plan is matched against (empty when the KServe release is unknown)."""
    kserve = kserve_version(plan)
    if kserve is None or kserve not in runtime_versions():
        return ()
    custom = [custom_runtime(r, kserve) for r in plan.resource_list() if r["type"] == CLUSTER_SERVING_RUNTIME]
    custom_names = {r.name for r in custom}
    return tuple(r for r in builtin_runtimes(kserve) if r.name not in custom_names) + tuple(custom)


def resolved_runtimes(plan: PlanDoc) -> dict[str, str]:
    """``namespace/name`` -> the runtime each format-model InferenceService resolves to (those that resolve)."""
    runtimes = plan_runtimes(plan)
    if not runtimes:
        return {}
    found = {}
    for endpoint in endpoints(plan.resource_list(), plan.config):
        model = mapping(endpoint.predictor.spec.get("model"))
        fmt = mapping(model.get("modelFormat"))
        if not isinstance(fmt.get("name"), str):
            continue
        resolution = resolve_runtime(runtimes, fmt["name"], format_version=fmt.get("version"),
                                     protocol=model.get("protocolVersion"), runtime_name=model.get("runtime"),
                                     multi_node=isinstance(endpoint.predictor.spec.get("workerSpec"), Mapping))
        if resolution.runtime is not None:
            found[f"{endpoint.namespace}/{endpoint.name}"] = resolution.runtime.name
    return found


def runtime_keys(plan: PlanDoc) -> dict[str, str]:
    """Runtime name -> the resource key of the plan's ClusterServingRuntime of that name."""
    return {custom_runtime(r, "").name: key for key, r in plan.resources.items()
            if r["type"] == CLUSTER_SERVING_RUNTIME}
