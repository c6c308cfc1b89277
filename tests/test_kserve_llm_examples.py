"""KServe v0.20.0's own LLMInferenceService examples, as stack files express them
(tests/data/kserve-v0.20.0-llmisvc-examples.yaml): every translation plans, and every LLMInferenceService
and LLMInferenceServiceConfig it renders is accepted by KServe v0.20.0's CRDs with every baseRef resolved;
every refusal is the exact message. The figure "N of 24 expressible" is derived here."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from components.config import ConfigError, parse_stack_config
from components.core.llm_units import kserve_presets
from components.core.placement import placement_for
from components.render.llm_inference_service import render_llm_inference_service
from components.render.llm_presets import preset_namespaces, render_llm_preset
from conformance.schema import validate

EXAMPLES = yaml.safe_load((Path(__file__).parent / "data" / "kserve-v0.20.0-llmisvc-examples.yaml").read_text())
POOLS = {
    "system": {"instanceTypes": ["m7i.large"], "minSize": 2},
    "cpu": {"instanceTypes": ["m7i.4xlarge"], "minSize": 0, "maxSize": 4, "provisioner": "karpenter"},
    "gpu": {"instanceTypes": ["g6e.xlarge"], "minSize": 0, "maxSize": 6},
    "gpu-efa": {"instanceTypes": ["g6e.8xlarge"], "minSize": 0, "maxSize": 3},
    "gpu8": {"instanceTypes": ["p5.48xlarge"], "minSize": 0, "maxSize": 8},
}


def stack_config(example: dict) -> dict:
    return {
        "aws:region": "us-east-1",
        "servestack:nodePools": copy.deepcopy(POOLS),
        "servestack:platform": {"kserve": {"deploymentMode": "Standard"},
                                "endpointNamespaces": ["models", "kserve-ci-e2e-test"]},
        "servestack:llmEndpoints": copy.deepcopy(example["llmEndpoints"]),
        **({"servestack:llmPresets": copy.deepcopy(example["llmPresets"])} if "llmPresets" in example else {}),
    }


def plan_example(example: dict) -> list[dict]:
    """Every object the example's LLM endpoints and presets render (ConfigError when refused)."""
    stack = parse_stack_config("example", stack_config(example))
    placements = {n: placement_for(n, p.instance_types, p.max_size) for n, p in stack.node_pools.items()}
    objects = [render_llm_inference_service(n, e, placements[e.pool]) for n, e in sorted(stack.llm_endpoints.items())]
    objects += [render_llm_preset(p, stack.llm_presets[p], ns) for p, ns in preset_namespaces(stack.llm_presets,
                                                                                              stack.llm_endpoints)]
    return objects


@pytest.mark.parametrize("path", sorted(EXAMPLES["examples"]))
def test_example_plans_with_its_meaning_or_is_refused_with_the_reason(path):
    example = EXAMPLES["examples"][path]
    if "refused" in example:
        with pytest.raises(ConfigError) as error:
            plan_example(example)
        assert [p.render() for p in error.value.problems] == example["refused"]
        return
    objects = plan_example(example)
    own = {(o["metadata"]["namespace"], o["metadata"]["name"]) for o in objects if o["kind"] == "LLMInferenceServiceConfig"}
    for obj in objects:
        assert validate(obj, "kserve-v0.20.0") == [], obj["metadata"]["name"]
        for ref in obj["spec"].get("baseRefs", []):
            assert (obj["metadata"]["namespace"], ref["name"]) in own or ref["name"] in kserve_presets()


def test_figure_expressible_of_kserves_examples():
    examples = EXAMPLES["examples"]
    expressible = sorted(p for p, e in examples.items() if "refused" not in e)
    refused = sorted(p for p, e in examples.items() if "refused" in e)
    assert len(examples) == 24
    assert (EXAMPLES["before"], len(expressible)) == (1, 21)
    assert refused == [
        "managed-dra/llm-inference-service-managed-dra-minimal.yaml",
        "managed-dra/llm-inference-service-managed-dra-multi-device.yaml",
        "multi-gpu-vendor/llm-inference-service-qwen2-7b-amd-no-scheduler.yaml",
    ]
