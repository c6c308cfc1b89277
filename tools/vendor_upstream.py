"""Derive servestack's conformance data from the upstream projects' own files.

The one script that reads the upstream reference files (default: ``../shared/upstream`` beside the repository;
``--upstream DIR`` overrides it) and writes compact, deterministic copies into the project, each with its
provenance (upstream repository, tag or commit, paths inside upstream, license, ``generatedBy``):

- ``components/data/upstream/``: data the program needs at run time (package data): KServe's
  built-in (Cluster)ServingRuntimes per KServe version servestack installs;
- ``tests/conformance/data/``: data only the conformance tests read.

Nothing else in the project reads ``../shared``; a fresh clone tests with the derived copies.
Run it again whenever a pin in ``components/core/versions.py`` moves:

    .venv/bin/python tools/vendor_upstream.py            # (re)write every derived file
    .venv/bin/python tools/vendor_upstream.py --check    # exit 1 if a committed file differs

Every output is JSON with sorted keys and a trailing newline, so a re-run reproduces the committed files
byte for byte. Shared helpers and shape reductions: ``tools/upstream_common.py``.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import yaml

from upstream_common import (  # noqa: F401  (re-exported: the tests read them from here)
    DEFAULT_UPSTREAM, GENERATED_BY, KSERVE_REPO, LICENSE, REPO, RUNTIME_DATA, TEST_DATA, Source, _crd_entry,
    dump, load_yaml_documents, provenance, share_subtrees, strip_descriptions, value_inventory,
)
from upstream_llm import llm_derivations
from vendor_karpenter_iam import derive_karpenter_controller_policy, derive_karpenter_defaults
from vendor_metrics import derive_metric_sources

# --- KServe built-in runtimes (runtime data) ----------------------------------------------------

#: Runtime files present in upstream's ``config/runtimes/`` that the KServe release does NOT
#: install, with the reason (checked in kserve/kserve at the tag: ``config/runtimes/
#: kustomization.yaml`` and the ``kserve-runtime-configs`` chart's ``files/runtimes/resources.yaml``).
NOT_INSTALLED: dict[str, dict[str, str]] = {
    "v0.20.0": {
        "kserve-openvino.yaml": "not listed in config/runtimes/kustomization.yaml nor rendered by the "
                                "kserve-runtime-configs chart at v0.20.0",
    },
    "v0.16.0": {},
}

#: The KServe versions servestack installs: the standalone charts (components/core/versions.py
#: KSERVE_*) and the KServe bundled by Kubeflow (KUBEFLOW_KSERVE).
KSERVE_RUNTIME_VERSIONS = ("v0.16.0", "v0.20.0")


def _runtime_entry(doc: dict[str, Any]) -> dict[str, Any]:
    spec = doc.get("spec", {})
    formats = []
    for fmt in spec.get("supportedModelFormats", []):
        formats.append({
            "name": fmt["name"],
            "version": None if fmt.get("version") is None else str(fmt["version"]),
            "autoSelect": bool(fmt.get("autoSelect", False)),
            "priority": fmt.get("priority"),
        })
    annotations = (doc.get("metadata") or {}).get("annotations") or {}
    return {
        "name": doc["metadata"]["name"],
        "kind": doc["kind"],
        "supportedModelFormats": formats,
        # KServe sets no default for a runtime's protocolVersions: an empty list means the runtime
        # accepts every protocol (ServingRuntimeSpec.IsProtocolVersionSupported); kept as declared.
        "protocolVersions": [str(p) for p in spec.get("protocolVersions") or []],
        "multiModel": bool(spec.get("multiModel", False)),
        "multiNode": spec.get("workerSpec") is not None,
        "disabled": bool(spec.get("disabled", False)),
        "serverType": annotations.get("serving.kserve.io/server-type"),
    }


def derive_kserve_runtimes(upstream: Path, version: str) -> tuple[Path, dict[str, Any]]:
    folder = f"kserve/{version}"
    runtime_dir = upstream / folder / "runtimes"
    paths, runtimes = [], []
    skipped = NOT_INSTALLED.get(version, {})
    for path in sorted(runtime_dir.glob("*.yaml")):
        if path.name in skipped:
            continue
        paths.append(f"config/runtimes/{path.name}")
        for doc in load_yaml_documents(path):
            if doc.get("kind") in ("ClusterServingRuntime", "ServingRuntime"):
                runtimes.append(_runtime_entry(doc))
    if not runtimes:
        raise SystemExit(f"no runtimes found under {runtime_dir}")
    runtimes.sort(key=lambda r: r["name"])
    data = {
        "provenance": provenance(Source(KSERVE_REPO, version, folder), paths,
                                 notInstalled={f"config/runtimes/{k}": v for k, v in sorted(skipped.items())}),
        "kserveVersion": version,
        "runtimes": runtimes,
    }
    return RUNTIME_DATA / f"kserve-runtimes-{version}.json", data


@dataclass(frozen=True)
class CrdSet:
    """One derived file of CRDs: ``crds/<name>.json``."""

    name: str
    source: Source
    files: tuple[str, ...]
    """Files under ``shared/upstream/<folder>``."""
    repo_dir: str
    """Where those files are inside the upstream repository."""
    kinds: tuple[str, ...] | None = None
    """Keep only these CRD kinds (None: all)."""
    note: str | None = None


EG_REPO = "https://github.com/envoyproxy/gateway"
CRD_SETS: tuple[CrdSet, ...] = (
    CrdSet("kserve-v0.20.0", Source(KSERVE_REPO, "v0.20.0", "kserve/v0.20.0"), (
        "crds/serving.kserve.io_inferenceservices.yaml", "crds/serving.kserve.io_servingruntimes.yaml",
        "crds/serving.kserve.io_clusterservingruntimes.yaml", "crds/serving.kserve.io_llminferenceservices.yaml",
        "crds/serving.kserve.io_llminferenceserviceconfigs.yaml"), "config/crd/full"),
    CrdSet("kserve-v0.16.0", Source(KSERVE_REPO, "v0.16.0", "kserve/v0.16.0"),
           ("crds/serving.kserve.io_inferenceservices.yaml",), "config/crd/full",
           note="the KServe that Kubeflow manifests 26.03 bundle"),
    CrdSet("gateway-api-envoy-gateway-v1.7.2", Source(EG_REPO, "v1.7.2", "envoy-gateway/v1.7.2"),
           ("crds/gatewayapi-crds.yaml",), "charts/gateway-helm/crds",
           note="the Gateway API CRDs (experimental channel bundle) the gateway-helm chart installs"),
    CrdSet("gateway-api-envoy-gateway-v1.8.1", Source(EG_REPO, "v1.8.1", "envoy-gateway/v1.8.1"),
           ("crds/gatewayapi-crds.yaml",), "charts/gateway-helm/crds",
           note="the Gateway API CRDs (experimental channel bundle) the gateway-helm chart installs"),
    CrdSet("karpenter-v1.14.1", Source("https://github.com/aws/karpenter-provider-aws", "v1.14.1", "karpenter/v1.14.1"),
           ("crds/karpenter.sh_nodepools.yaml", "crds/karpenter.k8s.aws_ec2nodeclasses.yaml"), "pkg/apis/crds"),
    CrdSet("gateway-api-inference-extension-v1.5.0",
           Source("https://github.com/kubernetes-sigs/gateway-api-inference-extension", "v1.5.0",
                  "gateway-api-inference-extension/v1.5.0"),
           ("crds/inference.networking.k8s.io_inferencepools.yaml",), "config/crd/bases"),
    CrdSet("lws-v0.8.0", Source("https://github.com/kubernetes-sigs/lws", "v0.8.0", "lws/v0.8.0"),
           ("crds/leaderworkerset.x-k8s.io_leaderworkersets.yaml",), "config/crd/bases"),
)


def derive_crds(upstream: Path, crd_set: CrdSet) -> tuple[Path, dict[str, Any]]:
    crds: dict[str, Any] = {}
    bundle_versions = set()
    for file in crd_set.files:
        for doc in load_yaml_documents(upstream / crd_set.source.folder / file):
            if doc.get("kind") != "CustomResourceDefinition":
                continue
            if crd_set.kinds is not None and doc["spec"]["names"]["kind"] not in crd_set.kinds:
                continue
            entry = _crd_entry(doc)
            bundle = entry["metadata"]["annotations"].get("gateway.networking.k8s.io/bundle-version")
            if bundle:
                bundle_versions.add(bundle)
            crds[doc["spec"]["names"]["kind"]] = entry
    if not crds:
        raise SystemExit(f"no CRDs in {crd_set.files} under {upstream / crd_set.source.folder}")
    shared, defs = share_subtrees(crds)
    extra: dict[str, Any] = {"layout": "compact; subtrees that repeat are stored once under $defs and referenced "
                                       "with {\"$ref\": \"#/$defs/<digest>\"}; descriptions stripped"}
    if crd_set.note:
        extra["note"] = crd_set.note
    if bundle_versions:
        extra["gatewayApiBundleVersion"] = ", ".join(sorted(bundle_versions))
    paths = [f"{crd_set.repo_dir}/{Path(f).name}" for f in crd_set.files]
    data = {"provenance": provenance(crd_set.source, paths, **extra), "crds": shared, "$defs": defs}
    return TEST_DATA / "crds" / f"{crd_set.name}.json", data


#: Istio's charts nest their defaults under this key and merge it into .Values (values.yaml says
#: to set the fields directly); the inventory lifts it to the top level.
ISTIO_DEFAULTS_KEY = "_internal_defaults_do_not_set"


@dataclass(frozen=True)
class ChartValues:
    chart: str
    version: str
    """The chart version servestack pins (components/core/versions.py) that this inventory is for."""
    source: Source
    file: str
    repo_path: str
    note: str | None = None
    aliases: tuple[tuple[str, str], ...] = ()
    """(key, where it points): a top-level key the chart's templates merge into another place
    (``pilot`` -> the top level in istiod); transcribed from the chart's templates."""


