"""`servestack diff`'s rules on real plan pairs: plan a repository stack, change its config, plan again.

Each risky change is a member of a class (README "Reviewing a change"): an endpoint's model, image or
runtime changed in place in staging or prod; a rollout rewritten mid-way or started at 100%; a pool
below the demand the change leaves on it; the tier changed; a runtime that silently becomes an
existing endpoint's. The cases include members the issue did not name (a transformer image, a runtime
version, an LLM model, a custom runtime's image, an LLM endpoint outgrowing its pool), and safe changes
of the same shape that must pass (dev, an opt-out, a rollout's own moves).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from functools import cache

import pytest
from click.testing import CliRunner
from harness import plan_config, repository_plan, stack_config

from plandoc.document import plan_from_document
from servestack.cli import cli
from servestack.review.diff import diff_plans
from servestack.review.flags import KINDS

E = "servestack:endpoints"
LLM = "servestack:llmEndpoints"
ECR = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
XGB_RUNTIME = {
    "container": {"image": "ghcr.io/acme/xgb-server:2.4.1@sha256:" + "a" * 64, "port": 8080},
    "formats": [{"name": "xgboost", "autoSelect": True, "priority": 5}], "protocolVersions": ["v2"],
    "resources": {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"cpu": "2", "memory": "4Gi"}},
}
CUTOVER = "every request reaches it as soon as its pods are ready, an instant full cutover; "
OPT_OUT = "or set allowInPlaceUpdate: true on the endpoint to accept it"
ROLL = ("roll a new model out with `servestack rollout start` (a transformer or explainer change goes out with a new "
        "endpoint beside this one), ")


def _fraud_stage_1(c):
    c[E]["fraud"]["rollout"]["stage"] = 1


def _fraud_steady(c):
    del c[E]["fraud"]["rollout"]


def _with_runtime(c):
    c["servestack:servingRuntimes"] = {"acme-xgb": copy.deepcopy(XGB_RUNTIME)}


def _chat_model(c, uri="s3://acme-ml-models-prod/models/chat/2.6-7b-instruct-awq", version="2.6-7b-instruct-awq"):
    c[E]["chat"]["model"].update(storageUri=uri, version=version)


def _set(*path: str, **values):
    """An edit of one mapping of the config: ``_set(E, "chat", "model", version="2")``."""
    def edit(config):
        target = config
        for key in path:
            target = target[key]
        target.update(values)
    return edit


def _promote_fraud(c):
    c[E]["fraud"]["model"].update(version="2.4.0", storageUri="s3://acme-ml-models-prod/models/fraud/2.4.0")
    del c[E]["fraud"]["rollout"]


def _in_place(what: str, path: str, old: str, new: str, remedy: str = ROLL) -> str:
    return f"{what} changes in place in prod ({path}: {old} -> {new}): " + CUTOVER + remedy + OPT_OUT


PROD_S3 = "s3://acme-ml-models-prod/models"
STAGING_S3 = "s3://acme-ml-models-staging/models"
REWRITTEN = "the stages of 2.4.0's rollout are rewritten mid-way from stage 1 of [10, 50, 100], 10% of requests to "
NEW_RUNTIME = {"image": "ghcr.io/acme/xgb-server:2.4.2@sha256:" + "b" * 64}

#: case -> (stack, edit of both configs or None, edit of the head's, expected flags (kind, subject, message))
CASES: dict[str, tuple[str, Callable | None, Callable, list[tuple[str, str, str]]]] = {
    "prod GPU model changed in place": ("prod", None, _chat_model, [(
        "in-place-update", "models/chat",
        _in_place("the predictor of chat", "spec.predictor.model.storageUri", f'"{PROD_S3}/chat/2.5-7b-instruct-awq"',
                  f'"{PROD_S3}/chat/2.6-7b-instruct-awq"'))]),
    "prod transformer image": ("prod", None, _set(E, "fraud", "transformer", "container",
                                                  image=f"{ECR}/ml/fraud-features:1.9.0"), [(
        "in-place-update", "models/fraud",
        _in_place("the transformer of fraud", "spec.transformer.containers[name=kserve-container].image",
                  f'"{ECR}/ml/fraud-features:1.8.0"', f'"{ECR}/ml/fraud-features:1.9.0"'))]),
    "prod custom container image": ("prod", None, _set(E, "anomaly", "model", "container",
                                                       image=f"{ECR}/ml/anomaly-fpga:1.3.0"), [(
        "in-place-update", "models/anomaly",
        _in_place("the predictor of anomaly", "spec.predictor.containers[name=kserve-container].image",
                  f'"{ECR}/ml/anomaly-fpga:1.2.0"', f'"{ECR}/ml/anomaly-fpga:1.3.0"'))]),
    "prod runtime version bump": ("prod", None, _set(E, "chat", "model", runtimeVersion="v0.20.1"), [(
        "in-place-update", "models/chat",
        _in_place("the predictor of chat", "spec.predictor.model.runtimeVersion", "(none)", '"v0.20.1"'))]),
    "prod LLM model": ("prod", None, _set(LLM, "assistant", "model", uri=f"{PROD_S3}/assistant/3-32b",
                                          version="3-32b"), [(
        "in-place-update", "models/assistant",
        _in_place("the LLM endpoint assistant", "spec.model.uri", f'"{PROD_S3}/assistant/2.5-32b-instruct"',
                  f'"{PROD_S3}/assistant/3-32b"',
                  "serve the new model as a second LLM endpoint and move clients to it, "))]),
    "staging stable model swapped mid-rollout": ("staging", None, _set(E, "fraud", "model", version="2.3.2",
                                                                       storageUri=f"{STAGING_S3}/fraud/2.3.2"), [(
        "rollout-rewritten", "models/fraud",
        "the stable model is swapped mid-rollout from 2.3.1 to 2.3.2 (candidate 2.4.0, stage 2 of [10, 50, 100], 50% "
        "of requests): 2.3.2 takes the stable share (50% of requests) at once and a rollback would return to a model "
        "that never served; finish or roll back the rollout first")]),
    "staging stages [10,50,100] at 1 -> [100]": ("staging", _fraud_stage_1,
                                                 _set(E, "fraud", "rollout", stages=[100]), [(
        "rollout-rewritten", "models/fraud",
        REWRITTEN + "stage 1 of [100], 100% of requests: the candidate's traffic jumps from 10% to 100%, beyond the "
        "next reviewed stage (50%); advance to the next stage of the rollout as declared")]),
    "staging stages [10,50,100] at 1 -> [60,100] at 1": ("staging", _fraud_stage_1,
                                                         _set(E, "fraud", "rollout", stages=[60, 100]), [(
        "rollout-rewritten", "models/fraud",
        REWRITTEN + "stage 1 of [60, 100], 60% of requests: the candidate's traffic jumps from 10% to 60%, beyond the "
        "next reviewed stage (50%); advance to the next stage of the rollout as declared")]),
    "staging candidate swapped": ("staging", None, _set(E, "fraud", "rollout", "candidate", version="2.5.0",
                                                        storageUri=f"{STAGING_S3}/fraud/2.5.0"), [
        ("rollout-skips-stage", "models/fraud", "rollout of 2.5.0 moves from no rollout to stage 2 (50%), skipping "
                                                "stage 1 (10%) of 10, 50, 100; advance one stage per change"),
        ("rollout-rewritten", "models/fraud",
         "the candidate is swapped mid-rollout from 2.4.0 (stage 2 of [10, 50, 100], 50% of requests) to 2.5.0 (stage "
         "2 of [10, 50, 100], 50% of requests): 2.5.0 takes 50% of requests without having run at any lower stage; "
         "roll 2.4.0 back, then start 2.5.0 at the first stage")]),
    "staging steady endpoint started at [100]": ("staging", _fraud_steady, _set(E, "fraud", rollout={
        "candidate": {"version": "2.4.0", "storageUri": f"{STAGING_S3}/fraud/2.4.0"}, "stages": [100], "stage": 1}), [(
        "rollout-starts-at-full-traffic", "models/fraud",
        "a rollout of 2.4.0 starts at stage 1 of [100], 100% of requests: 0% -> 100% of requests at once, a full "
        "cutover with no stage that a part of the traffic could judge; start at a first stage below 100")]),
    "prod CPU system pool 3 -> 2 nodes": ("prod", None, _set("servestack:nodePools", "system", minSize=2), [(
        "pool-below-demand", "system",
        "pool system changes from maxSize 3 (m7i.xlarge) to maxSize 2 (m7i.xlarge): at max replicas 15 pods fit on no "
        "node within its bounds (models/fraud canary v2-4-0 1, models/fraud predictor 14), 12 with its former bounds; "
        "they would stay Pending")]),
    "prod LLM replicas doubled past the pool": ("prod", None, _set(LLM, "assistant", replicas=4), [(
        "pool-below-demand", "llm",
        "more is placed on pool llm (NodePool limits cpu=96, memory=786432Mi, nvidia.com/gpu=8, g6e.12xlarge) than it "
        "holds: at min replicas 2 pods fit on no node within its bounds (LLM models/assistant 2), 0 before; they would "
        "stay Pending")]),
    "prod switched to tier dev": ("prod", None, lambda c: c.update({"servestack:tier": "dev"}), [(
        "tier-changed", "prod",
        "the stack's tier changes from prod (servestack:tier prod) to dev (servestack:tier dev): the rules of prod "
        "stop applying to it (policy checks, this diff's in-place rule); change a tier in a change of its own that "
        "the stack's owners approve, never beside other changes")]),
    "prod custom runtime takes over an existing endpoint": ("prod", None, _with_runtime, [(
        "runtime-resolution-changed", "acme-xgb",
        "1 existing endpoint now resolves to runtime acme-xgb (ClusterServingRuntime: xgboost autoSelect priority 5) "
        "without naming it: models/fraud (kserve-mlserver -> acme-xgb); each restarts on another model server at "
        "once; name the runtime on the endpoints that should keep theirs (model.runtime), or give the new runtime no "
        "autoSelect")]),
    "prod custom runtime image": ("prod", _with_runtime,
                                  _set("servestack:servingRuntimes", "acme-xgb", "container", **NEW_RUNTIME), [(
        "in-place-update", "models/fraud",
        _in_place("the runtime acme-xgb of fraud", "spec.containers[name=kserve-container].image",
                  f'"ghcr.io/acme/xgb-server:2.4.1@sha256:{"a" * 64}"', f'"{NEW_RUNTIME["image"]}"',
                  "publish the new runtime under a new name and move endpoints to it one rollout at a time, "))]),
    # Safe members of the same shapes.
    "dev model changed in place": ("dev", None, _set(E, "chat", "model", version="2.6-7b-instruct-awq",
                                                     storageUri="s3://acme-ml-models-dev/models/chat/2.6"), []),
    "prod opt-out": ("prod", None, lambda c: c[E]["chat"].update(allowInPlaceUpdate=True) or _chat_model(c), []),
    "staging Knative rollout start": ("staging", None, _set(E, "chat", rollout={
        "candidate": {"version": "2.6", "storageUri": f"{STAGING_S3}/chat/2.6"}, "stages": [10, 50, 100],
        "stage": 1}), []),
    "staging advance one stage": ("staging", None, _set(E, "fraud", "rollout", stage=3), []),
    "staging stages refined without more traffic": ("staging", None, _set(E, "fraud", "rollout",
                                                                          stages=[10, 25, 50, 75, 100], stage=3), []),
    "prod Standard-mode promotion": ("prod", None, _promote_fraud, []),
    "prod env var added": ("prod", None, _set(E, "summarize", "model", "container", "env", NEURON_CC_FLAGS="-O2"), []),
    "prod CPU system pool 3 -> 4 nodes": ("prod", None, _set("servestack:nodePools", "system", minSize=4), []),
}


@cache
def planned(case: str) -> tuple[dict, dict]:
    """The case's base and head plan documents (planned fresh, once per test process; tests only read them)."""
    stack, both, head_edit, _ = CASES[case]
    if both is None:
        base = repository_plan(stack).document
    else:
        config = stack_config(stack)
        both(config)
        base = plan_config(config, stack).document
    config = stack_config(stack)
    if both is not None:
        both(config)
    head_edit(config)
    return base, plan_config(config, stack).document


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_change_is_flagged_exactly_as_its_class_says(case):
    base, head = planned(case)
    result = diff_plans(plan_from_document(base), plan_from_document(head))
    assert result.changes or base["config"] != head["config"]  # every case, safe ones included, changes the plan
    flags = result.flags
    assert [(f.kind, f.subject, f.message) for f in flags] == CASES[case][3]
    assert {f.kind for f in flags} <= set(KINDS)


