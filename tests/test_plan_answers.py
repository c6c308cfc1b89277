"""The registry of the offline plan's answers: one answer per token, whatever order the answer
modules load in."""

from __future__ import annotations

import importlib.util
import pkgutil
from typing import Any

import pytest

import servestack.plan.answers
from servestack.plan.answers import registry
from servestack.plan.answers.registry import REGISTRY, DuplicateAnswer, Registry, computes, no_outputs

BUCKET = "aws:s3/bucket:Bucket"


def bucket(call, rid, ctx) -> dict[str, Any]:
    return {"arn": f"arn:aws:s3:::{rid}"}


def other_bucket(call, rid, ctx) -> dict[str, Any]:
    return {}


def zones(args, ctx) -> dict[str, Any]:
    return {"names": []}


def test_a_resource_type_answered_twice_is_an_error_naming_both_answers():
    answers = Registry()
    answers.add_resource(BUCKET, "bucket", bucket)
    with pytest.raises(DuplicateAnswer) as error:
        answers.add_resource(BUCKET, None, other_bucket)
    assert str(error.value) == (
        "the resource type 'aws:s3/bucket:Bucket' is answered twice, by test_plan_answers.bucket and by "
        "test_plan_answers.other_bucket; keep one answer per token in servestack/plan/answers/")
    assert answers.resource(BUCKET) == ("bucket", bucket)


def test_a_provider_call_answered_twice_is_an_error_naming_both_answers():
    answers = Registry()
    answers.add_invoke("aws:index/getAvailabilityZones:getAvailabilityZones", zones)
    with pytest.raises(DuplicateAnswer) as error:
        answers.add_invoke("aws:index/getAvailabilityZones:getAvailabilityZones", zones)
    assert str(error.value) == (
        "the provider call 'aws:index/getAvailabilityZones:getAvailabilityZones' is answered twice, by "
        "test_plan_answers.zones and by test_plan_answers.zones; keep one answer per token in servestack/plan/answers/")


def test_a_second_answer_for_a_type_the_answers_register_is_refused_and_changes_nothing():
    before = REGISTRY.resource("aws:iam/role:Role")
    with pytest.raises(DuplicateAnswer) as error:
        computes("aws:iam/role:Role")(other_bucket)
    assert str(error.value) == (
        "the resource type 'aws:iam/role:Role' is answered twice, by servestack.plan.answers.eks._role and by "
        "test_plan_answers.other_bucket; keep one answer per token in servestack/plan/answers/")
    assert REGISTRY.resource("aws:iam/role:Role") == before


def test_an_unregistered_type_gets_no_prefix_and_no_outputs():
    assert Registry().resource(BUCKET) == (None, no_outputs)


def _table(answers: Registry) -> tuple[dict, dict]:
    def where(fn) -> str:
        return f"{fn.__module__}.{fn.__qualname__}"

    return ({token: (prefix, where(fn)) for token, (prefix, fn) in answers.resources.items()},
            {token: where(fn) for token, fn in answers.invokes.items()})


@pytest.mark.parametrize("order", [sorted, lambda names: sorted(names, reverse=True)], ids=["sorted", "reversed"])
def test_every_answer_module_is_loaded_and_the_answers_do_not_depend_on_their_order(monkeypatch, order):
    package = servestack.plan.answers
    names = [m.name for m in pkgutil.iter_modules(package.__path__) if m.name != "registry"]
    assert len(names) >= 4
    fresh = Registry()
    monkeypatch.setattr(registry, "REGISTRY", fresh)
    for name in order(names):  # fresh module objects: the package's own stay as they are
        spec = importlib.util.find_spec(f"{package.__name__}.{name}")
        spec.loader.exec_module(importlib.util.module_from_spec(spec))
    assert _table(fresh) == _table(REGISTRY)
