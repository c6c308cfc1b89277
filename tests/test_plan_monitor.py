"""The recording monitor's one-pass registration answers and records exactly what Pulumi's own
MockMonitor path did (deserialize, mocks, async serialize; MessageToDict for the recording)."""

from __future__ import annotations

import json

from google.protobuf import json_format, struct_pb2
from hypothesis import given, settings
from hypothesis import strategies as st
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.proto import resource_pb2

from servestack.plan.mocks import MockContext, PlanMocks
from servestack.plan.monitor import RecordingMonitor
from plandoc.values import UNKNOWN
from servestack.plan.wire import SECRET_SIG, SIG, struct_to_plain

TYPES = ["aws:iam/role:Role", "kubernetes:core/v1:ServiceAccount", "servestack:endpoint:ModelEndpoint", "pulumi:pulumi:Stack"]

scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**40, 2**40), st.text(max_size=8),
                    st.floats(allow_nan=False, allow_infinity=False), st.just(UNKNOWN))
keys = st.one_of(st.text(max_size=6), st.sampled_from(["tags", "metadata", "name"]))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)),
                      max_leaves=20)
secret = st.builds(lambda v: {SIG: SECRET_SIG, "value": v}, values)
objects = st.dictionaries(keys, st.one_of(values, secret), max_size=6)


def _register_the_old_way(type_: str, obj: struct_pb2.Struct):
    """Pulumi's MockMonitor with the same mocks, and the recording as it was made before."""
    mocks = PlanMocks(MockContext("proj", "dev", "us-east-1"))
    monitor = MockMonitor(mocks)
    monitor.make_urn = RecordingMonitor(mocks, "proj", "dev").make_urn
    request = resource_pb2.RegisterResourceRequest(type=type_, name="thing", custom=True, object=obj)
    mocks.current.urn = monitor.make_urn("", type_, "thing")
    return monitor.RegisterResource(request), struct_to_plain(obj)


def _register(type_: str, obj: struct_pb2.Struct):
    monitor = RecordingMonitor(PlanMocks(MockContext("proj", "dev", "us-east-1")), "proj", "dev")
    response = monitor.RegisterResource(resource_pb2.RegisterResourceRequest(type=type_, name="thing", custom=True, object=obj))
    return response, monitor.registrations[0].inputs


def _same(type_: str, document: dict) -> None:
    obj = json_format.ParseDict(document, struct_pb2.Struct())
    (new, recorded), (old, old_recorded) = _register(type_, obj), _register_the_old_way(type_, obj)
    assert (new.urn, new.id) == (old.urn, old.id)
    # the same values in the same key order (the program reads these outputs back)
    assert json.dumps(json_format.MessageToDict(new.object)) == json.dumps(json_format.MessageToDict(old.object))
    assert new.object == old.object
    assert json.dumps(recorded) == json.dumps(old_recorded)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(TYPES), objects)
def test_registration_is_answered_and_recorded_as_pulumis_mock_monitor_does(type_, document):
    _same(type_, document)


def test_a_role_with_tags_nulls_and_numbers():
    _same("aws:iam/role:Role", {"name": "reader", "maxSessionDuration": 3600, "tags": {"team": "ml", "gone": None},
                                "list": [1.5, None, {"a": None}], "description": None})


def test_secret_inputs_take_pulumis_path_and_stay_masked():
    document = {"stringData": {SIG: SECRET_SIG, "value": {"token": "s3cr3t"}}, "metadata": {"name": "token"}}
    _same("kubernetes:core/v1:Secret", document)
    assert _register("kubernetes:core/v1:Secret", json_format.ParseDict(document, struct_pb2.Struct()))[1]["stringData"] == "[secret]"
