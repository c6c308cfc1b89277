"""The LLM surface conformance stack: LLM endpoints that together use every setting of
``servestack:llmEndpoints`` and ``servestack:llmPresets`` (issue 25), on a CPU pool, an NVIDIA pool
and a Neuron pool. Planned like the other generated stacks (tests/conformance/stacks.py)."""

from __future__ import annotations

import copy
from typing import Any

STACK = "conformance-llm-surface"

#: Pinned Hugging Face revisions (40-hex commit ids; the plan checks the pinning, not the commit's existence).
HF = "hf://Qwen/Qwen2.5-7B-Instruct:a09a35458c702b33eeacc393d103063234e8bc28"
OPT = "hf://facebook/opt-125m:27dcfa74d334bc871f3234de431e71c6eeba5dd6"
ADAPTER = "hf://edbeeching/opt-125m-lora:7b0e8b3b6a1b8e40c4ac3d8f0d1a2b7c9e6f5a41"
CPU_IMAGE = "public.ecr.aws/q9t5s3a7/vllm-cpu-release-repo:v0.19.0"
NEURON_IMAGE = "public.ecr.aws/neuron/pytorch-inference-vllm-neuronx:0.29.0.1.2.0-neuronx-py314-sdk2.33.0-ubuntu26.04"
PROBE = {"httpPath": "/health", "port": 8000, "scheme": "HTTPS", "initialDelaySeconds": 120, "periodSeconds": 30,
         "timeoutSeconds": 30, "failureThreshold": 5}

POOLS = {
    "cpu-llm": {"instanceTypes": ["m7i.2xlarge"], "minSize": 0, "maxSize": 4, "provisioner": "karpenter"},
    "llm": {"instanceTypes": ["g6e.12xlarge"], "minSize": 0, "maxSize": 6},
    "neuron-llm": {"instanceTypes": ["trn1.32xlarge"], "minSize": 0, "maxSize": 2},
}

#: An endpoint picker configuration: prefix-cache-aware and load-aware scorers (KServe's precise-prefix example).
PICKER = {
    "apiVersion": "inference.networking.x-k8s.io/v1alpha1",
    "kind": "EndpointPickerConfig",
    "plugins": [{"type": "single-profile-handler"},
                {"type": "prefix-cache-scorer", "parameters": {"blockSize": 64, "maxPrefixBlocksToMatch": 256}},
                {"type": "kv-cache-utilization-scorer"}, {"type": "queue-scorer"}, {"type": "max-score-picker"}],
    "schedulingProfiles": [{"name": "default", "plugins": [
        {"pluginRef": "prefix-cache-scorer", "weight": 3}, {"pluginRef": "kv-cache-utilization-scorer", "weight": 2},
        {"pluginRef": "queue-scorer", "weight": 2}, {"pluginRef": "max-score-picker"}]}],
}
LATENCY_PICKER = {
    "apiVersion": "llm-d.ai/v1alpha1", "kind": "EndpointPickerConfig",
    "plugins": [{"type": "predicted-latency-producer"}, {"type": "latency-scorer"}, {"type": "weighted-random-picker"}],
    "schedulingProfiles": [{"name": "default", "plugins": [{"pluginRef": "predicted-latency-producer"},
                                                            {"pluginRef": "latency-scorer"},
                                                            {"pluginRef": "weighted-random-picker"}]}],
}

#: A preset of the team's: a vLLM command line shared by endpoints (KServe's e2e-gpt-oss presets).
PRESETS = {
    "acme-vllm-eager": {"spec": {"template": {"containers": [{
        "name": "main", "image": "ghcr.io/llm-d/llm-d-cuda:v0.8.0",
        "env": [{"name": "VLLM_ADDITIONAL_ARGS", "value": "--enforce-eager --disable-log-requests"},
                {"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": "hf-token", "key": "HF_TOKEN"}}}],
        "readinessProbe": {"initialDelaySeconds": 10, "periodSeconds": 10}}]}}},
}


