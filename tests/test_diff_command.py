"""`servestack diff`: hand-built base/head plans (exact markdown, golden file), JSON, real previews."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from review_stack import (
    GPU_TAINT,
    bucket,
    cluster,
    document,
    endpoints_config,
    good_stack,
    isvc,
    knative_record,
    node_group,
    replace,
    standard_isvc,
    standard_record,
)
from plandoc.document import plan_from_document
from plandoc.endpoints import endpoint_of
from plandoc.rollouts import rollout_state
from servestack.cli import cli
from servestack.review.diff import FieldChange, diff_plans, field_changes, preview_as_diff, render_markdown

DATA = Path(__file__).resolve().parent / "data"
PREVIEW = DATA / "preview-prod.json"
GOLDEN = DATA / "diff-golden.md"
PROD = {"aws:region": "us-east-1", "servestack:tier": "prod"}


def base_and_head() -> tuple[dict, dict]:
    """fraud promoted from stage 1, ranker jumping from stage 1 to 3, scorer starting a blue/green candidate,
    churn created mid-rollout, gpu pool shrunk, protected bucket deleted. Each endpoint has its rollout record."""
    base = replace([*good_stack(), bucket()], isvc(canary=10, candidate="1.1.0"))
    base += [knative_record("fraud", "1.0.0", "1.1.0", "10,50,100", 1),
             isvc("ranker", version="2.0.0", canary=10, candidate="2.1.0"),
             knative_record("ranker", "2.0.0", "2.1.0", "10,50,100", 1),
             standard_isvc("scorer", "3.0.0", pool="system", gpus=0, max_replicas=2),
             standard_record("scorer", "3.0.0", min_replicas=2)]
    head = replace(good_stack(), isvc(version="1.1.0"))
    head = replace(head, node_group("gpu", ["g6.xlarge"], 1, 3, [GPU_TAINT], "nvidia"))
    head = replace(head, cluster(enabledClusterLogTypes=["api", "audit", "authenticator"]))
    head += [knative_record("fraud", "1.1.0"),
             isvc("ranker", version="2.0.0", canary=100, candidate="2.1.0"),
             knative_record("ranker", "2.0.0", "2.1.0", "10,50,100", 3),
             standard_isvc("scorer", "3.0.0", "3.1.0", pool="system", gpus=0, max_replicas=2),
             standard_record("scorer", "3.0.0", "3.1.0", min_replicas=2),
             isvc("churn", version="4.0.0", pool="system", gpus=0, canary=25, candidate="4.1.0"),
             knative_record("churn", "4.0.0", "4.1.0", "25,100", 1)]
    for doc in (base, head):
        for r in doc:  # what servestack writes today: no rollout state on the InferenceService
            if r["type"].endswith(":InferenceService"):
                r["inputs"]["metadata"]["labels"] = {"servestack.io/endpoint": name_of(r)}
    return document(base, PROD), document(head, PROD)


def name_of(resource: dict) -> str:
    return resource["urn"].rsplit("::", 1)[1]


def plan_dirs(tmp_path: Path, base: dict, head: dict) -> tuple[Path, Path]:
    for name, doc in (("base", base), ("head", head)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "preview.json").write_text(json.dumps(doc))
    return tmp_path / "base", tmp_path / "head"


def test_markdown_of_hand_built_plans_matches_the_golden_file(tmp_path):
    base, head = plan_dirs(tmp_path, *base_and_head())
    result = CliRunner().invoke(cli, ["diff", str(base), str(head), "--format", "markdown"], catch_exceptions=False)
    assert result.exit_code == 1  # unsafe transitions found
    if os.environ.get("SERVESTACK_UPDATE_GOLDEN"):
        GOLDEN.write_text(result.output)
    assert result.output == GOLDEN.read_text()


def test_the_golden_file_says_what_a_reviewer_needs():
    golden = GOLDEN.read_text()
    assert "(at min -$0.80/h, at max -$0.80/h, -$587.50/month at max)" in golden
    for flag in ("premature-promotion", "rollout-skips-stage", "created-mid-rollout", "pool-below-demand",
                 "protected-resource-deleted"):
        assert f"- **{flag}**" in golden
    assert "  - `scalingConfig.maxSize`: `4` → `3`\n" in golden
    assert ("| `models/fraud` | Knative | 1.0.0 (90%) + candidate 1.1.0 (10%, stage 1 of 3) | 1.1.0 (100%) |\n") in golden
    # Standard mode: the traffic KServe v0.20.0 really routes, and the stable minimum it keeps meanwhile
    assert ("| `models/scorer` | Standard | 3.0.0 (100%) | 3.0.0 (100%, minReplicas 2 → 1 while the canary runs) + "
            "candidate 3.1.0 (0%, own service only, 1 replica, stage 1 of 1) |\n") in golden


def test_json_output(tmp_path):
    base, head = plan_dirs(tmp_path, *base_and_head())
    result = CliRunner().invoke(cli, ["diff", str(base), str(head), "--format", "json"], catch_exceptions=False)
    out = json.loads(result.output)
    assert out["summary"] == {"create": 2, "update": 8, "delete": 1}
    assert [f["kind"] for f in out["flags"]] == ["premature-promotion", "rollout-skips-stage", "created-mid-rollout",
                                                 "pool-below-demand", "protected-resource-deleted"]
    gpu = next(c for c in out["changes"] if c["name"] == "servestack-gpu")
    assert gpu == {"op": "update", "key": "aws:eks/nodeGroup:NodeGroup::servestack-gpu", "type": "aws:eks/nodeGroup:NodeGroup",
                   "name": "servestack-gpu", "protect": False,
                   "fields": [{"path": "scalingConfig.maxSize", "old": 4, "new": 3}]}
    none = {"unrouted": 0, "stable_min": None, "stable_min_during_canary": None, "candidate_replicas": None}
    assert out["rollouts"][2] == {
        "endpoint": "models/ranker",
        "before": {"mode": "Knative", "stable": "2.0.0", "candidate": "2.1.0", "traffic": 10, "stage": 1, "stages": [10, 50, 100], **none},
        "after": {"mode": "Knative", "stable": "2.0.0", "candidate": "2.1.0", "traffic": 100, "stage": 3, "stages": [10, 50, 100], **none},
    }
    assert out["rollouts"][3]["after"] == {"mode": "Standard", "stable": "3.0.0", "candidate": "3.1.0", "traffic": 0, "stage": 1,
                                           "stages": [0], "unrouted": 0, "stable_min": 2, "stable_min_during_canary": 1,
                                           "candidate_replicas": 1}
    assert (out["cost"]["hourlyMaxDelta"], out["cost"]["monthlyMaxDelta"]) == (-0.8048, -587.5)


def test_safe_advance_by_one_stage_has_no_flags():
    base = document(replace(good_stack(), isvc(canary=10, candidate="1.1.0")),
                    {**PROD, "servestack:endpoints": endpoints_config(fraud=("1.0.0", "1.1.0", [10, 50, 100], 1))})
    head = document(replace(good_stack(), isvc(canary=50, candidate="1.1.0")),
                    {**PROD, "servestack:endpoints": endpoints_config(fraud=("1.0.0", "1.1.0", [10, 50, 100], 2))})
    result = diff_plans(plan_from_document(base), plan_from_document(head))
    assert result.flags == []
    markdown = render_markdown(result)
    assert "Unsafe transitions" not in markdown
    assert ("| `models/fraud` | Knative | 1.0.0 (90%) + candidate 1.1.0 (10%, stage 1 of 3) | "
            "1.0.0 (50%) + candidate 1.1.0 (50%, stage 2 of 3) |\n") in markdown
    assert [c.fields for c in result.changes] == [(FieldChange("spec.predictor.canaryTrafficPercent", 10, 50),)]


def test_a_rollout_starting_beyond_its_first_stage_skips_stages():
    config = {**PROD, "servestack:endpoints": endpoints_config(fraud=("1.0.0", "1.1.0", [10, 50, 100], 2))}
    base = document(good_stack(), {**PROD, "servestack:endpoints": endpoints_config(fraud="1.0.0")})
    head = document(replace(good_stack(), isvc(canary=50, candidate="1.1.0")), config)
    [flag] = diff_plans(plan_from_document(base), plan_from_document(head)).flags
    assert (flag.kind, flag.message) == ("rollout-skips-stage", "rollout of 1.1.0 moves from no rollout to stage 2 (50%), "
                                                                "skipping stage 1 (10%) of 10, 50, 100; advance one stage per change")


def test_promotion_from_the_last_stage_is_safe():
    config = {**PROD, "servestack:endpoints": endpoints_config(fraud=("1.0.0", "1.1.0", [10, 100], 2))}
    base = plan_from_document(document(replace(good_stack(), isvc(canary=100, candidate="1.1.0")), config))
    head = plan_from_document(document(replace(good_stack(), isvc(version="1.1.0")), {**PROD, "servestack:endpoints": endpoints_config(fraud="1.1.0")}))
    assert diff_plans(base, head).flags == []


def test_rollout_state_without_servestack_config_reads_the_inference_service_alone():
    endpoint = endpoint_of(isvc(canary=25, candidate="1.1.0"))
    state = rollout_state(endpoint, {})
    assert (state.stable, state.candidate, state.traffic, state.stage, state.describe()) == (
        "1.0.0", "1.1.0", 25, None, "1.0.0 (75%) + candidate 1.1.0 (25%)")


def test_field_changes_are_nested_paths_with_added_and_removed_leaves():
    old = {"a": {"b": 1, "gone": True}, "list": [{"x": 1}, {"x": 2}], "scalars": [1, 2], "labels": {"k.io/v": "1"}}
    new = {"a": {"b": 2, "new": "yes"}, "list": [{"x": 1}, {"x": 3}, {"x": 4}], "scalars": [1, 2, 3], "labels": {"k.io/v": "2"}}
    assert field_changes(old, new) == [
        FieldChange("a.b", 1, 2), FieldChange("a.gone", True, None), FieldChange("a.new", None, "yes"),
        FieldChange('labels["k.io/v"]', "1", "2"),
        FieldChange("list[1].x", 2, 3), FieldChange("list[2]", None, {"x": 4}),
        FieldChange("scalars", [1, 2], [1, 2, 3]),
    ]


def test_real_preview_alone_is_diffed_against_the_deployed_state_it_carries():
    result = CliRunner().invoke(cli, ["diff", str(PREVIEW)], catch_exceptions=False)
    assert result.exit_code == 1  # unsafe transitions found
    assert result.output == (DATA / "diff-preview-prod.md").read_text()


def test_plan_directory_against_a_real_preview(tmp_path):
    """The deployed stack's last offline plan as BASE, a real preview as HEAD."""
    preview = json.loads(PREVIEW.read_text())
    base_doc = {"config": {"aws:region": "us-east-1", "servestack:tier": "prod"},
                "steps": [{"op": "create", "urn": s["urn"], "newState": s["oldState"]} for s in preview["steps"] if "oldState" in s]}
    (tmp_path / "preview.json").write_text(json.dumps(base_doc))
    out = json.loads(CliRunner().invoke(cli, ["diff", str(tmp_path), str(PREVIEW), "--format", "json"]).output)
    assert out["summary"] == {"create": 1, "update": 3, "delete": 1}
    assert [(f["kind"], f["message"]) for f in out["flags"]][0] == (
        "rollout-skips-stage", "rollout of 1.1.0 moves from stage 1 (10%) to stage 3 (100%), skipping stage 2 (50%) "
        "of 10, 50, 100; advance one stage per change")
    assert [f["kind"] for f in out["flags"]][1:] == ["pool-below-demand", "protected-resource-deleted"]