CHART_VALUES: tuple[ChartValues, ...] = (
    ChartValues("cert-manager", "v1.20.2", Source("https://github.com/cert-manager/cert-manager", "v1.20.2", "cert-manager/v1.20.2"),
                "values.yaml", "deploy/charts/cert-manager/values.yaml"),
    ChartValues("kserve-resources", "v0.20.0", Source(KSERVE_REPO, "v0.20.0", "kserve/v0.20.0"),
                "charts/kserve-resources/values.yaml", "charts/kserve-resources/values.yaml"),
    ChartValues("kserve-runtime-configs", "v0.20.0", Source(KSERVE_REPO, "v0.20.0", "kserve/v0.20.0"),
                "charts/kserve-runtime-configs/values.yaml", "charts/kserve-runtime-configs/values.yaml"),
    ChartValues("nvidia-device-plugin", "0.20.0", Source("https://github.com/NVIDIA/k8s-device-plugin", "v0.20.0",
                                                         "nvidia-device-plugin/v0.20.0"),
                "values.yaml", "deployments/helm/nvidia-device-plugin/values.yaml"),
    ChartValues("neuron-helm-chart", "1.7.0",
                Source("https://github.com/aws-neuron/neuron-helm-charts", "main@8172e5e144bd49fec836619d2a41ab8cc10e83a8",
                       "neuron-helm-chart/8172e5e144bd49fec836619d2a41ab8cc10e83a8",
                       commit="8172e5e144bd49fec836619d2a41ab8cc10e83a8"),
                "values.yaml", "values.yaml",
                note="the published chart 1.7.0 could not be checked against a tag; these are the values of main at "
                     "the commit (whose Chart.yaml says version 1.0.0)"),
    *(ChartValues(chart, "1.27.1", Source("https://github.com/istio/istio", "1.27.1", "istio/1.27.1"),
                  f"{folder}/values.yaml", f"manifests/charts/{path}/values.yaml",
                  note=("templates/zzy_descope_legacy.yaml merges everything under .pilot into the top level "
                        "(\"to avoid the need to specify a redundant prefix\"), checked at the tag") if chart == "istiod" else None,
                  aliases=(("pilot", ""),) if chart == "istiod" else ())
      for chart, folder, path in (("base", "base", "base"), ("istiod", "istio-discovery", "istio-control/istio-discovery"),
                                  ("cni", "istio-cni", "istio-cni"), ("gateway", "gateway", "gateway"))),
    ChartValues("gateway-helm", "v1.7.2", Source(EG_REPO, "v1.7.2", "envoy-gateway/v1.7.2"),
                "values.tmpl.yaml", "charts/gateway-helm/values.tmpl.yaml",
                note="the chart's values template; ${...} placeholders are filled with image names at release"),
    ChartValues("gateway-helm", "v1.8.1", Source(EG_REPO, "v1.8.1", "envoy-gateway/v1.8.1"),
                "values.tmpl.yaml", "charts/gateway-helm/values.tmpl.yaml",
                note="the chart's values template; ${...} placeholders are filled with image names at release"),
    ChartValues("karpenter", "1.14.1", Source("https://github.com/aws/karpenter-provider-aws", "v1.14.1", "karpenter/v1.14.1"),
                "charts/karpenter/values.yaml", "charts/karpenter/values.yaml",
                note="Chart.yaml at the tag says version 1.13.0"),
)


