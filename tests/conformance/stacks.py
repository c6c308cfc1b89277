"""The stacks the conformance layer judges: the repository's dev, staging and prod, and generated
feature stacks that together use every endpoint setting.

Each generated stack is written as ``stacks/Pulumi.<name>.yaml`` of a scratch project (a temporary
directory whose program is the repository's ``__main__.py``) and planned from there, exactly as
``servestack plan`` would plan a user's stack. Every stack is planned once per test process (a
fresh program run with its own mock monitor); the tests only read the finished plan document.

Rollout states are produced by ``servestack rollout``'s own moves (``apply_move``) on one endpoint,
and each state becomes an endpoint of its own (``<base>-0-steady``, ``<base>-1-start``...), so one
plan holds the whole sequence; :func:`rollout_sequences` says which endpoints form a sequence.
"""

from __future__ import annotations

import copy
import tempfile
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from harness import PROJECT, REPO, stack_config
from servestack.plan import Plan, build_plan, load_project

ACCOUNT = "123456789012"
ECR = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com"
BUCKET = "s3://acme-conformance-models/models"

POOLS_ALL_KINDS = {
    "system": {"instanceTypes": ["m7i.large"], "minSize": 2, "maxSize": 4},
    "gpu": {"instanceTypes": ["g6.xlarge"], "minSize": 0, "maxSize": 4},
    "neuron": {"instanceTypes": ["inf2.xlarge"], "minSize": 0, "maxSize": 2},
    "fpga": {"instanceTypes": ["f2.6xlarge"], "minSize": 0, "maxSize": 1, "amiId": "ami-0a1b2c3d4e5f60718",
             "fpgaDevicePlugin": {"image": f"{ECR}/fpga-device-plugin:1.0.0", "resourceName": "servestack.io/fpga"}},
}
POOLS_CPU_ONLY = {"system": POOLS_ALL_KINDS["system"]}

#: Every model format servestack accepts, with the pool it runs on in the feature stacks.
FORMAT_POOLS = {
    "sklearn": "system", "xgboost": "system", "lightgbm": "system", "tensorflow": "system", "pytorch": "system",
    "onnx": "system", "pmml": "system", "paddle": "system", "mlflow": "system",
    "triton": "gpu", "tensorrt": "gpu", "huggingface": "gpu",
}
#: Formats KServe v0.16.0 (Kubeflow 26.03) also serves.
FORMATS_V016 = tuple(FORMAT_POOLS)

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


def format_endpoints(formats: tuple[str, ...], *, vllm: bool) -> dict[str, dict[str, Any]]:
    """One endpoint per format (protocol left to KServe), plus explicit-protocol variants."""
    endpoints = {f"fmt-{fmt}": _endpoint(pool, _model(fmt, fmt)) for fmt, pool in FORMAT_POOLS.items() if fmt in formats}
    endpoints["fmt-sklearn-v2"] = _endpoint("system", _model("sklearn", "sklearn-v2", protocolVersion="v2"))
    endpoints["fmt-tensorflow-v2"] = _endpoint("system", _model("tensorflow", "tensorflow-v2", protocolVersion="v2"))
    endpoints["fmt-onnx-v2"] = _endpoint("system", _model("onnx", "onnx-v2", protocolVersion="v2"))
    if vllm:
        # Today's config takes the lower-case spelling with KServe's vLLM runtime named explicitly.
        endpoints["fmt-vllm"] = _endpoint("gpu", _model("vllm", "vllm", runtime="kserve-vllmserver"))
    return endpoints


def feature_endpoints(*, standard: bool) -> dict[str, dict[str, Any]]:
    """Container models on every accelerator kind, transformer, explainers, logger, batcher."""
    knative_only = {} if standard else {"containerConcurrency": 8, "startupTimeoutMinutes": 15}
    return {
        "full": _endpoint("system", _model("xgboost", "full", protocolVersion="v2"),
                          autoscaling={"minReplicas": 2, "maxReplicas": 6, "scaleMetric": "cpu", "scaleTarget": 70},
                          timeoutSeconds=30,
                          transformer={"container": {"image": f"{ECR}/ml/features:1.8.0", "args": ["--store=feast"], "port": 8080}},
                          explainer={"type": "art", "config": {"nb_classes": "2"}},
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
    }


# --- rollout sequences ---------------------------------------------------------------------------

#: (suffix, moves from the steady state). Each suffix is one endpoint of the generated stack.
ROLLOUT_STATES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("0-steady", ()),
    ("1-start", ("start",)),
    ("2-advance", ("start", "advance")),
    ("3-advance", ("start", "advance", "advance")),
    ("4-promote", ("start", "advance", "advance", "promote")),
    ("5-rollback", ("start", "advance", "rollback")),
)
#: The moves between those states that the conformance layer checks: (move, before, after).
ROLLOUT_MOVES: tuple[tuple[str, str, str], ...] = (
    ("start", "0-steady", "1-start"),
    ("advance", "1-start", "2-advance"),
    ("advance", "2-advance", "3-advance"),
    ("promote", "3-advance", "4-promote"),
    ("rollback", "2-advance", "5-rollback"),
)