def test_diff_of_a_preview_without_old_state_needs_two_plans(tmp_path):
    (tmp_path / "preview.json").write_text(json.dumps(document(good_stack())))
    result = CliRunner().invoke(cli, ["diff", str(tmp_path)])
    assert result.exit_code == 2
    assert "carries no oldState" in result.output


def test_no_changes():
    plan = plan_from_document(document(good_stack()))
    assert render_markdown(diff_plans(plan, plan)).endswith("\nNo resource changes.\n")


def test_stages_and_stage_from_what_older_servestack_wrote_on_the_inference_service():
    """A plan (or deployed state) of a servestack release before the rollout record, without servestack:endpoints:
    the annotation and label ModelEndpoint then wrote tell the stages."""
    def annotated(traffic: int, stage: int):
        endpoint = isvc(canary=traffic, candidate="1.1.0")
        endpoint["inputs"]["metadata"]["annotations"]["servestack.io/rollout-stages"] = "10,50,100"
        endpoint["inputs"]["metadata"]["labels"]["servestack.io/rollout-stage"] = f"{stage}-of-3"
        return endpoint

    state = rollout_state(endpoint_of(annotated(50, 2)), {})
    assert (state.stages, state.stage) == ((10, 50, 100), 2)
    base = plan_from_document(document(replace(good_stack(), annotated(10, 1)), PROD))
    head = plan_from_document(document(replace(good_stack(), annotated(100, 3)), PROD))
    [flag] = diff_plans(base, head).flags
    assert flag.message == ("rollout of 1.1.0 moves from stage 1 (10%) to stage 3 (100%), skipping stage 2 (50%) of "
                            "10, 50, 100; advance one stage per change")


