"""`servestack cost` and plandoc's LLM facts on the real prod plan: an LLM endpoint's pods (replicas x (1 + workers),
and prefill's) are placed on its pool's nodes by the capacity model and priced by the nodes they need."""

from __future__ import annotations

import json

from click.testing import CliRunner

from llm_plans import document, llm, state, write
from plandoc.document import plan_from_document
from plandoc.llm import llm_endpoints
from servestack.cli import cli

G6E_12XLARGE = 10.49264  # 4 GPUs per node


def test_prod_llm_endpoint_facts():
    [endpoint] = llm_endpoints(plan_from_document(document("prod")).resource_list())
    assert (endpoint.name, endpoint.namespace, endpoint.pool, endpoint.replicas, endpoint.workers,
            endpoint.accelerator_request(), endpoint.accelerators, endpoint.model_uri) == (
        "assistant", "models", "llm", 2, 0, ("nvidia.com/gpu", 4), 8,
        "s3://acme-ml-models-prod/models/assistant/2.5-32b-instruct")


def test_cost_prices_an_llm_endpoint_by_the_nodes_its_pods_need(tmp_path):
    """assistant: 2 pods of 4 GPUs, 16 cpu, 128Gi on the llm pool (g6e.12xlarge, 4 GPUs): 2 nodes, 2 x 10.49264."""
    path = write(document("prod"), tmp_path)
    text = CliRunner().invoke(cli, ["cost", str(path)], catch_exceptions=False).output
    assert ("  pool llm: at min 2 x g6e.12xlarge, at max 2 x g6e.12xlarge\n"
            "    LLM models/assistant: 2 pod(s) x 16000m cpu, 128Gi, 4 nvidia.com/gpu\n") in text
    assert "Karpenter pool llm: g6e.12xlarge                                   2    10.4926    20.9853    20.9853\n" in text
    out = json.loads(CliRunner().invoke(cli, ["cost", str(path), "--format", "json"]).output)
    [pool] = [p for p in out["pools"] if p["pool"] == "llm"]
    assert (pool["nodesMin"], pool["hourlyMin"], pool["hourlyMax"]) == (
        {"g6e.12xlarge": 2}, round(2 * G6E_12XLARGE, 4), round(2 * G6E_12XLARGE, 4))


def test_multi_node_workers_and_prefill_count_every_pod(tmp_path):
    """data 4 / dataLocal 2: 2 pods per replica (leader + 1 worker) x 2 replicas = 4 pods of 4 GPUs, plus 3 prefill
    pods of 1 GPU: 19 GPUs. On g6e.12xlarge (4 GPUs, 48 vCPUs) each 4-GPU pod takes a node (4 nodes); a 1-GPU prefill
    pod (16 cpu, 128Gi) fits none of them, so 3 more... but the NodePool's limit (8 GPUs) stops at 2 nodes: 2 of the
    4-GPU pods and the 3 prefill pods stay Pending. With the limit at 32 GPUs: 4 nodes for the 4-GPU pods, and the
    3 prefill pods need 1 GPU, 16 cpu, 128Gi each: 2 fit on one node (48 vCPU, ~337 GiB allocatable), the third on a
    second one: 6 nodes x 10.49264 = 62.95584."""
    doc = document("prod")
    spec = llm(doc, "assistant")
    spec["parallelism"] = {"tensor": 2, "data": 4, "dataLocal": 2}
    spec["worker"] = json.loads(json.dumps(spec["template"]))
    spec["prefill"] = {"replicas": 3, "template": json.loads(json.dumps(spec["template"]))}
    spec["prefill"]["template"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] = "1"
    spec["prefill"]["template"]["containers"][0]["resources"]["requests"]["nvidia.com/gpu"] = "1"
    [endpoint] = llm_endpoints(plan_from_document(doc).resource_list())
    assert (endpoint.replicas, endpoint.workers, [w.pods for w in endpoint.workloads()], endpoint.accelerators) == (
        2, 1, [4, 3], 4 * 4 + 3 * 1)
    out = json.loads(CliRunner().invoke(cli, ["cost", str(write(doc, tmp_path)), "--format", "json"]).output)
    [pool] = [p for p in out["pools"] if p["pool"] == "llm"]
    assert (pool["nodesMin"], pool["shortAtMin"]) == (
        {"g6e.12xlarge": 2}, {"LLM models/assistant": 2, "LLM prefill models/assistant": 3})
    state(doc, "kubernetes:karpenter.sh/v1:NodePool", "servestack-karpenter-llm-nodepool")["inputs"]["spec"]["limits"] = {
        "cpu": "480", "memory": "3932160Mi", "nvidia.com/gpu": "40"}
    out = json.loads(CliRunner().invoke(cli, ["cost", str(write(doc, tmp_path)), "--format", "json"]).output)
    [pool] = [p for p in out["pools"] if p["pool"] == "llm"]
    assert (pool["nodesMin"], pool["shortAtMin"], pool["hourlyMin"]) == (
        {"g6e.12xlarge": 6}, {}, round(6 * G6E_12XLARGE, 4))
