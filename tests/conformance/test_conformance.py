"""Conformance: what the plans of dev, staging, prod and the generated feature stacks render is
what the pinned upstream versions accept and do. Each test is one check over every stack; its
figures are printed in the ``conformance`` section of pytest's terminal summary.

Every stack is planned once per test process (tests/conformance/stacks.py); the checks only read
the plan documents. The judges are the project's derived copies of upstream artifacts
(tests/conformance/data, components/data/upstream), written by tools/vendor_upstream.py.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from typing import Any

import kubernetes_validate
import pytest

from components.core import catalog, karpenter_iam, versions
from components.core.kserve_runtimes import builtin_runtimes, resolve_runtime
from components.render.serving_runtimes import runtimes_from_output

from . import upstream
from .propagation import deployment_name, disallow_lists, pod_templates, renamed, template_difference, _merge
from .schema import metadata_problems, validate
from .stacks import ALL_STACKS, ROLLOUT_STATES, builtin_formats, generated_configs, planned, rollout_moves, rollout_sequences

ISVC_GROUP = "serving.kserve.io"
GATEWAY_API_GROUPS = ("gateway.networking.k8s.io", "gateway.networking.x-k8s.io")
#: Karpenter's NodePool and EC2NodeClass, judged by the pinned Karpenter CRDs (below; also tests/test_karpenter.py).
KARPENTER_GROUPS = ("karpenter.sh", "karpenter.k8s.aws")
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
KUSTOMIZE = "kubernetes:kustomize/v2:Directory"
MODE_ANNOTATION = "serving.kserve.io/deploymentMode"


@pytest.fixture(scope="module")
def stacks():
    """Every stack's finished plan (planned once per process; tests only read them)."""
    return [planned(name) for name in ALL_STACKS]


def _report(failures: list[str], limit: int = 40) -> str:
    shown = failures[:limit]
    more = f"\n  ... and {len(failures) - limit} more" if len(failures) > limit else ""
    return f"{len(failures)} problem(s):\n  " + "\n  ".join(shown) + more


def _mode(stack, isvc: dict[str, Any]) -> str:
    return (isvc["metadata"].get("annotations") or {}).get(MODE_ANNOTATION) or stack.platform["deploymentMode"]


def _group(obj: dict[str, Any]) -> str:
    return obj["apiVersion"].rpartition("/")[0]


# --- InferenceServices against the real CRD of the KServe that serves them ----------------------------

def test_inference_services_are_accepted_by_their_kserves_crd(stacks, conformance_line):
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    failures = []
    for stack in stacks:
        for filename, obj in stack.kinds("InferenceService"):
            crd_set = upstream.kserve_crds(stack.kserve_version)
            problems = validate(obj, crd_set)
            counts[stack.kserve_version][1] += 1
            if problems:
                failures += [f"{stack.name}/{filename}: {p}" for p in problems]
            else:
                counts[stack.kserve_version][0] += 1
    conformance_line("; ".join(f"InferenceServices: {ok}/{total} accepted by KServe {v} CRD"
                               for v, (ok, total) in sorted(counts.items(), reverse=True)))
    assert sum(total for _, total in counts.values()) > 0
    assert failures == [], _report(failures)


def test_cluster_serving_runtimes_are_accepted_by_kserves_crd(stacks, conformance_line):
    """The stack's own runtimes (servestack:servingRuntimes) against KServe v0.20.0's CRD (Kubeflow's
    KServe v0.16.0 has no vendored ClusterServingRuntime CRD: the generated stacks declare runtimes
    only on the standalone KServe)."""
    checked, failures = 0, []
    for stack in stacks:
        for filename, obj in stack.kinds("ClusterServingRuntime"):
            checked += 1
            failures += [f"{stack.name}/{filename}: {p}" for p in validate(obj, upstream.kserve_crds("v0.20.0"))]
            if stack.kserve_version != "v0.20.0":
                failures.append(f"{stack.name}/{filename}: on KServe {stack.kserve_version}, which has no vendored CRD")
    conformance_line(f"ClusterServingRuntimes: {checked - len({f.split(':')[0] for f in failures})}/{checked} accepted by "
                     "KServe v0.20.0 CRD")
    assert checked > 0
    assert failures == [], _report(failures)


