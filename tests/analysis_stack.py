"""A project whose stack has every analysis scenario of :mod:`analysis_series` as an endpoint in rollout:
``kn-<scenario>`` (InferenceServices in Knative mode, candidate at 10%) and ``llm-<scenario>`` (LLM
endpoints, candidate at 10% of the routing group)."""

from __future__ import annotations

import copy
import io
import shutil
from pathlib import Path


from servestack.stackio import stackfile

import analysis_series as s
from endpoint_fixtures import LLM_URI, config
from harness import REPO

STACK = "test"


def knative_endpoint(name: str, analysis: dict | None = None) -> dict:
    return {
        "pool": "system",
        "model": {"format": "sklearn", "storageUri": f"s3://acme-models/models/{name}/{s.KN_STABLE}",
                  "version": s.KN_STABLE},
        "autoscaling": {"minReplicas": 1, "maxReplicas": 4},
        "rollout": {"candidate": {"version": s.KN_CANDIDATE,
                                  "storageUri": f"s3://acme-models/models/{name}/{s.KN_CANDIDATE}"},
                    "stages": [10, 50, 100], "stage": 1,
                    "analysis": copy.deepcopy(analysis or s.KNATIVE_ANALYSIS)},
    }


def llm_endpoint(name: str, analysis: dict | None = None) -> dict:
    return {
        "pool": "gpu",
        "model": {"uri": LLM_URI, "version": s.LLM_STABLE, "name": "qwen-chat"},
        "rollout": {"candidate": {"version": s.LLM_CANDIDATE, "uri": f"s3://acme-models/models/{name}/{s.LLM_CANDIDATE}"},
                    "stages": [10, 50, 100], "stage": 1, "analysis": copy.deepcopy(analysis or s.LLM_ANALYSIS)},
    }


def stack_config() -> dict:
    raw = config({f"kn-{scenario}": knative_endpoint(f"kn-{scenario}") for scenario in s.SCENARIOS})
    raw["servestack:llmEndpoints"] = {f"llm-{scenario}": llm_endpoint(f"llm-{scenario}") for scenario in s.SCENARIOS}
    return raw


def write_project(root: Path, raw: dict | None = None) -> Path:
    shutil.copy(REPO / "Pulumi.yaml", root / "Pulumi.yaml")
    (root / "stacks").mkdir(exist_ok=True)
    out = io.StringIO()
    stackfile._yaml().dump({"config": raw or stack_config()}, out)  # the layout the stack-file editor keeps
    text = "# analysis scenarios\n" + out.getvalue()
    (root / "stacks" / f"Pulumi.{STACK}.yaml").write_text(text)
    return root
