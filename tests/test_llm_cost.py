"""`servestack cost` and plandoc's LLM facts on the real prod plan: an LLM endpoint's GPUs are
accelerators per pod x pods (replicas x (1 + workers)), priced through its pool's node type."""

from __future__ import annotations

import json

from click.testing import CliRunner

from llm_plans import document, llm, write
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


def test_cost_prices_an_llm_endpoint_through_its_pool(tmp_path):
    path = write(document("prod"), tmp_path)
    text = CliRunner().invoke(cli, ["cost", str(path)], catch_exceptions=False).output
    # the cold starts (issue 24) follow the LLM endpoints' lines
    assert ("\nLLM endpoints (their share of the node pools above, not added to the total):\n"
            "  LLM endpoint models/assistant: 8 nvidia.com/gpu (2 pods) on pool llm (4 per node): "
            "2 node(s) x 10.4926 = 20.9853 $/h\n\nCold starts (") in text
    out = json.loads(CliRunner().invoke(cli, ["cost", str(path), "--format", "json"]).output)
    assert out["llmEndpoints"] == [{"endpoint": "models/assistant", "pool": "llm", "replicas": 2, "workers": 0,
                                    "accelerators": 8, "resource": "nvidia.com/gpu", "nodes": 2.0,
                                    "nodeHourly": G6E_12XLARGE, "hourly": round(2 * G6E_12XLARGE, 4)}]
    assert "llmNotes" in out and out["llmNotes"] == []


def test_multi_node_workers_and_prefill_count_every_pod(tmp_path):
    doc = document("prod")
    spec = llm(doc, "assistant")
    # data 4 over dataLocal 2: a LeaderWorkerSet of 2 pods per replica (leader + 1 worker), as rendered
    spec["parallelism"] = {"tensor": 2, "data": 4, "dataLocal": 2}
    spec["worker"] = json.loads(json.dumps(spec["template"]))
    spec["prefill"] = {"replicas": 3, "template": json.loads(json.dumps(spec["template"]))}
    spec["prefill"]["template"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] = "1"
    spec["prefill"]["template"]["containers"][0]["resources"]["requests"]["nvidia.com/gpu"] = "1"
    [endpoint] = llm_endpoints(plan_from_document(doc).resource_list())
    assert (endpoint.replicas, endpoint.workers, [w.pods for w in endpoint.workloads()], endpoint.accelerators) == (
        2, 1, [4, 3], 4 * 4 + 3 * 1)
    out = json.loads(CliRunner().invoke(cli, ["cost", str(write(doc, tmp_path)), "--format", "json"]).output)
    assert [(e["accelerators"], e["nodes"], e["hourly"]) for e in out["llmEndpoints"]] == [
        (19, 4.75, round(4.75 * G6E_12XLARGE, 4))]
    text = CliRunner().invoke(cli, ["cost", str(tmp_path / "preview.json")]).output
    assert "  LLM endpoint models/assistant: 19 nvidia.com/gpu (2 x 2 pods) on pool llm (4 per node): " \
           "4.75 node(s) x 10.4926 = 49.8400 $/h\n" in text


def test_a_stack_without_llm_endpoints_prints_no_llm_section(tmp_path):
    doc = document("prod")
    doc["steps"] = [s for s in doc["steps"] if "LLMInferenceService" not in s["newState"]["type"]]
    path = write(doc, tmp_path)
    assert "LLM endpoints" not in CliRunner().invoke(cli, ["cost", str(path)]).output
    assert "llmEndpoints" not in json.loads(CliRunner().invoke(cli, ["cost", str(path), "--format", "json"]).output)