def derive_chart_values(upstream: Path, chart: ChartValues) -> tuple[Path, dict[str, Any]]:
    (values,) = load_yaml_documents(upstream / chart.source.folder / chart.file) or [{}]
    lifted = False
    if isinstance(values.get(ISTIO_DEFAULTS_KEY), dict):
        values = {**{k: v for k, v in values.items() if k != ISTIO_DEFAULTS_KEY}, **values[ISTIO_DEFAULTS_KEY]}
        lifted = True
    extra: dict[str, Any] = {"chart": chart.chart, "chartVersion": chart.version}
    if lifted:
        extra["istioDefaults"] = f"keys under {ISTIO_DEFAULTS_KEY} are lifted to the top level (the chart merges them into .Values)"
    if chart.note:
        extra["note"] = chart.note
    data: dict[str, Any] = {"provenance": provenance(chart.source, [chart.repo_path], **extra), "values": value_inventory(values)}
    if chart.aliases:
        data["aliases"] = dict(chart.aliases)
    return TEST_DATA / "charts" / f"{chart.chart}-{chart.version}.json", data


# --- Kubeflow kustomize targets, Knative feature defaults, KServe propagation config (test data) --

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


def derive_kubeflow_targets(upstream: Path, ref: str = "26.03", commit: str = "d68ebc7") -> tuple[Path, dict[str, Any]]:
    lines = (upstream / "kubeflow-manifests" / ref / "paths.txt").read_text(encoding="utf-8").splitlines()
    targets = sorted({line.rsplit("/", 1)[0] for line in lines
                      if "/" in line and line.rsplit("/", 1)[1] in KUSTOMIZATION_FILES})
    data = {
        "provenance": provenance(Source("https://github.com/kubeflow/manifests", ref, f"kubeflow-manifests/{ref}", commit=commit),
                                 ["paths.txt (git ls-tree -r --name-only of the tag)"],
                                 rule="a kustomize target is a directory holding " + ", ".join(KUSTOMIZATION_FILES)),
        "kustomizeTargets": targets,
    }
    return TEST_DATA / f"kubeflow-manifests-{ref}-kustomize-targets.json", data


