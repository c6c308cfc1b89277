"""The conformance layer's own helpers, on small hand-made inputs: the CRD-to-JSON-Schema
translation, ObjectMeta checks, chart value paths and KServe's propagation rules."""

from __future__ import annotations

import jsonschema
import pytest

from . import upstream
from .propagation import DisallowLists, deployment_name, disallow_lists, pod_templates, template_difference
from .schema import metadata_problems, to_json_schema, _list_map_problems

STRUCTURAL = {
    "type": "object",
    "required": ["port", "mode"],
    "properties": {
        "port": {"x-kubernetes-int-or-string": True, "anyOf": [{"type": "integer"}, {"type": "string"}]},
        "mode": {"type": "string", "enum": ["a", "b"], "default": "a"},
        "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        "maybe": {"type": "string", "nullable": True},
        "env": {"type": "object", "additionalProperties": {"type": "string"}},
        "tags": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"},
        "ports": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                  "items": {"type": "object", "properties": {"name": {"type": "string"}, "n": {"type": "integer"}}}},
    },
}


def errors(value):
    return sorted(e.message for e in jsonschema.Draft202012Validator(to_json_schema(STRUCTURAL)).iter_errors(value))


def test_structural_schema_translation_accepts_what_the_api_server_accepts():
    assert errors({"port": 8080, "free": {"anything": [1, {"x": None}]}, "maybe": None, "env": {"A": "1"},
                   "tags": ["x", "y"]}) == []
    assert errors({"port": "http"}) == []  # int-or-string; mode has a default, so it is not required


def test_structural_schema_translation_refuses_what_the_api_server_refuses():
    assert errors({"port": 1.5}) == ["1.5 is not valid under any of the given schemas"]
    assert errors({"port": 1, "mode": "c"}) == ["'c' is not one of ['a', 'b']"]
    assert errors({"port": 1, "unknown": 1}) == ["Additional properties are not allowed ('unknown' was unexpected)"]
    assert errors({"port": 1, "env": {"A": 1}}) == ["1 is not of type 'string'"]
    assert errors({"port": 1, "tags": ["x", "x"]}) == ["['x', 'x'] has non-unique elements"]
    assert errors({}) == ["'port' is a required property"]
    assert _list_map_problems(STRUCTURAL, {"ports": [{"name": "a"}, {"name": "a", "n": 2}]}, "") == [
        ".ports: duplicate entry {'name': 'a'}"]


def test_metadata_problems_are_the_api_servers():
    assert metadata_problems({"name": "iris", "namespace": "models", "labels": {"app.kubernetes.io/name": "x"},
                              "annotations": {"a/b": "any text at all"}}) == []
    assert metadata_problems({"name": "Iris_1", "labels": {"k": "", "v": "a b", "n": 3}, "annotations": {"-bad": "x"}}) == [
        "metadata.name: 'Iris_1' is not a DNS-1123 subdomain (lowercase alphanumerics, '-' and '.', at most 253)",
        "metadata.labels['v']: value 'a b' is not a valid label value (at most 63 alphanumerics, '-', '_' or '.', starting and ending alphanumeric)",
        "metadata.labels['n']: value must be a string, got 3",
        "metadata.annotations['-bad']: name part '-bad' is not a qualified name (at most 63 alphanumerics, '-', '_' or '.')",
    ]
    assert metadata_problems({"name": "x", "namespace": "models"}, namespaced=False) == [
        "metadata.namespace: set on a cluster-scoped object"]


def test_value_paths_and_their_lookup_in_a_chart_inventory():
    inventory = {"crds": {"enabled": "bool"}, "nodeSelector": {}, "tolerations": "list", "image": {"tag": "string"},
                 "extra": "null"}
    values = {"crds": {"enabled": True}, "nodeSelector": {"a": "b"}, "tolerations": [{"key": "k"}], "image": "x:1",
              "extra": {"any": {"thing": 1}}, "missing": {"deep": 1}}
    leaves = upstream.value_paths(values)
    assert [p for p, _ in leaves] == [("crds", "enabled"), ("extra", "any", "thing"), ("image",), ("missing", "deep"),
                                      ("nodeSelector", "a"), ("tolerations",)]
    assert {".".join(p): upstream.value_path_problem(inventory, p, v) for p, v in leaves} == {
        "crds.enabled": None, "extra.any.thing": None, "nodeSelector.a": None, "tolerations": None,
        "image": "image is a map in the chart (keys tag), set here to 'x:1'",
        "missing.deep": "the chart has no key 'missing' under the top level (keys there: crds, extra, image, nodeSelector, tolerations)",
    }
    assert upstream.unaliased(("pilot", "cni", "enabled"), {"pilot": ""}) == ("cni", "enabled")


def test_the_istiod_inventory_takes_pilot_as_an_alias_of_the_top_level():
    inventory, aliases = upstream.chart_values("istiod", "1.27.1"), upstream.chart_aliases("istiod", "1.27.1")
    assert upstream.value_path_problem(inventory, upstream.unaliased(("pilot", "cni", "enabled"), aliases), True) is None