def rollout_states(base_config: dict[str, Any], name: str, endpoint: dict[str, Any], *,
                   start: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The endpoint config at every state of ROLLOUT_STATES, made by ``servestack rollout``'s moves."""
    from servestack.commands.rollout import apply_move

    config = {**copy.deepcopy(base_config), "servestack:endpoints": {name: copy.deepcopy(endpoint)}}
    text0 = yaml.safe_dump({"config": config}, sort_keys=False)
    states = {}
    for suffix, moves in ROLLOUT_STATES:
        text = text0
        for move in moves:
            options = {**start, "stages": "10,50,100"} if move == "start" else {}
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


def _with_rollouts(config: dict[str, Any], endpoints: dict[str, Any], *, standard: bool) -> dict[str, Any]:
    rollout_model = _endpoint("system", _model("sklearn", "ro", version="1.0.0"),
                              autoscaling={"minReplicas": 2, "maxReplicas": 4}, logger=LOGGER)
    states = rollout_states(config, "ro", rollout_model,
                            start={"version": "1.1.0", "storage_uri": f"{BUCKET}/ro/1.1.0"})
    container_model = _endpoint("system", {"container": {"image": f"{ECR}/ml/scorer:3.1.0", "port": 8080}, "version": "3.1.0"})
    states.update(rollout_states(config, "rc", container_model,
                                 start={"version": "3.2.0", "image": f"{ECR}/ml/scorer:3.2.0"}))
    return {**config, "servestack:endpoints": {**endpoints, **states}}


def generated_configs() -> dict[str, dict[str, Any]]:
    """Every generated feature stack's config, by stack name (a fresh copy to mutate)."""
    return copy.deepcopy(_generated_configs())


@cache
def _generated_configs() -> dict[str, dict[str, Any]]:
    knative = base_config({"kserve": {"deploymentMode": "Knative"}, "knative": {"networking": "kourier"}}, POOLS_ALL_KINDS)
    standard = base_config({"kserve": {"deploymentMode": "Standard"}}, POOLS_ALL_KINDS)
    istio = base_config({"kserve": {"deploymentMode": "Knative"}, "knative": {"networking": "istio"}}, POOLS_CPU_ONLY)
    kubeflow = base_config({"kubeflow": {"enabled": True}}, POOLS_ALL_KINDS, tier="staging")
    cpu_only = {name: e for name, e in format_endpoints(FORMATS_V016, vllm=False).items() if e["pool"] == "system"}
    return {
        "conformance-knative-kourier": _with_rollouts(
            knative, {**format_endpoints(tuple(FORMAT_POOLS), vllm=True), **feature_endpoints(standard=False)}, standard=False),
        "conformance-standard-envoy": _with_rollouts(
            standard, {**format_endpoints(tuple(FORMAT_POOLS), vllm=True), **feature_endpoints(standard=True)}, standard=True),
        "conformance-knative-istio-cpu": _with_rollouts(
            istio, {"fmt-sklearn": cpu_only["fmt-sklearn"], "ctr-cpu": feature_endpoints(standard=False)["ctr-cpu"]},
            standard=False),
        "conformance-kubeflow": _with_rollouts(
            kubeflow, {**format_endpoints(FORMATS_V016, vllm=False), **feature_endpoints(standard=False)}, standard=False),
    }


# --- planning ----------------------------------------------------------------------------------------

REPOSITORY_STACKS = ("dev", "staging", "prod")
GENERATED_STACKS = ("conformance-knative-kourier", "conformance-standard-envoy", "conformance-knative-istio-cpu",
                    "conformance-kubeflow")
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
    """base endpoint -> {state suffix: InferenceService name} for the rollout sequences in a stack."""
    sequences: dict[str, dict[str, str]] = {}
    names = {o["metadata"]["name"] for _, o in stack.kinds("InferenceService")}
    for base in ("ro", "rc"):
        found = {suffix: f"{base}-{suffix}" for suffix, _ in ROLLOUT_STATES if f"{base}-{suffix}" in names}
        if found:
            sequences[base] = found
    return sequences
