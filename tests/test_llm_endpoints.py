"""LLM endpoints (``servestack:llmEndpoints``): config problems with their exact messages, and the
rendered LLMInferenceService checked field by field for each feature."""

from __future__ import annotations

import copy

import pytest

from components.config import ConfigError, parse_stack_config
from components.render.llm_inference_service import render_llm_inference_service, total_devices
from components.render.llm_platform import llmisvc_resources_values, runtime_configs_llm_values
from endpoint_fixtures import LLM_URI, config, placements

P = "servestack:llmEndpoints"
SMALL = {"pool": "gpu", "model": {"uri": LLM_URI, "version": "3.1-8b"}}


def stack_of(llm: dict, **extra):
    raw = {**config({}), f"{P}": copy.deepcopy(llm), **extra}
    return parse_stack_config("test", raw)


def problems(llm: dict, **extra) -> list[str]:
    with pytest.raises(ConfigError) as error:
        stack_of(llm, **extra)
    return [p.render() for p in error.value.problems]


def rendered(name: str, llm: dict) -> dict:
    stack = stack_of({name: llm})
    endpoint = stack.llm_endpoints[name]
    return render_llm_inference_service(name, endpoint, placements(stack)[endpoint.pool])


GPU_TOLERATION = [{"key": "nvidia.com/gpu", "operator": "Equal", "value": "true", "effect": "NoSchedule"}]
ROUTER = {"gateway": {"refs": [{"name": "kserve-ingress-gateway", "namespace": "kserve"}]}, "route": {}, "scheduler": {}}


def test_single_node_hf_model_renders_every_field():
    obj = rendered("chat", {**SMALL, "args": ["--max-model-len=4096"]})
    assert obj["apiVersion"] == "serving.kserve.io/v1alpha2" and obj["kind"] == "LLMInferenceService"
    assert obj["metadata"] == {"name": "chat", "namespace": "models", "labels": {
        "app.kubernetes.io/managed-by": "servestack", "servestack.io/endpoint": "chat", "servestack.io/model": "chat"}}
    assert obj["spec"] == {
        "model": {"uri": LLM_URI},
        "replicas": 1,
        "labels": {"servestack.io/model-version": "3.1-8b"},
        "template": {
            "serviceAccountName": "chat-model",
            "nodeSelector": {"servestack.io/pool": "gpu"},
            "tolerations": GPU_TOLERATION,
            "containers": [{"name": "main", "args": ["--max-model-len=4096"], "resources": {
                "requests": {"cpu": "4", "memory": "16Gi", "nvidia.com/gpu": "1"},
                "limits": {"cpu": "8", "memory": "32Gi", "nvidia.com/gpu": "1"}},
                "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                                    "privileged": False, "runAsNonRoot": True,
                                    "seccompProfile": {"type": "RuntimeDefault"}}}],
        },
        "router": ROUTER,
        "baseRefs": [{"name": "kserve-config-llm-template"}, {"name": "kserve-config-llm-router-route"},
                     {"name": "kserve-config-llm-scheduler"}],
    }


