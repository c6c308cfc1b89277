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

from components.core.pod_security import container_security_context
from components.render.inference_service import render_inference_service, render_rollout_record
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

# Each stage of one rollout, as the stack file holds it after each `servestack rollout` move. Knative
# mode routes traffic stages; Standard mode (KServe v0.20.0 routes nothing to spec.canary[]) has one
# stage of 0%: the candidate beside the stable model, then the cutover by promotion.
STAGES = {
    "Knative": {
        "0-steady": None,
        "1-stage-10": {"candidate": CANDIDATE, "stages": [10, 50, 100], "stage": 1},
        "2-stage-50": {"candidate": CANDIDATE, "stages": [10, 50, 100], "stage": 2},
        "3-stage-100": {"candidate": CANDIDATE, "stages": [10, 50, 100], "stage": 3},
        "4-rolled-back": {"candidate": CANDIDATE, "stages": [10, 50, 100], "stage": 2, "rolledBack": True},
        "5-promoted": "promoted",
    },
    "Standard": {
        "0-steady": None,
        "1-blue-green": {"candidate": CANDIDATE, "stages": [0], "stage": 1},
        "4-rolled-back": {"candidate": CANDIDATE, "stages": [0], "stage": 1, "rolledBack": True},
        "5-promoted": "promoted",
    },
}
CASES = [(mode, stage) for mode, stages in STAGES.items() for stage in sorted(stages)]


def fraud_at(stage: str, mode: str = "Knative") -> dict:
    endpoint = copy.deepcopy(FRAUD)
    rollout = STAGES[mode][stage]
    if rollout == "promoted":
        endpoint["model"].update(CANDIDATE)
    elif rollout is not None:
        endpoint["rollout"] = copy.deepcopy(rollout)
    return endpoint


def render(name: str, endpoint: dict, mode: str) -> dict:
    stack = parsed({name: endpoint}, mode)
    config = stack.endpoints[name]
    return render_inference_service(name, config, placements(stack)[config.pool], stack.deployment_mode_of(name))


def record(name: str, endpoint: dict, mode: str) -> dict:
    stack = parsed({name: endpoint}, mode)
    return render_rollout_record(name, stack.endpoints[name], stack.deployment_mode_of(name))


