"""Derived data for LLM endpoints (LLMInferenceService): chart value inventories of the charts the
platform installs for them, and KServe's LLMInferenceServiceConfig presets (names and the spec
fields each sets), which endpoints name in ``baseRefs``. Called by tools/vendor_upstream.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from upstream_common import (
    KSERVE_REPO, RUNTIME_DATA, TEST_DATA, Source, load_yaml_documents, provenance, value_inventory,
)

KSERVE = Source(KSERVE_REPO, "v0.20.0", "kserve/v0.20.0")
LWS = Source("https://github.com/kubernetes-sigs/lws", "v0.8.0", "lws/v0.8.0")
AI_GATEWAY = Source("https://github.com/envoyproxy/ai-gateway", "v1.0.0", "envoy-ai-gateway/v1.0.0")
_AI_GATEWAY_CHART_NOTE = "Chart.yaml at the tag says version v0.0.0-latest (the release publishes the chart as v1.0.0)"
EKS_CHARTS = Source("https://github.com/aws/eks-charts", "bfe91c4b9257c80f754ad4b3d6a9a3c239b2b8ec", "eks-charts/bfe91c4")

#: (chart, version servestack pins, source, file under the source folder, path in the repository, note)
LLM_CHARTS = (
    ("kserve-llmisvc-resources", "v0.20.0", KSERVE, "charts/kserve-llmisvc-resources/values.yaml",
     "charts/kserve-llmisvc-resources/values.yaml", None),
    ("lws", "0.8.0", LWS, "values.yaml", "charts/lws/values.yaml",
     "Chart.yaml at the tag says version 0.1.0 (the release publishes the chart as 0.8.0)"),
    ("ai-gateway-crds-helm", "v1.0.0", AI_GATEWAY, "charts/ai-gateway-crds-helm/values.yaml",
     "manifests/charts/ai-gateway-crds-helm/values.yaml", _AI_GATEWAY_CHART_NOTE),
    ("ai-gateway-helm", "v1.0.0", AI_GATEWAY, "charts/ai-gateway-helm/values.yaml",
     "manifests/charts/ai-gateway-helm/values.yaml", _AI_GATEWAY_CHART_NOTE),
    ("aws-efa-k8s-device-plugin", "v0.5.30", EKS_CHARTS, "aws-efa-k8s-device-plugin-values.yaml",
     "stable/aws-efa-k8s-device-plugin/values.yaml", "Chart.yaml at the commit: version v0.5.30, appVersion v0.5.20"),
)

#: The Envoy Gateway values files KServe v0.20.0's setup passes to ``helm upgrade -i eg`` (``-f`` in
#: this order; hack/setup/infra/manage.envoy-ai-gateway-helm.sh): (file under the source folder, path
#: in the repository).
AI_GATEWAY_EG_VALUES = (
    ("envoy-gateway-values.yaml", "manifests/envoy-gateway-values.yaml"),
    ("inference-pool/envoy-gateway-values-addon.yaml", "examples/inference-pool/envoy-gateway-values-addon.yaml"),
)


def derive_chart(upstream: Path, chart: str, version: str, source: Source, file: str, repo_path: str,
                 note: str | None) -> tuple[Path, dict[str, Any]]:
    (values,) = load_yaml_documents(upstream / source.folder / file) or [{}]
    extra: dict[str, Any] = {"chart": chart, "chartVersion": version}
    if note:
        extra["note"] = note
    return TEST_DATA / "charts" / f"{chart}-{version}.json", {
        "provenance": provenance(source, [repo_path], **extra), "values": value_inventory(values)}


def helm_merge(base: Any, override: Any) -> Any:
    """What ``helm -f base -f override`` makes of two values files: maps merge key by key, the later
    file wins everywhere else (lists are replaced, not appended)."""
    if isinstance(base, dict) and isinstance(override, dict):
        return {**base, **{k: helm_merge(base[k], v) if k in base else v for k, v in override.items()}}
    return override


def derive_ai_gateway(upstream: Path) -> tuple[Path, dict[str, Any]]:
    """Runtime data: the Envoy Gateway values that route InferencePool backends through Envoy AI
    Gateway (both files merged as Helm merges them), and where the AI Gateway's controller listens
    (the extension server those values name), from the controller chart's own values."""
    merged: dict[str, Any] = {}
    for file, _ in AI_GATEWAY_EG_VALUES:
        (values,) = load_yaml_documents(upstream / AI_GATEWAY.folder / file)
        merged = helm_merge(merged, values)
    (controller_values,) = load_yaml_documents(upstream / AI_GATEWAY.folder / "charts/ai-gateway-helm/values.yaml")
    controller = controller_values["controller"]
    ports = {port["name"]: port["port"] for port in controller["service"]["ports"]}
    return RUNTIME_DATA / "envoy-ai-gateway-v1.0.0.json", {
        "provenance": provenance(AI_GATEWAY, [repo for _, repo in AI_GATEWAY_EG_VALUES]
                                 + ["manifests/charts/ai-gateway-helm/values.yaml"],
                                 usedBy="kserve/kserve v0.20.0 hack/setup/infra/manage.envoy-ai-gateway-helm.sh",
                                 rule="envoyGatewayValues: the values files merged in order as helm -f merges them"),
        "envoyGatewayValues": merged,
        "controller": {"fullnameOverride": controller["fullnameOverride"], "servicePorts": dict(sorted(ports.items()))},
    }


