"""Serving stacks on `cluster.existing`: the project segment of the reference, and the dependents the
PR workflow reviews when a platform stack changes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness import REPO
from servestack.cli import cli

SENTIMENT = """\
    sentiment:
      pool: gpu
      accelerators: 1
      model:
        format: huggingface
        storageUri: s3://acme-ml-models-dev/models/sentiment/4
        version: "4"
      resources:
        requests: {cpu: "2", memory: 8Gi}
        limits: {cpu: "4", memory: 12Gi}
"""


def serving_stack(existing: str) -> str:
    return (f"config:\n  aws:region: us-east-1\n  servestack:tier: dev\n  servestack:cluster:\n    existing: {existing}\n"
            f"  servestack:endpoints:\n{SENTIMENT}")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(REPO / name, tmp_path / name)
    shutil.copytree(REPO / "stacks", tmp_path / "stacks")
    return tmp_path


def test_a_reference_into_another_project_is_a_config_error_naming_the_field(project):
    (project / "stacks" / "Pulumi.serving.yaml").write_text(serving_stack("acme/other-project/prod"))
    result = CliRunner().invoke(cli, ["plan", "--stack", "serving", "--project", str(project), "--out", str(project / "out")])
    assert result.exit_code == 2
    assert result.output == (
        "stack 'serving' has 1 config problem(s); nothing was created:\n"
        "  - servestack:cluster.existing: names a stack of project 'other-project', but an offline plan can plan only "
        "stacks of this project ('servestack'): use org/servestack/<stack>, or review with `pulumi preview` and "
        'credentials (got "acme/other-project/prod")\n')
    assert not (project / "out").exists()


def test_dependents_are_the_serving_stacks_that_name_a_changed_stack(project):
    stacks = project / "stacks"
    (stacks / "Pulumi.serving.yaml").write_text(serving_stack("organization/servestack/dev"))
    (stacks / "Pulumi.serving-b.yaml").write_text(serving_stack("dev"))
    (stacks / "Pulumi.serving-prod.yaml").write_text(serving_stack("prod"))
    (stacks / "Pulumi.elsewhere.yaml").write_text(serving_stack("acme/other-project/dev"))
    run = lambda *names: CliRunner().invoke(cli, ["dependents", *names, "--project", str(project)], catch_exceptions=False)
    assert run("dev").output == "serving\nserving-b\n"
    assert run("dev", "prod").output == "serving\nserving-b\nserving-prod\n"
    assert run("dev", "serving").output == "serving-b\n"  # a changed stack is not repeated
    assert run("staging").output == ""
    assert run("staging").exit_code == 0


def test_dependents_of_a_stack_that_has_no_file_is_a_one_line_refusal(project):
    result = CliRunner().invoke(cli, ["dependents", "dev", "nosuch", "--project", str(project)])
    known = ", ".join(sorted(p.name[len("Pulumi."):-len(".yaml")] for p in (project / "stacks").glob("Pulumi.*.yaml")))
    assert (result.exit_code, result.output) == (2, f"error: no stack file stacks/Pulumi.nosuch.yaml (stacks here: {known})\n")


# ----------------------------------------------------------------------------- the platform's pools in a serving plan


def serving_config(existing: str, max_replicas: int = 3) -> dict:
    return {"aws:region": "us-east-1", "servestack:tier": "dev", "servestack:cluster": {"existing": existing},
            "servestack:endpoints": {"sentiment": {
                "pool": "gpu", "accelerators": 1, "autoscaling": {"maxReplicas": max_replicas},
                "model": {"format": "huggingface", "storageUri": "s3://acme-ml-models-dev/models/sentiment/4", "version": "4"},
                "resources": {"requests": {"cpu": "2", "memory": "8Gi"}, "limits": {"cpu": "4", "memory": "12Gi"}}}}}


@pytest.fixture(scope="module")
def serving_on_dev():
    from harness import plan_config
    from plandoc.document import plan_from_document

    plan = plan_config(serving_config("dev"), "serving")
    return plan, plan_from_document(plan.document)


def test_a_serving_plan_records_the_platform_pools_and_its_endpoints_are_judged_on_them(serving_on_dev):
    from harness import repository_plan
    from plandoc.pools import placement_pools, pools
    from servestack.review.check import run_check

    plan, reviewed = serving_on_dev
    assert plan.document["outputs"]["clusterNodePools"] == repository_plan("dev").document["outputs"]["nodePools"]
    resources = reviewed.resource_list()
    assert pools(resources) == []  # none of its own: the platform rules do not judge the platform's pools here
    found = {p.name: (p.kind.value, p.resource_name, p.platform_stack, p.capacity) for p in placement_pools(resources)}
    assert found == {"gpu": ("nvidia", "nvidia.com/gpu", "dev", 3), "system": ("none", None, "dev", 0)}
    report = run_check(reviewed)
    assert [v for v in report.violations if v.rule in ("endpoint-on-accelerator-pool", "accelerator-capacity-fits")] == []


def test_a_serving_stack_whose_demand_exceeds_the_platform_pool_is_reported():
    from harness import plan_config
    from plandoc.document import plan_from_document
    from servestack.review.check import run_check

    config = serving_config("dev", max_replicas=5)
    reviewed = plan_from_document(plan_config(config, "serving").document)
    report = run_check(reviewed)
    found = [(v.rule, v.message) for v in report.violations if v.rule in ("endpoint-on-accelerator-pool", "accelerator-capacity-fits")]
    message = ("endpoints on pool gpu of platform stack dev need up to 5 nvidia.com/gpu at max replicas (sentiment 5) "
               "but the pool offers 3 (maxSize 3 x 1 per node); required: demand <= capacity, or replicas beyond "
               "it stay Pending under load")
    assert found == [("accelerator-capacity-fits", message)]
    assert [v.urn for v in report.violations if v.rule == "accelerator-capacity-fits"] == [
        "urn:pulumi:serving::servestack::pulumi:pulumi:Stack::servestack-serving"]


def test_cost_of_a_serving_stack_prices_its_demand_on_the_platform_nodes_apart_from_its_total(project):
    (project / "stacks" / "Pulumi.serving.yaml").write_text(serving_stack("dev"))
    result = CliRunner().invoke(cli, ["cost", "--stack", "serving", "--project", str(project)], catch_exceptions=False)
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[1] == "total                              0.0000     0.0000"
    # sentiment: 1-3 replicas of 1 GPU; the cheapest type of dev's gpu pool that fits is g6.xlarge
    assert lines[-3:] == [
        "On the platform stack's nodes (not added to the total):",
        "  pool gpu of platform stack dev: at min 1 x g6.xlarge, at max 3 x g6.xlarge",
        "    models/sentiment predictor: 1-3 pod(s) x 2000m cpu, 8Gi, 1 nvidia.com/gpu",
    ]
    result = CliRunner().invoke(cli, ["cost", "--stack", "serving", "--project", str(project), "--format", "json"],
                                catch_exceptions=False)
    import json
    [gpu] = [p for p in json.loads(result.output)["pools"] if p["pool"] == "gpu"]
    assert (gpu["platformStack"], gpu["nodesMin"], gpu["nodesMax"], gpu["hourlyMin"], gpu["hourlyMax"]) == (
        "dev", {"g6.xlarge": 1}, {"g6.xlarge": 3}, 0.8048, 2.4144)


# ----------------------------------------------------------------------------- the platform's check counts its dependents


@pytest.fixture(scope="module")
def platform_and_serving(tmp_path_factory, serving_on_dev):
    import json

    from harness import repository_plan

    root = tmp_path_factory.mktemp("composition")
    (root / "dev.json").write_text(json.dumps(repository_plan("dev").document))
    (root / "serving.json").write_text(json.dumps(serving_on_dev[0].document))
    return root


def check(*args: str):
    return CliRunner().invoke(cli, ["check", *map(str, args)], catch_exceptions=False)


def test_the_platform_check_adds_the_serving_stacks_demand_to_its_pools(platform_and_serving):
    dev, serving = platform_and_serving / "dev.json", platform_and_serving / "serving.json"
    alone = check(dev, "--format", "json")
    assert alone.exit_code == 0, alone.output
    import json
    combined = check(dev, "--with-serving-plan", serving, "--format", "json")
    assert combined.exit_code == 1
    found = [(v["rule"], v["urn"], v["message"]) for v in json.loads(combined.output)["violations"]
             if v["rule"] in ("accelerator-capacity-fits", "llm-accelerator-capacity-fits")]
    pool = ("urn:pulumi:dev::servestack::servestack:index:ServingEnvironment$servestack:karpenter:Karpenter"
            "$kubernetes:karpenter.sh/v1:NodePool::servestack-karpenter-gpu-nodepool")
    # one pool, one violation: the LLM rule, as an LLM endpoint is among the pool's workloads
    assert found == [
        ("llm-accelerator-capacity-fits", pool,
         "endpoints on pool gpu need up to 6 nvidia.com/gpu at max replicas (LLM qwen-chat 1, chat 2, serving:sentiment "
         "3; an LLM endpoint holds accelerators per pod x replicas x (1 + workers)) but the pool offers 3 at its "
         "NodePool limits cpu=12, memory=49152Mi, nvidia.com/gpu=3; required: demand <= capacity, or pods beyond it "
         "stay Pending"),
    ]


def test_the_same_serving_plan_given_twice_counts_once(platform_and_serving, tmp_path):
    """sentiment at 1 replica: qwen-chat 1 + chat 2 + sentiment 1 = 4 > 3 fails; given twice it stays 4, never 5."""
    import json

    from harness import plan_config

    named = tmp_path / "one.json"
    named.write_text(json.dumps(plan_config(serving_config("dev", 1), "serving").document))
    again = tmp_path / "again.json"
    again.write_text(named.read_text())
    once = check(platform_and_serving / "dev.json", "--with-serving-plan", named)
    twice = check(platform_and_serving / "dev.json", "--with-serving-plan", named, "--with-serving-plan", again)
    assert "need up to 4 nvidia.com/gpu at max replicas (LLM qwen-chat 1, chat 2, serving:sentiment 1;" in once.output
    assert twice.output.replace(str(again), str(named)) == once.output


def test_a_negative_max_replicas_in_a_serving_plan_cannot_turn_failed_into_passed(platform_and_serving, tmp_path):
    """The serving plan's sentiment at maxReplicas 3 overflows the pool; at -5 the count is refused, counted as its
    minimum (1), and the platform still fails with the serving plan's demand."""
    import json

    from harness import plan_config

    doc = plan_config(serving_config("dev", 3), "serving").document
    for step in doc["steps"]:
        if step["newState"]["type"].endswith("InferenceService"):
            step["newState"]["inputs"]["spec"]["predictor"]["maxReplicas"] = -5
    hostile = tmp_path / "hostile.json"
    hostile.write_text(json.dumps(doc))
    result = check(platform_and_serving / "dev.json", "--with-serving-plan", hostile)
    assert result.exit_code == 1
    assert "serving:sentiment 1;" in result.output