@pytest.mark.parametrize("case", sorted(c for c in CASES if CASES[c][3]))
def test_diff_exits_1_and_names_each_flag_in_markdown_and_json(tmp_path, case):
    dirs = []
    for name, document in zip(("base", "head"), planned(case)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "preview.json").write_text(json.dumps(document))
        dirs.append(str(tmp_path / name))
    markdown = CliRunner().invoke(cli, ["diff", *dirs], catch_exceptions=False)
    out = CliRunner().invoke(cli, ["diff", *dirs, "--format", "json"], catch_exceptions=False)
    assert (markdown.exit_code, out.exit_code) == (1, 1)
    expected = CASES[case][3]
    assert [(f["kind"], f["subject"], f["message"]) for f in json.loads(out.output)["flags"]] == expected
    unsafe = markdown.output.split("### ⚠️ Unsafe transitions\n\n", 1)[1].split("\n\n", 1)[0]
    assert unsafe.splitlines() == [f"- **{kind}** `{subject}`: {message}" for kind, subject, message in expected]


def test_an_env_var_added_is_one_named_item_not_a_shift_of_the_list():
    base, head = planned("prod env var added")
    change = next(c for c in diff_plans(plan_from_document(base), plan_from_document(head)).changes
                  if c.name == "servestack-endpoint-summarize-isvc")
    assert [(f.path, f.old, f.new) for f in change.fields] == [
        ("spec.predictor.containers[name=kserve-container].env[name=NEURON_CC_FLAGS]", None,
         {"name": "NEURON_CC_FLAGS", "value": "-O2"})]


