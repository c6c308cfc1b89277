"""Every problem ``servestack:endpoints`` can have, with its exact message."""

from __future__ import annotations

import copy

import pytest

from components.config import ConfigError
from endpoint_fixtures import IRIS, IRIS_ROLLOUT, LLM, LLM_URI, parsed

P = "servestack:endpoints"


def problems(endpoints, mode="Knative") -> list[str]:
    with pytest.raises(ConfigError) as error:
        parsed(endpoints, mode)
    return [p.render() for p in error.value.problems]


def iris(**changes):
    endpoint = copy.deepcopy(IRIS)
    for path, value in changes.items():
        node = endpoint
        *parents, leaf = path.split("__")
        for part in parents:
            node = node.setdefault(part, {})
        if value is DELETE:
            del node[leaf]
        else:
            node[leaf] = value
    return endpoint


DELETE = object()
CONTAINER = {"image": "ghcr.io/acme/fraud:2.3.1", "port": 8080}


def test_valid_endpoints_parse():
    stack = parsed({"iris": {**IRIS, "rollout": IRIS_ROLLOUT}, "llm": LLM})
    assert stack.endpoints["iris"].rollout_state().traffic.candidate == 10
    assert stack.deployment_mode_of("llm") == "Knative"


# --- section-level (the endpoint does not parse) ---------------------------------------------------

