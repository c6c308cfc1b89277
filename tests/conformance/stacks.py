"""The stacks the conformance layer judges: the repository's dev, staging and prod, and generated
feature stacks that together use every endpoint setting.

Each generated stack is written as ``stacks/Pulumi.<name>.yaml`` of a scratch project (a temporary
directory whose program is the repository's ``__main__.py``) and planned from there, exactly as
``servestack plan`` would plan a user's stack. Every stack is planned once per test process (a
fresh program run with its own mock monitor); the tests only read the finished plan document.

Rollout states are produced by ``servestack rollout``'s own moves (``apply_move``) on one endpoint,
and each state becomes an endpoint of its own (``<base>-0-steady``, ``<base>-1-start``...), so one
plan holds the whole sequence; :func:`rollout_sequences` says which endpoints form a sequence.
The states are those each deployment mode allows (:data:`ROLLOUT_STATES`): traffic stages in
Knative mode, a blue/green candidate at 0% in Standard mode (components.core.rollout.stages_problem).
"""

from __future__ import annotations

import copy
import tempfile
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from harness import PROJECT, REPO, REPOSITORY_STACKS, stack_config
from servestack.plan import Plan, build_plan, load_project

from .llm_stacks import STACK as STACK_LLM
from .llm_stacks import llm_surface_config

ACCOUNT = "123456789012"
ECR = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com"
BUCKET = "s3://acme-conformance-models/models"
#: The SSE-KMS key of the model bucket (an endpoint's read role may decrypt with it, through S3 only).
KMS_KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"

POOLS_ALL_KINDS = {
    "system": {"instanceTypes": ["m7i.large"], "minSize": 2},
    "gpu": {"instanceTypes": ["g6.xlarge"], "minSize": 0, "maxSize": 12},
    "neuron": {"instanceTypes": ["inf2.xlarge"], "minSize": 0, "maxSize": 6},
    "fpga": {"instanceTypes": ["f2.6xlarge"], "minSize": 0, "maxSize": 3, "amiId": "ami-0a1b2c3d4e5f60718",
             "devicePlugin": {"image": f"{ECR}/fpga-device-plugin:1.0.0", "resourceName": "servestack.io/fpga"}},
}
POOLS_CPU_ONLY = {"system": POOLS_ALL_KINDS["system"]}

#: Formats whose models need an accelerator in the feature stacks (the rest run on the CPU pool).
GPU_FORMATS = frozenset({"triton", "tensorrt", "huggingface", "vLLM"})


def builtin_formats(kserve_version: str) -> tuple[str, ...]:
    """Every model format a built-in runtime of that KServe declares (from the vendored runtimes)."""
    from components.core.kserve_runtimes import builtin_runtimes

    return tuple(sorted({f.name for r in builtin_runtimes(kserve_version) for f in r.supported_model_formats}))


LOGGER = {"mode": "all", "url": "http://payload-logger.observability.svc.cluster.local/events"}
GPU_RESOURCES = {"requests": {"cpu": "2", "memory": "8Gi"}, "limits": {"cpu": "4", "memory": "12Gi"}}


def _model(fmt: str, name: str, version: str = "1.0.0", **extra: Any) -> dict[str, Any]:
    return {"format": fmt, "storageUri": f"{BUCKET}/{name}/{version}", "version": version, **extra}


def _endpoint(pool: str, model: dict[str, Any], **extra: Any) -> dict[str, Any]:
    endpoint: dict[str, Any] = {"pool": pool, "model": model}
    if pool != "system":
        endpoint.update(accelerators=1, resources=copy.deepcopy(GPU_RESOURCES))
    endpoint.update(extra)
    return endpoint