# --- KServe's propagation -----------------------------------------------------------------------------

ISVC = {
    "metadata": {"name": "iris", "labels": {"team": "ml", "stage": "1-of-3", "networking.knative.dev/visibility": "x"},
                 "annotations": {"note": "n", "traffic": "10%", "modelFormat": "sklearn"}},
    "spec": {
        "predictor": {"name": "v1", "minReplicas": 4, "maxReplicas": 8, "labels": {"version": "1"},
                      "nodeSelector": {"pool": "cpu"}, "model": {"modelFormat": {"name": "sklearn"}, "storageUri": "s3://b/m/1"}},
        "canary": [{"trafficPercent": 10, "predictor": {"name": "v2", "minReplicas": 1, "labels": {"version": "2"},
                                                         "model": {"storageUri": "s3://b/m/2"}}}],
    },
}
LISTS = DisallowLists(labels=("networking.knative.dev/visibility", "stage"), annotations=("modelFormat", "traffic"))


def test_knative_filters_labels_and_annotations_and_keeps_autoscaling_in_the_template():
    (name, template), = pod_templates(ISVC, "Knative", LISTS).items()
    assert name == "iris-predictor"
    assert template["labels"] == {"component": "predictor", "serving.kserve.io/inferenceservice": "iris", "team": "ml", "version": "1"}
    assert template["annotations"] == {"note": "n"}
    assert template["pod"]["minReplicas"] == 4 and "labels" not in template["pod"]


def test_standard_copies_labels_unfiltered_and_builds_each_canary_from_the_stable_predictor():
    templates = pod_templates(ISVC, "Standard", LISTS)
    assert sorted(templates) == ["iris-v1-predictor", "iris-v2-predictor"]
    assert templates["iris-v1-predictor"]["labels"]["stage"] == "1-of-3"  # Standard mode does not filter labels
    assert templates["iris-v1-predictor"]["annotations"] == {"note": "n"}
    canary = templates["iris-v2-predictor"]
    assert canary["labels"]["version"] == "2"
    assert canary["pod"] == {"nodeSelector": {"pool": "cpu"},
                             "model": {"modelFormat": {"name": "sklearn"}, "storageUri": "s3://b/m/2", "name": "kserve-container"}}
    assert template_difference(templates["iris-v1-predictor"]["pod"], canary["pod"]) == [
        "model.storageUri: 's3://b/m/1' -> 's3://b/m/2'"]
    assert deployment_name("iris", None) == "iris-predictor"


def test_a_model_without_a_name_builds_the_container_kserve_container():
    """KServe's MergeRuntimeContainers keeps the runtime container's name (kserve-container) when the
    model names none: a promoted canary's model.name may go without the pods changing; another does not."""
    def pod(model):
        isvc = {"metadata": {"name": "iris"}, "spec": {"predictor": {"name": "v2", "model": model}}}
        return pod_templates(isvc, "Standard", LISTS)["iris-v2-predictor"]["pod"]

    unnamed = pod({"modelFormat": {"name": "sklearn"}, "storageUri": "s3://b/m/2"})
    assert template_difference(unnamed, pod({"name": "kserve-container", "modelFormat": {"name": "sklearn"},
                                             "storageUri": "s3://b/m/2"})) == []
    assert template_difference(unnamed, pod({"name": "server", "modelFormat": {"name": "sklearn"}, "storageUri": "s3://b/m/2"})) == [
        "model.name: 'kserve-container' -> 'server'"]


def test_disallow_lists_append_the_configmap_to_kserves_builtin_lists():
    config = upstream.kserve_isvc_config("v0.20.0")
    assert disallow_lists(config) == DisallowLists(
        ("networking.knative.dev/visibility",),
        ("autoscaling.knative.dev/min-scale", "autoscaling.knative.dev/max-scale",
         "internal.serving.kserve.io/storage-initializer-sourceuri", "kubectl.kubernetes.io/last-applied-configuration",
         "modelFormat"))
    extended = disallow_lists(config, {"serviceLabelDisallowedList": ["a"], "serviceAnnotationDisallowedList": ["b"]})
    assert (extended.labels[-1], extended.annotations[-1]) == ("a", "b")
    assert "modelFormat" not in disallow_lists(upstream.kserve_isvc_config("v0.16.0")).annotations


@pytest.mark.parametrize("kind", ["InferenceService", "ServingRuntime", "ClusterServingRuntime", "LLMInferenceService",
                                  "LLMInferenceServiceConfig"])
def test_the_vendored_kserve_crds_expand_to_structural_schemas(kind):
    crd = upstream.crd("kserve-v0.20.0", kind)
    schema = upstream.crd_version_schema(crd, crd["spec"]["versions"][-1]["name"])
    assert schema["type"] == "object" and "spec" in schema["properties"]
    assert "$ref" not in str(schema)[:100000]
