"""The offline plan engine: preview.json format, manifests, strict invokes, secrets, isolation."""

from __future__ import annotations

import gc
import json

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pytest

from harness import by_urn, plan_program, resource
from servestack.plan import PlanError
from servestack.plan.document import write_plan

STACK_URN = "urn:pulumi:test::servestack::pulumi:pulumi:Stack::servestack-test"
AWS_PROVIDER = "urn:pulumi:test::servestack::pulumi:providers:aws::default_{v}::04da6b54-80e4-46f7-96ec-b56ff0331ba9"


class Box(pulumi.ComponentResource):
    def __init__(self, name: str, opts=None):
        super().__init__("servestack:test:Box", name, None, opts)
        self.key = aws.kms.Key(f"{name}-key", description="box", opts=pulumi.ResourceOptions(parent=self, protect=True))
        self.alias = aws.kms.Alias(f"{name}-alias", name=f"alias/{name}", target_key_id=self.key.id,
                                   opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True))
        self.register_outputs({})


def box_program():
    box = Box("box")
    pulumi.export("aliasName", box.alias.name)


def test_steps_have_the_shape_of_pulumi_preview_json():
    plan = plan_program(box_program)
    document = plan.document
    assert sorted(document) == ["changeSummary", "config", "outputs", "steps"]
    assert document["changeSummary"] == {"create": len(document["steps"])}
    assert document["outputs"] == {"aliasName": "alias/box"}
    assert document["config"] == {"aws:region": "us-east-1"}
    assert [s["op"] for s in document["steps"]] == ["create"] * 5

    alias = resource(plan, "aws:kms/alias:Alias", "box-alias")
    key_urn = "urn:pulumi:test::servestack::servestack:test:Box$aws:kms/key:Key::box-key"
    assert alias == {
        "type": "aws:kms/alias:Alias",
        "urn": "urn:pulumi:test::servestack::servestack:test:Box$aws:kms/alias:Alias::box-alias",
        "custom": True,
        "parent": "urn:pulumi:test::servestack::servestack:test:Box::box",
        "provider": alias["provider"],
        "dependencies": [key_urn],
        "propertyDependencies": {"name": [], "targetKeyId": [key_urn]},
        "protect": False,
        "retainOnDelete": True,
        "inputs": {"name": "alias/box", "targetKeyId": alias["inputs"]["targetKeyId"]},
    }
    assert alias["provider"].startswith("urn:pulumi:test::servestack::pulumi:providers:aws::default_")
    assert resource(plan, "aws:kms/key:Key", "box-key")["protect"] is True
    assert resource(plan, "servestack:test:Box", "box")["parent"] == STACK_URN


def test_steps_list_the_stack_first_and_every_resource_after_its_parent_and_dependencies():
    plan = plan_program(box_program)
    order = [s["urn"] for s in plan.steps]
    assert order[0] == STACK_URN
    position = {urn: i for i, urn in enumerate(order)}
    for step in plan.steps:
        state = step["newState"]
        for before in [state["parent"], *state["dependencies"]]:
            if before:
                assert position[before] < position[step["urn"]], (before, step["urn"])
    # the default provider is a step of its own, as in a real preview
    providers = [s for s in plan.steps if s["newState"]["type"] == "pulumi:providers:aws"]
    assert len(providers) == 1 and providers[0]["urn"] == resource(plan, "aws:kms/key:Key", "box-key")["provider"].rsplit("::", 1)[0]


def test_computed_outputs_are_realistic_and_the_same_on_every_run():
    def program():
        vpc = aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16")
        subnet = aws.ec2.Subnet("subnet", vpc_id=vpc.id, cidr_block="10.0.0.0/20")
        pulumi.export("vpc", vpc.id)
        pulumi.export("vpcArn", vpc.arn)
        pulumi.export("subnet", subnet.id)

    first = plan_program(program).document["outputs"]
    assert first == plan_program(program).document["outputs"]
    assert first["vpc"].startswith("vpc-") and len(first["vpc"]) == len("vpc-") + 17
    assert first["subnet"].startswith("subnet-")
    assert first["vpcArn"] == f"arn:aws:ec2:us-east-1:123456789012:vpc/{first['vpc']}"


def test_an_invoke_the_engine_does_not_know_fails_the_plan_naming_its_token():
    def program():
        aws.ec2.get_ami(most_recent=True, owners=["amazon"])

    with pytest.raises(PlanError) as caught:
        plan_program(program)
    assert str(caught.value) == (
        "the offline plan has no answer for the provider call 'aws:ec2/getAmi:getAmi'; add one to "
        "servestack/plan/answers/ (@answers) so that plans stay deterministic"
    )