def test_the_rollout_record_is_what_the_diff_reads():
    """No servestack:endpoints and no labels on the InferenceServices: the records carry versions, stages and stage."""
    def at(stage: int, traffic: int):
        endpoint = isvc(canary=traffic, candidate="1.1.0")
        endpoint["inputs"]["metadata"]["labels"] = {"servestack.io/endpoint": "fraud"}
        return document([*replace(good_stack(), endpoint), knative_record("fraud", "1.0.0", "1.1.0", "10,50,100", stage)], PROD)

    result = diff_plans(plan_from_document(at(1, 10)), plan_from_document(at(3, 100)))
    [change] = result.rollouts
    assert (change.before.describe(), change.after.describe()) == (
        "1.0.0 (90%) + candidate 1.1.0 (10%, stage 1 of 3)", "1.0.0 (0%) + candidate 1.1.0 (100%, stage 3 of 3)")
    assert [f.kind for f in result.flags] == ["rollout-skips-stage"]
    assert diff_plans(plan_from_document(at(1, 10)), plan_from_document(at(2, 50))).flags == []


def test_a_standard_mode_blue_green_promotion_from_its_only_stage_is_safe():
    base = document([*good_stack(), standard_isvc("scorer", "3.0.0", "3.1.0", pool="system", gpus=0, max_replicas=2),
                     standard_record("scorer", "3.0.0", "3.1.0", min_replicas=2)], PROD)
    head = document([*good_stack(), standard_isvc("scorer", "3.1.0", pool="system", gpus=0, max_replicas=2),
                     standard_record("scorer", "3.1.0", min_replicas=2)], PROD)
    result = diff_plans(plan_from_document(base), plan_from_document(head))
    assert result.flags == []
    assert [(r.before.describe(), r.after.describe()) for r in result.rollouts] == [(
        "3.0.0 (100%, minReplicas 2 → 1 while the canary runs) + candidate 3.1.0 (0%, own service only, 1 replica, "
        "stage 1 of 1)", "3.1.0 (100%)")]