def test_an_offline_plan_judges_no_creation_mid_rollout_and_diff_judges_real_ones(tmp_path):
    """`no-create-mid-rollout` fired on every Knative rollout of an existing endpoint (an offline plan creates every
    resource): the check now reads creations only from a real preview, and diff from the plan pair."""
    from servestack.review.check import run_check

    staging = plan_from_document(repository_plan("staging").document)
    assert staging.offline and [v.rule for v in run_check(staging).violations] == []
    advanced = planned("staging advance one stage")
    assert diff_plans(plan_from_document(advanced[0]), plan_from_document(advanced[1])).flags == []
    # Really created: fraud absent from the base, created mid-rollout in the head.
    base = stack_config("staging")
    del base[E]["fraud"]
    flags = diff_plans(plan_from_document(plan_config(base, "staging").document), staging).flags
    # (and staging's system pool, 2 x m7i.large, cannot hold fraud's replicas of both revisions at max)
    assert [(f.kind, f.subject) for f in flags] == [("created-mid-rollout", "models/fraud"),
                                                    ("pool-below-demand", "system")]
    assert flags[1].message == (
        "more is placed on pool system (maxSize 2, m7i.large) than it holds: at max replicas 8 pods fit on no node "
        "within its bounds (models/fraud explainer 1, models/fraud predictor 6, models/fraud previous revision 1), 0 "
        "before; they would stay Pending")
    # A real preview's create step is a real creation: the check reports it there.
    preview = json.loads(json.dumps(repository_plan("staging").document))
    del preview["outputs"]
    assert [v.rule for v in run_check(plan_from_document(preview)).violations] == ["no-create-mid-rollout"]