def format_endpoints(kserve_version: str) -> dict[str, dict[str, Any]]:
    """One endpoint per format the KServe serves (protocol left to KServe, spelled as its runtime
    declares it), plus explicit-protocol variants and a lower-case ``vllm`` with the runtime named."""
    formats = builtin_formats(kserve_version)
    endpoints = {f"fmt-{fmt.lower()}": _endpoint("gpu" if fmt in GPU_FORMATS else "system", _model(fmt, fmt.lower()))
                 for fmt in formats}
    endpoints["fmt-sklearn-v2"] = _endpoint("system", _model("sklearn", "sklearn-v2", protocolVersion="v2"))
    endpoints["fmt-tensorflow-v2"] = _endpoint("system", _model("tensorflow", "tensorflow-v2", protocolVersion="v2"))
    endpoints["fmt-onnx-v2"] = _endpoint("system", _model("onnx", "onnx-v2", protocolVersion="v2"))
    if "vLLM" in formats:
        # A built-in format may be written in any case; it is rendered as the runtime declares it.
        endpoints["fmt-vllm-lower"] = _endpoint("gpu", _model("vllm", "vllm-lower", runtime="kserve-vllmserver"))
    return endpoints


def feature_endpoints(*, standard: bool) -> dict[str, dict[str, Any]]:
    """Container models on every accelerator kind, transformer, explainers, logger, batcher."""
    knative_only = {} if standard else {"containerConcurrency": 8, "startupTimeoutMinutes": 15}
    return {
        "full": _endpoint("system", _model("xgboost", "full", protocolVersion="v2", kmsKeyArn=KMS_KEY),
                          autoscaling={"minReplicas": 2, "maxReplicas": 6, "scaleMetric": "cpu", "scaleTarget": 70},
                          timeoutSeconds=30,
                          transformer={"container": {"image": f"{ECR}/ml/features:1.8.0", "args": ["--store=feast"], "port": 8080},
                                       "storageUri": f"{BUCKET}/full-features/1.8.0",
                                       "resources": {"requests": {"cpu": "250m", "memory": "512Mi"},
                                                     "limits": {"cpu": "1", "memory": "1Gi"}},
                                       "podLabels": {"tier": "pre"}, "podAnnotations": {"sidecar.istio.io/inject": "true"},
                                       "autoscaling": {"minReplicas": 1, "maxReplicas": 4, "scaleMetric": "cpu", "scaleTarget": 60},
                                       "deploymentStrategy": {"type": "RollingUpdate", "maxSurge": 1}},
                          explainer={"type": "art", "artType": "SquareAttack", "config": {"nb_classes": "2"},
                                     "resources": {"requests": {"cpu": "500m", "memory": "1Gi"},
                                                   "limits": {"cpu": "1", "memory": "2Gi"}},
                                     "autoscaling": {"minReplicas": 1, "maxReplicas": 2},
                                     "podLabels": {"tier": "explain"}, "podAnnotations": {"sidecar.istio.io/inject": "false"}},
                          podLabels={"team": "fraud"}, podAnnotations={"acme.com/cost-center": "42"},
                          logger=LOGGER, batcher={"maxBatchSize": 16, "maxLatencyMs": 50}),
        "custom-explainer": _endpoint("system", _model("sklearn", "custom-explainer"),
                                      explainer={"type": "custom", "container": {"image": f"{ECR}/ml/explain:2.0.1"}},
                                      logger={"mode": "request", "url": LOGGER["url"]}),
        "ctr-cpu": _endpoint("system", {"container": {"image": f"{ECR}/ml/scorer:3.1.0", "port": 8080,
                                                      "env": {"WORKERS": "2"}, "args": ["--serve"]},
                                        "version": "3.1.0"}, **knative_only),
        "ctr-nvidia": _endpoint("gpu", {"container": {"image": f"{ECR}/ml/gpu-scorer:1.0.0"},
                                        "storageUri": f"{BUCKET}/gpu-scorer/1.0.0", "version": "1.0.0"}),
        "ctr-neuron": _endpoint("neuron", {"container": {"image": f"{ECR}/ml/summarizer-neuronx:0.9.2", "port": 8080},
                                           "storageUri": f"{BUCKET}/summarizer/0.9.2", "version": "0.9.2"}),
        "ctr-fpga": _endpoint("fpga", {"container": {"image": f"{ECR}/ml/anomaly-fpga:1.2.0", "port": 8080},
                                       "storageUri": f"{BUCKET}/anomaly/1.2.0", "version": "1.2.0"}),
        **surface_endpoints(standard=standard),
    }