def test_gateway_api_objects_are_accepted_by_the_pinned_envoy_gateways_crds(stacks, conformance_line):
    crd_set = upstream.gateway_api_crds(versions.ENVOY_GATEWAY.version)
    bundle = upstream.provenance(f"crds/{crd_set}.json")["gatewayApiBundleVersion"]
    checked, failures = 0, []
    for stack in stacks:
        for filename, obj in stack.objects:
            if _group(obj) in GATEWAY_API_GROUPS:
                checked += 1
                failures += [f"{stack.name}/{filename}: {p}" for p in validate(obj, crd_set)]
    conformance_line(f"Gateway API objects: {checked - len({f.split(':')[0] for f in failures})}/{checked} accepted by "
                     f"Envoy Gateway {versions.ENVOY_GATEWAY.version}'s CRDs (Gateway API {bundle})")
    assert checked > 0
    assert failures == [], _report(failures)


def test_karpenter_objects_are_accepted_by_the_pinned_karpenters_crds(stacks, conformance_line):
    """NodePools and EC2NodeClasses against Karpenter's own CRDs at the pinned chart version (strict:
    unknown fields refused, as the API server's structural schema prunes and kubectl --validate=strict refuses)."""
    crd_set = f"karpenter-v{versions.KARPENTER.version.lstrip('v')}"
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    failures = []
    for stack in stacks:
        for filename, obj in stack.objects:
            if _group(obj) not in KARPENTER_GROUPS:
                continue
            problems = validate(obj, crd_set) + metadata_problems(obj.get("metadata") or {}, namespaced=False)
            counts[obj["kind"]][1] += 1
            if problems:
                failures += [f"{stack.name}/{filename}: {p}" for p in problems]
            else:
                counts[obj["kind"]][0] += 1
    conformance_line("Karpenter objects: " + "; ".join(f"{kind} {ok}/{total}" for kind, (ok, total) in sorted(counts.items()))
                     + f" accepted by Karpenter {versions.KARPENTER.version}'s CRDs")
    assert {"NodePool", "EC2NodeClass"} <= set(counts)
    assert failures == [], _report(failures)


def test_karpenter_controller_iam_grants_exactly_the_reference_policys_actions(stacks, conformance_line):
    """Each statement of the Karpenter controller's policies grants the actions of the statement of the same
    Sid in Karpenter's reference CloudFormation at the pinned version, and no reference statement is missing."""
    reference = {sid: actions for policy in karpenter_iam.reference_policies()["policies"].values()
                 for sid, actions in policy.items()}
    checked, failures = 0, []
    for stack in stacks:
        seen = set()
        for resource, state in stack.steps_of("aws:iam/policy:Policy"):
            if "karpenter" not in resource:
                continue
            for statement in json.loads(state["inputs"]["policy"])["Statement"]:
                checked += 1
                sid, action = statement.get("Sid"), statement.get("Action") or []
                actions = sorted([action] if isinstance(action, str) else action)
                seen.add(sid)
                if sid not in reference:
                    failures.append(f"{stack.name}/{resource}: statement {sid} is not in the reference policy")
                elif actions != reference[sid]:
                    failures.append(f"{stack.name}/{resource}: {sid} grants {actions}; the reference grants {reference[sid]}")
        if seen and sorted(set(reference) - seen):
            failures.append(f"{stack.name}: reference statements missing: {', '.join(sorted(set(reference) - seen))}")
    conformance_line(f"Karpenter controller IAM: {checked - len(failures)}/{checked} statements grant exactly the actions of "
                     f"Karpenter {versions.KARPENTER.version}'s reference CloudFormation policy")
    assert checked > 0
    assert failures == [], _report(failures)


def _kubernetes_validate_version(wanted: str) -> tuple[str, str]:
    """The schema version kubernetes-validate has for ``wanted`` (``1.35``), and a note when older."""
    available = sorted({".".join(v.split(".")[:2]) for v in kubernetes_validate.utils.all_versions()},
                       key=lambda v: tuple(int(p) for p in v.split(".")))
    if wanted in available:
        return wanted, ""
    older = [v for v in available if tuple(map(int, v.split("."))) <= tuple(map(int, wanted.split(".")))]
    chosen = older[-1] if older else available[-1]
    return chosen, f" (kubernetes-validate has no {wanted} schemas; used {chosen})"