@pytest.mark.parametrize("mode, stage", CASES)
def test_golden_manifest(mode, stage):
    """The InferenceService and, after it, the rollout record ConfigMap of each stage."""
    manifest = render("fraud", fraud_at(stage, mode), mode)
    text = yaml.safe_dump_all([manifest, record("fraud", fraud_at(stage, mode), mode)], sort_keys=False, default_flow_style=False)
    path = GOLDEN / f"{mode.lower()}-{stage}.yaml"
    if os.environ.get("SERVESTACK_UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert text == path.read_text(), f"{path.name} differs; regenerate with SERVESTACK_UPDATE_GOLDEN=1 and review the diff"
    assert validate(manifest, KSERVE_CRDS) == []


def test_every_golden_file_is_a_case():
    assert sorted(p.name for p in GOLDEN.glob("*.yaml")) == sorted(f"{m.lower()}-{s}.yaml" for m, s in CASES)


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


def test_standard_mode_adds_and_removes_only_the_canary_entry():
    steady = render("fraud", fraud_at("0-steady", "Standard"), "Standard")["spec"]
    spec = render("fraud", fraud_at("1-blue-green", "Standard"), "Standard")["spec"]
    # the stable's minimum is written one higher (KServe lowers it by the canary's replica): it keeps its own
    stable_min = steady["predictor"]["minReplicas"]
    assert spec["predictor"] == {**steady["predictor"], "minReplicas": stable_min + 1,
                                 "maxReplicas": max(steady["predictor"]["maxReplicas"], stable_min + 1)}
    # What KServe v0.20.0's CRD requires of a canary (model name with modelFormat) and really does:
    # no traffic, one replica of the candidate's own Deployment.
    assert spec["canary"] == [{"trafficPercent": 0, "predictor": {
        "name": "v2-1-0", "labels": {"servestack.io/model-version": "2.1.0"},
        "model": {"name": "kserve-container", "modelFormat": {"name": "xgboost"}, "protocolVersion": "v2",
                  "storageUri": "s3://acme-models/models/fraud/2.1.0",
                  "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "2Gi"}},
                  "securityContext": container_security_context()},
        "serviceAccountName": "fraud-model", "minReplicas": 1,
        **{k: steady["predictor"][k] for k in ("nodeSelector", "tolerations") if k in steady["predictor"]}}}]
    assert render("fraud", fraud_at("4-rolled-back", "Standard"), "Standard")["spec"] == steady
    promoted = render("fraud", fraud_at("5-promoted", "Standard"), "Standard")["spec"]
    assert "canary" not in promoted
    assert promoted["predictor"]["name"] == "v2-1-0"


def test_candidate_replicas_render_in_standard_mode():
    endpoint = fraud_at("1-blue-green", "Standard")
    endpoint["rollout"]["candidateReplicas"] = 2
    endpoint["autoscaling"] = {"minReplicas": 2, "maxReplicas": 4}
    canary = render("fraud", endpoint, "Standard")["spec"]["canary"]
    assert canary[0]["predictor"]["minReplicas"] == 2
    # written as 2 + 2 = 4, which KServe lowers by the 2 candidates to the configured 2
    assert render("fraud", endpoint, "Standard")["spec"]["predictor"]["minReplicas"] == 4
    assert record("fraud", endpoint, "Standard")["data"]["stableMinReplicasDuringCanary"] == "2"


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
        "securityContext": container_security_context(),
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
    manifest = render("fraud", fraud_at("1-blue-green", "Standard"), "Standard")
    corrupt(manifest)
    messages = validate(manifest, KSERVE_CRDS)
    assert any(fragment in m for m in messages), messages


@pytest.mark.parametrize("mode", ["Knative", "Standard"])
def test_no_rollout_move_changes_the_inference_services_metadata(mode):
    """KServe copies all of it into the pods (no disallow list servestack could extend through the chart):
    it holds only what never moves with a rollout."""
    metadata = {stage: render("fraud", fraud_at(stage, mode), mode)["metadata"] for stage in sorted(STAGES[mode])}
    assert {json.dumps(m, sort_keys=True) for m in metadata.values()} == {json.dumps({
        "name": "fraud", "namespace": "models",
        "labels": {"servestack.io/endpoint": "fraud", "servestack.io/model": "fraud-detector"},
        "annotations": {"serving.kserve.io/deploymentMode": mode},
    }, sort_keys=True)}


@pytest.mark.parametrize("mode", ["Knative", "Standard"])
def test_every_move_is_in_the_rollout_record(mode):
    records = [json.dumps(record("fraud", fraud_at(stage, mode), mode)["data"], sort_keys=True) for stage in sorted(STAGES[mode])]
    assert len(set(records)) == len(records), "each stage has a record of its own"


# --------------------------------------------------------------------------- runtime resolution as KServe does it


def _format_model(fmt: str, protocol: str | None = None, **extra) -> dict:
    model = {"format": fmt, "storageUri": "s3://acme-models/models/m/1", "version": "1", **extra}
    if protocol is not None:
        model["protocolVersion"] = protocol
    return {"pool": "system", "model": model}


@pytest.mark.parametrize("fmt, protocol, rendered_format, rendered_protocol, runtime", [
    ("vllm", None, "vLLM", None, "kserve-vllmserver"),     # KServe matches case-sensitively and defaults vLLM to v2
    ("vLLM", None, "vLLM", None, "kserve-vllmserver"),
    ("onnx", None, "onnx", "v2", "kserve-tritonserver"),    # KServe's default v1 finds no runtime: v2 spelt out
    ("tensorrt", None, "tensorrt", "v2", "kserve-tritonserver"),
    ("mlflow", None, "mlflow", "v2", "kserve-mlserver"),
    ("sklearn", None, "sklearn", None, "kserve-sklearnserver"),
    ("triton", None, "triton", None, "kserve-tritonserver"),
    ("onnx", "grpc-v2", "onnx", "grpc-v2", "kserve-tritonserver"),
    ("xgboost", "v2", "xgboost", "v2", "kserve-mlserver"),
])
def test_format_and_protocol_render_so_kserve_finds_the_runtime(fmt, protocol, rendered_format, rendered_protocol, runtime):
    from components.core.kserve_runtimes import builtin_runtimes, resolve_runtime

    model = render("m", _format_model(fmt, protocol), "Knative")["spec"]["predictor"]["model"]
    assert model["modelFormat"] == {"name": rendered_format}
    assert model.get("protocolVersion") == rendered_protocol
    resolved = resolve_runtime(builtin_runtimes("v0.20.0"), model["modelFormat"]["name"], protocol=model.get("protocolVersion"))
    assert (resolved.format_spelling, resolved.runtime.name if resolved.runtime else None) == (rendered_format, runtime)


def test_a_standard_mode_canary_renders_the_same_resolution_as_the_stable_model():
    endpoint = _format_model("onnx")
    endpoint["rollout"] = {"candidate": {"version": "2", "storageUri": "s3://acme-models/models/m/2"}, "stages": [0]}
    spec = render("m", endpoint, "Standard")["spec"]
    assert spec["predictor"]["model"]["protocolVersion"] == "v2"
    assert [c["predictor"]["model"]["protocolVersion"] for c in spec["canary"]] == ["v2"]


def test_a_runtime_of_your_own_serves_the_format_as_written():
    model = render("m", _format_model("acme-graph", runtime="acme-graph-server"), "Knative")["spec"]["predictor"]["model"]
    assert {k: model[k] for k in ("modelFormat", "runtime")} == {"modelFormat": {"name": "acme-graph"}, "runtime": "acme-graph-server"}
    assert "protocolVersion" not in model


def test_rendering_resolves_against_the_kserve_that_serves_the_endpoint():
    from components.config.endpoints import EndpointConfig
    from components.core.placement import placement_for

    endpoint = EndpointConfig.model_validate(_format_model("vllm"))
    system = placement_for("system", ["m7i.large"], 2)
    assert render_inference_service("m", endpoint, system, "Knative", kserve_version="v0.20.0")["spec"]["predictor"]["model"][
        "modelFormat"] == {"name": "vLLM"}
    with pytest.raises(ValueError, match="^model format no built-in runtime of KServe v0.16.0 declares model format 'vllm'"):
        render_inference_service("m", endpoint, system, "Knative", kserve_version="v0.16.0")