def test_a_standard_mode_canary_of_an_older_plan_shows_the_traffic_kserve_really_routes():
    """An older servestack (or another tool) declared trafficPercent 10 on spec.canary[]: KServe v0.20.0 routes none of it."""
    base = document([*good_stack(), standard_isvc("ranker", "2.0.0", "2.1.0", traffic=10, max_replicas=3)],
                    {**PROD, "servestack:endpoints": endpoints_config(ranker=("2.0.0", "2.1.0", [10, 50, 100], 1))})
    head = document([*good_stack(), standard_isvc("ranker", "2.0.0", "2.1.0", traffic=0, max_replicas=3),
                     standard_record("ranker", "2.0.0", "2.1.0", min_replicas=3)], PROD)
    [change] = diff_plans(plan_from_document(base), plan_from_document(head)).rollouts
    assert change.before.describe() == ("2.0.0 (100%, minReplicas 3 → 2 while the canary runs) + candidate 2.1.0 (0%: its "
                                        "trafficPercent 10 is not routed by KServe v0.20.0, 1 replica, stage 1 of 3)")
    assert change.after.describe() == ("2.0.0 (100%, minReplicas 3 → 2 while the canary runs) + candidate 2.1.0 (0%, own "
                                       "service only, 1 replica, stage 1 of 1)")


