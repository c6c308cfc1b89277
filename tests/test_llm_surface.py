"""The LLMInferenceService surface of issue 25, field by field: the exact rendered manifest of each new
setting of ``servestack:llmEndpoints`` / ``servestack:llmPresets``, and the exact message of each refusal."""

from __future__ import annotations

import copy

import pytest

from components.core.pod_security import container_security_context
from components.render.llm_presets import render_llm_preset
from test_llm_endpoints import P, SMALL, problems, rendered, stack_of

CPU_IMAGE = "public.ecr.aws/q9t5s3a7/vllm-cpu-release-repo:v0.19.0"
NEURON_IMAGE = "public.ecr.aws/neuron/pytorch-inference-vllm-neuronx:0.29.0.1.2.0-neuronx-py314-sdk2.33.0-ubuntu26.04"
ADAPTER = "hf://edbeeching/opt-125m-lora:" + "7b0e8b3b6a1b8e40c4ac3d8f0d1a2b7c9e6f5a41"
GPU = {"requests": {"cpu": "4", "memory": "16Gi", "nvidia.com/gpu": "1"}, "limits": {"cpu": "8", "memory": "32Gi", "nvidia.com/gpu": "1"}}
GATEWAY = {"refs": [{"name": "kserve-ingress-gateway", "namespace": "kserve"}]}


def main(obj: dict, path: tuple = ("template",)) -> dict:
    spec = obj["spec"]
    for key in path:
        spec = spec[key]
    return spec["containers"][0]


def refs(obj: dict) -> list[str]:
    return [r["name"] for r in obj["spec"]["baseRefs"]]


def test_main_container_overrides_render_exactly():
    obj = rendered("chat", {**SMALL, "image": "ghcr.io/acme/vllm:0.11.2", "command": ["/bin/sh", "-c"],
                            "args": ["vllm serve /mnt/models --port 8000"],
                            "env": {"B": "2", "POD_IP": {"fieldRef": {"fieldPath": "status.podIP"}},
                                    "HF_TOKEN": {"secretKeyRef": {"name": "hf", "key": "token"}}},
                            "livenessProbe": {"httpPath": "/health", "port": 8000, "scheme": "HTTPS", "initialDelaySeconds": 120},
                            "readinessProbe": {"periodSeconds": 5}, "startupProbe": {"failureThreshold": 120},
                            "runAsUser": 1000,
                            "resources": {"requests": {"cpu": "2", "memory": "8Gi", "ephemeral-storage": "100Gi"},
                                          "limits": {"cpu": "4", "memory": "16Gi", "ephemeralStorage": "100Gi"}}})
    assert main(obj) == {
        "name": "main", "image": "ghcr.io/acme/vllm:0.11.2", "command": ["/bin/sh", "-c"],
        "args": ["vllm serve /mnt/models --port 8000"],
        "env": [{"name": "B", "value": "2"}, {"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": "hf", "key": "token"}}},
                {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}],
        "livenessProbe": {"httpGet": {"path": "/health", "port": 8000, "scheme": "HTTPS"}, "initialDelaySeconds": 120},
        "readinessProbe": {"periodSeconds": 5}, "startupProbe": {"failureThreshold": 120},
        "securityContext": {**container_security_context(), "runAsUser": 1000},
        "resources": {"requests": {"cpu": "2", "memory": "8Gi", "ephemeral-storage": "100Gi", "nvidia.com/gpu": "1"},
                      "limits": {"cpu": "4", "memory": "16Gi", "ephemeral-storage": "100Gi", "nvidia.com/gpu": "1"}},
    }


def test_cpu_endpoint_runs_its_own_image_without_accelerators():
    obj = rendered("cpu", {**SMALL, "pool": "system", "image": CPU_IMAGE,
                           "resources": {"requests": {"cpu": "1", "memory": "4Gi"}, "limits": {"cpu": "2", "memory": "8Gi"}}})
    assert obj["spec"]["template"] == {"serviceAccountName": "cpu-model", "nodeSelector": {"servestack.io/pool": "system"},
                                       "containers": [{"name": "main", "image": CPU_IMAGE, "resources": {
                                           "requests": {"cpu": "1", "memory": "4Gi"}, "limits": {"cpu": "2", "memory": "8Gi"}},
                                           "securityContext": container_security_context()}]}


