"""`servestack check`: exit codes, grouping, JSON, policy config, real previews and the dev stack."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness import plan_config, stack_config
from review_stack import document, good_stack, isvc, launch_template, replace

from plandoc.document import plan_from_document
from servestack.cli import cli
from servestack.review.check import run_check

DATA = Path(__file__).resolve().parent / "data"
PREVIEW = DATA / "preview-prod.json"


def write(tmp_path: Path, doc: dict, name: str = "preview.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_clean_plan_directory_passes_with_exit_0(tmp_path):
    write(tmp_path, document(good_stack()))
    result = run("check", str(tmp_path))
    assert result.exit_code == 0
    assert result.output == (f"servestack check: stack prod (tier prod) from {tmp_path / 'preview.json'}: 58 rules over "
                             "7 resources\n\nPASSED: no mandatory violations\n")


def test_mandatory_violation_exits_1_and_groups_by_rule_and_resource(tmp_path):
    stack = replace(good_stack(), isvc(logger=False, min_replicas=1))
    stack = replace(stack, launch_template(metadataOptions={"httpTokens": "optional"}))
    path = write(tmp_path, document(stack))
    result = run("check", str(path))
    assert result.exit_code == 1
    assert result.output == f"""servestack check: stack prod (tier prod) from {path}: 58 rules over 7 resources

launch-template-imdsv2 [mandatory]: Node launch templates require IMDSv2 with a hop limit that keeps pods away from node credentials.
  aws:ec2/launchTemplate:LaunchTemplate servestack-gpu
    - metadataOptions.httpTokens is optional; required: "required" (IMDSv2), because IMDSv1 lets any SSRF in a pod read the node role's credentials

prod-endpoint-min-replicas [mandatory]: Prod endpoints (InferenceServices and LLM endpoints) keep at least minReplicas replicas unless scale to zero is explicitly allowed.
  kubernetes:serving.kserve.io/v1beta1:InferenceService fraud
    - spec.predictor.minReplicas is 1 on a prod endpoint; required: at least 2, so that one pod's restart or node's loss does not take the model offline (scale to zero needs the endpoint in allowScaleToZero or the annotation servestack.io/allow-scale-to-zero: "true")

prod-payload-logging [mandatory]: Prod endpoints log their payloads.
  kubernetes:serving.kserve.io/v1beta1:InferenceService fraud
    - spec.predictor.logger is not set on a prod endpoint; required: a logger with mode all (or request) and a sink url, so that every prediction served in prod can be audited and replayed