@pytest.mark.parametrize("endpoint, expected", [
    (iris(canaryTrafficPercent=10),
     f"{P}.iris.canaryTrafficPercent: is KServe's Knative-mode canary field; servestack writes it from rollout.stages "
     "(Standard mode uses spec.canary[].trafficPercent instead). Declare rollout.stages (got 10)"),
    (iris(canary=[]),
     f"{P}.iris.canary: is KServe's Standard-mode canary list (spec.canary[]); servestack writes it from rollout "
     "(Knative mode uses predictor.canaryTrafficPercent instead). Declare rollout (got [])"),
    (iris(nodeSelector={"a": "b"}), f'{P}.iris.nodeSelector: is derived from the pool; set pool instead (got {{"a": "b"}})'),
    (iris(tolerations=[]), f"{P}.iris.tolerations: are derived from the pool's taints; set pool instead (got [])"),
    (iris(model={"container": {"image": "ghcr.io/acme/fraud:latest"}, "version": "1"}),
     f'{P}.iris.model.container.image: must not use the tag latest, which floats; pin a version tag or a digest (got "ghcr.io/acme/fraud:latest")'),
    (iris(model={"container": {"image": "localhost:5000/fraud"}, "version": "1"}),
     f"{P}.iris.model.container.image: must be pinned by a tag or digest (repository:1.2.3 or repository@sha256:...); "
     'an untagged image floats (got "localhost:5000/fraud")'),
    (iris(model={"container": {"image": "ghcr.io/acme/fraud@sha256:abc"}, "version": "1"}),
     f'{P}.iris.model.container.image: must pin a digest of the form @sha256:<64 hex digits> (got "ghcr.io/acme/fraud@sha256:abc")'),
    (iris(model={"container": {**CONTAINER, "env": {"MODEL-NAME": "x"}}, "version": "1"}),
     f'{P}.iris.model.container.env: must use environment variable names of letters, digits and _; not: MODEL-NAME (got {{"MODEL-NAME": "x"}})'),
    (iris(model__storageUri="http://example.com/iris"),
     f'{P}.iris.model.storageUri: must start with one of s3://, oci://, hf://, pvc://, gs://, https://, hdfs://, webhdfs:// (got "http://example.com/iris")'),
    (iris(model__storageUri="s3://acme-models/iris.joblib"),
     f"{P}.iris.model.storageUri: must name a model under a prefix (s3://bucket/models/<model>/<version>): the endpoint "
     'may read only that prefix, never a whole bucket (got "s3://acme-models/iris.joblib")'),
    (iris(model__storageUri="s3://Acme_Models/models/iris/1"),
     f'{P}.iris.model.storageUri: must name a valid S3 bucket (s3://bucket/prefix/...) (got "s3://Acme_Models/models/iris/1")'),
    (iris(model__storageUri="hf://meta-llama/Llama-3.1-8B-Instruct"),
     f"{P}.iris.model.storageUri: must pin a revision, hf://<org>/<model>:<commit hash>: without one KServe downloads "
     "whatever the repository's main branch holds when each pod starts, so replicas of one version can serve different "
     'weights (got "hf://meta-llama/Llama-3.1-8B-Instruct")'),
    (iris(model__storageUri="hf://meta-llama/Llama-3.1-8B-Instruct:"),
     f"{P}.iris.model.storageUri: must pin a revision, hf://<org>/<model>:<commit hash>: without one KServe downloads "
     "whatever the repository's main branch holds when each pod starts, so replicas of one version can serve different "
     'weights (got "hf://meta-llama/Llama-3.1-8B-Instruct:")'),
    (iris(model__storageUri="hf://meta-llama/Llama-3.1-8B-Instruct:main"),
     f"{P}.iris.model.storageUri: must pin the revision by its full 40-character commit hash (hf://<org>/<model>:<commit "
     'hash>); a branch or tag name can move (got "hf://meta-llama/Llama-3.1-8B-Instruct:main")'),
    (iris(model__storageUri="hf://meta-llama/Llama-3.1-8B-Instruct:0e9e39f2"),
     f"{P}.iris.model.storageUri: must pin the revision by its full 40-character commit hash (hf://<org>/<model>:<commit "
     'hash>); a branch or tag name can move (got "hf://meta-llama/Llama-3.1-8B-Instruct:0e9e39f2")'),
    (iris(model__storageUri=f"hf://Llama-3.1-8B-Instruct:{'a' * 40}"),
     f"{P}.iris.model.storageUri: must be hf://<org>/<model>:<commit hash> (KServe's Hugging Face syntax: one '/' between "
     f'organization and model) (got "hf://Llama-3.1-8B-Instruct:{"a" * 40}")'),
    (iris(model__storageUri=f"hf://meta-llama/models/Llama:{'a' * 40}"),
     f"{P}.iris.model.storageUri: must be hf://<org>/<model>:<commit hash> (KServe's Hugging Face syntax: one '/' between "
     f'organization and model) (got "hf://meta-llama/models/Llama:{"a" * 40}")'),
    (iris(rollout={**IRIS_ROLLOUT, "candidate": {"version": "2", "storageUri": "hf://acme/iris"}}),
     f"{P}.iris.rollout.candidate.storageUri: must pin a revision, hf://<org>/<model>:<commit hash>: without one KServe "
     "downloads whatever the repository's main branch holds when each pod starts, so replicas of one version can serve "
     'different weights (got "hf://acme/iris")'),
    (iris(model__kmsKeyArn="arn:aws:kms:us-east-1:123456789012:alias/models"),
     f"{P}.iris.model.kmsKeyArn: must be the full ARN of a KMS key, arn:aws:kms:<region>:<account>:key/<key id> (not an "
     'alias: IAM authorizes kms:Decrypt by the key\'s ARN) (got "arn:aws:kms:us-east-1:123456789012:alias/models")'),
    (iris(model__kmsKeyArn="1234abcd-12ab-34cd-56ef-1234567890ab"),
     f"{P}.iris.model.kmsKeyArn: must be the full ARN of a KMS key, arn:aws:kms:<region>:<account>:key/<key id> (not an "
     'alias: IAM authorizes kms:Decrypt by the key\'s ARN) (got "1234abcd-12ab-34cd-56ef-1234567890ab")'),
    (iris(model__version="1.0 beta"), f'{P}.iris.model.version: must match the pattern ^[A-Za-z0-9]([A-Za-z0-9._-]{{0,61}}[A-Za-z0-9])?$ (got "1.0 beta")'),
    (iris(model__format="keras flow"), f'{P}.iris.model.format: must match the pattern ^[A-Za-z0-9]([A-Za-z0-9._-]{{0,61}}[A-Za-z0-9])?$ (got "keras flow")'),
    (iris(model__protocolVersion="v3"), f'{P}.iris.model.protocolVersion: must be one of v1, v2, grpc-v1 or grpc-v2 (got "v3")'),
    (iris(resources={"requests": {"cpu": "half"}}), f'{P}.iris.resources.requests.cpu: must be a CPU quantity such as 500m or 2 (got "half")'),
    (iris(resources={"limits": {"memory": "2GB"}}), f'{P}.iris.resources.limits.memory: must be a memory quantity such as 512Mi or 4Gi (got "2GB")'),
    (iris(rollout={**IRIS_ROLLOUT, "stages": [50, 10, 100]}), f"{P}.iris.rollout.stages: must be strictly increasing (got [50, 10, 100])"),
    (iris(rollout={**IRIS_ROLLOUT, "stages": [10, 50]}),
     f"{P}.iris.rollout.stages: must end at 100 in Knative mode (the candidate takes all traffic before it is promoted) "
     "(got [10, 50])"),
    (iris(rollout={**IRIS_ROLLOUT, "stages": [0, 100]}),
     f"{P}.iris.rollout.stages: must be percents from 1 to 100 in Knative mode: a candidate revision at 0% receives no "
     "requests and has no address of its own (KServe tags it only with tag routing, which servestack does not enable); "
     "0 is Standard mode's blue/green stage (got [0, 100])"),
    (iris(rollout={**IRIS_ROLLOUT, "stages": [-1, 100]}), f"{P}.iris.rollout.stages: must be percents from 0 to 100 (got [-1, 100])"),
    (iris(logger={"url": "kafka://sink"}), f'{P}.iris.logger.url: must match the pattern ^https?://[^\\s]+$ (got "kafka://sink")'),
    (iris(accelerators=-1), f"{P}.iris.accelerators: must be >= 0 (got -1)"),
    (iris(deploymentMode="Serverless"), f'{P}.iris.deploymentMode: must be one of Knative or Standard (got "Serverless")'),
])
def test_field_problems(endpoint, expected):
    assert problems({"iris": endpoint}) == [expected]


