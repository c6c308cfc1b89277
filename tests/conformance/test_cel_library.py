"""The CEL evaluator of the conformance layer (tests/conformance/cel.py): the Kubernetes libraries it
adds to cel-python, property-name escaping, defaulting, and that a rendered object changed to break a
CRD's rule is refused with that rule's exact message (so the conformance row's "0 failing" means the
rules ran). Each test plans or builds its objects fresh."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from components.core import versions

from . import upstream
from .cel import _compiled, check, escape_property, not_evaluable
from .stacks import planned


def run(expression: str) -> Any:
    program, why = _compiled(expression)
    assert why is None, why
    return program.evaluate({})


@pytest.mark.parametrize("expression, expected", [
    ('"al2023@v20260903".split("@")', ["al2023", "v20260903"]),
    ('"a@b@c".split("@", 2)', ["a", "b@c"]),
    ('"a@b".split("@", 0)', []),
    ('"karpenter.sh/nodepool".find("^([^/]+)")', "karpenter.sh"),
    ('"abc".find("x")', ""),
    ('"a1b22".findAll("[0-9]+")', ["1", "22"]),
    ('"MiXeD".lowerAscii()', "mixed"),
    ('"MiXeD".upperAscii()', "MIXED"),
    ('"abcabc".indexOf("c")', 2),
    ('"abcabc".lastIndexOf("c")', 5),
    ('"abcdef".substring(2)', "cdef"),
    ('"abcdef".substring(1, 3)', "bc"),
    ('"a-b-c".replace("-", "_", 1)', "a_b-c"),
    ('"  x ".trim()', "x"),
    ('["a", "b"].join("/")', "a/b"),
    ('"abc".charAt(1)', "b"),
    ('[1, 2, 2].isSorted()', True),
    ('[2, 1].isSorted()', False),
    ('[1, 2, 3].sum()', 6),
    ('[3, 1, 2].min()', 1),
    ('[3, 1, 2].max()', 3),
    ('[5, 6, 5].indexOf(5)', 0),
    ('[5, 6, 5].lastIndexOf(5)', 2),
    ('isIP("10.0.0.1")', True),
    ('isIP("fd00::1")', True),
    ('isIP("::ffff:10.0.0.1")', False),
    ('isIP("example.com")', False),
    ('isCIDR("10.0.0.0/16")', True),
    ('isCIDR("10.0.0.1")', False),
    ("duration('1h30m') > duration('1h')", True),
])
def test_kubernetes_cel_libraries(expression, expected):
    assert run(expression) == expected


def test_rules_that_cannot_run_on_create_say_why():
    assert not_evaluable("self.kind == oldSelf.kind") == (
        "transition rule (reads oldSelf): runs only on update, against the stored object")
    assert not_evaluable("quantity(self.limit).isGreaterThan(quantity('1Gi'))") == (
        "calls isGreaterThan, quantity, which no library here provides")
    assert not_evaluable("self.name.lowerAscii() == self.name") is None


def test_property_names_are_escaped_as_the_api_server_escapes_them():
    assert [escape_property(n) for n in ("namespace", "x-y", "a.b", "a/b", "a__b", "plain")] == [
        "__namespace__", "x__dash__y", "a__dot__b", "a__slash__b", "a__underscores__b", "plain"]


def _schema(crd_set: str, kind: str, version: str) -> dict[str, Any]:
    return upstream.crd_version_schema(upstream.crd(crd_set, kind), version)


def _dev(kind: str) -> dict[str, Any]:
    (obj,) = [copy.deepcopy(o) for _, o in planned("dev").objects if o["kind"] == kind]
    return obj


KARPENTER = f"karpenter-v{versions.KARPENTER.version}"
GATEWAY_API = upstream.gateway_api_crds(versions.ENVOY_GATEWAY.version)
KSERVE = upstream.kserve_crds(versions.KSERVE_LLMISVC_CRD.version)


def test_an_ec2_node_class_whose_ami_family_contradicts_its_alias_is_refused():
    node_class = _dev("EC2NodeClass")
    assert check(_schema(KARPENTER, "EC2NodeClass", "v1"), node_class).failures == []
    node_class["spec"]["amiFamily"] = "AL2"
    assert check(_schema(KARPENTER, "EC2NodeClass", "v1"), node_class).failures == [
        "spec: if set, amiFamily must be 'AL2023' or 'Custom' when using an AL2023 alias"]


def test_a_node_pool_label_in_karpenters_domain_is_refused():
    node_pool = _dev("NodePool")
    node_pool["spec"]["template"]["metadata"]["labels"]["karpenter.sh/team"] = "ml"
    assert check(_schema(KARPENTER, "NodePool", "v1"), node_pool).failures == [
        'spec.template.metadata.labels: label domain "karpenter.sh" is restricted']


def test_a_gateway_with_two_listeners_of_one_name_is_refused():
    gateway = _dev("Gateway")
    gateway["spec"]["listeners"].append({**gateway["spec"]["listeners"][0], "port": 8080})
    assert check(_schema(GATEWAY_API, "Gateway", "v1"), gateway).failures == [
        "spec.listeners: Listener name must be unique within the Gateway"]


def test_an_llm_inference_service_with_replicas_and_scaling_is_refused():
    service = _dev("LLMInferenceService")
    service["spec"]["scaling"] = {"minReplicas": 1, "maxReplicas": 2, "wva": {"hpa": {}}}
    assert check(_schema(KSERVE, "LLMInferenceService", "v1alpha2"), service).failures == [
        "spec: replicas and scaling are mutually exclusive; use scaling for autoscaled deployments or replicas "
        "for static deployments"]


def _with_route(rules: list[dict[str, Any]]) -> dict[str, Any]:
    service = _dev("LLMInferenceService")
    service["spec"]["router"]["route"] = {"http": {"spec": {"rules": rules}}}
    return service


def test_a_route_path_that_is_not_absolute_is_refused():
    service = _with_route([{"matches": [{"path": {"type": "PathPrefix", "value": "v1/chat"}}]}])
    assert check(_schema(KSERVE, "LLMInferenceService", "v1alpha2"), service).failures == [
        "spec.router.route.http.spec.rules[0].matches[0].path: value must be an absolute path and start with '/' "
        "when type one of ['Exact', 'PathPrefix']"]


def test_defaults_apply_before_the_rules_a_backend_of_default_kind_service_needs_a_port():
    """backendRefs[].kind defaults to Service, and a Service backend needs a port: the rule sees the default."""
    service = _with_route([{"backendRefs": [{"name": "workload"}]}])
    assert check(_schema(KSERVE, "LLMInferenceService", "v1alpha2"), service).failures == [
        "spec.router.route.http.spec.rules[0].backendRefs[0]: Must have port for Service reference"]


def test_escaped_property_names_reach_the_rules():
    """Gateway API's parentRefs rule reads ``p1.__namespace__``: two refs to one Gateway name in different
    namespaces are two parents (accepted only if the escaped name reaches the rule); in the same namespace
    without sectionName or port they are refused."""
    schema = _schema(GATEWAY_API, "HTTPRoute", "v1")

    def route(*namespaces: str) -> dict[str, Any]:
        return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": "r"},
                "spec": {"parentRefs": [{"name": "gw", "namespace": ns} for ns in namespaces]}}

    assert check(schema, route("a", "b")).failures == []
    assert check(schema, route("a", "a")).failures == [
        "spec.parentRefs: sectionName or port must be unique when parentRefs includes 2 or more references to the "
        "same parent"]
