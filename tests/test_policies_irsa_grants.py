"""The IRSA rule finds the models a role can read through an index of the endpoints' model paths;
it reads each grant exactly as fnmatch does (whole paths, wildcards, character classes)."""

from __future__ import annotations

import pytest

from policies.rules import evaluate
from review_stack import good_stack, irsa_role, isvc, replace

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
