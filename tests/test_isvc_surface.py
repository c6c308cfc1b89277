"""The InferenceService surface beyond format and storage: each feature written as servestack config,
its rendered fields checked against what KServe v0.20's documentation shows for that feature, the
object checked against KServe v0.20.0's CRD, and each contradiction refused with path and reason."""

from __future__ import annotations

import copy

import pytest

from components.config import ConfigError
from components.render.inference_service import render_inference_service
from conformance.schema import validate
from endpoint_fixtures import IRIS, LLM, parsed, placements

P = "servestack:endpoints"
IMAGE = "ghcr.io/acme/scorer:3.1.0"
HF_SECRET = {"secretKeyRef": {"name": "hf-secret", "key": "HF_TOKEN"}}


def render(endpoint: dict, mode: str = "Knative", name: str = "e") -> dict:
    stack = parsed({name: endpoint}, mode)
    isvc = render_inference_service(name, stack.endpoints[name], placements(stack)[stack.endpoints[name].pool], mode)
    assert validate(isvc, "kserve-v0.20.0") == []
    return isvc


def problems(endpoint: dict, mode: str = "Knative") -> list[str]:
    with pytest.raises(ConfigError) as error:
        parsed({"e": endpoint}, mode)
    return [p.render() for p in error.value.problems]


def with_model(base: dict, **model) -> dict:
    endpoint = copy.deepcopy(base)
    endpoint["model"].update(model)
    return endpoint


# --- the model (KServe merges these into the runtime's container) ------------------------------------

def test_vllm_backend_of_the_hugging_face_server_with_args_and_a_token_from_a_secret():
    isvc = render(with_model(LLM, args=["--model_name=llama3", "--backend=vllm", "--max-model-len=4096"],
                             env={"HF_TOKEN": HF_SECRET}, formatVersion="1"))
    model = isvc["spec"]["predictor"]["model"]
    assert model["modelFormat"] == {"name": "huggingface", "version": "1"}
    assert model["args"] == ["--model_name=llama3", "--backend=vllm", "--max-model-len=4096"]
    assert model["env"] == [{"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": "hf-secret", "key": "HF_TOKEN"}}}]


def test_kserve_vllmserver_runtime_with_runtime_version_and_command():
    isvc = render(with_model(LLM, format="vllm", runtime="kserve-vllmserver", runtimeVersion="0.11.0",
                             command=["python", "-m", "vllm.entrypoints.openai.api_server"],
                             args=["--max-model-len=4096"]))
    model = isvc["spec"]["predictor"]["model"]
    # No protocolVersion: KServe's webhook gives vLLM v2, which kserve-vllmserver (no declared protocols) serves.
    assert {k: model.get(k) for k in ("modelFormat", "runtime", "runtimeVersion", "protocolVersion", "command", "args")} == {
        "modelFormat": {"name": "vLLM"}, "runtime": "kserve-vllmserver", "runtimeVersion": "0.11.0",
        "protocolVersion": None, "command": ["python", "-m", "vllm.entrypoints.openai.api_server"],
        "args": ["--max-model-len=4096"]}


def test_grpc_port_is_kserves_h2c_port_with_a_grpc_protocol():
    isvc = render(with_model(IRIS, format="tensorflow", protocolVersion="grpc-v2", grpcPort=9000,
                             readinessProbe={"port": 9000, "grpc": True, "periodSeconds": 5}), mode="Standard")
    model = isvc["spec"]["predictor"]["model"]
    assert model["protocolVersion"] == "grpc-v2"
    assert model["ports"] == [{"name": "h2c", "containerPort": 9000, "protocol": "TCP"}]
    assert model["readinessProbe"] == {"grpc": {"port": 9000}, "periodSeconds": 5}