def test_unknown_setting_lists_the_allowed_ones():
    [line] = problems({"iris": iris(replicas=2)})
    assert line == (f"{P}.iris.replicas: is not a known setting; allowed here: pool, model, namespace, deploymentMode, "
                    "resources, accelerators, autoscaling, startupTimeoutMinutes, containerConcurrency, timeoutSeconds, "
                    "transformer, explainer, logger, batcher, rollout, allowInPlaceUpdate, prometheusScraping, visibility, "
                    "tagRouting, deploymentStrategy, podLabels, podAnnotations, serviceAccountName (got 2)")


def test_endpoint_names_are_dns_labels():
    [line] = problems({"Iris_1": IRIS})
    assert line == (f"{P}.Iris_1: an endpoint name must start with a lowercase letter and hold only lowercase letters, "
                    "digits and '-', at most 45 characters (it names the InferenceService, and KServe derives longer names from it)")


# --- model-level checks (problems()) ---------------------------------------------------------------

@pytest.mark.parametrize("endpoint, expected", [
    (iris(model={"version": "1", "storageUri": "s3://acme-models/models/iris/1"}),
     [f"{P}.iris.model.format: is required unless container is set (a custom predictor)"]),
    (iris(model={"version": "1", "format": "sklearn", "container": CONTAINER}),
     [f'{P}.iris.model.format: cannot be set together with container (a custom predictor brings its own server) (got "sklearn")']),
    (iris(model={"version": "1", "format": "sklearn"}), [f"{P}.iris.model.storageUri: is required for a sklearn model (or storage: KServe's storage spec)"]),
    (iris(model__format="keras"),
     [f"{P}.iris.model.format: no built-in runtime of KServe v0.20.0 declares model format 'keras' (formats with a built-in "
      "runtime: autogluon, huggingface, lightgbm, mlflow, onnx, paddle, pmml, pytorch, sklearn, tensorflow, tensorrt, triton, "
      'vLLM, xgboost); a format of your own needs runtime: the name of the ClusterServingRuntime that serves it (got "keras")']),
    (iris(model={"version": "1", "format": "huggingface", "storageUri": LLM_URI,
                 "kmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"}),
     [f"{P}.iris.model.kmsKeyArn: applies to s3:// models only (objects encrypted with SSE-KMS); the storageUri is "
      f'{LLM_URI} (got "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab")']),
    (iris(model={"version": "1", "container": CONTAINER,
                 "kmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"}),
     [f"{P}.iris.model.kmsKeyArn: applies to s3:// models only (objects encrypted with SSE-KMS); the storageUri is not "
      'set (got "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab")']),
    (iris(model__protocolVersion="grpc-v1"),
     [f"{P}.iris.model.protocolVersion: no built-in runtime of KServe v0.20.0 serves sklearn with protocol grpc-v1; runtimes "
      "for sklearn: kserve-mlserver speaks v2 (versions 0, 1); kserve-predictiveserver speaks v1, v2 (versions 1; no "
      'autoSelect); kserve-sklearnserver speaks v1, v2 (versions 1) (got "grpc-v1")']),
    (iris(model__runtime="kserve-tritonserver"),
     [f"{P}.iris.model.runtime: runtime kserve-tritonserver does not serve sklearn; runtimes for sklearn: kserve-mlserver "
      "speaks v2 (versions 0, 1); kserve-predictiveserver speaks v1, v2 (versions 1; no autoSelect); kserve-sklearnserver "
      'speaks v1, v2 (versions 1) (got "kserve-tritonserver")']),
    (iris(model={"version": "1", "format": "onnx", "protocolVersion": "v1", "storageUri": "s3://acme-models/models/iris/1"}),
     [f"{P}.iris.model.protocolVersion: no built-in runtime of KServe v0.20.0 serves onnx with protocol v1; runtimes for "
      'onnx: kserve-tritonserver speaks v2, grpc-v2 (versions 1) (got "v1")']),
    (iris(resources={"requests": {"cpu": "2", "memory": "4Gi"}, "limits": {"cpu": "1", "memory": "2Gi"}}),
     [f'{P}.iris.resources.requests.cpu: must not exceed limits.cpu (1) (got "2")',
      f'{P}.iris.resources.requests.memory: must not exceed limits.memory (2Gi) (got "4Gi")']),
    (iris(autoscaling={"minReplicas": 5, "maxReplicas": 2}), [f"{P}.iris.autoscaling.minReplicas: must not exceed maxReplicas (2) (got 5)"]),
    (iris(autoscaling={"scaleTarget": 10}), [f"{P}.iris.autoscaling.scaleTarget: needs scaleMetric (the metric the target is for) (got 10)"]),
    (iris(autoscaling={"scaleMetric": "cpu", "scaleTarget": 150}),
     [f"{P}.iris.autoscaling.scaleTarget: is a utilization percent for cpu; must be <= 100 (got 150)"]),
    (iris(explainer={"type": "custom"}), [f"{P}.iris.explainer.container: is required for a custom explainer"]),
    (iris(explainer={"type": "art", "container": CONTAINER}),
     [f"{P}.iris.explainer.container: cannot be set for the art explainer (KServe provides its image); use type: custom"]),
    (iris(explainer={"type": "custom", "container": CONTAINER, "config": {"a": "b"}}),
     [f'{P}.iris.explainer.config: is for the art explainer; pass settings to a custom explainer as container args (got {{"a": "b"}})']),
    (iris(rollout={**IRIS_ROLLOUT, "candidate": {"version": "1.0.0", "storageUri": "s3://acme-models/models/iris/1.1.0"}}),
     [f'{P}.iris.rollout.candidate.version: must differ from the stable model\'s version (got "1.0.0")']),
    (iris(rollout={**IRIS_ROLLOUT, "candidate": {"version": "1.1.0", "image": "ghcr.io/acme/iris:1.1.0"}}),
     [f'{P}.iris.rollout.candidate.image: is for a custom predictor container; this model has a format (got "ghcr.io/acme/iris:1.1.0")']),
    (iris(rollout={**IRIS_ROLLOUT, "candidate": {"version": "1.1.0"}}),
     [f"{P}.iris.rollout.candidate: must change storageUri or image: otherwise the candidate serves the stable model"]),
    (iris(rollout={**IRIS_ROLLOUT, "candidate": {"version": "1.1.0", "storageUri": "s3://acme-models/models/iris/1.0.0"}}),
     [f'{P}.iris.rollout.candidate.storageUri: must differ from the stable model\'s storageUri (got "s3://acme-models/models/iris/1.0.0")']),
    (iris(rollout={**IRIS_ROLLOUT, "stage": 4}), [f"{P}.iris.rollout.stage: must be between 1 and 3 (the number of stages) (got 4)"]),
])
def test_model_problems(endpoint, expected):
    assert problems({"iris": endpoint}) == expected