def test_core_objects_are_valid_for_the_stacks_kubernetes_version(stacks, conformance_line):
    checked, bad, notes, failures = 0, set(), set(), []
    for stack in stacks:
        version, note = _kubernetes_validate_version(stack.kubernetes_version)
        if note:
            notes.add(note)
        for filename, obj in stack.objects:
            group = _group(obj)
            if group == ISVC_GROUP or group in GATEWAY_API_GROUPS or group in KARPENTER_GROUPS:
                continue  # judged by their CRDs above
            checked += 1
            problems = metadata_problems(obj.get("metadata") or {}, namespaced=filename.split("__")[0] != "_cluster")
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                problems.append(f"{'.'.join(str(p) for p in error.path) or '(root)'}: {error.message}")
            except kubernetes_validate.SchemaNotFoundError as error:
                problems.append(f"no Kubernetes {version} schema: {error}")
            if problems:
                bad.add((stack.name, filename))
                failures += [f"{stack.name}/{filename}: {p}" for p in problems]
    versions_used = sorted({_kubernetes_validate_version(s.kubernetes_version)[0] for s in stacks})
    conformance_line(f"Core objects: {checked - len(bad)}/{checked} valid for Kubernetes {', '.join(versions_used)} "
                     f"(kubernetes-validate {kubernetes_validate.__version__}, strict){''.join(sorted(notes))}")
    assert checked > 0
    assert failures == [], _report(failures)


def test_every_rendered_object_is_judged_by_some_check(stacks):
    """Nothing escapes: each object is an InferenceService, a Gateway API object or a core object
    kubernetes-validate knows (the core check fails on kinds it has no schema for)."""
    custom = sorted({(obj["apiVersion"], obj["kind"]) for s in stacks for _, obj in s.objects
                     if "." in _group(obj) and _group(obj) not in (ISVC_GROUP, *GATEWAY_API_GROUPS, *KARPENTER_GROUPS)
                     and not _group(obj).endswith(".k8s.io")})
    assert custom == []


# --- Helm values and kustomize targets ---------------------------------------------------------------

def _chart_name(inputs: dict[str, Any]) -> str:
    return inputs["chart"].rstrip("/").rsplit("/", 1)[-1]


def _documented_values(chart: str, version: str) -> dict[str, Any]:
    """Values another upstream project publishes for this chart, beyond the chart's own values.yaml:
    Envoy AI Gateway's Envoy Gateway values (its extension server and the inference-pool addon) set
    keys of Envoy Gateway's configuration API that gateway-helm's values.yaml does not list."""
    from components.render.llm_platform import envoy_gateway_values

    if (chart, version) == (versions.ENVOY_GATEWAY.name, versions.ENVOY_GATEWAY.version):
        return envoy_gateway_values()
    return {}


def test_every_helm_value_servestack_sets_exists_in_the_pinned_chart(stacks, conformance_line):
    checked, failures, charts = 0, [], set()
    for stack in stacks:
        for name, state in stack.steps_of(HELM_RELEASE):
            inputs = state["inputs"]
            chart, version = _chart_name(inputs), inputs["version"]
            leaves = upstream.value_paths(inputs.get("values") or {})
            if not leaves:
                continue  # the release sets no values (kserve-crd): nothing to look up
            charts.add(f"{chart} {version}")
            try:
                inventory, aliases = upstream.chart_values(chart, version), upstream.chart_aliases(chart, version)
            except KeyError as error:
                checked += len(leaves)
                failures.append(f"{stack.name}/{name}: {error}")
                continue
            documented = dict(upstream.value_paths(_documented_values(chart, version)))
            for path, value in leaves:
                checked += 1
                if path in documented and documented[path] == value:
                    continue  # exactly what the upstream file written for this chart sets
                problem = upstream.value_path_problem(inventory, upstream.unaliased(path, aliases), value)
                if problem:
                    failures.append(f"{stack.name}/{name} ({chart} {version}): {'.'.join(path)}: {problem}")
    conformance_line(f"Helm values: {checked - len(failures)}/{checked} paths exist in the pinned charts' values "
                     f"({len(charts)} charts: {', '.join(sorted(charts))})")
    assert checked > 0
    assert failures == [], _report(failures)