def surface_endpoints(*, standard: bool) -> dict[str, dict[str, Any]]:
    """The InferenceService surface beyond format and storage: args, command, env references, ports
    (HTTP and h2c), probes, runtimeVersion, modelFormat.version, storage spec, https://, storage secrets,
    Prometheus, visibility, tag routing (Knative), deploymentStrategy (Standard), a service account of
    the user's, a collocated transformer, and vLLM through both built-in runtimes."""
    mode_only = {"deploymentStrategy": {"type": "RollingUpdate", "maxSurge": 1, "maxUnavailable": "0%"}} if standard \
        else {"tagRouting": True}
    probe = {"port": 8080, "httpPath": "/v2/health/ready", "periodSeconds": 5, "initialDelaySeconds": 10,
             "timeoutSeconds": 2}
    return {
        "sf-hf-vllm": _endpoint("gpu", _model("huggingface", "sf-hf-vllm", formatVersion="1", args=[
            "--model_name=sf-hf-vllm", "--backend=vllm", "--max-model-len=4096"],
            env={"HF_TOKEN": {"secretKeyRef": {"name": "hf-secret", "key": "HF_TOKEN"}}}),
            serviceAccountName="hf-reader", prometheusScraping=True, visibility="cluster-local", **mode_only),
        "sf-vllm": _endpoint("gpu", _model("vLLM", "sf-vllm", runtime="kserve-vllmserver", runtimeVersion="0.11.0",
                                           command=["python", "-m", "vllm.entrypoints.openai.api_server"],
                                           args=["--max-model-len=4096"], startupProbe={**probe, "httpPath": "/health",
                                                                                        "failureThreshold": 60})),
        "sf-grpc": _endpoint("system", _model("tensorflow", "sf-grpc", protocolVersion="grpc-v2", grpcPort=9000,
                                              readinessProbe={"port": 9000, "grpc": True})),
        "sf-storage": _endpoint("system", {"format": "sklearn", "version": "1.0.0", "storageSecretName": "minio-credentials",
                                           "storage": {"key": "minio", "path": "models/sf-storage/1.0.0",
                                                       "parameters": {"bucket": "ml"}}}, allowInPlaceUpdate=True),
        "sf-https": _endpoint("system", _model("sklearn", "sf-https", storageUri="https://models.example.com/iris/1.0.0/model.joblib",
                                               port=8080, readinessProbe={**probe, "successThreshold": 2},
                                               livenessProbe={"port": 8080, "tcp": True, "failureThreshold": 6})),
        "sf-ctr": _endpoint("system", {"version": "2.0.0", "container": {
            "image": f"{ECR}/ml/scorer:2.0.0", "command": ["python", "-m", "scorer"], "port": 8080, "readinessProbe": probe,
            "livenessProbe": {"port": 8080, "tcp": True, "timeoutSeconds": 3},
            "startupProbe": {"port": 8080, "httpPath": "/health", "failureThreshold": 30, "initialDelaySeconds": 5},
            "env": {"POD_NAME": {"fieldRef": {"fieldPath": "metadata.name"}}, "WORKERS": "2",
                    "API_TOKEN": {"secretKeyRef": {"name": "scorer-secrets", "key": "token", "optional": False}}}}}),
        # gRPC and HTTP on their own ports, in the endpoint's own namespace and an explicit deployment mode
        "sf-ctr-grpc": _endpoint("system", {"version": "1.0.0", "container": {
            "image": f"{ECR}/ml/grpc-scorer:1.0.0", "grpcPort": 9000,
            "readinessProbe": {"port": 9000, "grpc": True}}},
            namespace="models", deploymentMode="Standard" if standard else "Knative"),
        "sf-colloc": _endpoint("system", _model("sklearn", "sf-colloc", args=["--http_port=8085"],
                                                **({"port": 8085} if standard else {})),
                               transformer={"collocated": True, "container": {
                                   "image": f"{ECR}/ml/features:1.8.0", "port": 8080,
                                   "args": ["--model_name=sf-colloc", "--predictor_host=localhost:8085"]}}),
    }


