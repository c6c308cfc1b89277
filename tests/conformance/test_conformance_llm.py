"""Conformance of LLM endpoints: every rendered LLMInferenceService is accepted by KServe v0.20.0's
CRD (v1alpha2, the storage version), and every ``baseRefs`` entry names one of KServe v0.20.0's
LLMInferenceServiceConfig presets (the ones the kserve-runtime-configs chart installs)."""

from __future__ import annotations

from components.core import versions

from . import upstream
from .schema import validate
from .stacks import ALL_STACKS, planned


def _llm_services():
    for name in ALL_STACKS:
        stack = planned(name)
        for filename, obj in stack.kinds("LLMInferenceService"):
            yield stack, filename, obj


def test_llm_inference_services_are_accepted_by_kserves_crd(conformance_line):
    crd_set = upstream.kserve_crds(versions.KSERVE_LLMISVC_CRD.version)
    checked, failures = 0, []
    for stack, filename, obj in _llm_services():
        checked += 1
        failures += [f"{stack.name}/{filename}: {p}" for p in validate(obj, crd_set)]
    conformance_line(f"LLMInferenceServices: {checked - len({f.split(':')[0] for f in failures})}/{checked} accepted by "
                     f"KServe {versions.KSERVE_LLMISVC_CRD.version} CRD (serving.kserve.io/v1alpha2)")
    assert checked >= 6
    assert failures == []


def test_llm_base_refs_name_kserves_presets(conformance_line):
    """Each baseRef resolves as KServe v0.20.0 resolves it (getConfig): an LLMInferenceServiceConfig of the plan in
    the endpoint's namespace, else one of KServe's presets in ``kserve``."""
    presets = upstream._read("kserve-v0.20.0-llmisvc-presets.json")["presets"]
    refs, own, failures = 0, 0, []
    for stack, filename, obj in _llm_services():
        planned_presets = {(o["metadata"]["namespace"], o["metadata"]["name"]) for _, o in stack.kinds("LLMInferenceServiceConfig")}
        for ref in obj["spec"]["baseRefs"]:
            refs += 1
            if (obj["metadata"]["namespace"], ref["name"]) in planned_presets:
                own += 1
            elif ref["name"] not in presets:
                failures.append(f"{stack.name}/{filename}: baseRef {ref['name']} is neither a preset of the plan in "
                                f"{obj['metadata']['namespace']} nor one of KServe v0.20.0 ({', '.join(sorted(presets))})")
    conformance_line(f"LLMInferenceService baseRefs: {refs - len(failures)}/{refs} resolve ({own} to the stack's own "
                     "presets, the rest to KServe v0.20.0 presets)")
    assert refs > 0 and own > 0
    assert failures == []


def test_llm_presets_are_accepted_by_kserves_crd(conformance_line):
    crd_set = upstream.kserve_crds(versions.KSERVE_LLMISVC_CRD.version)
    checked, failures = 0, []
    for name in ALL_STACKS:
        stack = planned(name)
        for filename, obj in stack.kinds("LLMInferenceServiceConfig"):
            checked += 1
            failures += [f"{stack.name}/{filename}: {p}" for p in validate(obj, crd_set)]
    conformance_line(f"LLMInferenceServiceConfigs (servestack:llmPresets): {checked} checked against KServe "
                     f"{versions.KSERVE_LLMISVC_CRD.version} CRD, {len(failures)} problems")
    assert checked >= 1
    assert failures == []