def _nearby(path: str, targets: frozenset[str]) -> str:
    """The targets under the closest ancestor of ``path`` that has any: where it may have moved."""
    parts = path.split("/")
    for depth in range(len(parts) - 1, 0, -1):
        ancestor = "/".join(parts[:depth])
        near = sorted(t for t in targets if t.startswith(ancestor + "/"))
        if near:
            return f"; targets under {ancestor}/: {', '.join(near[:6])}{', ...' if len(near) > 6 else ''}"
    return ""


_KUSTOMIZE_TARGET = re.compile(r"^(?P<repo>https://\S+?)//(?P<path>[^?]+)\?ref=(?P<ref>\S+)$")


def test_every_kustomize_target_exists_at_the_pinned_kubeflow_ref(stacks, conformance_line):
    checked, failures, refs = 0, [], set()
    for stack in stacks:
        for name, state in stack.steps_of(KUSTOMIZE):
            target = state["inputs"]["directory"]
            match = _KUSTOMIZE_TARGET.match(target)
            checked += 1
            if match is None:
                failures.append(f"{stack.name}/{name}: {target} is not <repository>//<path>?ref=<tag>")
                continue
            refs.add(match["ref"])
            targets = upstream.kubeflow_targets(match["ref"])
            if match["path"] not in targets:
                failures.append(f"{stack.name}: {match['path']} is not a kustomize target at kubeflow/manifests "
                                f"{match['ref']} (no kustomization there){_nearby(match['path'], targets)}")
    unique = {f.split(": ", 1)[1] for f in failures}
    conformance_line(f"Kubeflow kustomize targets: {checked - len(failures)}/{checked} exist at kubeflow/manifests "
                     f"{', '.join(sorted(refs))} ({len(unique)} distinct missing)")
    assert checked > 0
    assert failures == [], _report(failures)


# --- Knative feature flags ---------------------------------------------------------------------------

#: Pod-spec fields Knative refuses unless their config-features flag is enabled (knative/serving
#: pkg/apis/serving/k8s_validation.go, flags named in config/core/configmaps/features.yaml).
KNATIVE_POD_SPEC_FLAGS = {
    "nodeSelector": "kubernetes.podspec-nodeselector",
    "tolerations": "kubernetes.podspec-tolerations",
    "affinity": "kubernetes.podspec-affinity",
    "topologySpreadConstraints": "kubernetes.podspec-topologyspreadconstraints",
    "hostAliases": "kubernetes.podspec-hostaliases",
    "runtimeClassName": "kubernetes.podspec-runtimeclassname",
    "dnsPolicy": "kubernetes.podspec-dnspolicy",
    "dnsConfig": "kubernetes.podspec-dnsconfig",
    "securityContext": "kubernetes.podspec-securitycontext",
    "shareProcessNamespace": "kubernetes.podspec-shareprocessnamespace",
    "hostIPC": "kubernetes.podspec-hostipc",
    "hostPID": "kubernetes.podspec-hostpid",
    "hostNetwork": "kubernetes.podspec-hostnetwork",
    "priorityClassName": "kubernetes.podspec-priorityclassname",
    "schedulerName": "kubernetes.podspec-schedulername",
    "initContainers": "kubernetes.podspec-init-containers",
}
KSERVE_COMPONENTS = ("predictor", "transformer", "explainer")


def _config_map_data(stack, name: str, namespace: str) -> dict[str, str]:
    data: dict[str, str] = {}
    for _, obj in stack.objects:
        if obj["kind"] == "ConfigMap" and obj["metadata"]["name"] == name and obj["metadata"].get("namespace") == namespace:
            data.update(obj.get("data") or {})
    return data