FAILED: 3 mandatory and 0 advisory violation(s)
"""


def test_advisory_violations_alone_exit_0_with_the_policy_pack_config_file(tmp_path):
    path = write(tmp_path, document(replace(good_stack(), isvc(logger=False))))
    config = write(tmp_path, {"prod-payload-logging": {"enforcementLevel": "advisory"}}, "policy-config.json")
    result = run("check", str(path), "--policy-config", str(config))
    assert result.exit_code == 0
    assert result.output.endswith("PASSED: no mandatory violations (1 advisory violation(s))\n")
    assert "prod-payload-logging [advisory]" in result.output


def test_settings_in_the_policy_config_relax_a_threshold(tmp_path):
    path = write(tmp_path, document(replace(good_stack(), isvc(min_replicas=1))))
    config = write(tmp_path, {"prod-endpoint-min-replicas": {"minReplicas": 1}}, "policy-config.json")
    assert run("check", str(path)).exit_code == 1
    assert run("check", str(path), "--policy-config", str(config)).exit_code == 0


@pytest.mark.parametrize("config, message", [
    ({"no-such-rule": "advisory"}, "error: --policy-config: unknown policy name(s) no-such-rule; policies: "),
    ({"hourly-cost-cap": {"maxHourlyCost": "lots"}},
     'error: --policy-config: hourly-cost-cap.maxHourlyCost: must be of type number (got "lots")\n'),
    ({"hourly-cost-cap": {"maxCost": 1}},
     "error: --policy-config: hourly-cost-cap.maxCost: is not a setting of this policy (settings: maxHourlyCost)\n"),
    ({"all": "strict"}, "error: --policy-config: all: enforcement level must be one of advisory, mandatory, disabled (got 'strict')\n"),
])
def test_bad_policy_config_exits_2_naming_the_mistake(tmp_path, config, message):
    path = write(tmp_path, document(good_stack()))
    result = CliRunner().invoke(cli, ["check", str(path), "--policy-config", str(write(tmp_path, config, "c.json"))])
    assert result.exit_code == 2
    assert result.output.startswith(message)


def test_a_policy_config_that_is_not_utf8_exits_2(tmp_path):
    path = write(tmp_path, document(good_stack()))
    (tmp_path / "c.json").write_bytes(b"\xff\xfe{}")
    result = CliRunner().invoke(cli, ["check", str(path), "--policy-config", str(tmp_path / "c.json")])
    assert result.exit_code == 2, result.exception
    assert result.output.startswith(f"error: --policy-config: {tmp_path / 'c.json'} is not JSON: 'utf-8' codec can't decode")


def test_json_output(tmp_path):
    path = write(tmp_path, document(replace(good_stack(), isvc(logger=False))))
    result = run("check", str(path), "--format", "json")
    assert result.exit_code == 1
    assert json.loads(result.output) == {
        "stack": "prod",
        "source": str(path),
        "tier": "prod",
        "resources": 7,
        "rules": 58,
        "passed": False,
        "summary": {"mandatory": 1, "advisory": 0},
        "violations": [{
            "rule": "prod-payload-logging",
            "enforcement": "mandatory",
            "urn": "urn:pulumi:prod::servestack::kubernetes:serving.kserve.io/v1beta1:InferenceService::fraud",
            "resource": "fraud",
            "message": "spec.predictor.logger is not set on a prod endpoint; required: a logger with mode all (or "
                       "request) and a sink url, so that every prediction served in prod can be audited and replayed",
        }],
    }


def test_real_pulumi_preview_json(tmp_path):
    result = run("check", str(PREVIEW), "--format", "json")
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert (report["stack"], report["tier"], report["resources"], report["summary"]) == ("prod", "prod", 11, {"mandatory": 13, "advisory": 0})
    # The recorded preview's InferenceServices name no service account and no securityContext (issue 16's rules,
    # issue 22's restricted profile), and its model reader admits any service account of the cluster.
    assert [(v["rule"], v["resource"]) for v in report["violations"]] == [
        ("accelerator-capacity-fits", "servestack-gpu"),
        ("endpoint-own-service-account", "churn"),
        ("endpoint-own-service-account", "fraud"),
        ("launch-template-imdsv2", "servestack-gpu"),
        *[("pod-security-standards", name) for name in ("churn",) * 4 + ("fraud",) * 4],
        ("workload-identity-bound", "fraud-model-reader"),
    ]
    assert report["violations"][0]["message"] == (
        "endpoints on pool gpu need up to 3 nvidia.com/gpu at max replicas (fraud 3) but the pool offers 2 (maxSize 2 x "
        "1 per node); required: demand <= capacity, or replicas beyond it stay Pending under load")


def test_real_preview_deleted_resources_are_not_checked_and_json_config_is_decoded():
    plan = plan_from_document(json.loads(PREVIEW.read_text()))
    assert "aws:s3/bucketV2:BucketV2::model-artifacts" not in plan.resources
    assert plan.ops["aws:s3/bucketV2:BucketV2::model-artifacts"] == "delete"
    assert plan.config["servestack:endpoints"]["fraud"]["rollout"]["stages"] == [10, 50, 100]
    assert plan.config["servestack:alertWebhook"] == "[secret]"


def test_markdown_output_for_a_pull_request(tmp_path):
    path = write(tmp_path, document(replace(good_stack(), isvc(logger=False))))
    result = run("check", str(path), "--format", "markdown")
    assert result.output == (
        "### ❌ Policy check: stack `prod` (tier prod)\n\n"
        "58 rules over 7 resources. **FAILED: 1 mandatory and 0 advisory violation(s)**\n\n"
        "**prod-payload-logging** (mandatory): Prod endpoints log their payloads.\n"
        "- `kubernetes:serving.kserve.io/v1beta1:InferenceService fraud`: spec.predictor.logger is not set on a prod "
        "endpoint; required: a logger with mode all (or request) and a sink url, so that every prediction served in "
        "prod can be audited and replayed\n")


@pytest.mark.parametrize("args, message", [
    (["check", "{tmp}"], "error: {tmp} is not a plan directory (no preview.json)"),
    (["check", "{tmp}/x.json"], "error: {tmp}/x.json is not JSON"),
    (["check", "{tmp}", "--stack", "dev"], "error: give either PATH or --stack, not both"),
])
def test_bad_input_exits_2(tmp_path, args, message):
    (tmp_path / "x.json").write_text("not json")
    result = CliRunner().invoke(cli, [a.format(tmp=tmp_path) for a in args])
    assert result.exit_code == 2
    assert result.output.startswith(message.format(tmp=tmp_path))


def test_the_dev_stack_plan():
    """The current dev stack: its cluster, pools and device plugins pass; the prod-only rules stay quiet."""
    from plandoc.plugins import device_plugins
    from plandoc.pools import pools

    plan = plan_config(stack_config("dev"), stack="dev")
    reviewed = plan_from_document(plan.document)
    report = run_check(reviewed)
    assert (report.stack, report.tier, report.rules) == ("dev", "dev", 58)
    # The rules see the real resources (they do not pass for want of them) ...
    resources = reviewed.resource_list()
    assert {p.name: (p.kind.value, p.resource_name) for p in pools(resources)} == {
        "gpu": ("nvidia", "nvidia.com/gpu"), "system": ("none", None)}
    assert [p.kind.value for p in device_plugins(resources)] == ["nvidia"]
    assert {r["type"] for r in resources} >= {"aws:eks/cluster:Cluster", "aws:ec2/launchTemplate:LaunchTemplate"}
    # ... and the cluster layer satisfies every security, accelerator and cost rule.
    cluster_rules = {"eks-endpoint-private", "eks-secrets-encryption", "eks-control-plane-logging", "launch-template-imdsv2",
                     "launch-template-encrypted-volumes", "node-group-no-ssh", "accelerator-pool-tainted",
                     "accelerator-pool-has-device-plugin", "device-plugin-tolerates-pool-taints", "accelerator-count-cap",
                     "hourly-cost-cap", "prod-endpoint-min-replicas", "prod-payload-logging"}
    assert [v for v in report.violations if v.rule in cluster_rules] == []