def test_neuron_endpoint_requests_neuroncores_for_its_tensor_parallel_ranks():
    obj = rendered("nx", {**SMALL, "pool": "neuron", "image": NEURON_IMAGE, "parallelism": {"tensor": 2}})
    assert obj["spec"]["parallelism"] == {"tensor": 2}
    assert obj["spec"]["template"]["tolerations"] == [
        {"key": "aws.amazon.com/neuron", "operator": "Equal", "value": "true", "effect": "NoSchedule"}]
    assert main(obj)["resources"] == {"requests": {"cpu": "4", "memory": "16Gi", "aws.amazon.com/neuroncore": "2"},
                                      "limits": {"cpu": "8", "memory": "32Gi", "aws.amazon.com/neuroncore": "2"}}


def test_router_choices():
    default = rendered("a", SMALL)["spec"]
    assert default["router"] == {"gateway": GATEWAY, "route": {}, "scheduler": {}}
    no_scheduler = rendered("a", {**SMALL, "router": {"scheduler": {"enabled": False}}})
    assert no_scheduler["spec"]["router"] == {"gateway": GATEWAY, "route": {}}
    assert refs(no_scheduler) == ["kserve-config-llm-template", "kserve-config-llm-router-route"]
    plain = rendered("a", {**SMALL, "router": {"route": "none", "scheduler": {"enabled": False}}})
    assert "router" not in plain["spec"] and refs(plain) == ["kserve-config-llm-template"]
    pool_only = rendered("a", {**SMALL, "router": {"route": "none"}})
    assert pool_only["spec"]["router"] == {"scheduler": {}}
    assert refs(pool_only) == ["kserve-config-llm-template", "kserve-config-llm-scheduler"]
    byo = rendered("a", {**SMALL, "router": {"httpRoutes": ["chat"], "gateways": [{"name": "gw", "namespace": "edge",
                                                                                 "sectionName": "https"}],
                                            "scheduler": {"configMap": {"name": "epp", "key": "config.yaml"}, "replicas": 2,
                                                          "env": {"tokenizer": {"LOG_LEVEL": "DEBUG"}}}}})
    assert byo["spec"]["router"] == {
        "gateway": {"refs": [{"name": "gw", "namespace": "edge", "sectionName": "https"}]},
        "route": {"http": {"refs": [{"name": "chat"}]}},
        "scheduler": {"config": {"ref": {"name": "epp", "key": "config.yaml"}}, "replicas": 2,
                      "template": {"containers": [{"name": "tokenizer", "env": [{"name": "LOG_LEVEL", "value": "DEBUG"}]}]}}}
    assert refs(byo) == ["kserve-config-llm-template", "kserve-config-llm-scheduler"]


def test_scheduler_config_inline_and_the_latency_predictor_preset():
    picker = {"apiVersion": "llm-d.ai/v1alpha1", "kind": "EndpointPickerConfig",
              "plugins": [{"type": "predicted-latency-producer"}, {"type": "latency-scorer", "name": "lat"}],
              "schedulingProfiles": [{"name": "default", "plugins": [{"pluginRef": "lat"}]}]}
    obj = rendered("a", {**SMALL, "router": {"scheduler": {"config": picker}}})
    assert obj["spec"]["router"]["scheduler"] == {"config": {"inline": picker}}
    assert refs(obj) == ["kserve-config-llm-template", "kserve-config-llm-router-route", "kserve-config-llm-scheduler",
                         "kserve-config-llm-scheduler-latency-predictor"]