def derive_knative_features(upstream: Path, ref: str = "knative-v1.21.2") -> tuple[Path, dict[str, Any]]:
    (doc,) = load_yaml_documents(upstream / "knative-serving" / ref / "configmaps" / "features.yaml")
    example = yaml.safe_load(doc["data"]["_example"]) or {}
    explicit = {k: v for k, v in doc["data"].items() if k != "_example"}
    data = {
        "provenance": provenance(Source("https://github.com/knative/serving", ref, f"knative-serving/{ref}"),
                                 ["config/core/configmaps/features.yaml"],
                                 rule="Knative documents each flag's default in the _example block; a key set outside it "
                                      "overrides the default"),
        "configMap": {"name": doc["metadata"]["name"], "namespace": doc["metadata"]["namespace"]},
        "defaults": {k: str(v) for k, v in sorted({**example, **explicit}.items())},
    }
    return TEST_DATA / f"knative-serving-{ref}-features.json", data


#: KServe's built-in disallow lists (pkg/constants/constants.go: ServiceAnnotationDisallowedList and
#: RevisionTemplateLabelDisallowedList), transcribed at each tag: Go source is not in shared/upstream.
#: The annotation list is cross-checked below against the "Default values are" comment of the
#: ConfigMap's _example, which is.
KSERVE_BUILTIN_DISALLOWED = {
    "v0.20.0": {
        "serviceAnnotationDisallowedList": [
            "autoscaling.knative.dev/min-scale", "autoscaling.knative.dev/max-scale",
            "internal.serving.kserve.io/storage-initializer-sourceuri",
            "kubectl.kubernetes.io/last-applied-configuration", "modelFormat"],
        "serviceLabelDisallowedList": ["networking.knative.dev/visibility"],
    },
    "v0.16.0": {
        "serviceAnnotationDisallowedList": [
            "autoscaling.knative.dev/min-scale", "autoscaling.knative.dev/max-scale",
            "internal.serving.kserve.io/storage-initializer-sourceuri",
            "kubectl.kubernetes.io/last-applied-configuration"],
        "serviceLabelDisallowedList": ["networking.knative.dev/visibility"],
    },
}


def _json_with_comments(text: str) -> Any:
    return json.loads("\n".join(line for line in text.splitlines() if not line.strip().startswith("#")))


