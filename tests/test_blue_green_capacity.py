"""A blue/green start in prod (Standard mode, the candidate beside the stable with no traffic): the stable keeps its
minimum while the candidate runs (servestack writes minReplicas + the candidate's replicas, which KServe lowers by
them), and the capacity rules count both at min; an under-capacity start still fails."""

from __future__ import annotations

import pytest

from harness import plan_config, stack_config

from plandoc.document import plan_from_document
from policies.rules import evaluate

RULES = ("prod-endpoint-min-replicas", "accelerator-capacity-fits", "llm-accelerator-capacity-fits")
PROD_POLICY = {"prod-endpoint-min-replicas": {"minReplicas": 2, "allowScaleToZero": []}}


def start(endpoint: str, config: dict | None = None, replicas: int = 1) -> list[tuple[str, str]]:
    config = config or stack_config("prod")
    spec = config["servestack:endpoints"][endpoint]
    spec["rollout"] = {"candidate": {"version": "9.9.9", "storageUri": spec["model"]["storageUri"] + "-next"},
                       "stages": [0], "stage": 1, "candidateReplicas": replicas}
    reviewed = plan_from_document(plan_config(config, "prod").document)
    found = evaluate(reviewed.resource_list(), PROD_POLICY, reviewed.config, "prod")
    return [(v.rule, v.message) for v in found if v.rule in RULES]


@pytest.mark.parametrize("endpoint", ["chat", "summarize"])
def test_a_blue_green_start_on_a_prod_endpoint_with_min_replicas_2_passes(endpoint):
    """chat (gpu, min 2 max 8, 8 GPUs: 2 + 1 at min) and summarize (neuron, min 2 max 4, 4 devices: 2 + 1 at min)
    each keep 2 stable replicas beside 1 candidate; the candidate takes no traffic, so at max the stable alone."""
    assert start(endpoint) == []


def test_an_under_capacity_blue_green_start_fails_counting_both_models():
    """anomaly: 2 stable replicas kept + 1 candidate = 3 FPGAs at min on a pool of 2 (maxSize 2 x 1 per node)."""
    assert start("anomaly") == [(
        "accelerator-capacity-fits",
        "endpoints on pool fpga need 3 servestack.io/fpga at min replicas, with every rollout's candidate (anomaly 3) "
        "but the pool offers 2 at its NodePool limits cpu=48, memory=524288Mi; required: demand <= capacity, or "
        "replicas beyond it stay Pending")]


def test_the_rendered_stable_minimum_keeps_the_configured_one():
    config = stack_config("prod")
    spec = config["servestack:endpoints"]["chat"]
    spec["rollout"] = {"candidate": {"version": "9.9.9", "storageUri": spec["model"]["storageUri"] + "-next"},
                       "stages": [0], "stage": 1, "candidateReplicas": 2}
    spec["autoscaling"] = {"minReplicas": 2, "maxReplicas": 3}
    reviewed = plan_from_document(plan_config(config, "prod").document)
    [isvc] = [r for r in reviewed.resource_list() if r["type"].endswith("InferenceService")
              and r["inputs"]["metadata"]["name"] == "chat"]
    predictor = isvc["inputs"]["spec"]["predictor"]
    # KServe keeps max(4 - 2, 1) = 2 stable replicas beside the 2 candidates; maxReplicas rises to the minimum
    assert (predictor["minReplicas"], predictor["maxReplicas"], isvc["inputs"]["spec"]["canary"][0]["predictor"]["minReplicas"]) == (4, 4, 2)
