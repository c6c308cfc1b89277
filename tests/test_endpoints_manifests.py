"""Rendered InferenceServices: golden manifests for every rollout stage in both deployment modes,
and every rendered manifest accepted by KServe v0.20.0's own InferenceService CRD (the derived copy
in tests/conformance/data, validated as the API server does: tests/conformance/schema.py).

Regenerate the goldens after an intended change with ``SERVESTACK_UPDATE_GOLDEN=1 pytest tests/test_endpoints_manifests.py``
and review their diff.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import pytest
import yaml

from components.inference_service import render_inference_service
from conformance.schema import validate
from endpoint_fixtures import IRIS, LLM, parsed, placements

GOLDEN = Path(__file__).parent / "golden" / "endpoints"
KSERVE_CRDS = "kserve-v0.20.0"

# An endpoint with everything: transformer, ART explainer, payload logger, batcher, timeout.
FRAUD = {
    **copy.deepcopy(IRIS),
    "model": {"format": "xgboost", "storageUri": "s3://acme-models/models/fraud/2.0.0", "version": "2.0.0",
              "protocolVersion": "v2", "name": "fraud-detector"},
    "timeoutSeconds": 30,
    "transformer": {"container": {"image": "ghcr.io/acme/fraud-features:1.4.2", "args": ["--feast-url=http://feast.feast:6566"],
                                  "env": {"LOG_LEVEL": "info"}}},
    "explainer": {"type": "art", "config": {"nb_classes": "2", "max_iter": "100"}},
    "logger": {"mode": "all", "url": "http://payload-sink.observability.svc.cluster.local"},
    "batcher": {"maxBatchSize": 16, "maxLatencyMs": 50},
}
CANDIDATE = {"version": "2.1.0", "storageUri": "s3://acme-models/models/fraud/2.1.0"}

# Each stage of one rollout, as the stack file holds it after each `servestack rollout` move.
STAGES = {
    "0-steady": None,
    "1-stage-10": {"candidate": CANDIDATE, "stages": [10, 50, 100], "stage": 1},
    "2-stage-50": {"candidate": CANDIDATE, "stages": [10, 50, 100], "stage": 2},
    "3-stage-100": {"candidate": CANDIDATE, "stages": [10, 50, 100], "stage": 3},
    "4-rolled-back": {"candidate": CANDIDATE, "stages": [10, 50, 100], "stage": 2, "rolledBack": True},
    "5-promoted": "promoted",
}


def fraud_at(stage: str) -> dict:
    endpoint = copy.deepcopy(FRAUD)
    rollout = STAGES[stage]
    if rollout == "promoted":
        endpoint["model"].update(CANDIDATE)
    elif rollout is not None:
        endpoint["rollout"] = copy.deepcopy(rollout)
    return endpoint


def render(name: str, endpoint: dict, mode: str) -> dict:
    stack = parsed({name: endpoint}, mode)
    config = stack.endpoints[name]
    return render_inference_service(name, config, placements(stack)[config.pool], stack.deployment_mode_of(name))


@pytest.mark.parametrize("mode", ["Knative", "Standard"])
@pytest.mark.parametrize("stage", sorted(STAGES))
def test_golden_manifest(mode, stage):
    manifest = render("fraud", fraud_at(stage), mode)
    text = yaml.safe_dump(manifest, sort_keys=False, default_flow_style=False)
    path = GOLDEN / f"{mode.lower()}-{stage}.yaml"
    if os.environ.get("SERVESTACK_UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert text == path.read_text(), f"{path.name} differs; regenerate with SERVESTACK_UPDATE_GOLDEN=1 and review the diff"
    assert validate(manifest, KSERVE_CRDS) == []


def test_knative_stages_move_only_canary_traffic_percent():
    by_stage = {s: render("fraud", fraud_at(s), "Knative") for s in ("1-stage-10", "2-stage-50", "3-stage-100", "4-rolled-back")}
    traffic = {s: m["spec"]["predictor"]["canaryTrafficPercent"] for s, m in by_stage.items()}
    assert traffic == {"1-stage-10": 10, "2-stage-50": 50, "3-stage-100": 100, "4-rolled-back": 0}
    specs = {json.dumps({**m["spec"], "predictor": {k: v for k, v in m["spec"]["predictor"].items() if k != "canaryTrafficPercent"}},
                        sort_keys=True) for m in by_stage.values()}
    assert len(specs) == 1, "apart from canaryTrafficPercent, every stage has the same spec (the candidate's)"
    promoted = render("fraud", fraud_at("5-promoted"), "Knative")["spec"]
    assert "canaryTrafficPercent" not in promoted["predictor"]
    assert promoted["predictor"]["model"] == by_stage["1-stage-10"]["spec"]["predictor"]["model"]


def test_standard_stages_move_only_the_canary_entry():
    steady = render("fraud", fraud_at("0-steady"), "Standard")["spec"]
    for stage, percent in (("1-stage-10", 10), ("2-stage-50", 50), ("3-stage-100", 100)):
        spec = render("fraud", fraud_at(stage), "Standard")["spec"]
        assert spec["predictor"] == steady["predictor"]
        assert [c["trafficPercent"] for c in spec["canary"]] == [percent]
        assert spec["canary"][0]["predictor"]["name"] == "v2-1-0"
        assert spec["canary"][0]["predictor"]["model"]["storageUri"] == "s3://acme-models/models/fraud/2.1.0"
    assert render("fraud", fraud_at("4-rolled-back"), "Standard")["spec"] == steady
    promoted = render("fraud", fraud_at("5-promoted"), "Standard")["spec"]
    assert "canary" not in promoted
    assert promoted["predictor"]["name"] == "v2-1-0"


def test_candidate_replicas_render_in_standard_mode():
    endpoint = fraud_at("1-stage-10")
    endpoint["rollout"]["candidateReplicas"] = 2
    canary = render("fraud", endpoint, "Standard")["spec"]["canary"]
    assert canary[0]["predictor"]["minReplicas"] == 2


def test_accelerator_placement_comes_from_the_pool():
    predictor = render("llm", LLM, "Knative")["spec"]["predictor"]
    assert predictor["nodeSelector"] == {"servestack.io/pool": "gpu"}
    assert predictor["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Equal", "value": "true", "effect": "NoSchedule"}]
    assert predictor["model"]["resources"] == {
        "requests": {"cpu": "2", "memory": "8Gi", "nvidia.com/gpu": "1"},
        "limits": {"cpu": "4", "memory": "14Gi", "nvidia.com/gpu": "1"},
    }
    assert (predictor["minReplicas"], predictor["annotations"]) == (0, {"serving.knative.dev/progress-deadline": "20m"})


@pytest.mark.parametrize("pool, resource", [("neuron", "aws.amazon.com/neuron"), ("fpga", "acme.com/fpga")])
def test_neuron_and_fpga_custom_predictors(pool, resource):
    endpoint = {"pool": pool, "accelerators": 1, "model": {
        "version": "1.0", "container": {"image": f"ghcr.io/acme/{pool}-server:1.0.3", "port": 8080, "args": ["--workers=2"]},
        "storageUri": f"s3://acme-models/models/{pool}/1.0"}}
    predictor = render("accel", endpoint, "Standard")["spec"]["predictor"]
    assert predictor["containers"] == [{
        "name": "kserve-container", "image": f"ghcr.io/acme/{pool}-server:1.0.3", "args": ["--workers=2"],
        "ports": [{"containerPort": 8080, "protocol": "TCP"}],
        "resources": {"requests": {"cpu": "500m", "memory": "1Gi", resource: "1"}, "limits": {"cpu": "1", "memory": "2Gi", resource: "1"}},
        "env": [{"name": "STORAGE_URI", "value": f"s3://acme-models/models/{pool}/1.0"}],
    }]
    assert predictor["tolerations"] == [{"key": resource, "operator": "Equal", "value": "true", "effect": "NoSchedule"}]
    assert validate(render("accel", endpoint, "Standard"), KSERVE_CRDS) == []


# --- the real CRD catches what the API server would refuse ------------------------------------------------
# (KServe's validating webhook refuses more: maxReplicas on a canary, a model without modelFormat. The
# CRD does not, and no hand-written schema stands in for the webhook here.)

@pytest.mark.parametrize("corrupt, fragment", [
    (lambda m: m["spec"]["canary"][0]["predictor"]["model"].pop("name", None), "spec.canary.0.predictor.model: 'name' is a required property"),
    (lambda m: m["spec"]["canary"][0].update(trafficPercent=120), "spec.canary.0.trafficPercent: 120 is greater than the maximum of 100"),
    (lambda m: m["spec"]["predictor"].update(canaryTraficPercent=10), "spec.predictor: Additional properties are not allowed ('canaryTraficPercent' was unexpected)"),
    (lambda m: m["spec"]["predictor"].update(minReplicas="two"), "spec.predictor.minReplicas: 'two' is not of type 'integer'"),
    (lambda m: m["spec"].update(default={}), "spec: Additional properties are not allowed ('default' was unexpected)"),
    (lambda m: m.update(apiVersion="serving.kubeflow.org/v1beta1"), "no CRD for serving.kubeflow.org/InferenceService in kserve-v0.20.0"),
    (lambda m: m["metadata"]["labels"].update({"servestack.io/model-version": "1.0 beta"}), "is not a valid label value"),
])
def test_crd_rejects(corrupt, fragment):
    manifest = render("fraud", fraud_at("2-stage-50"), "Standard")
    corrupt(manifest)
    messages = validate(manifest, KSERVE_CRDS)
    assert any(fragment in m for m in messages), messages


def kserve_propagates(metadata: dict, disallowed_labels=(), disallowed_annotations=()) -> dict:
    """What KServe copies from an InferenceService into its pods' template: every label and annotation
    not on the disallow lists of inferenceservice-config's ``inferenceService`` key (KServe's own
    built-in entries are not servestack's and are left out here)."""
    return {"labels": {k: v for k, v in metadata["labels"].items() if k not in disallowed_labels},
            "annotations": {k: v for k, v in metadata["annotations"].items() if k not in disallowed_annotations}}


@pytest.mark.parametrize("mode", ["Knative", "Standard"])
def test_with_the_disallow_lists_no_rollout_move_changes_what_reaches_the_pods(mode):
    from components.inference_service import NOT_PROPAGATED_ANNOTATIONS, NOT_PROPAGATED_LABELS

    metadata = {stage: render("fraud", fraud_at(stage), mode)["metadata"] for stage in sorted(STAGES)}
    propagated = {stage: kserve_propagates(m, NOT_PROPAGATED_LABELS, NOT_PROPAGATED_ANNOTATIONS) for stage, m in metadata.items()}
    assert set(json.dumps(p, sort_keys=True) for p in propagated.values()) == {json.dumps({
        "labels": {"servestack.io/endpoint": "fraud", "servestack.io/model": "fraud-detector"},
        "annotations": {"serving.kserve.io/deploymentMode": mode},
    }, sort_keys=True)}
    # Without the lists every move would reach the pods: each stage's metadata differs from the last.
    unfiltered = [json.dumps(kserve_propagates(metadata[s]), sort_keys=True) for s in sorted(STAGES)]
    assert all(a != b for a, b in zip(unfiltered, unfiltered[1:]))
