"""Custom serving runtimes (``servestack:servingRuntimes``): parsed and checked before anything is
created, rendered as KServe v0.20.0 ClusterServingRuntimes (CRD-checked), installed once by the
platform after KServe's built-in runtimes, and resolved for endpoints as KServe does: by name or by
autoSelect/priority, side by side with the built-in runtimes."""

from __future__ import annotations

import copy

import pytest

from components.config import ConfigError
from components.config.stack import parse_stack_config
from components.render.inference_service import render_inference_service
from components.core.kserve_runtimes import builtin_runtimes, resolve_runtime
from components.render.serving_runtimes import render_cluster_serving_runtime, runtimes_from_output, runtimes_output
from conformance.schema import validate
from endpoint_fixtures import IRIS, config, placements
from harness import plan_config, resources, stack_config

R = "servestack:servingRuntimes"
IMAGE = "ghcr.io/acme/gbm-server:2.4.1"
GBM = {
    "container": {"image": IMAGE, "args": ["--model_name={{.Name}}", "--model_dir=/mnt/models", "--http_port=8080"],
                  "port": 8080},
    "formats": [{"name": "acme-gbm", "version": "2", "autoSelect": True, "priority": 2}],
    "protocolVersions": ["v2"],
    "resources": {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"cpu": "2", "memory": "4Gi"}},
}
TRITON_FORK = {
    "container": {"image": "ghcr.io/acme/triton:24.08-acme.3"},
    "formats": [{"name": "onnx", "version": "1"}],
    "protocolVersions": ["v2", "grpc-v2"],
}
GBM_ENDPOINT = {"pool": "system", "model": {"format": "acme-gbm", "storageUri": "s3://acme-models/models/gbm/7",
                                            "version": "7"}}


def stack(runtimes: dict, endpoints: dict | None = None, mode: str = "Knative"):
    raw = config(endpoints or {}, mode)
    raw[R] = copy.deepcopy(runtimes)
    return parse_stack_config("test", raw)


def problems(runtimes: dict, endpoints: dict | None = None) -> list[str]:
    with pytest.raises(ConfigError) as error:
        stack(runtimes, endpoints)
    return [p.render() for p in error.value.problems]


def render(runtimes: dict, endpoint: dict, name: str = "e") -> dict:
    parsed = stack(runtimes, {name: endpoint})
    custom = tuple(parsed.serving_runtimes[n].runtime(n, "v0.20.0") for n in sorted(parsed.serving_runtimes))
    isvc = render_inference_service(name, parsed.endpoints[name], placements(parsed)[endpoint["pool"]], "Knative",
                                    kserve_version="v0.20.0", runtimes=custom)
    assert validate(isvc, "kserve-v0.20.0") == []
    return isvc


# --- the ClusterServingRuntime ----------------------------------------------------------------------

def test_a_runtime_renders_as_a_cluster_serving_runtime_like_kserves_own():
    body = render_cluster_serving_runtime("acme-gbm", stack({"acme-gbm": GBM}).serving_runtimes["acme-gbm"])
    assert body == {
        "apiVersion": "serving.kserve.io/v1alpha1",
        "kind": "ClusterServingRuntime",
        "metadata": {"name": "acme-gbm", "labels": {"app.kubernetes.io/managed-by": "servestack"}},
        "spec": {
            "supportedModelFormats": [{"name": "acme-gbm", "version": "2", "autoSelect": True, "priority": 2}],
            "protocolVersions": ["v2"],
            "containers": [{
                "name": "kserve-container",
                "image": IMAGE,
                "args": ["--model_name={{.Name}}", "--model_dir=/mnt/models", "--http_port=8080"],
                "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                "resources": {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"cpu": "2", "memory": "4Gi"}},
                "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                                    "privileged": False, "runAsNonRoot": True,
                                    "seccompProfile": {"type": "RuntimeDefault"}},
            }],
        },
    }
    assert validate(body, "kserve-v0.20.0") == []


def test_defaults_autoselect_off_no_protocols_declared_and_the_default_resources():
    body = render_cluster_serving_runtime("t", stack({"t": TRITON_FORK | {"protocolVersions": []}}).serving_runtimes["t"])
    assert body["spec"]["supportedModelFormats"] == [{"name": "onnx", "version": "1", "autoSelect": False}]
    assert "protocolVersions" not in body["spec"]
    assert body["spec"]["containers"][0]["resources"] == {"requests": {"cpu": "500m", "memory": "1Gi"},
                                                          "limits": {"cpu": "1", "memory": "2Gi"}}
    assert validate(body, "kserve-v0.20.0") == []


# --- checks before anything is created --------------------------------------------------------------

