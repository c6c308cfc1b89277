"""`servestack diff` exit codes: 0 safe, 1 unsafe transitions found (report printed either way), 2 bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from review_stack import (
    GPU_TAINT,
    bucket,
    document,
    endpoints_config,
    good_stack,
    isvc,
    knative_record,
    node_group,
    replace,
)
from servestack.cli import cli

PROD = {"aws:region": "us-east-1", "servestack:tier": "prod"}


def fraud(stable: str, candidate: str | None = None, stage: int = 0, stages=(10, 50, 100)) -> dict:
    if candidate is None:
        config = endpoints_config(fraud=stable)
        return document(replace(good_stack(), isvc(version=stable)), {**PROD, "servestack:endpoints": config})
    config = endpoints_config(fraud=(stable, candidate, list(stages), stage))
    traffic = list(stages)[stage - 1]
    return document(replace(good_stack(), isvc(version=stable, canary=traffic, candidate=candidate)),
                    {**PROD, "servestack:endpoints": config})


def churn_created_mid_rollout() -> dict:
    return document([*good_stack(), isvc("churn", version="4.0.0", pool="system", gpus=0, canary=25, candidate="4.1.0"),
                     knative_record("churn", "4.0.0", "4.1.0", "25,100", 1)], PROD)


UNSAFE = {
    "rollout-skips-stage": (lambda: fraud("1.0.0", "1.1.0", 1), lambda: fraud("1.0.0", "1.1.0", 3)),
    "premature-promotion": (lambda: fraud("1.0.0", "1.1.0", 1), lambda: fraud("1.1.0")),
    "protected-resource-deleted": (lambda: document([*good_stack(), bucket()], PROD), lambda: document(good_stack(), PROD)),
    "created-mid-rollout": (lambda: document(good_stack(), PROD), churn_created_mid_rollout),
    "pool-below-demand": (lambda: document(good_stack(), PROD),
                          lambda: document(replace(good_stack(), node_group("gpu", ["g6.xlarge"], 0, 0, [GPU_TAINT], "nvidia")), PROD)),
}


def write(tmp_path: Path, base: dict, head: dict) -> tuple[str, str]:
    for name, doc in (("base", base), ("head", head)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "preview.json").write_text(json.dumps(doc))
    return str(tmp_path / "base"), str(tmp_path / "head")


@pytest.mark.parametrize("fmt", ["markdown", "json"])
@pytest.mark.parametrize("kind", sorted(UNSAFE))
def test_each_unsafe_transition_exits_1_after_printing_the_report(tmp_path, kind, fmt):
    base, head = (make() for make in UNSAFE[kind])
    result = CliRunner().invoke(cli, ["diff", *write(tmp_path, base, head), "--format", fmt], catch_exceptions=False)
    assert result.exit_code == 1
    if fmt == "json":
        assert [f["kind"] for f in json.loads(result.output)["flags"]] == [kind]
    else:
        assert "### ⚠️ Unsafe transitions" in result.output and f"- **{kind}**" in result.output


def test_a_safe_advance_by_one_stage_exits_0(tmp_path):
    result = CliRunner().invoke(cli, ["diff", *write(tmp_path, fraud("1.0.0", "1.1.0", 1), fraud("1.0.0", "1.1.0", 2))],
                                catch_exceptions=False)
    assert result.exit_code == 0
    assert "Unsafe transitions" not in result.output


def test_a_promotion_from_the_last_stage_exits_0(tmp_path):
    result = CliRunner().invoke(cli, ["diff", *write(tmp_path, fraud("1.0.0", "1.1.0", 3), fraud("1.1.0"))],
                                catch_exceptions=False)
    assert result.exit_code == 0


def test_input_that_is_not_a_plan_exits_2(tmp_path):
    (tmp_path / "base").mkdir()
    result = CliRunner().invoke(cli, ["diff", str(tmp_path / "base"), str(tmp_path / "base")])
    assert result.exit_code == 2