# --- checks against the pools and the deployment mode (StackConfig.problems) ------------------------

@pytest.mark.parametrize("endpoints, expected", [
    ({"iris": iris(pool="cpu")}, [f'{P}.iris.pool: names no node pool; pools: fpga, gpu, gpu4, neuron, system (got "cpu")']),
    ({"iris": iris(accelerators=1)},
     [f"{P}.iris.accelerators: pool system has no accelerators (CPU-only instance types m7i.large); "
      "place the endpoint on an nvidia, neuron or fpga pool (got 1)"]),
    ({"llm": {**LLM, "accelerators": 0}},
     [f"{P}.llm.accelerators: pool gpu is a nvidia pool; request at least 1 (nvidia.com/gpu) or place the endpoint on a CPU pool (got 0)"]),
    ({"llm": {**LLM, "accelerators": 2}},
     [f"{P}.llm.accelerators: exceeds the 1 nvidia accelerator(s) (nvidia.com/gpu) of one node of pool gpu (g6.xlarge, g5.xlarge); "
      "one replica must fit on one node (got 2)"]),
    ({"llm": {**LLM, "pool": "neuron", "accelerators": 2}},
     [f"{P}.llm.accelerators: exceeds the 1 neuron accelerator(s) (aws.amazon.com/neuron) of one node of pool neuron (inf2.xlarge); "
      "one replica must fit on one node (got 2)"]),
    ({"iris": iris(resources={"requests": {"cpu": "3", "memory": "16Gi"}, "limits": {"cpu": "4", "memory": "32Gi"}})},
     [f'{P}.iris.resources.requests.cpu: exceeds the 2 vCPUs of the smallest node of pool system (got "3")',
      f'{P}.iris.resources.requests.memory: exceeds the 8192Mi memory of the smallest node of pool system (got "16Gi")']),
    ({"llm": {k: v for k, v in LLM.items() if k != "startupTimeoutMinutes"}},
     [f"{P}.llm.startupTimeoutMinutes: must be set to at least 10 when an endpoint on nvidia pool gpu scales to zero "
      "(autoscaling.minReplicas 0): a node must launch, join and pull the image before the first request is answered"]),
    ({"llm": {**LLM, "startupTimeoutMinutes": 5}},
     [f"{P}.llm.startupTimeoutMinutes: must be set to at least 10 when an endpoint on nvidia pool gpu scales to zero "
      "(autoscaling.minReplicas 0): a node must launch, join and pull the image before the first request is answered (got 5)"]),
    ({"iris": iris(rollout={**IRIS_ROLLOUT, "candidateReplicas": 2})},
     [f"{P}.iris.rollout.candidateReplicas: belongs to Standard mode (spec.canary[].predictor.minReplicas); in Knative mode "
      "the candidate revision scales with the predictor's autoscaling and canaryTrafficPercent has no replica count (got 2)"]),
])
def test_stack_problems(endpoints, expected):
    assert problems(endpoints) == expected