def test_lora_kv_cache_metadata_service_account_expert_and_presets():
    stack = stack_of({"m": {**SMALL, "pool": "gpu4", "serviceAccountName": "hf-reader", "presets": ["acme"],
                            "model": {"uri": SMALL["model"]["uri"], "version": "1", "lora": {
                                "adapters": {"sql": {"uri": ADAPTER}, "docs": {"uri": "pvc://adapters/docs"}}, "maxRank": 16}},
                            "parallelism": {"data": 4, "dataLocal": 2, "expert": True},
                            "kvCacheOffloading": {"cpu": "10Gi", "secondary": [{"emptyDir": "100Gi"}, {"pvc": "kv", "path": "t2"}]},
                            "labels": {"team": "a"}, "annotations": {"acme.com/owner": "a"},
                            "podLabels": {"tier": "gold"}, "podAnnotations": {"sidecar.istio.io/inject": "false"}}},
                     **{"servestack:llmPresets": {"acme": {"spec": {"template": {"containers": [
                         {"name": "main", "env": [{"name": "VLLM_ADDITIONAL_ARGS", "value": "--enforce-eager"}]}]}}}}})
    from components.render.llm_inference_service import render_llm_inference_service
    from endpoint_fixtures import placements

    obj = render_llm_inference_service("m", stack.llm_endpoints["m"], placements(stack)["gpu4"])
    spec = obj["spec"]
    assert spec["model"]["lora"] == {"adapters": [{"name": "docs", "uri": "pvc://adapters/docs"}, {"name": "sql", "uri": ADAPTER}],
                                     "maxRank": 16}
    assert spec["kvCacheOffloading"] == {"cpu": "10Gi", "evictionPolicy": "lru", "secondary": [
        {"fileSystem": {"emptyDir": {"size": "100Gi"}}}, {"fileSystem": {"pvc": {"ref": {"name": "kv", "path": "t2"}}}}]}
    assert spec["parallelism"] == {"tensor": 1, "data": 4, "dataLocal": 2, "expert": True}
    assert spec["template"]["serviceAccountName"] == spec["worker"]["serviceAccountName"] == "hf-reader"
    assert obj["metadata"]["labels"] == {"team": "a", "app.kubernetes.io/managed-by": "servestack",
                                         "servestack.io/endpoint": "m", "servestack.io/model": "m"}
    assert obj["metadata"]["annotations"] == {"acme.com/owner": "a"}
    assert spec["labels"] == {"tier": "gold", "servestack.io/endpoint": "m", "servestack.io/model-version": "1"}
    assert spec["annotations"] == {"sidecar.istio.io/inject": "false"}
    assert refs(obj)[-1] == "acme"
    assert render_llm_preset("acme", stack.llm_presets["acme"], "models") == {
        "apiVersion": "serving.kserve.io/v1alpha2", "kind": "LLMInferenceServiceConfig",
        "metadata": {"name": "acme", "namespace": "models",
                     "labels": {"app.kubernetes.io/managed-by": "servestack", "servestack.io/llm-preset": "acme"}},
        "spec": {"template": {"containers": [{"name": "main", "env": [{"name": "VLLM_ADDITIONAL_ARGS", "value": "--enforce-eager"}]}]}}}


def test_efa_requests_every_interface_of_the_node():
    stack = stack_of({"ep": {**SMALL, "pool": "gpu4", "efa": True, "parallelism": {"data": 8, "dataLocal": 4}}})
    from components.render.llm_inference_service import render_llm_inference_service
    from endpoint_fixtures import placements

    spec = render_llm_inference_service("ep", stack.llm_endpoints["ep"], placements(stack)["gpu4"])["spec"]
    for pod in (spec["template"], spec["worker"]):  # gpu4 is g6.12xlarge: 1 EFA interface
        assert pod["containers"][0]["resources"]["limits"]["vpc.amazonaws.com/efa"] == "1"


SAME = {"servestack.io/x": "1", "app.kubernetes.io/managed-by": "me"}