def _route_backends(spec: dict[str, Any]) -> list[dict[str, str]]:
    """The (group, kind) of every backendRef of the HTTPRoute a preset makes KServe create (Gateway
    API defaults: group "" and kind Service when unset)."""
    route = (((spec.get("router") or {}).get("route") or {}).get("http") or {}).get("spec") or {}
    found = {(ref.get("group", ""), ref.get("kind", "Service"))
             for rule in route.get("rules") or [] for ref in rule.get("backendRefs") or []}
    return [{"group": group, "kind": kind} for group, kind in sorted(found)]


def derive_presets(upstream: Path) -> tuple[Path, dict[str, Any]]:
    folder = upstream / KSERVE.folder / "llmisvcconfig"
    presets: dict[str, Any] = {}
    for path in sorted(folder.glob("*.yaml")):
        for doc in load_yaml_documents(path):
            if doc.get("kind") == "LLMInferenceServiceConfig":
                presets[doc["metadata"]["name"]] = {"file": path.name, "apiVersion": doc["apiVersion"],
                                                    "specFields": sorted(doc.get("spec") or {}),
                                                    "routeBackends": _route_backends(doc.get("spec") or {})}
    return TEST_DATA / "kserve-v0.20.0-llmisvc-presets.json", {
        "provenance": provenance(KSERVE, ["config/llmisvcconfig"], installedBy="kserve-runtime-configs chart with "
                                 "kserve.llmisvcConfigs.enabled, into the kserve namespace",
                                 routeBackends="group and kind of the backendRefs of spec.router.route.http.spec.rules "
                                               "(the HTTPRoute KServe creates from the preset)"),
        "presets": presets,
    }


def derive_preset_names(upstream: Path) -> tuple[Path, dict[str, Any]]:
    """The preset names for the program (components.core.llm_units.kserve_presets): an endpoint's
    ``presets`` may name them, and no preset of the stack's may take one."""
    _, derived = derive_presets(upstream)
    return RUNTIME_DATA / "kserve-llmisvc-presets-v0.20.0.json", {
        "provenance": derived["provenance"], "presets": sorted(derived["presets"])}


def llm_derivations() -> list[Callable[[Path], tuple[Path, dict[str, Any]]]]:
    found: list[Callable[[Path], tuple[Path, dict[str, Any]]]] = [derive_presets, derive_ai_gateway, derive_preset_names]
    for entry in LLM_CHARTS:
        found.append(lambda upstream, e=entry: derive_chart(upstream, *e))
    return found