def test_knative_only_settings_in_standard_mode():
    endpoint = iris(autoscaling={"minReplicas": 0, "maxReplicas": 2, "scaleMetric": "concurrency", "scaleTarget": 4},
                    containerConcurrency=8, startupTimeoutMinutes=15)
    expected = [
        f"{P}.iris.autoscaling.minReplicas: 0 (scale to zero) belongs to Knative mode; Standard mode keeps at least one replica per Deployment (got 0)",
        f'{P}.iris.autoscaling.scaleMetric: concurrency belongs to Knative mode (Knative Pod Autoscaler); Standard mode scales on cpu or memory (got "concurrency")',
        f"{P}.iris.containerConcurrency: belongs to Knative mode (the revision's hard concurrency limit); Standard mode ignores it (got 8)",
        f"{P}.iris.startupTimeoutMinutes: belongs to Knative mode (serving.knative.dev/progress-deadline of the revision); Standard mode ignores it (got 15)",
    ]
    assert problems({"iris": endpoint}, mode="Standard") == expected
    # the endpoint's own mode wins over the platform's
    assert problems({"iris": {**endpoint, "deploymentMode": "Standard"}}, mode="Knative") == expected
    assert parsed({"iris": {**endpoint, "deploymentMode": "Standard", "autoscaling": {"minReplicas": 1}, "containerConcurrency": None,
                            "startupTimeoutMinutes": None}}, mode="Knative").deployment_mode_of("iris") == "Standard"