CHURN_MID_ROLLOUT = (
    "churn is created with a Knative-mode rollout in place (candidate 4.1.0, stage 1 of 2, canaryTrafficPercent 25): a new "
    "InferenceService has no rolled-out revision for KServe to keep the rest of the traffic on, so candidate 4.1.0 would "
    "take all traffic, not 25%, and the stable model 4.0.0 would never run; create the endpoint steady (without rollout) "
    "first, then start the rollout in a following change")


def churn(traffic: int, stage: int) -> list[dict]:
    return [isvc("churn", version="4.0.0", pool="system", gpus=0, canary=traffic, candidate="4.1.0"),
            knative_record("churn", "4.0.0", "4.1.0", "25,100", stage)]


def test_an_inference_service_created_mid_rollout_is_unsafe_but_an_existing_one_advancing_is_not():
    steady = document([*good_stack(), isvc("churn", version="4.0.0", pool="system", gpus=0), knative_record("churn", "4.0.0")], PROD)
    created = document([*good_stack(), *churn(25, 1)], PROD)
    [flag] = diff_plans(plan_from_document(document(good_stack(), PROD)), plan_from_document(created)).flags
    assert (flag.kind, flag.subject, flag.message) == ("created-mid-rollout", "models/churn", CHURN_MID_ROLLOUT)
    # The safe way: created steady in one change, the rollout started in the next.
    assert diff_plans(plan_from_document(document(good_stack(), PROD)), plan_from_document(steady)).flags == []
    assert diff_plans(plan_from_document(steady), plan_from_document(created)).flags == []


def test_a_real_preview_that_replaces_an_inference_service_mid_rollout_is_unsafe():
    """A replacement (e.g. a renamed namespace) starts the InferenceService over, without a rolled-out revision."""
    new = churn(25, 1)
    old = churn(25, 1)
    steps = [{"op": "replace", "urn": r["urn"], "oldState": {"type": r["type"], "urn": r["urn"], "inputs": o["inputs"]},
              "newState": {"type": r["type"], "urn": r["urn"], "inputs": r["inputs"]}} for r, o in zip(new, old)]
    preview = {"config": PROD, "steps": steps}
    base, head = preview_as_diff(plan_from_document(preview))
    assert [(f.kind, f.message) for f in diff_plans(base, head).flags] == [("created-mid-rollout", CHURN_MID_ROLLOUT)]


VERSIONS = {"python": "3.11.7", "sdks": {"pulumi": "3.272.0", "pulumi-aws": "7.51.1", "pulumi-kubernetes": "4.34.2"}}


def versioned_plan_dirs(tmp_path: Path, base_versions: dict | None, head_versions: dict | None) -> tuple[Path, Path]:
    plan = document(good_stack(), PROD)
    base, head = plan_dirs(tmp_path, plan, plan)
    for directory, versions in ((base, base_versions), (head, head_versions)):
        if versions is not None:
            (directory / "versions.json").write_text(json.dumps(versions))
    return base, head