def test_a_plan_that_is_not_a_serving_stack_on_the_checked_platform_is_refused(platform_and_serving, tmp_path):
    import json

    from harness import plan_config

    dev, serving = platform_and_serving / "dev.json", platform_and_serving / "serving.json"
    result = check(dev, "--with-serving-plan", dev)
    assert result.exit_code == 2
    assert result.output == (f"error: --with-serving-plan {dev}: stack dev has no clusterNodePools output; required: "
                             "the plan of a serving stack on servestack:cluster.existing\n")
    on_prod = tmp_path / "on-prod.json"
    on_prod.write_text(json.dumps(plan_config(serving_config("organization/servestack/prod"), "serving").document))
    result = check(dev, "--with-serving-plan", serving, "--with-serving-plan", on_prod)
    assert result.exit_code == 2
    assert result.output == (f"error: --with-serving-plan {on_prod}: stack serving runs on platform stack "
                             '"organization/servestack/prod", not on dev, the stack checked; required: a serving '
                             "stack whose cluster.existing names it\n")


def test_a_serving_stack_named_with_org_and_project_counts_as_on_the_platform(platform_and_serving, tmp_path):
    import json

    from harness import plan_config

    named = tmp_path / "named.json"
    named.write_text(json.dumps(plan_config(serving_config("organization/servestack/dev", 1), "serving").document))
    result = check(platform_and_serving / "dev.json", "--with-serving-plan", named)
    assert result.exit_code == 1  # 2 + 1 fit the 3 GPUs; with the LLM endpoint's 1 they do not
    assert "need up to 4 nvidia.com/gpu at max replicas (LLM qwen-chat 1, chat 2, serving:sentiment 1;" in result.output
    assert "\naccelerator-capacity-fits [" not in result.output


def test_placement_pools_read_the_stack_props_crossguard_passes_as_inputs():
    from plandoc.pools import placement_pools

    gpu = {"name": "gpu", "kind": "nvidia", "instanceTypes": ["g6.xlarge"], "maxSize": 2, "resourceName": "nvidia.com/gpu",
           "acceleratorsPerNode": 1, "taints": [], "labels": {}}
    stack = {"type": "pulumi:pulumi:Stack", "urn": "urn:pulumi:s::servestack::pulumi:pulumi:Stack::servestack-s",
             "inputs": {"clusterStack": "dev", "clusterNodePools": {"gpu": gpu}}}
    found = [(p.name, p.platform_stack, p.capacity, p.resource_name) for p in placement_pools([stack])]
    assert found == [("gpu", "dev", 2, "nvidia.com/gpu")]
    assert placement_pools([{**stack, "outputs": {}}]) == []  # outputs, when given, are what counts