BLUE_GREEN = {**IRIS_ROLLOUT, "stages": [0]}


def test_candidate_replicas_are_fine_in_standard_mode():
    stack = parsed({"iris": iris(rollout={**BLUE_GREEN, "candidateReplicas": 2}, autoscaling={"minReplicas": 2, "maxReplicas": 4})},
                   mode="Standard")
    assert stack.endpoints["iris"].rollout.candidate_replicas == 2


STANDARD_STAGES = ("must all be 0 in Standard mode: KServe v0.20.0 routes no traffic to spec.canary[] (every request "
                   "goes to the stable predictor; weighted routing came later, with kserve/kserve#5912). Use stages [0] "
                   "for a blue/green cutover (the candidate runs beside the stable model, reachable through its own "
                   "predictor service, and promote switches all traffic), or Knative mode for traffic stages")


@pytest.mark.parametrize("endpoint, expected", [
    (iris(rollout=IRIS_ROLLOUT), [f"{P}.iris.rollout.stages: {STANDARD_STAGES} (got [10, 50, 100])"]),
    (iris(rollout={**BLUE_GREEN, "stages": [0, 100]}), [f"{P}.iris.rollout.stages: {STANDARD_STAGES} (got [0, 100])"]),
    # KServe's webhook: a canary's minReplicas must not exceed the stable predictor's
    (iris(rollout={**BLUE_GREEN, "candidateReplicas": 3}, autoscaling={"minReplicas": 2, "maxReplicas": 4}),
     [f"{P}.iris.rollout.candidateReplicas: must not exceed autoscaling.minReplicas (2): KServe's webhook refuses a "
      "canary whose minReplicas exceeds the stable predictor's (got 3)"]),
    # both versions would name the same Standard-mode predictor
    (iris(rollout={**BLUE_GREEN, "candidate": {"version": "1-0-0", "storageUri": "s3://acme-models/models/iris/1.1.0"}}),
     [f"{P}.iris.rollout.candidate.version: must differ from the stable version 1.0.0 in more than punctuation or case "
      'in Standard mode (both name the predictor v1-0-0) (got "1-0-0")']),
    # KServe's webhook: a canary needs a stable predictor with a model or a storage URI
    ({"pool": "system", "model": {"version": "1", "container": {"image": "ghcr.io/acme/echo:1.0.0"}},
      "rollout": {"candidate": {"version": "2", "image": "ghcr.io/acme/echo:2.0.0"}, "stages": [0]}},
     [f"{P}.iris.rollout: needs model.storageUri in Standard mode: KServe's webhook refuses a spec.canary[] unless the "
      "stable predictor has a model or a storage URI (a custom container without one has neither)"]),
])
def test_standard_mode_rollouts_that_kserve_would_refuse_or_not_route(endpoint, expected):
    assert problems({"iris": endpoint}, mode="Standard") == expected


def test_a_blue_green_rollout_is_valid_in_standard_mode_and_its_candidate_replicas_may_equal_the_stable_minimum():
    stack = parsed({"iris": iris(rollout={**BLUE_GREEN, "candidateReplicas": 1})}, mode="Standard")
    assert stack.endpoints["iris"].rollout_state().traffic.candidate == 0
    assert parsed({"iris": iris(rollout=BLUE_GREEN)}, mode="Standard").endpoints["iris"].rollout.candidate_replicas is None


def test_all_problems_are_reported_together():
    lines = problems({"iris": iris(pool="cpu"), "llm": {**LLM, "accelerators": 2}, "wine": iris(accelerators=1)})
    assert [line.split(":", 2)[1] for line in lines] == ["endpoints.iris.pool", "endpoints.llm.accelerators", "endpoints.wine.accelerators"]


def test_endpoint_namespace_must_be_the_platforms():
    assert problems({"iris": iris(namespace="serving")}) == [
        f"{P}.iris.namespace: is not one of the platform's endpoint namespaces (models); add it to "
        'servestack:platform.endpointNamespaces (got "serving")']