# --- custom serving runtimes ---------------------------------------------------------------------

#: ``servestack:servingRuntimes`` of the standalone-KServe feature stacks: one KServe auto-selects for
#: a format of its own, one only endpoints that name it use (a fork of Triton for onnx).
CUSTOM_RUNTIMES = {
    "acme-gbm": {
        "container": {"image": f"{ECR}/ml/gbm-server:2.4.1", "port": 8080,
                      "args": ["--model_name={{.Name}}", "--model_dir=/mnt/models", "--http_port=8080"],
                      "env": {"OMP_NUM_THREADS": "2"},
                      "readinessProbe": {"port": 8080, "httpPath": "/v2/health/ready", "periodSeconds": 5}},
        "formats": [{"name": "acme-gbm", "version": "2", "autoSelect": True, "priority": 1}],
        "protocolVersions": ["v2"],
        "resources": {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"cpu": "2", "memory": "4Gi"}},
    },
    "acme-triton": {
        # One port: Knative serves one port per container.
        "container": {"image": f"{ECR}/ml/tritonserver:24.08-acme.3", "port": 8080,
                      "args": ["tritonserver", "--model-store=/mnt/models", "--http-port=8080"]},
        "formats": [{"name": "onnx", "version": "1"}],
        "protocolVersions": ["v2", "grpc-v2"],
    },
}


def custom_runtime_endpoints() -> dict[str, dict[str, Any]]:
    """An endpoint KServe gives a custom runtime by autoSelect, one that names a custom runtime."""
    return {
        "cr-auto": _endpoint("system", _model("acme-gbm", "cr-auto", formatVersion="2")),
        "cr-named": _endpoint("system", _model("onnx", "cr-named", runtime="acme-triton", protocolVersion="v2")),
    }


# --- rollout sequences ---------------------------------------------------------------------------

#: ``--stages`` of the rollouts per deployment mode: traffic stages in Knative mode, the blue/green
#: candidate at 0% in Standard mode (the only stage KServe v0.20.0 routes there; components.core.rollout).
ROLLOUT_STAGES = {"Knative": "10,50,100", "Standard": "0"}
#: Every state a rollout can be in, per deployment mode: (suffix, moves from the steady state).
#: Each suffix is one endpoint of the generated stack.
ROLLOUT_STATES: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "Knative": (
        ("0-steady", ()),
        ("1-start", ("start",)),
        ("2-advance", ("start", "advance")),
        ("3-advance", ("start", "advance", "advance")),
        ("4-promote", ("start", "advance", "advance", "promote")),
        ("5-rollback", ("start", "advance", "rollback")),
    ),
    "Standard": (  # blue/green: the candidate runs beside the stable model at 0%, promote cuts over
        ("0-steady", ()),
        ("1-start", ("start",)),
        ("2-promote", ("start", "promote")),
        ("3-rollback", ("start", "rollback")),
    ),
}


def rollout_moves(mode: str) -> tuple[tuple[str, str, str], ...]:
    """The moves between ROLLOUT_STATES[mode] that the conformance layer checks: (move, before, after),
    one per state reached by one move from another."""
    by_moves = {moves: suffix for suffix, moves in ROLLOUT_STATES[mode]}
    return tuple((moves[-1], by_moves[moves[:-1]], suffix) for suffix, moves in ROLLOUT_STATES[mode] if moves)


