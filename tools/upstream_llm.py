"""Derived data for LLM endpoints (LLMInferenceService): chart value inventories of the charts the
platform installs for them, and KServe's LLMInferenceServiceConfig presets (names and the spec
fields each sets), which endpoints name in ``baseRefs``. Called by tools/vendor_upstream.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from upstream_common import KSERVE_REPO, RUNTIME_DATA, TEST_DATA, Source, load_yaml_documents, provenance, value_inventory

KSERVE = Source(KSERVE_REPO, "v0.20.0", "kserve/v0.20.0")
LWS = Source("https://github.com/kubernetes-sigs/lws", "v0.8.0", "lws/v0.8.0")
EKS_CHARTS = Source("https://github.com/aws/eks-charts", "bfe91c4b9257c80f754ad4b3d6a9a3c239b2b8ec", "eks-charts/bfe91c4")

#: (chart, version servestack pins, source, file under the source folder, path in the repository, note)
LLM_CHARTS = (
    ("kserve-llmisvc-resources", "v0.20.0", KSERVE, "charts/kserve-llmisvc-resources/values.yaml",
     "charts/kserve-llmisvc-resources/values.yaml", None),
    ("lws", "0.8.0", LWS, "values.yaml", "charts/lws/values.yaml",
     "Chart.yaml at the tag says version 0.1.0 (the release publishes the chart as 0.8.0)"),
    ("aws-efa-k8s-device-plugin", "v0.5.30", EKS_CHARTS, "aws-efa-k8s-device-plugin-values.yaml",
     "stable/aws-efa-k8s-device-plugin/values.yaml", "Chart.yaml at the commit: version v0.5.30, appVersion v0.5.20"),
)


def derive_chart(upstream: Path, chart: str, version: str, source: Source, file: str, repo_path: str,
                 note: str | None) -> tuple[Path, dict[str, Any]]:
    (values,) = load_yaml_documents(upstream / source.folder / file) or [{}]
    extra: dict[str, Any] = {"chart": chart, "chartVersion": version}
    if note:
        extra["note"] = note
    return TEST_DATA / "charts" / f"{chart}-{version}.json", {
        "provenance": provenance(source, [repo_path], **extra), "values": value_inventory(values)}


def derive_presets(upstream: Path) -> tuple[Path, dict[str, Any]]:
    folder = upstream / KSERVE.folder / "llmisvcconfig"
    presets: dict[str, Any] = {}
    for path in sorted(folder.glob("*.yaml")):
        for doc in load_yaml_documents(path):
            if doc.get("kind") == "LLMInferenceServiceConfig":
                presets[doc["metadata"]["name"]] = {"file": path.name, "apiVersion": doc["apiVersion"],
                                                    "specFields": sorted(doc.get("spec") or {})}
    return TEST_DATA / "kserve-v0.20.0-llmisvc-presets.json", {
        "provenance": provenance(KSERVE, ["config/llmisvcconfig"], installedBy="kserve-runtime-configs chart with "
                                 "kserve.llmisvcConfigs.enabled, into the kserve namespace"),
        "presets": presets,
    }


def derive_preset_names(upstream: Path) -> tuple[Path, dict[str, Any]]:
    """The preset names for the program (components.core.llm_units.kserve_presets): an endpoint's
    ``presets`` may name them, and no preset of the stack's may take one."""
    _, derived = derive_presets(upstream)
    return RUNTIME_DATA / "kserve-llmisvc-presets-v0.20.0.json", {
        "provenance": derived["provenance"], "presets": sorted(derived["presets"])}


def llm_derivations() -> list[Callable[[Path], tuple[Path, dict[str, Any]]]]:
    found: list[Callable[[Path], tuple[Path, dict[str, Any]]]] = [derive_presets, derive_preset_names]
    for entry in LLM_CHARTS:
        found.append(lambda upstream, e=entry: derive_chart(upstream, *e))
    return found