def test_a_knative_mode_endpoint_on_a_platform_without_knative_is_refused():
    # A Standard platform installs Envoy Gateway and the Gateway API, no Knative Serving: KServe's
    # Knative Service for this endpoint would have no CRD, and the InferenceService would never be ready.
    assert problems({"iris": iris(deploymentMode="Knative")}, mode="Standard") == [
        f"{P}.iris.deploymentMode: Knative mode needs Knative Serving, which this platform does not install "
        "(servestack:platform.kserve.deploymentMode is Standard: the platform installs Envoy Gateway and the Gateway API, "
        'not Knative); use deploymentMode Standard, or run the platform in Knative mode (got "Knative")']
    assert parsed({"iris": iris(deploymentMode="Standard")}, mode="Knative").endpoints["iris"].deployment_mode == "Standard"


def test_knative_installed_follows_what_the_platform_installs():
    from components.config.platform import PlatformConfig

    assert PlatformConfig.model_validate({}).knative_installed is True
    assert PlatformConfig.model_validate({"kserve": {"deploymentMode": "Standard"}}).knative_installed is False
    assert PlatformConfig.model_validate({"kubeflow": {"enabled": True}}).knative_installed is True


def test_kubeflows_kserve_serves_only_knative_mode():
    from endpoint_fixtures import config
    from components.config.stack import parse_stack_config

    raw = config({"iris": iris(deploymentMode="Standard")})
    raw["servestack:platform"] = {"kubeflow": {"enabled": True}}
    with pytest.raises(ConfigError) as error:
        parse_stack_config("test", raw)
    assert [p.render() for p in error.value.problems] == [
        f"{P}.iris.deploymentMode: Standard mode needs the standalone KServe: Kubeflow's KServe v0.16.0 runs endpoints "
        'in Knative mode (got "Standard")']
    # ... and the Kubeflow platform's default mode is Knative, whatever kserve.deploymentMode would say
    raw["servestack:endpoints"] = {"iris": iris(rollout={**IRIS_ROLLOUT, "candidateReplicas": 2})}
    with pytest.raises(ConfigError, match="rollout.candidateReplicas: belongs to Standard mode"):
        parse_stack_config("test", raw)


# ----------------------------------------------------------------------------- S3 outside the model

TRANSFORMER_IMAGE = "ghcr.io/acme/fraud-features:1.4.2"


def test_a_transformer_reading_s3_itself_is_refused_because_it_has_no_aws_credentials():
    transformer = {"container": {"image": TRANSFORMER_IMAGE, "args": ["--vocab=s3://acme-models/vocab/3/vocab.txt", "--port=8080"],
                                 "env": {"FEATURES": "S3://acme-models/features/7", "LOG_LEVEL": "info"}}}
    reason = ("reads S3, but the transformer's code has no AWS credentials (pods reach AWS only through an IRSA service "
              "account, which servestack gives the transformer for transformer.storageUri alone); put the artifact under "
              "transformer.storageUri, which KServe downloads to /mnt/models")
    assert problems({"iris": iris(transformer=transformer)}) == [
        f'{P}.iris.transformer.container.args[0]: {reason} (got "--vocab=s3://acme-models/vocab/3/vocab.txt")',
        f'{P}.iris.transformer.container.env.FEATURES: {reason} (got "S3://acme-models/features/7")',
    ]


def test_a_transformers_storage_uri_variable_must_be_transformer_storage_uri():
    transformer = {"container": {"image": TRANSFORMER_IMAGE, "env": {"STORAGE_URI": "s3://acme-models/vocab/3"}}}
    assert problems({"iris": iris(transformer=transformer)}) == [
        f"{P}.iris.transformer.container.env.STORAGE_URI: is written by servestack from transformer.storageUri; set that "
        'instead (an s3:// URI is then read with the endpoint\'s service account) (got "s3://acme-models/vocab/3")']