def test_probes_and_field_references():
    isvc = render(with_model(IRIS, port=8080, env={"POD": {"fieldRef": {"fieldPath": "metadata.name"}}, "WORKERS": "2"},
                             readinessProbe={"port": 8080, "httpPath": "/v2/health/ready", "initialDelaySeconds": 5},
                             livenessProbe={"port": 8080, "tcp": True, "failureThreshold": 6},
                             startupProbe={"port": 8080, "httpPath": "/v2/health/live", "failureThreshold": 60,
                                           "periodSeconds": 10}))
    model = isvc["spec"]["predictor"]["model"]
    assert model["env"] == [{"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                            {"name": "WORKERS", "value": "2"}]
    assert model["ports"] == [{"containerPort": 8080, "protocol": "TCP"}]
    assert model["readinessProbe"] == {"httpGet": {"path": "/v2/health/ready", "port": 8080}, "initialDelaySeconds": 5}
    assert model["livenessProbe"] == {"tcpSocket": {"port": 8080}, "failureThreshold": 6}
    assert model["startupProbe"] == {"httpGet": {"path": "/v2/health/live", "port": 8080}, "periodSeconds": 10,
                                     "failureThreshold": 60}


def test_storage_spec_https_uri_and_storage_secret():
    spec_model = render(with_model(IRIS, storageUri=None, storage={"key": "minio", "path": "models/iris/1.0.0",
                                                                    "parameters": {"bucket": "ml"}}))
    model = spec_model["spec"]["predictor"]["model"]
    assert model["storage"] == {"key": "minio", "path": "models/iris/1.0.0", "parameters": {"bucket": "ml"}}
    assert "storageUri" not in model
    https = render(with_model(IRIS, storageUri="https://models.example.com/iris/1.0.0/model.tar.gz",
                              storageSecretName="web-credentials"))
    assert https["spec"]["predictor"]["model"]["storageUri"] == "https://models.example.com/iris/1.0.0/model.tar.gz"
    assert https["metadata"]["annotations"]["serving.kserve.io/storageSecretName"] == "web-credentials"


def test_custom_container_command_ports_and_probes():
    isvc = render({**IRIS, "model": {"version": "3.1.0", "container": {
        "image": IMAGE, "command": ["python", "-m", "scorer"], "args": ["--http_port=8085"], "port": 8085,
        "readinessProbe": {"port": 8085, "httpPath": "/ready"}}}})
    (container,) = isvc["spec"]["predictor"]["containers"]
    assert container == {"name": "kserve-container", "image": IMAGE, "command": ["python", "-m", "scorer"],
                         "args": ["--http_port=8085"], "ports": [{"containerPort": 8085, "protocol": "TCP"}],
                         "readinessProbe": {"httpGet": {"path": "/ready", "port": 8085}},
                         "resources": container["resources"],
                         # secure by default; not runAsNonRoot: servestack cannot know a custom image's user
                         "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                                             "privileged": False, "runAsNonRoot": True,
                                             "seccompProfile": {"type": "RuntimeDefault"}}}


# --- the endpoint ------------------------------------------------------------------------------------

@pytest.mark.parametrize("mode, label", [("Standard", "networking.kserve.io/visibility"),
                                         ("Knative", "networking.knative.dev/visibility")])
def test_prometheus_scraping_and_cluster_local_visibility(mode, label):
    isvc = render({**IRIS, "prometheusScraping": True, "visibility": "cluster-local"}, mode=mode)
    assert isvc["metadata"]["annotations"]["serving.kserve.io/enable-prometheus-scraping"] == "true"
    assert isvc["metadata"]["labels"][label] == "cluster-local"


def test_tag_routing_in_knative_mode():
    isvc = render({**IRIS, "tagRouting": True})
    assert isvc["metadata"]["annotations"]["serving.kserve.io/enable-tag-routing"] == "true"


def test_deployment_strategy_in_standard_mode():
    isvc = render({**IRIS, "deploymentStrategy": {"type": "RollingUpdate", "maxSurge": 1, "maxUnavailable": "0%"}},
                  mode="Standard")
    assert isvc["spec"]["predictor"]["deploymentStrategy"] == {
        "type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": "0%"}}
    recreate = render({**IRIS, "deploymentStrategy": {"type": "Recreate"}}, mode="Standard")
    assert recreate["spec"]["predictor"]["deploymentStrategy"] == {"type": "Recreate"}