def rollout_states(base_config: dict[str, Any], name: str, endpoint: dict[str, Any], *, mode: str,
                   start: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The endpoint config at every state of ROLLOUT_STATES[mode], made by ``servestack rollout``'s moves."""
    from servestack.commands.rollout import apply_move

    config = {**copy.deepcopy(base_config), "servestack:endpoints": {name: copy.deepcopy(endpoint)}}
    text0 = yaml.safe_dump({"config": config}, sort_keys=False)
    states = {}
    for suffix, moves in ROLLOUT_STATES[mode]:
        text = text0
        for move in moves:
            options = {**start, "stages": ROLLOUT_STAGES[mode]} if move == "start" else {}
            text = apply_move(PROJECT, "conformance", text, name, move, **options).after
        states[f"{name}-{suffix}"] = yaml.safe_load(text)["config"]["servestack:endpoints"][name]
    return states


def base_config(platform: dict[str, Any], pools: dict[str, Any], tier: str = "dev") -> dict[str, Any]:
    return {
        "aws:region": "us-east-1",
        "servestack:tier": tier,
        "servestack:cluster": {"kubernetesVersion": "1.35", "adminRoleArns": [f"arn:aws:iam::{ACCOUNT}:role/ml-platform-admin"],
                               "publicAccessCidrs": ["203.0.113.0/24"]},
        "servestack:nodePools": copy.deepcopy(pools),
        "servestack:platform": platform,
    }


def _with_rollouts(config: dict[str, Any], endpoints: dict[str, Any], *, mode: str) -> dict[str, Any]:
    """The endpoints plus two rollout sequences (a format model, a container model) in ``mode``."""
    rollout_model = _endpoint("system", _model("sklearn", "ro", version="1.0.0"),
                              autoscaling={"minReplicas": 2, "maxReplicas": 4}, logger=LOGGER,
                              transformer={"container": {"image": f"{ECR}/ml/features:1.8.0", "port": 8080},
                                           "storageUri": f"{BUCKET}/ro-features/1.0.0"})
    states = rollout_states(config, "ro", rollout_model, mode=mode,
                            start={"version": "1.1.0", "storage_uri": f"{BUCKET}/ro/1.1.0"})
    # A Standard-mode canary needs a storage URI on the stable predictor (KServe's webhook).
    container_model = _endpoint("system", {"container": {"image": f"{ECR}/ml/scorer:3.1.0", "port": 8080}, "version": "3.1.0",
                                           "storageUri": f"{BUCKET}/scorer/3.1.0"})
    states.update(rollout_states(config, "rc", container_model, mode=mode,
                                 start={"version": "3.2.0", "image": f"{ECR}/ml/scorer:3.2.0"}))
    for state in states.values():  # every rollout declares an analysis (issue 21)
        if "rollout" in state:
            state["rollout"]["analysis"] = copy.deepcopy(ANALYSIS[mode])
            state["rollout"]["lastAnalysis"] = copy.deepcopy(LAST_ANALYSIS)
    return {**config, "servestack:endpoints": {**endpoints, **states}}


_CUSTOM_CHECK = {"query": 'sum(rate(app_errors_total{namespace="{{namespace}}",servestack_endpoint="{{endpoint}}",'
                          'servestack_model_version="{{version}}"}[{{window}}]))', "name": "app-errors", "max": 0.5,
                 "maxVsStable": 1.5}
ANALYSIS = {
    "Knative": {"window": "10m", "minRequests": 200, "checks": [
        {"errorRate": {"max": 0.01, "maxVsStable": 2}}, {"latencyP95": {"maxMs": 400, "maxVsStable": 1.2}},
        copy.deepcopy(_CUSTOM_CHECK)]},
    "Standard": {"window": "15m", "minRequests": 100, "checks": [
        {"latencyP99": {"maxMs": 800}}, copy.deepcopy(_CUSTOM_CHECK)],
        "smoke": {"payload": '{"instances": [[1.0, 2.0, 3.0, 4.0]]}', "path": "/v1/models/{model}:predict",
                  "count": 200, "rate": 2}},
    "LLM": {"window": "10m", "minRequests": 50, "checks": [
        {"ttftP95": {"maxMs": 800, "maxVsStable": 1.3}}, {"interTokenP95": {"maxMs": 60}},
        {"successRate": {"min": 0.99, "minVsStable": 0.99}}, copy.deepcopy(_CUSTOM_CHECK)]},
}
LAST_ANALYSIS = {"at": "2026-11-02T12:00:00Z", "verdict": "pass", "stable": "1.0.0", "candidate": "1.1.0",
                 "checks": [{"name": "requests", "candidate": 600.0, "stable": 5400.0, "verdict": "pass"}]}


LLM_POOL = {"instanceTypes": ["g6e.12xlarge"], "minSize": 0, "maxSize": 4}
LLM_HF_URI = "hf://meta-llama/Llama-3.1-8B-Instruct:0e9e39f249a16976918f6564b8830bc894c89659"


def llm_endpoints() -> dict[str, Any]:
    """One LLM endpoint per shape: single node (hf://), tensor parallel (s3://), prefill/decode,
    multi-node data parallel (LeaderWorkerSet), and both split and multi-node."""
    return {
        "llm-single": {"pool": "gpu", "model": {"uri": LLM_HF_URI, "version": "3.1-8b"}, "args": ["--max-model-len=4096"],
                       "allowInPlaceUpdate": True,
                       # a rollout as a routing-group member (issue 21): the candidate at 50%, with its analysis
                       "rollout": {"candidate": {"version": "3.2-8b", "uri": f"{BUCKET}/llm-single/3.2-8b"},
                                   "stages": [0, 50, 100], "stage": 2, "rolledBack": False,
                                   "analysis": copy.deepcopy(ANALYSIS["LLM"]),
                                   "lastAnalysis": copy.deepcopy(LAST_ANALYSIS)}},
        "llm-tensor": {"pool": "llm", "namespace": "models",
                       "model": {"uri": f"{BUCKET}/llm-tensor/1.0.0", "name": "Qwen/Qwen2.5-32B-Instruct", "kmsKeyArn": KMS_KEY,
                                 "version": "1.0.0"}, "replicas": 2, "parallelism": {"tensor": 4, "pipeline": 1}},
        "llm-pd": {"pool": "llm", "model": {"uri": "oci://ghcr.io/acme/models/chat:1.0.0", "version": "1.0.0"},
                   "parallelism": {"tensor": 2}, "prefill": {"replicas": 2, "parallelism": {"tensor": 2}}},
        "llm-dp": {"pool": "llm", "model": {"uri": "pvc://models-pvc/deepseek", "version": "1.0.0"},
                   "parallelism": {"data": 8, "dataLocal": 4}},
        "llm-pd-dp": {"pool": "llm", "model": {"uri": f"{BUCKET}/llm-pd-dp/1.0.0", "version": "1.0.0"},
                      "parallelism": {"data": 4, "dataLocal": 2, "tensor": 2},
                      "prefill": {"parallelism": {"data": 4, "dataLocal": 2}}},
    }


def generated_configs() -> dict[str, dict[str, Any]]:
    """Every generated feature stack's config, by stack name (a fresh copy to mutate)."""
    return copy.deepcopy(_generated_configs())


@cache
def _generated_configs() -> dict[str, dict[str, Any]]:
    from components.core import versions

    knative = base_config({"kserve": {"deploymentMode": "Knative"}, "knative": {"networking": "kourier"}}, POOLS_ALL_KINDS)
    standard = base_config({"kserve": {"deploymentMode": "Standard"}}, POOLS_ALL_KINDS)
    for config in (knative, standard):
        config["servestack:servingRuntimes"] = copy.deepcopy(CUSTOM_RUNTIMES)
    istio = base_config({"kserve": {"deploymentMode": "Knative"}, "knative": {"networking": "istio"}}, POOLS_CPU_ONLY)
    kubeflow = base_config({"kubeflow": {"enabled": True}}, POOLS_ALL_KINDS, tier="staging")
    standalone_formats = format_endpoints(versions.KSERVE_RUNTIME_CONFIGS.version)
    return {
        "conformance-knative-kourier": _with_rollouts(
            knative, {**standalone_formats, **feature_endpoints(standard=False), **custom_runtime_endpoints()}, mode="Knative"),
        "conformance-standard-envoy": {**_with_rollouts(
            {**standard, "servestack:nodePools": {**standard["servestack:nodePools"], "llm": LLM_POOL}},
            {**standalone_formats, **feature_endpoints(standard=True), **custom_runtime_endpoints()}, mode="Standard"),
            "servestack:llmEndpoints": llm_endpoints()},
        STACK_LLM: llm_surface_config({**standard, "servestack:endpoints": {}}),
        "conformance-knative-istio-cpu": _with_rollouts(
            istio, {"fmt-sklearn": standalone_formats["fmt-sklearn"], "ctr-cpu": feature_endpoints(standard=False)["ctr-cpu"]},
            mode="Knative"),
        "conformance-kubeflow": _with_rollouts(
            kubeflow, {**format_endpoints(versions.KUBEFLOW_KSERVE.version),
                       # Kubeflow's KServe v0.16.0 has no vLLM runtime.
                       **{k: v for k, v in feature_endpoints(standard=False).items() if k != "sf-vllm"}}, mode="Knative"),
    }


# --- planning ----------------------------------------------------------------------------------------


GENERATED_STACKS = ("conformance-knative-kourier", "conformance-standard-envoy", "conformance-knative-istio-cpu",
                    "conformance-kubeflow", STACK_LLM)
ALL_STACKS = REPOSITORY_STACKS + GENERATED_STACKS


@dataclass
class PlannedStack:
    """One planned stack and what the checks need to know about it."""

    name: str
    config: dict[str, Any]
    plan: Plan
    stack_file: Path | None = None
    objects: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def __repr__(self) -> str:  # failure reports print fixtures; a plan is too long to read there
        return f"<planned stack {self.name}: {len(self.objects)} objects>"

    @property
    def platform(self) -> dict[str, Any]:
        return self.plan.document["outputs"]["platform"]

    @property
    def kserve_version(self) -> str:
        return self.platform["kserveVersion"]

    @property
    def kubernetes_version(self) -> str:
        return self.plan.document["outputs"]["kubernetesVersion"]

    def steps_of(self, type_: str) -> list[tuple[str, dict[str, Any]]]:
        return [(s["urn"].rsplit("::", 1)[1], s["newState"]) for s in self.plan.steps if s["newState"]["type"] == type_]

    def kinds(self, kind: str) -> list[tuple[str, dict[str, Any]]]:
        return [(f, o) for f, o in self.objects if o["kind"] == kind]


@cache
def _scratch_project() -> Path:
    """A scratch project whose program is the repository's __main__.py (its stacks are generated)."""
    root = Path(tempfile.mkdtemp(prefix="servestack-conformance-"))
    (root / "Pulumi.yaml").write_text((REPO / "Pulumi.yaml").read_text() + f"main: {REPO}\n")
    (root / "stacks").mkdir()
    return root


@cache
def planned(stack: str) -> PlannedStack:
    """The plan of one stack, made once per test process."""
    if stack in REPOSITORY_STACKS:
        from harness import repository_plan

        plan = repository_plan(stack)
        config, stack_file = stack_config(stack), REPO / "stacks" / f"Pulumi.{stack}.yaml"
    else:
        config = generated_configs()[stack]
        root = _scratch_project()
        stack_file = root / "stacks" / f"Pulumi.{stack}.yaml"
        stack_file.write_text(f"# Generated by tests/conformance/stacks.py\n{yaml.safe_dump({'config': config}, sort_keys=False)}")
        plan = build_plan(load_project(root), stack)
    return PlannedStack(stack, config, plan, stack_file, plan.manifests())


def rollout_sequences(stack: PlannedStack) -> dict[str, dict[str, str]]:
    """base endpoint -> {state suffix: InferenceService name} for the rollout sequences in a stack
    (the suffixes of ROLLOUT_STATES of the endpoint's deployment mode)."""
    sequences: dict[str, dict[str, str]] = {}
    names = {o["metadata"]["name"] for _, o in stack.kinds("InferenceService")}
    suffixes = dict.fromkeys(suffix for states in ROLLOUT_STATES.values() for suffix, _ in states)
    for base in ("ro", "rc"):
        found = {suffix: f"{base}-{suffix}" for suffix in suffixes if f"{base}-{suffix}" in names}
        if found:
            sequences[base] = found
    return sequences