def test_known_invokes_answer_deterministically():
    def program():
        identity = aws.get_caller_identity()
        zones = aws.get_availability_zones(state="available")
        document = aws.iam.get_policy_document(statements=[{
            "actions": ["s3:GetObject"], "resources": ["arn:aws:s3:::models/iris/*"],
        }])
        pulumi.export("account", identity.account_id)
        pulumi.export("zones", zones.names[:3])
        pulumi.export("policy", json.loads(document.json))

    outputs = plan_program(program, {"aws:region": "eu-west-1"}).document["outputs"]
    assert outputs == {
        "account": "123456789012",
        "zones": ["eu-west-1a", "eu-west-1b", "eu-west-1c"],
        "policy": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::models/iris/*"}]},
    }


def test_secret_inputs_and_outputs_are_masked():
    def program():
        secret = pulumi.Config("servestack").require_secret("token")
        k8s.core.v1.Secret("token", metadata={"name": "token", "namespace": "models"},
                           string_data={"token": secret}, opts=pulumi.ResourceOptions(provider=k8s.Provider("k8s", kubeconfig="{}")))
        pulumi.export("token", secret)

    plan = plan_program(program, {"servestack:token": {"secure": "v1:c2VjcmV0LXRva2Vu"}})
    text = json.dumps(plan.document)
    assert "c2VjcmV0LXRva2Vu" not in text
    assert plan.document["config"]["servestack:token"] == "[secret]"
    assert plan.document["outputs"]["token"] == "[secret]"
    assert resource(plan, "kubernetes:core/v1:Secret", "token")["inputs"]["stringData"] == "[secret]"


def test_manifests_hold_one_file_per_kubernetes_object(tmp_path):
    def program():
        provider = k8s.Provider("k8s", kubeconfig="{}")
        opts = pulumi.ResourceOptions(provider=provider)
        k8s.core.v1.Namespace("models", metadata={"name": "models"}, opts=opts)
        k8s.core.v1.ConfigMap("settings", metadata={"name": "settings", "namespace": "models"}, data={"a": "1"}, opts=opts)

    plan = plan_program(program)
    write_plan(plan.document, tmp_path)
    files = sorted(p.name for p in (tmp_path / "manifests").iterdir())
    assert files == ["_cluster__namespace__models.yaml", "models__configmap__settings.yaml"]
    assert (tmp_path / "manifests" / "models__configmap__settings.yaml").read_text() == (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: models\ndata:\n  a: '1'\n"
    )
    provider_urn = "urn:pulumi:test::servestack::pulumi:providers:kubernetes::k8s"
    assert by_urn(plan)[provider_urn]["inputs"] == {"kubeconfig": "{}"}
    assert resource(plan, "kubernetes:core/v1:ConfigMap", "settings")["provider"].startswith(provider_urn + "::")


def test_runs_share_no_state():
    def first():
        aws.s3.Bucket("only-in-first")

    def second():
        aws.s3.Bucket("only-in-second")

    def buckets(plan):
        return [s["urn"].rsplit("::", 1)[1] for s in plan.steps if s["newState"]["type"] == "aws:s3/bucket:Bucket"]

    one, two = plan_program(first), plan_program(second)
    assert (buckets(one), buckets(two)) == (["only-in-first"], ["only-in-second"])
    assert len(one.steps) == len(two.steps) == 3  # the stack, the default aws provider, the bucket


def test_the_garbage_collector_is_off_during_a_run_and_restored_after_it():
    seen = []
    thresholds = gc.get_threshold()
    plan_program(lambda: seen.append(gc.isenabled()))
    assert seen == [False]
    assert (gc.isenabled(), gc.get_threshold()) == (True, thresholds)


def test_a_run_leaves_the_collector_off_when_it_found_it_off():
    gc.disable()
    try:
        plan_program(lambda: aws.s3.Bucket("b"))
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_after_a_failure_unretrieved_exceptions_are_dropped_and_everything_else_reaches_asyncio(monkeypatch):
    """A failed plan reports its failure once: the outputs and stack-reference lookups that carried the
    error are dropped quietly when collected, not each printed with a traceback as "... exception was
    never retrieved" (seen on stderr of the whole suite after a serving stack's config error). Other
    loop errors, and any error of a plan that did not fail, still reach asyncio's default handler."""
    import asyncio
    import threading

    from servestack.plan.engine import _quiet_after_failure

    loop = asyncio.new_event_loop()
    seen = []
    monkeypatch.setattr(loop, "default_exception_handler", lambda context: seen.append(context["message"]))
    failed = threading.Event()
    contexts = [{"message": "Future exception was never retrieved"}, {"message": "Task exception was never retrieved"},
                {"message": "Exception in callback"}]
    for context in contexts:
        _quiet_after_failure(failed, loop, context)
    failed.set()
    for context in contexts:
        _quiet_after_failure(failed, loop, context)
    loop.close()
    assert seen == ["Future exception was never retrieved", "Task exception was never retrieved",
                    "Exception in callback", "Exception in callback"]