def test_knative_mode_pod_spec_fields_have_their_feature_flag_enabled(stacks, conformance_line):
    defaults = upstream.knative_feature_defaults(versions.KNATIVE_SERVING.version)
    features = upstream.provenance(f"knative-serving-{versions.KNATIVE_SERVING.version}-features.json")
    checked, failures = 0, []
    for stack in stacks:
        flags = {**defaults, **_config_map_data(stack, "config-features", "knative-serving")}
        for filename, isvc in stack.kinds("InferenceService"):
            if _mode(stack, isvc) != "Knative":
                continue
            for component in KSERVE_COMPONENTS:
                spec = (isvc.get("spec") or {}).get(component) or {}
                for field, flag in KNATIVE_POD_SPEC_FLAGS.items():
                    if field not in spec:
                        continue
                    checked += 1
                    if flags.get(flag) != "enabled":
                        failures.append(f"{stack.name}/{filename}: spec.{component}.{field} needs Knative's {flag}, which is "
                                        f"{flags.get(flag, 'unknown')!r} (Knative {features['ref']} default "
                                        f"{defaults.get(flag)!r}; the stack's config-features sets "
                                        f"{_config_map_data(stack, 'config-features', 'knative-serving').get(flag, 'nothing')!r})")
    conformance_line(f"Knative pod-spec fields: {checked - len(failures)}/{checked} have their feature flag enabled "
                     f"(Knative {versions.KNATIVE_SERVING.version} defaults + the stack's config-features)")
    assert checked > 0
    assert failures == [], _report(failures)


# --- runtime resolution ------------------------------------------------------------------------------

