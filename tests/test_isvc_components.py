"""The rest of the InferenceService surface (issue 25): pod labels and annotations on the predictor, the
transformer and the explainer (servestack's own keys refused by name), the transformer's and explainer's own
replicas and scaling, and the transformer's deploymentStrategy in Standard mode; each rendered manifest
checked exactly and against KServe v0.20.0's CRD, each refusal's exact message."""

from __future__ import annotations

import pytest

from endpoint_fixtures import IRIS
from test_isvc_surface import P, problems, render

IMAGE = "ghcr.io/acme/features:1.8.0"
TRANSFORMER = {"container": {"image": IMAGE, "port": 8080}}


def test_predictor_pod_labels_and_annotations_merge_with_servestacks_own():
    isvc = render({**IRIS, "startupTimeoutMinutes": 15, "podLabels": {"team": "fraud"},
                   "podAnnotations": {"sidecar.istio.io/inject": "false"}})
    predictor = isvc["spec"]["predictor"]
    assert predictor["labels"] == {"team": "fraud", "servestack.io/model-version": "1.0.0"}
    # startupTimeoutMinutes' Knative annotation beside the user's (merged, not overwritten: issue 20).
    assert predictor["annotations"] == {"serving.knative.dev/progress-deadline": "15m", "sidecar.istio.io/inject": "false"}


def test_predictor_pod_labels_reach_the_candidate_too():
    isvc = render({**IRIS, "podLabels": {"team": "fraud"},
                   "rollout": {"candidate": {"version": "1.1.0", "storageUri": "s3://acme-models/models/iris/1.1.0"},
                               "stages": [0], "stage": 1}}, mode="Standard")
    assert isvc["spec"]["canary"][0]["predictor"]["labels"] == {"team": "fraud", "servestack.io/model-version": "1.1.0"}


def test_transformer_and_explainer_scaling_metadata_and_strategy():
    isvc = render({**IRIS, "transformer": {**TRANSFORMER, "autoscaling": {"minReplicas": 2, "maxReplicas": 5,
                                                                           "scaleMetric": "cpu", "scaleTarget": 60},
                                           "deploymentStrategy": {"type": "RollingUpdate", "maxSurge": 1, "maxUnavailable": 0},
                                           "podLabels": {"tier": "pre"}, "podAnnotations": {"sidecar.istio.io/inject": "true"}},
                   "explainer": {"type": "art", "autoscaling": {"minReplicas": 0, "maxReplicas": 2},
                                 "podAnnotations": {"acme.com/cost-center": "42"}}}, mode="Standard")
    transformer, explainer = isvc["spec"]["transformer"], isvc["spec"]["explainer"]
    assert {k: v for k, v in transformer.items() if k != "containers"} == {
        "minReplicas": 2, "maxReplicas": 5, "scaleMetric": "cpu", "scaleTarget": 60, "labels": {"tier": "pre"},
        "annotations": {"sidecar.istio.io/inject": "true"},
        "deploymentStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}}
    assert {k: v for k, v in explainer.items() if k != "art"} == {
        "minReplicas": 0, "maxReplicas": 2, "annotations": {"acme.com/cost-center": "42"}}


def test_transformer_deployment_strategy_is_standard_modes():
    isvc = render({**IRIS, "transformer": {**TRANSFORMER, "deploymentStrategy": {"type": "Recreate"}}}, mode="Knative")
    assert "deploymentStrategy" not in isvc["spec"]["transformer"]


RESERVED = ("must not set app.kubernetes.io/managed-by, servestack.io/endpoint: servestack writes these keys itself "
            "(every key under servestack.io/, and app.kubernetes.io/managed-by)")


@pytest.mark.parametrize("endpoint, expected", [
    ({**IRIS, "podLabels": {"servestack.io/endpoint": "x", "app.kubernetes.io/managed-by": "me"}},
     [f'{P}.e.podLabels: {RESERVED} (got ["app.kubernetes.io/managed-by", "servestack.io/endpoint"])']),
    ({**IRIS, "transformer": {**TRANSFORMER, "podAnnotations": {"servestack.io/endpoint": "x",
                                                                 "app.kubernetes.io/managed-by": "me"}}},
     [f'{P}.e.transformer.podAnnotations: {RESERVED} (got ["app.kubernetes.io/managed-by", "servestack.io/endpoint"])']),
    ({**IRIS, "explainer": {"type": "art", "podLabels": {"team": "has space"}}},
     [f"{P}.e.explainer.podLabels.team: must be a label value (63 characters of letters, digits, '-', '_', '.') "
      '(got "has space")']),
    ({**IRIS, "podAnnotations": {"bad key!": "x"}},
     [f'{P}.e.podAnnotations["bad key!"]: must be a Kubernetes label/annotation key ([prefix/]name) (got "bad key!")']),
    ({**IRIS, "transformer": {**TRANSFORMER, "collocated": True, "autoscaling": {"minReplicas": 2}}},
     [f"{P}.e.transformer.autoscaling: belongs to the predictor's pod, which a collocated transformer shares: set it on "
      'the endpoint (got "[set]")']),
    ({**IRIS, "explainer": {"type": "art", "autoscaling": {"minReplicas": 3, "maxReplicas": 2}}},
     [f"{P}.e.explainer.autoscaling.minReplicas: must not exceed maxReplicas (2) (got 3)"]),
])
def test_component_refusals(endpoint, expected):
    assert problems(endpoint) == expected


def test_grpc_port_with_the_v2_protocol_as_mlserver_serves_it():
    isvc = render({**IRIS, "model": {"format": "mlflow", "storageUri": "s3://acme-models/models/wine/1.0.0",
                                     "version": "1.0.0", "protocolVersion": "v2", "grpcPort": 9000}}, mode="Standard")
    model = isvc["spec"]["predictor"]["model"]
    assert (model["protocolVersion"], model["ports"]) == ("v2", [{"name": "h2c", "containerPort": 9000, "protocol": "TCP"}])


def test_hdfs_models_read_with_a_storage_secret():
    isvc = render({**IRIS, "model": {"format": "sklearn", "storageUri": "webhdfs://namenode.data:9870/models/iris/1.0.0",
                                     "version": "1.0.0", "storageSecretName": "hdfs-creds"}})
    assert isvc["metadata"]["annotations"]["serving.kserve.io/storageSecretName"] == "hdfs-creds"
    assert isvc["spec"]["predictor"]["model"]["storageUri"] == "webhdfs://namenode.data:9870/models/iris/1.0.0"


def test_hdfs_without_credentials_is_refused():
    assert problems({**IRIS, "model": {"format": "sklearn", "storageUri": "hdfs://namenode/models/iris", "version": "1"}}) == [
        f"{P}.e.model.storageUri: is HDFS, which KServe's storage initializer reads only with a Secret's credentials: set "
        "storageSecretName to a Secret with HDFS_NAMENODE (and KERBEROS_PRINCIPAL/KERBEROS_KEYTAB or TLS_CERT/TLS_KEY/TLS_CA), "
        'or serviceAccountName to an account that carries it (got "hdfs://namenode/models/iris")']