def test_tensor_parallel_s3_model_with_served_name():
    obj = rendered("big", {"pool": "gpu4", "replicas": 2, "parallelism": {"tensor": 4},
                           "model": {"uri": "s3://acme-models/models/big/1.0", "name": "Qwen/Qwen2.5-32B", "version": "1.0"}})
    spec = obj["spec"]
    assert spec["model"] == {"uri": "s3://acme-models/models/big/1.0", "name": "Qwen/Qwen2.5-32B"}
    assert obj["metadata"]["labels"]["servestack.io/model"] == "big"  # the served name is no label value
    assert spec["replicas"] == 2 and spec["parallelism"] == {"tensor": 4}
    assert spec["template"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "4"
    assert "worker" not in spec


def test_prefill_decode_split_uses_the_decode_and_prefill_presets():
    spec = rendered("pd", {**SMALL, "pool": "gpu4", "parallelism": {"tensor": 2},
                           "prefill": {"replicas": 3, "parallelism": {"tensor": 1}}})["spec"]
    assert spec["prefill"]["replicas"] == 3
    assert "parallelism" not in spec["prefill"]
    assert spec["prefill"]["template"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert spec["prefill"]["template"]["nodeSelector"] == {"servestack.io/pool": "gpu4"}
    assert [r["name"] for r in spec["baseRefs"]] == [
        "kserve-config-llm-decode-template", "kserve-config-llm-prefill-template",
        "kserve-config-llm-router-route", "kserve-config-llm-scheduler"]


def test_multi_node_data_parallel_renders_workers_and_the_data_parallel_preset():
    spec = rendered("dp", {**SMALL, "pool": "gpu4", "parallelism": {"data": 8, "dataLocal": 4}})["spec"]
    assert spec["parallelism"] == {"tensor": 1, "data": 8, "dataLocal": 4}
    assert spec["worker"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "4"
    assert spec["worker"]["tolerations"] == GPU_TOLERATION
    assert spec["baseRefs"][0] == {"name": "kserve-config-llm-worker-data-parallel"}


def test_devices_count_replicas_pods_and_prefill():
    stack = stack_of({"e": {**SMALL, "pool": "gpu4", "replicas": 2, "parallelism": {"data": 8, "dataLocal": 4},
                            "prefill": {"replicas": 1, "parallelism": {"tensor": 2}}}})
    assert total_devices(stack.llm_endpoints["e"]) == 2 * 8 + 2


@pytest.mark.parametrize("llm, expected", [
    ({"e": {**SMALL, "model": {"uri": "hf://meta-llama/Llama-3.1-8B-Instruct", "version": "1"}}},
     [f"{P}.e.model.uri: must pin a revision, hf://<org>/<model>:<commit hash>: without one KServe downloads whatever the "
      "repository's main branch holds when each pod starts, so replicas of one version can serve different weights "
      '(got "hf://meta-llama/Llama-3.1-8B-Instruct")']),
    ({"e": {**SMALL, "model": {"uri": "gs://b/m", "version": "1"}}},
     [f'{P}.e.model.uri: must start with one of hf://, s3://, oci://, pvc:// (got "gs://b/m")']),
    ({"e": {**SMALL, "pool": "neuron"}},
     [f"{P}.e.image: is required on pool neuron (neuron): KServe v0.20.0's presets run vLLM from a CUDA image "
      "(llm-d-cuda); a Neuron pool needs vLLM's Neuron build (AWS's Neuron Deep Learning Container "
      "public.ecr.aws/neuron/pytorch-inference-vllm-neuronx)"]),
    ({"e": {**SMALL, "parallelism": {"tensor": 4}}},
     [f"{P}.e.parallelism.tensor: needs tensor x dataLocal = 4 devices in one pod, but the nodes of pool gpu have 1 (got 4)"]),
    ({"e": {**SMALL, "pool": "gpu4", "parallelism": {"data": 6, "dataLocal": 4}}},
     [f"{P}.e.parallelism.data: must be a multiple of dataLocal (4): each pod runs dataLocal ranks (got 6)"]),
    ({"e": {**SMALL, "parallelism": {"pipeline": 2}}},
     [f"{P}.e.parallelism.pipeline: must be 1: KServe v0.20.0 ships no pipeline-parallel preset, so the workers would "
      "not be wired for it; use tensor or data parallelism (got 2)"]),
    ({"e": {**SMALL, "args": ["--tensor-parallel-size=2"]}},
     [f"{P}.e.args: must not set --tensor-parallel-size: KServe's preset passes it from model and parallelism "
      "(unless command replaces the preset's launcher) (got [\"--tensor-parallel-size=2\"])"]),
    # LLM rollouts are routing-group members now (issue 21): an incomplete one names what it lacks.
    ({"e": {**SMALL, "rollout": {"candidate": {"version": "2"}}}},
     [f"{P}.e.rollout.candidate.uri: is required", f"{P}.e.rollout.stages: is required"]),
    ({"e": {**SMALL, "rollout": {"candidate": {"version": "3.1-8b", "uri": LLM_URI}, "stages": [10, 50], "stage": 3}}},
     [f'{P}.e.rollout.candidate.uri: must differ from the stable model\'s uri: otherwise the candidate serves the '
      f'stable model (got "{LLM_URI}")',
      f'{P}.e.rollout.candidate.version: must differ from the stable model\'s version (got "3.1-8b")',
      f'{P}.e.rollout.stage: must be between 1 and 2 (the number of stages) (got 3)',
      f"{P}.e.rollout.stages: must end at 100 (the candidate takes all traffic before it is promoted) (got [10, 50])"]),
    ({"e": {**SMALL, "namespace": "team-a"}},
     [f'{P}.e.namespace: is not one of the platform\'s endpoint namespaces (models); add it to '
      'servestack:platform.endpointNamespaces (got "team-a")']),
])
def test_llm_config_problems(llm, expected):
    assert problems(llm) == expected


def test_platform_values_for_llm_charts():
    assert llmisvc_resources_values() == {"kserve": {"createSharedResources": False, "llmisvc": {"createGIECRDs": False}}}
    assert runtime_configs_llm_values({"kserve": {"servingruntime": {"enabled": True}}}) == {
        "kserve": {"llmisvcConfigs": {"enabled": True}, "servingruntime": {"enabled": True}}}