def test_a_transformers_storage_uri_is_checked_like_a_models():
    transformer = {"container": {"image": TRANSFORMER_IMAGE}, "storageUri": "s3://acme-models/vocab"}
    assert problems({"iris": iris(transformer=transformer)}) == [
        f"{P}.iris.transformer.storageUri: must name a model under a prefix (s3://bucket/models/<model>/<version>): the "
        'endpoint may read only that prefix, never a whole bucket (got "s3://acme-models/vocab")']
    ok = {"container": {"image": TRANSFORMER_IMAGE}, "storageUri": "s3://acme-models/vocab/3"}
    assert parsed({"iris": iris(transformer=ok)}).endpoints["iris"].transformer.storage_uri == "s3://acme-models/vocab/3"


def test_a_custom_explainer_reading_s3_is_refused():
    explainer = {"type": "custom", "container": {"image": "ghcr.io/acme/explain:1.0.0", "args": ["--background=s3://acme-models/bg/1"]}}
    assert problems({"iris": iris(explainer=explainer)}) == [
        f"{P}.iris.explainer.container.args[0]: reads S3, but the explainer has no AWS credentials (pods reach AWS only "
        "through an IRSA service account; servestack gives one to the predictor and to a transformer with an s3:// "
        'storageUri, not to the explainer) (got "--background=s3://acme-models/bg/1")']


# ----------------------------------------------------------------------------- runtimes of the platform's KServe


def kubeflow_problems(endpoint) -> list[str]:
    from endpoint_fixtures import config
    from components.config.stack import parse_stack_config

    raw = config({"m": endpoint})
    raw["servestack:platform"] = {"kubeflow": {"enabled": True}}
    with pytest.raises(ConfigError) as error:
        parse_stack_config("test", raw)
    return [p.render() for p in error.value.problems]


def test_vllm_is_kserves_spelling_and_the_lowercase_one_is_accepted():
    stack = parsed({"a": {**LLM, "model": {**LLM["model"], "format": "vLLM"}}, "b": {**LLM, "model": {**LLM["model"], "format": "vllm"}}})
    assert [stack.endpoints[n].model.format for n in ("a", "b")] == ["vLLM", "vllm"]  # rendered as vLLM: see the manifest tests


def test_kubeflows_kserve_has_no_vllm_runtime():
    llm = {**LLM, "model": {**LLM["model"], "format": "vllm"}}
    assert kubeflow_problems(llm) == [
        f"{P}.m.model.format: no built-in runtime of KServe v0.16.0 declares model format 'vllm' (formats with a built-in "
        "runtime: huggingface, lightgbm, mlflow, onnx, paddle, pmml, pytorch, sklearn, tensorflow, tensorrt, triton, xgboost); "
        'a format of your own needs runtime: the name of the ClusterServingRuntime that serves it (got "vllm")']
    named = {**LLM, "model": {**LLM["model"], "format": "vLLM", "runtime": "kserve-vllmserver"}}
    assert kubeflow_problems(named) == [
        f"{P}.m.model.runtime: is a built-in runtime of another KServe release; KServe v0.16.0, which serves this platform, "
        "has: kserve-huggingfaceserver, kserve-huggingfaceserver-multinode, kserve-lgbserver, kserve-mlserver, "
        "kserve-paddleserver, kserve-pmmlserver, kserve-sklearnserver, kserve-tensorflow-serving, kserve-torchserve, "
        'kserve-tritonserver, kserve-xgbserver (got "kserve-vllmserver")']


LONG_STABLE, LONG_CANDIDATE = "2.5-7b-instruct-awq", "2.5-7b-instruct-awq-r2"


@pytest.mark.parametrize("mode, stages", [("Knative", [10, 50, 100]), ("Standard", [0])])
def test_versions_that_differ_after_the_twentieth_character_are_both_valid(mode, stages):
    endpoint = iris(model__version=LONG_STABLE,
                    rollout={"candidate": {"version": LONG_CANDIDATE, "storageUri": "s3://acme-models/models/iris/r2"},
                             "stages": stages})
    assert parsed({"iris": endpoint}, mode).endpoints["iris"].rollout.candidate.version == LONG_CANDIDATE


def test_versions_that_differ_only_in_punctuation_are_valid_in_knative_mode_where_no_predictor_is_named():
    endpoint = iris(rollout={**IRIS_ROLLOUT, "candidate": {"version": "1-0-0", "storageUri": "s3://acme-models/models/iris/1.1.0"}})
    assert parsed({"iris": endpoint}).endpoints["iris"].rollout.candidate.version == "1-0-0"