def derive_kserve_isvc_config(upstream: Path, version: str) -> tuple[Path, dict[str, Any]]:
    (doc,) = [d for d in load_yaml_documents(upstream / "kserve" / version / "configmap" / "inferenceservice.yaml")
              if d.get("kind") == "ConfigMap"]
    builtin = KSERVE_BUILTIN_DISALLOWED[version]
    # Cross-check the transcription against the ConfigMap's own comment.
    example = doc["data"]["_example"]
    comment_block = example.split("Default values are:", 1)[1].split("Any new value", 1)[0]
    documented = [line.split('"')[1] for line in comment_block.splitlines() if '"' in line]
    if documented != builtin["serviceAnnotationDisallowedList"]:
        raise SystemExit(f"KServe {version}: the built-in annotation disallow list {builtin['serviceAnnotationDisallowedList']} "
                         f"differs from the ConfigMap's comment {documented}; re-read pkg/constants/constants.go")
    data = {
        "provenance": provenance(Source(KSERVE_REPO, version, f"kserve/{version}"),
                                 ["config/configmap/inferenceservice.yaml", "pkg/constants/constants.go"],
                                 rule="KServe appends a ConfigMap list to its built-in list, and uses the built-in list "
                                      "when the ConfigMap sets none (pkg/apis/serving/v1beta1/configmap.go). Knative "
                                      "mode filters the revision template's labels by serviceLabelDisallowedList; "
                                      "Standard mode copies the InferenceService's labels to the Deployment's pod "
                                      "template unfiltered; both filter annotations by serviceAnnotationDisallowedList",
                                 transcribed="builtinDisallowed from pkg/constants/constants.go (annotation list "
                                             "cross-checked against the ConfigMap's _example comment)"),
        "builtinDisallowed": builtin,
        "configMap": {"name": doc["metadata"]["name"], "namespace": doc["metadata"]["namespace"],
                      "inferenceService": _json_with_comments(doc["data"]["inferenceService"])},
    }
    return TEST_DATA / f"kserve-{version}-inferenceservice-config.json", data


# --- the derivations ----------------------------------------------------------------------------

Derivation = Callable[[Path], tuple[Path, dict[str, Any]]]


def derivations() -> list[Derivation]:
    found: list[Derivation] = [derive_metric_sources]
    for version in KSERVE_RUNTIME_VERSIONS:
        found.append(lambda upstream, v=version: derive_kserve_runtimes(upstream, v))
        found.append(lambda upstream, v=version: derive_kserve_isvc_config(upstream, v))
    for crd_set in CRD_SETS:
        found.append(lambda upstream, c=crd_set: derive_crds(upstream, c))
    for chart in CHART_VALUES:
        found.append(lambda upstream, c=chart: derive_chart_values(upstream, c))
    return [*found, derive_kubeflow_targets, derive_knative_features, derive_karpenter_controller_policy, derive_karpenter_defaults, *llm_derivations()]


def dump_for(relpath: Path, data: Any) -> str:
    """The serialization of one derived file: CRDs compact (one value a line), the rest indented."""
    if relpath.parts[:4] == (*TEST_DATA.parts, "crds"):
        return json.dumps(data, indent=0, sort_keys=True, ensure_ascii=True) + "\n"
    return dump(data)


def render_all(upstream: Path) -> dict[Path, str]:
    """Every derived file (path relative to the repository) and its exact text."""
    out: dict[Path, str] = {}
    for derive in derivations():
        relpath, data = derive(upstream)
        if relpath in out:
            raise SystemExit(f"two derivations write {relpath}")
        out[relpath] = dump_for(relpath, data)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--upstream", type=Path, default=DEFAULT_UPSTREAM,
                        help=f"the upstream reference folder (default: {DEFAULT_UPSTREAM})")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 when a committed derived file differs from what would be written")
    args = parser.parse_args(argv)
    if not args.upstream.is_dir():
        print(f"vendor_upstream: upstream folder {args.upstream} does not exist (use --upstream DIR)", file=sys.stderr)
        return 2
    rendered = render_all(args.upstream)
    stale = []
    for relpath, text in sorted(rendered.items()):
        target = REPO / relpath
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if current == text:
            continue
        stale.append(relpath)
        if not args.check:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
    if args.check:
        for relpath in stale:
            print(f"vendor_upstream: {relpath} differs from what {args.upstream} derives", file=sys.stderr)
        print(f"{len(rendered) - len(stale)}/{len(rendered)} derived files up to date")
        return 1 if stale else 0
    print(f"wrote {len(stale)} of {len(rendered)} derived files ({len(rendered) - len(stale)} unchanged)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