def _format_predictors(isvc: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(where, model) of every predictor with a model format: the stable one and each canary (a
    canary is the stable predictor merged with the canary's, as KServe builds it)."""
    spec = isvc.get("spec") or {}
    stable = spec.get("predictor") or {}
    found = [("spec.predictor.model", stable["model"])] if "model" in stable else []
    for index, canary in enumerate(spec.get("canary") or []):
        merged = _merge(stable, canary.get("predictor") or {})
        if "model" in merged:
            found.append((f"spec.canary[{index}].predictor.model", merged["model"]))
    return found


def test_every_format_predictor_resolves_to_exactly_one_builtin_runtime(stacks, conformance_line):
    """Over the built-in runtimes and the stack's own (as its platform output exports them)."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    failures = []
    for stack in stacks:
        custom = runtimes_from_output(stack.platform.get("servingRuntimes"), stack.kserve_version)
        rendered = sorted(o["metadata"]["name"] for _, o in stack.kinds("ClusterServingRuntime"))
        if rendered != [r.name for r in custom]:
            failures.append(f"{stack.name}: the platform output names runtimes {[r.name for r in custom]}, "
                            f"the plan renders {rendered}")
        runtimes = builtin_runtimes(stack.kserve_version) + custom
        for filename, isvc in stack.kinds("InferenceService"):
            for where, model in _format_predictors(isvc):
                fmt = model.get("modelFormat") or {}
                resolution = resolve_runtime(runtimes, fmt.get("name", ""), format_version=fmt.get("version"),
                                             protocol=model.get("protocolVersion"), runtime_name=model.get("runtime"))
                counts[stack.kserve_version][1] += 1
                problem = ""
                if resolution.runtime is None:
                    problem = resolution.reason
                elif resolution.ambiguous:
                    problem = (f"KServe's choice is not guaranteed: {', '.join(r.name for r in resolution.candidates)} "
                               f"tie on priority for {resolution.format_spelling}")
                elif fmt.get("name") != resolution.format_spelling:
                    problem = (f"modelFormat.name {fmt.get('name')!r} is not the spelling {resolution.runtime.name} declares "
                               f"({resolution.format_spelling!r}); KServe compares format names case-sensitively")
                if problem:
                    failures.append(f"{stack.name}/{filename} {where}: {problem}")
                else:
                    counts[stack.kserve_version][0] += 1
    conformance_line("; ".join(f"Format predictors: {ok}/{total} resolve to exactly one runtime (built-in or the "
                               f"stack's own) of KServe {v}"
                               for v, (ok, total) in sorted(counts.items(), reverse=True)))
    assert counts
    assert failures == [], _report(failures)


def test_kserves_spelling_vllm_is_accepted_and_rendered_as_the_runtime_declares(conformance_line):
    """A user who copies KServe's spelling (``vLLM``) gets the built-in vLLM runtime, rendered
    exactly as ``kserve-vllmserver`` declares it."""
    from components.config import ConfigError
    from harness import plan_config, stack_config
    from servestack.plan import PlanError

    config = stack_config("dev")
    config["servestack:endpoints"] = {"llm": {
        "pool": "gpu", "accelerators": 1, "model": {"format": "vLLM", "storageUri": "s3://acme-ml-models-dev/models/llm/1",
                                                      "version": "1"},
        "resources": {"requests": {"cpu": "2", "memory": "8Gi"}, "limits": {"cpu": "4", "memory": "12Gi"}},
        "autoscaling": {"minReplicas": 1, "maxReplicas": 2}, "startupTimeoutMinutes": 20}}
    try:
        plan = plan_config(config, "vllm")
    except (ConfigError, PlanError) as error:
        conformance_line("vLLM (KServe's spelling): refused by the config")
        pytest.fail(f"format vLLM (kserve-vllmserver's spelling) was refused: {str(error).strip()}")
    (isvc,) = [o for _, o in plan.manifests() if o["kind"] == "InferenceService"]
    rendered = isvc["spec"]["predictor"]["model"]["modelFormat"]["name"]
    resolution = resolve_runtime(builtin_runtimes("v0.20.0"), rendered, protocol=isvc["spec"]["predictor"]["model"].get("protocolVersion"))
    conformance_line(f"vLLM (KServe's spelling): rendered as {rendered!r}, resolves to "
                     f"{resolution.runtime.name if resolution.runtime else 'no runtime'}")
    assert (rendered, resolution.runtime and resolution.runtime.name) == ("vLLM", "kserve-vllmserver")


# --- rollout moves and pod templates ----------------------------------------------------------------

def _deployed_isvc_config(stack) -> dict[str, Any] | None:
    """The ``inferenceService`` JSON of an inferenceservice-config the plan itself writes, if any."""
    data = _config_map_data(stack, "inferenceservice-config", "kserve")
    if "inferenceService" not in data:
        return None
    return json.loads(data["inferenceService"])


def test_rollout_moves_leave_the_serving_pod_templates_unchanged(stacks, conformance_line):
    """A move may change routing and replica counts, never a template that serves traffic:

    - Standard mode (blue/green, stages [0]): ``start``/``rollback`` keep the stable Deployment's
      pod template; ``promote`` turns the canary's Deployment into the stable one with the same
      template (both are ``<isvc>-<candidate>-predictor``).
    - Knative mode: ``advance``, ``rollback`` and ``promote`` keep the revision template: only
      ``canaryTrafficPercent`` moves (routing between the candidate's revision and the last
      rolled-out one, which serves the stable model and which no move touches). ``start`` makes the
      candidate's revision by design.
    """
    checked, failures, modes = 0, [], set()
    for stack in stacks:
        lists = disallow_lists(upstream.kserve_isvc_config(stack.kserve_version), _deployed_isvc_config(stack))
        isvcs = {obj["metadata"]["name"]: obj for _, obj in stack.kinds("InferenceService")}
        for base, states in rollout_sequences(stack).items():
            def templates(suffix: str) -> tuple[str, dict[str, Any]]:
                isvc = renamed(isvcs[states[suffix]], states[suffix], base)
                mode = _mode(stack, isvc)
                return mode, pod_templates(isvc, mode, lists)

            sequence_mode = _mode(stack, isvcs[states["0-steady"]])
            for move, before, after in rollout_moves(sequence_mode):
                if before not in states or after not in states:
                    failures.append(f"{stack.name} {base}: no endpoint for the {move} {before} -> {after} ({sequence_mode})")
                    continue
                mode, old = templates(before)
                _, new = templates(after)
                modes.add(mode)
                if mode == "Knative" and move == "start":
                    continue
                checked += 1
                if mode == "Knative":
                    pairs = [(name, old[name], new[name]) for name in new]
                else:
                    if move == "promote":
                        pairs = [(name, old[name], new[name]) for name in new if name in old]
                        if not pairs:
                            failures.append(f"{stack.name} {base} {move} ({mode}): the promoted Deployment "
                                            f"{', '.join(new)} is none of the previous ones ({', '.join(old)})")
                            continue
                    else:
                        kept = [deployment_name(base, isvcs[states[before]]["spec"]["predictor"].get("name"))]
                        if move == "advance":
                            kept = list(old)
                        pairs = [(name, old[name], new.get(name, {"<absent>": True})) for name in kept]
                for name, a, b in pairs:
                    difference = template_difference(a, b)
                    if difference:
                        failures.append(f"{stack.name} {base} {move} {before} -> {after} ({mode}): pod template of "
                                        f"{name} changes (pods restart): {'; '.join(difference)}")
    conformance_line(f"Rollout moves: {checked - len({f.split(': pod template')[0] for f in failures})}/{checked} leave "
                     f"the serving pod templates unchanged ({', '.join(sorted(modes))} mode; KServe's propagation rules)")
    assert checked > 0
    assert failures == [], _report(failures)


# --- what the generated stacks cover ---------------------------------------------------------------

def test_the_generated_stacks_use_every_setting_the_readme_names():
    """Every format of each KServe, every pool kind, both modes and their networking, Kubeflow, the
    endpoint features, and every rollout state of each mode (as `servestack rollout` makes them)."""
    configs = generated_configs()
    endpoints = {name: e for c in configs.values() for name, e in c["servestack:endpoints"].items()}
    platforms = [c["servestack:platform"] for c in configs.values()]
    for stack, version in (("conformance-knative-kourier", versions.KSERVE_RUNTIME_CONFIGS.version),
                           ("conformance-standard-envoy", versions.KSERVE_RUNTIME_CONFIGS.version),
                           ("conformance-kubeflow", versions.KUBEFLOW_KSERVE.version)):
        used = {e["model"].get("format") for e in configs[stack]["servestack:endpoints"].values()}
        assert set(builtin_formats(version)) <= used, stack
    assert {"vllm", "vLLM"} <= {e["model"].get("format") for e in endpoints.values()}
    for stack in ("conformance-knative-kourier", "conformance-standard-envoy"):
        runtimes = configs[stack]["servestack:servingRuntimes"]
        models = [e["model"] for e in configs[stack]["servestack:endpoints"].values()]
        auto = {f["name"] for r in runtimes.values() for f in r["formats"] if f.get("autoSelect")}
        assert any(m.get("runtime") in runtimes for m in models), stack  # one by name
        assert any(m.get("format") in auto and "runtime" not in m for m in models), stack  # one by autoSelect
    pool_types = {t for c in configs.values() for pool in c["servestack:nodePools"].values() for t in pool["instanceTypes"]}
    assert {"m7i.large", "g6.xlarge", "inf2.xlarge", "f2.6xlarge"} <= pool_types
    assert {e["pool"] for e in endpoints.values() if "container" in e["model"]} == {"system", "gpu", "neuron", "fpga"}
    assert {(p.get("kserve", {}).get("deploymentMode"), p.get("knative", {}).get("networking"), p.get("kubeflow", {}).get("enabled"))
            for p in platforms} == {("Knative", "kourier", None), ("Knative", "istio", None), ("Standard", None, None),
                                    (None, None, True)}
    assert any("storageUri" in (e.get("transformer") or {}) for e in endpoints.values())
    assert {(e.get("explainer") or {}).get("type") for e in endpoints.values()} >= {"art", "custom"}
    assert any("logger" in e for e in endpoints.values()) and any("batcher" in e for e in endpoints.values())
    for stack, config in configs.items():
        if not config["servestack:endpoints"]:  # the LLM surface stack (llm_stacks.py) has LLM endpoints only
            continue
        mode = "Standard" if config["servestack:platform"].get("kserve", {}).get("deploymentMode") == "Standard" else "Knative"
        for base in ("ro", "rc"):
            states = {suffix: config["servestack:endpoints"][f"{base}-{suffix}"] for suffix, _ in ROLLOUT_STATES[mode]}
            rollouts = {suffix: e.get("rollout") for suffix, e in states.items()}
            phases = {("rolled back" if r.get("rolledBack") else f"{r['stages']}@{r['stage']}") if r else "steady"
                      for r in rollouts.values()}
            expected = ({"steady", "[10, 50, 100]@1", "[10, 50, 100]@2", "[10, 50, 100]@3", "rolled back"}
                        if mode == "Knative" else {"steady", "[0]@1", "rolled back"})
            assert phases == expected, (stack, base)
            assert states[next(s for s, m in ROLLOUT_STATES[mode] if m and m[-1] == "promote")]["model"]["version"] != \
                states["0-steady"]["model"]["version"], (stack, base)


# --- the data itself ---------------------------------------------------------------------------------

def test_every_pinned_version_has_conformance_data(conformance_line):
    """When a pin in components/core/versions.py moves, tools/vendor_upstream.py must derive its data."""
    wanted = {
        f"KServe {versions.KSERVE_CRD.version} CRDs": lambda: upstream.crd(upstream.kserve_crds(versions.KSERVE_CRD.version), "InferenceService"),
        f"KServe {versions.KSERVE_RESOURCES.version} inferenceservice-config": lambda: upstream.kserve_isvc_config(versions.KSERVE_RESOURCES.version),
        f"KServe {versions.KSERVE_RUNTIME_CONFIGS.version} runtimes": lambda: builtin_runtimes(versions.KSERVE_RUNTIME_CONFIGS.version),
        f"Kubeflow's KServe {versions.KUBEFLOW_KSERVE.version} CRDs": lambda: upstream.crd(upstream.kserve_crds(versions.KUBEFLOW_KSERVE.version), "InferenceService"),
        f"Kubeflow's KServe {versions.KUBEFLOW_KSERVE.version} runtimes": lambda: builtin_runtimes(versions.KUBEFLOW_KSERVE.version),
        f"Kubeflow's KServe {versions.KUBEFLOW_KSERVE.version} inferenceservice-config": lambda: upstream.kserve_isvc_config(versions.KUBEFLOW_KSERVE.version),
        f"Envoy Gateway {versions.ENVOY_GATEWAY.version} Gateway API CRDs": lambda: upstream.crd(upstream.gateway_api_crds(versions.ENVOY_GATEWAY.version), "GatewayClass"),
        f"Knative Serving {versions.KNATIVE_SERVING.version} features": lambda: upstream.knative_feature_defaults(versions.KNATIVE_SERVING.version),
        f"Kubeflow manifests {versions.KUBEFLOW_MANIFESTS.version} targets": lambda: upstream.kubeflow_targets(versions.KUBEFLOW_MANIFESTS.version),
        f"Karpenter {versions.KARPENTER.version} CRDs": lambda: upstream.crd(f"karpenter-v{versions.KARPENTER.version}", "NodePool"),
    }
    charts = [(versions.CERT_MANAGER.name, versions.CERT_MANAGER.version),
              ("kserve-resources", versions.KSERVE_RESOURCES.version),
              ("kserve-runtime-configs", versions.KSERVE_RUNTIME_CONFIGS.version),
              # every device plugin chart the accelerator catalog pins, whatever kinds it has
              *((a.plugin.pin.name, a.plugin.pin.version) for a in catalog.ACCELERATORS.values() if a.plugin and a.plugin.pin),
              (versions.ENVOY_GATEWAY.name, versions.ENVOY_GATEWAY.version),
              (versions.KARPENTER.name, versions.KARPENTER.version),
              (versions.ENVOY_AI_GATEWAY_CRD.name, versions.ENVOY_AI_GATEWAY_CRD.version),
              (versions.ENVOY_AI_GATEWAY.name, versions.ENVOY_AI_GATEWAY.version),
              (versions.KSERVE_LLMISVC_RESOURCES.name, versions.KSERVE_LLMISVC_RESOURCES.version),
              (versions.LWS.name, versions.LWS.version),
              *((chart, versions.ISTIO.version) for chart in ("base", "istiod", "cni", "gateway"))]
    for chart, version in charts:
        wanted[f"chart {chart} {version} values"] = lambda c=chart, v=version: upstream.chart_values(c, v)
    missing = []
    for what, load in wanted.items():
        try:
            load()
        except KeyError as error:
            missing.append(f"{what}: {error}")
    conformance_line(f"Pinned versions: {len(wanted) - len(missing)}/{len(wanted)} have conformance data")
    assert missing == [], _report(missing)


def test_chart_data_is_for_the_pinned_chart_versions():
    """Each chart inventory says which chart version it was derived for; it matches its file name."""
    for path in sorted((upstream.DATA / "charts").glob("*.json")):
        block = upstream.provenance(f"charts/{path.name}")
        assert path.name == f"{block['chart']}-{block['chartVersion']}.json"
