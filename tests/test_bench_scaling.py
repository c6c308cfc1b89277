"""What the benchmark's speed-ups must not change: the indexed IRSA rule reads grants exactly as
fnmatch does, and the plan keeps one step per URN (the stack the SDK and the plan both register)."""

from __future__ import annotations

import pytest
import yaml

from policies.rules import evaluate
from review_stack import good_stack, irsa_role, isvc, replace
from servestack.plan.document import ordered
from servestack.plan.engine import Registration
from servestack.plan.project import ProjectError, load_project

PROD = {"aws:region": "us-east-1", "servestack:tier": "prod"}
OTHER = ("; allowed: only its own endpoint's model prefix, so that one endpoint cannot read another's model")


def read_by_fraud(*arns: str) -> list[tuple[str, str]]:
    ranker, scorer = isvc("ranker", gpus=0, pool="system"), isvc("scorer", gpus=0, pool="system")
    role = irsa_role({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": list(arns)}]})
    stack = replace([*good_stack(), ranker, scorer], role)
    return [(v.urn.rsplit("::", 1)[-1], v.message) for v in evaluate(stack, {}, PROD, "prod")
            if v.rule == "irsa-role-scoped-to-endpoint"]


@pytest.mark.parametrize("grant, readable", [
    # the grant names <target>/model exactly: longer than the model's path, still a match
    ("models-bucket/models/ranker/1.0.0/model", ["ranker"]),
    ("models-bucket/models/r?nker/*", ["ranker"]),
    ("models-bucket/models/[r-s]*/1.0.0", ["ranker", "scorer"]),
    ("models-bucket/models/[a-f]*/1.0.0", []),  # fraud's own model only
    ("*", ["ranker", "scorer"]),
    ("models-bucket/models/ranker", []),  # a whole-path match, not a prefix
    ("models-bucket/models/rank", []),
])
def test_a_grant_reads_other_models_exactly_where_fnmatch_says(grant, readable):
    own = "arn:aws:s3:::models-bucket/models/fraud/*"
    arn = grant if grant == "*" else f"arn:aws:s3:::{grant}"
    assert read_by_fraud(own, arn) == [
        ("fraud-model-reader", f"the role of endpoint fraud can read s3://models-bucket/models/{name}/1.0.0 of endpoint "
                               f"{name} through {grant}{OTHER}") for name in readable]


def test_the_stack_registered_twice_is_one_step_and_nothing_is_dropped():
    def reg(urn: str, parent: str = "") -> Registration:
        return Registration(urn.rsplit("::", 2)[1], urn.rsplit("::", 1)[1], urn, bool(parent), parent, "", [], {},
                            False, False, {})

    stack = reg("urn:pulumi:dev::p::pulumi:pulumi:Stack::p-dev")
    children = [reg(f"urn:pulumi:dev::p::aws:s3/bucket:Bucket::b{i}", stack.urn) for i in (2, 1)]
    assert [r.urn for r in ordered([stack, *children, reg(stack.urn)])] == [
        stack.urn, "urn:pulumi:dev::p::aws:s3/bucket:Bucket::b1", "urn:pulumi:dev::p::aws:s3/bucket:Bucket::b2"]


def test_a_stack_file_libyaml_rejects_gets_the_pure_python_parsers_message(tmp_path):
    (tmp_path / "Pulumi.yaml").write_text("name: p\nruntime: python\nstackConfigDir: stacks\n")
    (tmp_path / "stacks").mkdir()
    text = "config:\n  aws:region: [us-east-1\n"
    (tmp_path / "stacks" / "Pulumi.dev.yaml").write_text(text)
    with pytest.raises(yaml.YAMLError) as expected:
        yaml.safe_load(text)
    with pytest.raises(ProjectError) as error:
        load_project(tmp_path).read_stack("dev")
    assert str(error.value) == f"stacks/Pulumi.dev.yaml is not valid YAML: {expected.value}"