def test_service_account_override_runs_the_model_as_that_account():
    isvc = render({**LLM, "serviceAccountName": "hf-reader"})
    assert isvc["spec"]["predictor"]["serviceAccountName"] == "hf-reader"


def test_collocated_transformer_is_kserves_transformer_container_in_the_predictor_pod():
    isvc = render({**IRIS, "model": {**IRIS["model"], "args": ["--http_port=8085"]},
                   "transformer": {"collocated": True, "container": {
                       "image": "ghcr.io/acme/features:1.8.0", "port": 8080,
                       "args": ["--model_name=e", "--predictor_host=localhost:8085"]}}})
    predictor = isvc["spec"]["predictor"]
    assert "transformer" not in isvc["spec"]
    assert predictor["model"]["args"] == ["--http_port=8085"]
    (transformer,) = predictor["containers"]
    assert {k: transformer[k] for k in ("name", "image", "args", "ports")} == {
        "name": "transformer-container", "image": "ghcr.io/acme/features:1.8.0",
        "args": ["--model_name=e", "--predictor_host=localhost:8085"], "ports": [{"containerPort": 8080, "protocol": "TCP"}]}


# --- contradictions ----------------------------------------------------------------------------------

@pytest.mark.parametrize("endpoint, mode, expected", [
    (with_model(IRIS, grpcPort=9000, protocolVersion="v1"), "Knative",
     f"{P}.e.model.grpcPort: serves gRPC (h2c), but protocolVersion v1 is REST; use v2, grpc-v1 or grpc-v2 (got 9000)"),
    (with_model(IRIS, port=8080, protocolVersion="grpc-v1"), "Knative",
     f"{P}.e.model.port: is an HTTP port, but protocolVersion grpc-v1 is gRPC; set grpcPort instead (got 8080)"),
    (with_model(IRIS, readinessProbe={"port": 9000, "httpPath": "/ready"}), "Knative",
     f"{P}.e.model.readinessProbe.port: is not a port the container exposes (8080) (got 9000)"),
    (with_model(IRIS, env={"HF_TOKEN": {"secure": "v1:AAAA"}}), "Knative",
     f"{P}.e.model.env.HF_TOKEN: is a Pulumi secret (secure:); a secret value would be written into the InferenceService "
     'in clear: put it in a Kubernetes Secret and reference it with secretKeyRef: {name, key} (got {"secure": "v1:AAAA"})'),
    (with_model(IRIS, env={"API_KEY": "abc123"}), "Knative",
     f"{P}.e.model.env.API_KEY: holds what looks like a credential (Secret Keyword), which would be written in clear "
     "into the plan, the manifests and Pulumi's state: put it in a Kubernetes Secret and reference it with "
     'secretKeyRef: {name, key} (got "[redacted]")'),
    (with_model(IRIS, env={"A": {"secretKeyRef": {"name": "s", "key": "k"}, "fieldRef": {"fieldPath": "metadata.name"}}}),
     "Knative", f"{P}.e.model.env.A: must set exactly one of secretKeyRef or fieldRef (got "
                '{"fieldRef": {"fieldPath": "metadata.name"}, "secretKeyRef": {"key": "k", "name": "s"}})'),
    (with_model(IRIS, storage={"key": "minio", "path": "iris"}), "Knative",
     f'{P}.e.model.storage: cannot be set together with storageUri (KServe reads one or the other) (got "minio")'),
    (with_model(IRIS, storageUri="pvc://models/iris", storageSecretName="creds"), "Knative",
     f"{P}.e.model.storageSecretName: applies to s3://, gs://, https://, hdfs://, webhdfs:// storage URIs and the storage spec (KServe's "
     'credentials); the storageUri is pvc://models/iris (got "creds")'),
    ({**IRIS, "deploymentStrategy": {"type": "Recreate"}}, "Knative",
     f"{P}.e.deploymentStrategy: belongs to Standard mode (the predictor's Deployment); Knative rolls revisions itself "
     '(got "Recreate")'),
    ({**IRIS, "tagRouting": True}, "Standard",
     f"{P}.e.tagRouting: belongs to Knative mode (tags of Knative revisions); Standard mode has none (got true)"),
    (with_model(IRIS, port=8080, grpcPort=9000, protocolVersion="grpc-v2"), "Knative",
     f"{P}.e.model.port: is an HTTP port, but protocolVersion grpc-v2 is gRPC; set grpcPort instead (got 8080)"),
    ({**IRIS, "model": {"version": "1", "container": {"image": IMAGE, "port": 8080, "grpcPort": 9000}}}, "Knative",
     f"{P}.e.model.container.grpcPort: cannot be set together with port in Knative mode: a Knative revision's container "
     "serves one port (got 9000)"),
    ({**IRIS, "transformer": {"collocated": True, "storageUri": "s3://acme-models/models/iris-features/1",
                              "container": {"image": IMAGE, "port": 8081}}}, "Standard",
     f"{P}.e.transformer.storageUri: cannot be set on a collocated transformer: KServe's storage initializer downloads "
     'only the predictor\'s model into its pod (got "s3://acme-models/models/iris-features/1")'),
    ({**with_model(IRIS, port=8080), "transformer": {"collocated": True, "container": {"image": IMAGE}}}, "Standard",
     f"{P}.e.transformer.container.port: must differ from the model's ports (8080): both containers share the pod's "
     "network (got 8080)"),
    ({**with_model(IRIS, kmsKeyArn="arn:aws:kms:us-east-1:123456789012:key/0f1e2d3c-4b5a-6978-8091-a2b3c4d5e6f7"),
      "serviceAccountName": "own"}, "Knative",
     f"{P}.e.model.kmsKeyArn: is granted to servestack's IRSA role, which an endpoint with serviceAccountName does not "
     'get (got "arn:aws:kms:us-east-1:123456789012:key/0f1e2d3c-4b5a-6978-8091-a2b3c4d5e6f7")'),
    ({**IRIS, "model": {"version": "1", "format": "sklearn", "args": ["--x"], "container": {"image": IMAGE}}}, "Knative",
     f"{P}.e.model.format: cannot be set together with container (a custom predictor brings its own server) "
     '(got "sklearn")'),
    ({**IRIS, "model": {"version": "1", "args": ["--x"], "container": {"image": IMAGE}}}, "Knative",
     f"{P}.e.model.args: cannot be set together with container (a custom predictor brings its own server; set it "
     'under container) (got ["--x"])'),
    (with_model(LLM, formatVersion="2"), "Knative",
     f"{P}.e.model.format: no built-in runtime of KServe v0.20.0 serves huggingface version 2 with protocol v1 (KServe's "
     "default for huggingface); runtimes for huggingface: kserve-huggingfaceserver speaks v2, v1 (versions 1); "
     "kserve-huggingfaceserver-multinode speaks v2, v1 (versions 1; multi-node) (got \"huggingface\")"),
])
def test_contradictions_are_config_errors(endpoint, mode, expected):
    assert expected in problems(endpoint, mode)


def test_no_irsa_grant_for_a_service_account_override_or_a_storage_secret():
    from components.endpoint import endpoint_prefixes

    stack = parsed({"own": {**IRIS, "serviceAccountName": "hf-reader"},
                    "secret": with_model(IRIS, storageSecretName="s3-keys"),
                    "irsa": IRIS})
    assert [endpoint_prefixes(stack.endpoints[n]) for n in ("own", "secret")] == [[], []]
    assert [str(p) for p in endpoint_prefixes(stack.endpoints["irsa"])] != []