@pytest.mark.parametrize("llm, expected", [
    ({**SMALL, "labels": SAME},
     [f'{P}.e.labels: must not set app.kubernetes.io/managed-by, servestack.io/x: servestack writes these keys itself '
      '(every key under servestack.io/, and app.kubernetes.io/managed-by) (got ["app.kubernetes.io/managed-by", "servestack.io/x"])']),
    ({**SMALL, "podAnnotations": {"servestack.io/pool": "x"}},
     [f'{P}.e.podAnnotations: must not set servestack.io/pool: servestack writes these keys itself (every key under '
      'servestack.io/, and app.kubernetes.io/managed-by) (got ["servestack.io/pool"])']),
    ({**SMALL, "podLabels": {"tier": "not a value"}},
     [f"{P}.e.podLabels.tier: must be a label value (63 characters of letters, digits, '-', '_', '.') (got \"not a value\")"]),
    ({**SMALL, "pool": "system"},
     [f"{P}.e.image: is required on pool system (none): KServe v0.20.0's presets run vLLM from a CUDA image (llm-d-cuda); "
      "a CPU pool needs vLLM's CPU build (KServe's CPU examples use public.ecr.aws/q9t5s3a7/vllm-cpu-release-repo)"]),
    ({**SMALL, "pool": "system", "image": CPU_IMAGE, "parallelism": {"tensor": 2}},
     [f"{P}.e.parallelism: must stay 1 device on one node on CPU pool system: KServe v0.20.0's parallelism presets "
      'place ranks on accelerators (got {"tensor": 2})']),
    ({**SMALL, "pool": "fpga"},
     [f"{P}.e.pool: cannot serve LLM endpoints: KServe's LLM presets and vLLM images serve on GPUs; no LLM runtime "
      'targets FPGAs; pool fpga is fpga (got "fpga")']),
    ({**SMALL, "pool": "neuron", "image": NEURON_IMAGE, "parallelism": {"tensor": 4}},
     [f"{P}.e.parallelism.tensor: needs tensor x dataLocal = 4 aws.amazon.com/neuroncore in one pod, but the nodes of "
      "pool neuron have 2 (got 4)"]),
    ({**SMALL, "efa": True},
     [f"{P}.e.efa: needs instance types with Elastic Fabric Adapter; pool gpu has g6.xlarge, g5.xlarge without EFA "
      "(EC2 DescribeInstanceTypes: EfaSupported) (got true)"]),
    ({**SMALL, "parallelism": {"data": 2, "dataLocal": 2}},
     [f"{P}.e.parallelism.data: must exceed dataLocal (2) or be 1: KServe v0.20.0's single-node presets pass only "
      "--tensor-parallel-size to vLLM, so data-parallel ranks on one node would not start; use tensor, or spread data "
      "over nodes (got 2)"]),
    ({**SMALL, "pool": "gpu4", "parallelism": {"tensor": 2, "expert": True}},
     [f"{P}.e.parallelism.expert: needs multi-node data parallelism (data above dataLocal): only KServe v0.20.0's "
      "data-parallel worker presets pass --enable-expert-parallel (got true)"]),
    ({**SMALL, "env": {"HF_TOKEN": "hf_abcdefghijklmnopqrstuvwxyz"}},
     [f'{P}.e.env.HF_TOKEN: holds what looks like a credential (Base64 High Entropy String), which would be written in '
      "clear into the plan, the manifests and Pulumi's state: put it in a Kubernetes Secret and reference it with "
      'secretKeyRef: {name, key} (got "[redacted]")']),
    ({**SMALL, "image": "ghcr.io/acme/vllm:latest"},
     [f'{P}.e.image: must not use the tag latest, which floats; pin a version tag or a digest (got "ghcr.io/acme/vllm:latest")']),
    ({**SMALL, "resources": {"limits": {"rdma/roce_gdr": "1"}}},
     [f'{P}.e.resources.limits: rdma/roce_gdr: EC2 offers no RoCE NICs; RDMA between EC2 nodes is EFA (pools offer '
      'nvidia.com/gpu, aws.amazon.com/neuron, aws.amazon.com/neuroncore, aws.amazon.com/neurondevice, servestack.io/fpga) '
      '(got {"rdma/roce_gdr": "1"})']),
    ({**SMALL, "resources": {"limits": {"nvidia.com/gpu": "2"}}},
     [f'{P}.e.resources.limits: nvidia.com/gpu: is an NVIDIA resource, which follows from the pool and parallelism '
      '(tensor x dataLocal per pod); set those instead (got {"nvidia.com/gpu": "2"})']),
    ({**SMALL, "model": {**SMALL["model"], "lora": {"adapters": {"a": {"uri": "oci://ghcr.io/acme/lora:1"}}}}},
     [f"{P}.e.model.lora.adapters.a.uri: must not be oci://: KServe v0.20.0 does not support OCI LoRA adapters (OCI "
      "models run as a sidecar image, which an adapter cannot be); use hf://, s3:// or pvc:// (got \"oci://ghcr.io/acme/lora:1\")"]),
    ({**SMALL, "model": {**SMALL["model"], "lora": {"adapters": {"a": {"uri": "hf://acme/lora"}}}}},
     [f"{P}.e.model.lora.adapters.a.uri: must pin a revision, hf://<org>/<model>:<commit hash>: without one KServe "
      "downloads whatever the repository's main branch holds when each pod starts, so replicas of one version can serve "
      'different weights (got "hf://acme/lora")']),
    ({**SMALL, "serviceAccountName": "mine", "model": {"uri": "s3://acme-models/models/m/1", "version": "1"}},
     [f"{P}.e.serviceAccountName: reads s3:// models with servestack's IRSA role, which an endpoint with serviceAccountName "
      'does not get (s3://acme-models/models/m/1) (got "mine")']),
    ({**SMALL, "router": {"route": "none", "httpRoutes": ["r"]}},
     [f'{P}.e.router.route: is none, so httpRoutes and gateways would route nothing; remove them or use route: managed '
      '(got "none")']),
    ({**SMALL, "router": {"scheduler": {"enabled": False, "replicas": 2}}},
     [f"{P}.e.router.scheduler.replicas: configures the endpoint picker, which enabled: false turns off (got 2)"]),
    ({**SMALL, "router": {"scheduler": {"config": {"apiVersion": "llm-d.ai/v1alpha1", "kind": "EndpointPickerConfig",
                                                   "plugins": [{"type": "queue-scorer"}],
                                                   "schedulingProfiles": [{"name": "d", "plugins": [{"pluginRef": "q"}]}]}}}},
     [f"{P}.e.router.scheduler.config.schedulingProfiles[0].plugins[0].pluginRef: must name a plugin declared under "
      'plugins (queue-scorer) (got "q")']),
    ({**SMALL, "annotations": {"serving.kserve.io/exp-dra-device-class": "gpu.nvidia.com"}},
     [f'{P}.e.annotations["serving.kserve.io/exp-dra-device-class"]: asks KServe to allocate GPUs by Dynamic Resource '
      "Allocation (DeviceClass gpu.nvidia.com, NVIDIA's DRA driver); servestack's GPU pools offer GPUs through the NVIDIA "
      'device plugin (nvidia.com/gpu): set parallelism and the pool instead (got "gpu.nvidia.com")']),
    ({**SMALL, "presets": ["nope"]},
     [f"{P}.e.presets[0]: is neither a key of servestack:llmPresets (none) nor a preset of KServe's "
      "(kserve-config-llm-decode-template, kserve-config-llm-decode-worker-data-parallel, kserve-config-llm-prefill-template, "
      "kserve-config-llm-prefill-worker-data-parallel, kserve-config-llm-router-route, kserve-config-llm-scheduler, "
      "kserve-config-llm-scheduler-latency-predictor, kserve-config-llm-template, kserve-config-llm-tracing, "
      'kserve-config-llm-worker-data-parallel) (got "nope")']),
])
def test_llm_surface_refusals(llm, expected):
    assert problems({"e": copy.deepcopy(llm)}) == expected


