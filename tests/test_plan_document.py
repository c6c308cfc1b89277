"""The steps of preview.json: one per URN, in dependency order, ties broken by URN."""

from __future__ import annotations

from servestack.plan.document import ordered
from servestack.plan.monitor import Registration


def reg(urn: str, parent: str = "") -> Registration:
    return Registration(urn.rsplit("::", 2)[1], urn.rsplit("::", 1)[1], urn, bool(parent), parent, "", [], {},
                        False, False, {})


def test_the_stack_registered_twice_is_one_step_and_nothing_is_dropped():
    # the SDK and the plan both register the root stack
    stack = reg("urn:pulumi:dev::p::pulumi:pulumi:Stack::p-dev")
    children = [reg(f"urn:pulumi:dev::p::aws:s3/bucket:Bucket::b{i}", stack.urn) for i in (2, 1)]
    assert [r.urn for r in ordered([stack, *children, reg(stack.urn)])] == [
        stack.urn, "urn:pulumi:dev::p::aws:s3/bucket:Bucket::b1", "urn:pulumi:dev::p::aws:s3/bucket:Bucket::b2"]