def llm_surface_endpoints() -> dict[str, Any]:
    return {
        # CPU, LoRA adapters (hf:// and pvc://), route without scheduler, runAsUser, labels and annotations.
        "llms-cpu": {"pool": "cpu-llm", "image": CPU_IMAGE, "runAsUser": 1000,
                     "model": {"uri": OPT, "name": "facebook/opt-125m", "version": "125m",
                               "lora": {"adapters": {"adapter-1": {"uri": ADAPTER},
                                                     "pvc-adapter": {"uri": "pvc://lora-adapters-pvc/opt-125m-lora"}},
                                        "maxRank": 64, "maxAdapters": 2, "maxCpuAdapters": 4}},
                     "env": {"VLLM_CPU_KVCACHE_SPACE": "1", "VLLM_LOGGING_LEVEL": "DEBUG"},
                     "livenessProbe": {"initialDelaySeconds": 30, "failureThreshold": 5}, "readinessProbe": PROBE,
                     "resources": {"requests": {"cpu": "1", "memory": "8Gi"}, "limits": {"cpu": "2", "memory": "10Gi"}},
                     "router": {"scheduler": {"enabled": False}},
                     "labels": {"team": "search"}, "annotations": {"acme.com/owner": "search"},
                     "podLabels": {"app.kubernetes.io/part-of": "search"},
                     "podAnnotations": {"sidecar.istio.io/inject": "false"}},
        # No router at all: the workload and its Service.
        "llms-plain": {"pool": "llm", "model": {"uri": HF, "name": "Qwen/Qwen2.5-7B-Instruct", "version": "2.5-7b"},
                       "replicas": 2, "router": {"route": "none", "scheduler": {"enabled": False}}},
        # Scheduler with a custom picker (prefix-cache and load aware), env references, probes, a preset of the team's.
        "llms-picker": {"pool": "llm", "model": {"uri": HF, "name": "Qwen/Qwen2.5-7B-Instruct", "version": "2.5-7b"},
                        "replicas": 3, "presets": ["acme-vllm-eager"],
                        "env": {"PYTHONHASHSEED": "42", "POD_IP": {"fieldRef": {"fieldPath": "status.podIP"}},
                                "HF_TOKEN": {"secretKeyRef": {"name": "hf-token", "key": "HF_TOKEN"}}},
                        "livenessProbe": PROBE, "startupProbe": {"failureThreshold": 120},
                        "router": {"scheduler": {"config": PICKER, "replicas": 2,
                                                 "env": {"tokenizer": {"LOG_LEVEL": "DEBUG"}}}},
                        "kvCacheOffloading": {"cpu": "10Gi", "evictionPolicy": "lru",
                                              "secondary": [{"emptyDir": "100Gi"}, {"pvc": "kv-cache", "path": "tier2"}]}},
        # Latency-predicting picker (KServe adds its latency-predictor preset); a user-managed HTTPRoute on a user Gateway.
        "llms-latency": {"pool": "llm", "model": {"uri": HF, "name": "Qwen/Qwen2.5-7B-Instruct", "version": "2.5-7b"},
                         "router": {"scheduler": {"config": LATENCY_PICKER}}},
        "llms-byo-route": {"pool": "llm", "model": {"uri": HF, "version": "2.5-7b"}, "serviceAccountName": "hf-reader",
                           "router": {"httpRoutes": ["chat-route"],
                                      "gateways": [{"name": "acme-gateway", "namespace": "gateways", "sectionName": "https"}],
                                      "scheduler": {"configMap": {"name": "picker-config", "key": "config.yaml"}}}},
        # A simulator: command and args replace the preset's launcher.
        "llms-sim": {"pool": "cpu-llm", "model": {"uri": OPT, "name": "opt-125m", "version": "125m"},
                     "image": "ghcr.io/llm-d/llm-d-inference-sim:v0.10.0", "command": ["/app/llm-d-inference-sim"],
                     "args": ["--port", "8000", "--model", "{{ .Spec.Model.Name }}", "--mode", "random"],
                     "resources": {"requests": {"cpu": "100m", "memory": "100Mi"}, "limits": {"cpu": "1", "memory": "2Gi"}}},
        # Expert parallelism across nodes (data 8 over 2 pods of 4 GPUs), prefill/decode, ephemeral storage.
        "llms-ep": {"pool": "llm", "efa": True, "model": {"uri": "pvc://models-pvc/deepseek", "name": "deepseek-ai/DeepSeek-V2-Lite",
                                             "version": "v2-lite"},
                    "parallelism": {"data": 8, "dataLocal": 4, "expert": True},
                    "env": {"VLLM_ALL2ALL_BACKEND": "naive", "NCCL_DEBUG": "WARN"},
                    "resources": {"requests": {"cpu": "16", "memory": "128Gi", "ephemeralStorage": "200Gi"},
                                  "limits": {"cpu": "32", "memory": "256Gi", "ephemeralStorage": "200Gi"}},
                    "prefill": {"replicas": 1, "parallelism": {"data": 8, "dataLocal": 4, "expert": True},
                                "env": {"VLLM_ALL2ALL_BACKEND": "naive"}}},
        # Prefill/decode on CPU: the prefill pods with container settings of their own.
        "llms-cpu-pd": {"pool": "cpu-llm", "image": CPU_IMAGE, "runAsUser": 1000,
                        "model": {"uri": OPT, "name": "facebook/opt-125m", "version": "125m"},
                        "readinessProbe": {"periodSeconds": 5, "successThreshold": 2},
                        "env": {"HF_TOKEN": {"secretKeyRef": {"name": "hf-token", "key": "HF_TOKEN", "optional": True}}},
                        "prefill": {"replicas": 2, "image": CPU_IMAGE, "runAsUser": 1001,
                                    "command": ["/bin/bash", "-c"], "args": ["exec vllm serve /mnt/models --port 8000"],
                                    "livenessProbe": {"initialDelaySeconds": 60}, "readinessProbe": {"periodSeconds": 10},
                                    "startupProbe": {"failureThreshold": 90},
                                    "resources": {"requests": {"cpu": "2", "memory": "8Gi"},
                                                  "limits": {"cpu": "4", "memory": "12Gi"}}}},
        # Neuron: vLLM's Neuron build, NeuronCores as the tensor-parallel unit.
        "llms-neuron": {"pool": "neuron-llm", "image": NEURON_IMAGE,
                        "model": {"uri": HF, "name": "Qwen/Qwen2.5-7B-Instruct", "version": "2.5-7b"},
                        "parallelism": {"tensor": 8}, "args": ["--max-model-len=4096"],
                        "router": {"scheduler": {"enabled": False}}},
    }


def llm_surface_config(base: dict[str, Any]) -> dict[str, Any]:
    config = copy.deepcopy(base)
    config["servestack:nodePools"].update(copy.deepcopy(POOLS))
    config["servestack:llmEndpoints"] = llm_surface_endpoints()
    config["servestack:llmPresets"] = copy.deepcopy(PRESETS)
    return config