@pytest.mark.parametrize("presets, expected", [
    ({"kserve-config-llm-template": {"spec": {"replicas": 1}}},
     ['servestack:llmPresets.kserve-config-llm-template: is named by no LLM endpoint\'s presets, so it would not be installed '
      '(got "kserve-config-llm-template")',
      "servestack:llmPresets.kserve-config-llm-template: is the name of a preset of KServe's; a preset of that name in an "
      "endpoint's namespace would replace KServe's own for every endpoint there: choose another (got \"kserve-config-llm-template\")"]),
    ({"p": {"spec": {"model": {"uri": "hf://x/y"}, "template": {"nodeSelector": {}, "containers": [
        {"name": "main", "image": "ghcr.io/x/y"}]}}}},
     ['servestack:llmPresets.p.spec.model: must not be set in a preset: each endpoint names its own model (model.uri, '
      'pinned and read with the endpoint\'s identity) (got "[set]")',
      "servestack:llmPresets.p.spec.template.containers[0].image: must be pinned by a tag or digest (repository:1.2.3 or "
      'repository@sha256:...); an untagged image floats (got "ghcr.io/x/y")',
      'servestack:llmPresets.p.spec.template.nodeSelector: comes from the endpoint\'s pool; a preset must not set it (got "[set]")']),
])
def test_llm_preset_refusals(presets, expected):
    llm = {"e": {**SMALL, "presets": [p for p in presets if not p.startswith("kserve-")]}}
    assert problems(llm, **{"servestack:llmPresets": presets}) == expected