def test_a_runtime_named_like_a_builtin_one_is_refused():
    assert problems({"kserve-sklearnserver": GBM}) == [
        "servestack:servingRuntimes.kserve-sklearnserver: is the name of a built-in runtime of KServe; a "
        "ClusterServingRuntime of that name would replace KServe's own: choose another name "
        "(got \"kserve-sklearnserver\")"]


@pytest.mark.parametrize(("change", "expected"), [
    ({"container": {"image": "ghcr.io/acme/gbm-server:latest"}},
     "servestack:servingRuntimes.r.container.image: "),
    ({"container": {"image": "ghcr.io/acme/gbm-server"}}, "servestack:servingRuntimes.r.container.image: "),
    ({"formats": []}, "servestack:servingRuntimes.r.formats: "),
    ({"protocolVersions": ["v3"]}, "servestack:servingRuntimes.r.protocolVersions[0]: "),
    ({"formats": [{"name": "acme-gbm", "priority": 0, "autoSelect": True}]},
     "servestack:servingRuntimes.r.formats[0].priority: "),
])
def test_bad_fields_are_refused_with_their_path(change, expected):
    found = problems({"r": GBM | change})
    assert len(found) == 1 and found[0].startswith(expected), found


def test_the_image_must_be_pinned():
    (found,) = problems({"r": GBM | {"container": {"image": "ghcr.io/acme/gbm-server:latest"}}})
    assert "latest" in found


def test_format_contradictions():
    runtime = GBM | {"formats": [{"name": "acme-gbm", "version": "2", "autoSelect": True, "priority": 2},
                                 {"name": "acme-gbm", "version": "2"},
                                 {"name": "acme-gbm", "version": "3", "autoSelect": True, "priority": 3},
                                 {"name": "acme-xgb", "priority": 1}],
                    "protocolVersions": ["v2", "v2"]}
    assert problems({"r": runtime}) == [
        "servestack:servingRuntimes.r.formats[1]: declares acme-gbm version 2 a second time (got \"acme-gbm\")",
        "servestack:servingRuntimes.r.formats[2].priority: differs from the priority 2 given to acme-gbm earlier: "
        "KServe uses one priority per format name (got 3)",
        "servestack:servingRuntimes.r.formats[3].priority: only orders runtimes KServe auto-selects; set autoSelect: "
        "true or remove it (got 1)",
        "servestack:servingRuntimes.r.protocolVersions: lists v2 more than once (got [\"v2\", \"v2\"])",
    ]


def test_a_serving_stack_on_a_referenced_cluster_cannot_declare_runtimes():
    raw = {"aws:region": "us-east-1", "servestack:cluster": {"existing": "acme/platform/prod"}, R: {"r": GBM}}
    with pytest.raises(ConfigError) as error:
        parse_stack_config("test", raw)
    assert [p.render() for p in error.value.problems] == [
        "servestack:servingRuntimes: cannot be set together with cluster.existing (the stack acme/platform/prod owns "
        "the cluster's servingRuntimes)"]


# --- endpoints resolve over built-in and custom runtimes --------------------------------------------

def test_an_endpoint_gets_a_custom_runtime_by_autoselect_with_the_protocol_it_speaks():
    model = render({"gbm": GBM}, GBM_ENDPOINT | {"model": GBM_ENDPOINT["model"] | {"formatVersion": "2"}})[
        "spec"]["predictor"]["model"]
    # KServe would match the default v1, which acme-gbm does not speak: v2 is spelt out; no runtime named.
    assert {k: model.get(k) for k in ("modelFormat", "runtime", "protocolVersion")} == {
        "modelFormat": {"name": "acme-gbm", "version": "2"}, "runtime": None, "protocolVersion": "v2"}


def test_an_endpoint_names_a_custom_runtime_without_autoselect():
    endpoint = {"pool": "system", "model": {"format": "onnx", "runtime": "triton-acme", "protocolVersion": "grpc-v2",
                                            "storageUri": "s3://acme-models/models/resnet/3", "version": "3"}}
    model = render({"triton-acme": TRITON_FORK}, endpoint)["spec"]["predictor"]["model"]
    assert {k: model.get(k) for k in ("modelFormat", "runtime", "protocolVersion")} == {
        "modelFormat": {"name": "onnx"}, "runtime": "triton-acme", "protocolVersion": "grpc-v2"}


def test_a_named_custom_runtime_is_checked_like_a_builtin_one():
    endpoint = {"pool": "system", "model": {"format": "onnx", "runtime": "triton-acme", "protocolVersion": "v1",
                                            "storageUri": "s3://acme-models/models/resnet/3", "version": "3"}}
    assert problems({"triton-acme": TRITON_FORK}, {"e": endpoint}) == [
        "servestack:endpoints.e.model.runtime: runtime triton-acme does not speak protocol v1 (it speaks v2, grpc-v2); "
        "runtimes for onnx: kserve-tritonserver speaks v2, grpc-v2 (versions 1); triton-acme speaks v2, grpc-v2 (versions 1; "
        "no autoSelect) (got \"triton-acme\")"]