def test_diff_says_when_base_and_head_were_planned_with_different_sdks(tmp_path):
    bumped = {"python": "3.12.1", "sdks": {**VERSIONS["sdks"], "pulumi-aws": "7.52.0", "pulumi-random": "4.18.0"}}
    base, head = versioned_plan_dirs(tmp_path, VERSIONS, bumped)
    result = CliRunner().invoke(cli, ["diff", str(base), str(head)], catch_exceptions=False)
    assert result.exit_code == 0
    assert ("\n### Planned with different versions\n\n"
            "Base and head were planned with different Python or Pulumi SDK versions: changes in this diff may come "
            "from these updates rather than from the config or the program.\n\n"
            "| | base | head |\n| --- | --- | --- |\n"
            "| `python` | 3.11.7 | 3.12.1 |\n"
            "| `pulumi-aws` | 7.51.1 | 7.52.0 |\n\n"
            "No resource changes.\n") in result.output
    out = json.loads(CliRunner().invoke(cli, ["diff", str(base), str(head), "--format", "json"]).output)
    assert out["versions"] == {"base": VERSIONS, "head": bumped, "changed": [
        {"name": "python", "base": "3.11.7", "head": "3.12.1"},
        {"name": "pulumi-aws", "base": "7.51.1", "head": "7.52.0"}]}


@pytest.mark.parametrize("missing", ["base", "head", "both"])
def test_diff_compares_versions_only_when_both_plans_record_them(tmp_path, missing):
    base, head = versioned_plan_dirs(tmp_path, None if missing in ("base", "both") else VERSIONS,
                                     None if missing in ("head", "both") else {**VERSIONS, "python": "3.13.0"})
    result = CliRunner().invoke(cli, ["diff", str(base), str(head)], catch_exceptions=False)
    assert "Planned with different versions" not in result.output
    out = json.loads(CliRunner().invoke(cli, ["diff", str(base), str(head), "--format", "json"]).output)
    assert out["versions"]["changed"] == []


def test_same_versions_say_nothing(tmp_path):
    base, head = versioned_plan_dirs(tmp_path, VERSIONS, VERSIONS)
    result = CliRunner().invoke(cli, ["diff", str(base / "preview.json"), str(head / "preview.json")])
    assert result.output.endswith("\n\nNo resource changes.\n") and "versions" not in result.output
    out = json.loads(CliRunner().invoke(cli, ["diff", str(base), str(head), "--format", "json"]).output)
    assert out["versions"] == {"base": VERSIONS, "head": VERSIONS, "changed": []}


def test_a_preview_file_of_another_name_takes_no_versions_from_beside_it(tmp_path):
    base, head = versioned_plan_dirs(tmp_path, VERSIONS, {**VERSIONS, "python": "3.13.0"})
    (head / "preview.json").rename(head / "pr-42.json")
    out = json.loads(CliRunner().invoke(cli, ["diff", str(base), str(head / "pr-42.json"), "--format", "json"]).output)
    assert out["versions"] == {"base": VERSIONS, "head": None, "changed": []}


@pytest.mark.parametrize(("content", "message"), [
    ("{", "versions.json is not JSON (Expecting property name enclosed in double quotes: line 1 column 2 (char 1)); "
          "`servestack plan` writes it"),
    ("[1]", "versions.json: expected an object with python and sdks (got [1])"),
    ('{"sdks": {}}', "versions.json: python must be a version string (got None)"),
    ('{"python": "3.11.7", "sdks": {"pulumi": 3}}', "versions.json: sdks must map package names to version strings "
                                                    "(got {'pulumi': 3})"),
])
def test_a_broken_versions_file_exits_2_with_what_is_wrong(tmp_path, content, message):
    base, head = versioned_plan_dirs(tmp_path, VERSIONS, VERSIONS)
    (head / "versions.json").write_text(content)
    result = CliRunner().invoke(cli, ["diff", str(base), str(head)])
    assert result.exit_code == 2
    assert result.output == f"error: {head / message}\n"