def test_a_format_no_runtime_serves_names_the_runtimes_not_only_the_builtin_ones():
    (found,) = problems({"gbm": GBM}, {"e": GBM_ENDPOINT | {"model": GBM_ENDPOINT["model"] | {"format": "acme-lgbm"}}})
    assert found.startswith("servestack:endpoints.e.model.format: no runtime of KServe v0.20.0 declares model format "
                            "'acme-lgbm' (formats with a runtime: acme-gbm, ")


def test_a_custom_runtime_with_higher_priority_wins_a_builtin_format():
    sklearn = GBM | {"formats": [{"name": "sklearn", "version": "1", "autoSelect": True, "priority": 9}],
                     "protocolVersions": ["v1", "v2"]}
    model = render({"acme-sklearn": sklearn}, IRIS)["spec"]["predictor"]["model"]
    assert model["modelFormat"] == {"name": "sklearn"} and "runtime" not in model
    custom = stack({"acme-sklearn": sklearn}).serving_runtimes["acme-sklearn"].runtime("acme-sklearn", "v0.20.0")
    resolved = resolve_runtime(builtin_runtimes("v0.20.0") + (custom,), "sklearn")
    assert [r.name for r in resolved.candidates] == ["acme-sklearn", "kserve-sklearnserver"]


def test_equal_priority_with_a_builtin_runtime_is_refused_as_kserves_choice_is_not_guaranteed():
    # kserve-sklearnserver declares sklearn with priority 1 (kserve-mlserver: 2, but speaks only v2).
    sklearn = GBM | {"formats": [{"name": "sklearn", "version": "1", "autoSelect": True, "priority": 1}],
                     "protocolVersions": ["v1"]}
    (found,) = problems({"acme-sklearn": sklearn}, {"iris": IRIS})
    assert found == ("servestack:endpoints.iris.model.runtime: must be set: KServe v0.20.0 would choose between "
                     "acme-sklearn and kserve-sklearnserver (equal priority for sklearn) in no guaranteed order")


def test_runtimes_round_trip_through_the_platform_output():
    parsed = stack({"gbm": GBM, "triton-acme": TRITON_FORK})
    custom = tuple(parsed.serving_runtimes[n].runtime(n, "v0.20.0") for n in sorted(parsed.serving_runtimes))
    exported = runtimes_output(custom)
    assert exported["gbm"] == {"supportedModelFormats": [{"name": "acme-gbm", "version": "2", "autoSelect": True,
                                                          "priority": 2}], "protocolVersions": ["v2"]}
    assert runtimes_from_output(exported, "v0.20.0") == custom
    assert runtimes_from_output(None, "v0.20.0") == ()


# --- the platform installs them once, after KServe's runtimes --------------------------------------

def test_the_platform_installs_each_runtime_after_kserves_runtimes_and_endpoints_wait_for_them():
    raw = stack_config("dev")
    raw[R] = {"gbm": GBM}
    raw["servestack:endpoints"] = {"gbm": GBM_ENDPOINT | {"model": GBM_ENDPOINT["model"] | {"formatVersion": "2"}}}
    plan = plan_config(raw, "runtimes")
    (runtime,) = resources(plan, "kubernetes:serving.kserve.io/v1alpha1:ClusterServingRuntime").values()
    runtime_configs = [urn for urn in runtime["dependencies"] if urn.endswith("kserve-runtime-configs")]
    assert len(runtime_configs) == 1, runtime["dependencies"]
    assert runtime["inputs"]["metadata"]["name"] == "gbm"
    (isvc,) = resources(plan, "kubernetes:serving.kserve.io/v1beta1:InferenceService").values()
    assert runtime["urn"] in isvc["dependencies"]
    assert plan.document["outputs"]["platform"]["servingRuntimes"] == {
        "gbm": {"supportedModelFormats": [{"name": "acme-gbm", "version": "2", "autoSelect": True, "priority": 2}],
                "protocolVersions": ["v2"]}}


def test_a_runtime_with_two_ports_cannot_serve_a_knative_mode_endpoint():
    two_ports = GBM | {"container": GBM["container"] | {"grpcPort": 9000}}
    assert problems({"gbm": two_ports}, {"e": GBM_ENDPOINT}) == [
        "servestack:servingRuntimes.gbm.container.grpcPort: cannot be declared beside port: Knative-mode endpoint e "
        "uses this runtime, and Knative serves one port per container (got 9000)"]
    standard = config({"e": GBM_ENDPOINT | {"deploymentMode": "Standard"}})
    standard[R] = {"gbm": two_ports}
    assert parse_stack_config("test", standard).serving_runtimes["gbm"].container.grpc_port == 9000
