"""ServingPlatform planned offline: exact Helm releases, the order between them, Knative flags, Kubeflow.

Each scenario is planned once per module (the plans are only read), with a ClusterHandle built
in the test program from a static kubeconfig, placements from ``placement_for`` and one stand-in
"ready" resource for what the cluster layer marks as ready.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest
from hypothesis import given
from hypothesis import strategies as st

from components.config.platform import PlatformConfig
from components.handles import ClusterHandle
from components.core.placement import placement_for
from components.core.kubeflow import KUBEFLOW_LAYERS, kubeflow_directory, kubeflow_layers
from components.platform import (
    KNATIVE_POD_SPEC_FEATURES,
    ServingPlatform,
    ServingPlatformArgs,
    knative_features,
    namespace_labels,
)
from harness import plan_program, resource, resources

KUBECONFIG = """apiVersion: v1
kind: Config
clusters:
- name: test
  cluster: {server: "https://127.0.0.1:6443"}
contexts:
- name: test
  context: {cluster: test, user: test}
current-context: test
users:
- name: test
  user: {token: not-a-real-token}
"""
PROJECT = "urn:pulumi:test::servestack::"
PLATFORM = f"{PROJECT}servestack:platform:ServingPlatform"
RELEASE = "kubernetes:helm.sh/v3:Release"
PATCH = "kubernetes:core/v1:ConfigMapPatch"
CONFIG_FILE = "kubernetes:yaml/v2:ConfigFile"
DIRECTORY = "kubernetes:kustomize/v2:Directory"
PROVIDER = f"{PROJECT}pulumi:providers:kubernetes::k8s"
READY = f"{PROJECT}kubernetes:core/v1:Namespace::device-plugins"

GPU_POOLS = {"system": (["m7i.large"], 3), "gpu": (["g6.xlarge"], 2)}
CPU_POOLS = {"system": (["m7i.large"], 3)}


def plan_platform(platform: dict[str, Any], pools: dict[str, tuple[list[str], int]], captured: dict | None = None):
    def program():
        provider = k8s.Provider("k8s", kubeconfig=KUBECONFIG)
        # Stands in for the node groups and device plugins the cluster layer hands over.
        ready = k8s.core.v1.Namespace("device-plugins", metadata={"name": "device-plugins"},
                                      opts=pulumi.ResourceOptions(provider=provider))
        handle = ClusterHandle(
            name="servestack-test",
            endpoint="https://example.eks.amazonaws.com",
            certificate_authority="Q0E=",
            kubernetes_provider=provider,
            oidc_provider_arn="arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/X",
            oidc_issuer="oidc.eks.us-east-1.amazonaws.com/id/X",
            partition="aws",
            placements={name: placement_for(name, types, size) for name, (types, size) in pools.items()},
            ready=[ready],
        )
        component = ServingPlatform("platform", ServingPlatformArgs(config=PlatformConfig.model_validate(platform), cluster=handle))
        if captured is not None:
            captured["platform"] = component

    return plan_program(program)


def urn(type_: str, name: str) -> str:
    return f"{PLATFORM}${type_}::{name}"


def release(plan, name: str) -> dict[str, Any]:
    return resource(plan, RELEASE, f"platform-{name}")


def deps(plan, type_: str, name: str) -> list[str]:
    return resource(plan, type_, name)["dependencies"]


def waited_for(plan, urns: list[str]) -> set[str]:
    """Everything that waits for ``urns`` waits for: their dependencies, transitively."""
    dependencies = {s["urn"]: s["newState"].get("dependencies", []) for s in plan.steps}
    seen: set[str] = set()
    todo = list(urns)
    while todo:
        for dependency in dependencies[todo.pop()]:
            if dependency not in seen:
                seen.add(dependency)
                todo.append(dependency)
    return seen


def installs(plan) -> set[str]:
    """The platform's installs: its children, the endpoint namespaces left out."""
    return {s["urn"] for s in plan.steps
            if s["newState"].get("parent") == f"{PROJECT}servestack:platform:ServingPlatform::platform"
            and s["newState"]["type"] != "kubernetes:core/v1:Namespace"}


@pytest.fixture(scope="module")
def knative_gpu():
    captured: dict = {}
    plan = plan_platform({}, GPU_POOLS, captured)
    return plan, captured["platform"]


@pytest.fixture(scope="module")
def knative_cpu():
    return plan_platform({}, CPU_POOLS)


@pytest.fixture(scope="module")
def standard():
    return plan_platform({"kserve": {"deploymentMode": "Standard"}}, GPU_POOLS)


@pytest.fixture(scope="module")
def istio():
    return plan_platform({"knative": {"networking": "istio"}, "endpointNamespaces": ["models", "fraud"]}, GPU_POOLS)


@pytest.fixture(scope="module")
def kubeflow_gpu():
    captured: dict = {}
    plan = plan_platform({"kubeflow": {"enabled": True}}, GPU_POOLS, captured)
    return plan, captured["platform"]


@pytest.fixture(scope="module")
def kubeflow_cpu():
    return plan_platform({"kubeflow": {"enabled": True}}, CPU_POOLS)


# --------------------------------------------------------------------------- Helm releases


def test_cert_manager_release_is_jetstacks_chart_with_crds(knative_gpu):
    plan, _ = knative_gpu
    assert release(plan, "cert-manager")["inputs"] == {
        "name": "cert-manager",
        "chart": "cert-manager",
        "version": "v1.20.2",
        "repositoryOpts": {"repo": "https://charts.jetstack.io"},
        "namespace": "cert-manager",
        "createNamespace": True,
        "values": {"crds": {"enabled": True, "keep": True}},
        "atomic": True,
        "cleanupOnFail": True,
        "maxHistory": 10,
        "compat": "true",
    }


def test_kserve_charts_are_the_v0_20_oci_charts_in_the_kserve_namespace(knative_gpu):
    plan, _ = knative_gpu
    expected = {
        "kserve-crd": {},
        "kserve-resources": {"kserve": {"controller": {"deploymentMode": "Knative", "gateway": {"disableIstioVirtualHost": True}}}},
        "kserve-runtime-configs": {"kserve": {"servingruntime": {"enabled": True}}},
    }
    for name, values in expected.items():
        inputs = release(plan, name)["inputs"]
        assert {k: inputs.get(k) for k in ("name", "chart", "version", "namespace", "values", "repositoryOpts")} == {
            "name": name,
            "chart": f"oci://ghcr.io/kserve/charts/{name}",
            "version": "v0.20.0",
            "namespace": "kserve",
            "values": values,
            "repositoryOpts": None,
        }


def test_releases_are_ordered_cert_manager_crds_controller_runtimes(knative_gpu):
    plan, _ = knative_gpu
    cert_manager = urn(RELEASE, "platform-cert-manager")
    crd = urn(RELEASE, "platform-kserve-crd")
    controller = urn(RELEASE, "platform-kserve-resources")
    assert deps(plan, RELEASE, "platform-cert-manager") == [READY]
    assert deps(plan, RELEASE, "platform-kserve-crd") == sorted([cert_manager, READY])
    assert deps(plan, RELEASE, "platform-kserve-resources") == sorted([
        crd, cert_manager,
        urn(CONFIG_FILE, "platform-knative-serving-crds"),
        urn(CONFIG_FILE, "platform-knative-serving-core"),
        urn(CONFIG_FILE, "platform-knative-kourier"),
        urn(PATCH, "platform-knative-config-network"),
        urn(PATCH, "platform-knative-config-features"),
    ])
    assert deps(plan, RELEASE, "platform-kserve-runtime-configs") == [controller]


def test_every_platform_resource_goes_through_the_clusters_provider(knative_gpu, standard, kubeflow_gpu):
    for plan in (knative_gpu[0], standard, kubeflow_gpu[0]):
        children = [s["newState"] for s in plan.steps if s["newState"]["parent"].startswith(PLATFORM)]
        assert children
        assert {c["provider"].rsplit("::", 1)[0] for c in children} == {PROVIDER}


# --------------------------------------------------------------------------- Knative mode


def test_knative_serving_comes_from_the_pinned_release_manifests_crds_first(knative_gpu):
    plan, _ = knative_gpu
    files = {name: state["inputs"]["file"] for name, state in resources(plan, CONFIG_FILE).items()}
    assert files == {
        "platform-knative-serving-crds": "https://github.com/knative/serving/releases/download/knative-v1.21.2/serving-crds.yaml",
        "platform-knative-serving-core": "https://github.com/knative/serving/releases/download/knative-v1.21.2/serving-core.yaml",
        "platform-knative-kourier": "https://github.com/knative-extensions/net-kourier/releases/download/knative-v1.21.1/kourier.yaml",
    }
    core = urn(CONFIG_FILE, "platform-knative-serving-core")
    assert deps(plan, CONFIG_FILE, "platform-knative-serving-crds") == [READY]
    assert deps(plan, CONFIG_FILE, "platform-knative-serving-core") == [urn(CONFIG_FILE, "platform-knative-serving-crds")]
    assert deps(plan, CONFIG_FILE, "platform-knative-kourier") == [core]
    network = resource(plan, PATCH, "platform-knative-config-network")
    assert network["dependencies"] == [core]
    assert network["inputs"] == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "config-network", "namespace": "knative-serving",
                     "annotations": {"pulumi.com/patchForce": "true"}},
        "data": {"ingress-class": "kourier.ingress.networking.knative.dev"},
    }


def test_knative_placement_features_are_on_when_the_cluster_has_accelerator_pools(knative_gpu):
    plan, _ = knative_gpu
    features = resource(plan, PATCH, "platform-knative-config-features")
    assert features["inputs"] == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "config-features", "namespace": "knative-serving",
                     "annotations": {"pulumi.com/patchForce": "true"}},
        "data": {
            "kubernetes.podspec-nodeselector": "enabled",
            "kubernetes.podspec-tolerations": "enabled",
        },
    }
    assert features["dependencies"] == [urn(CONFIG_FILE, "platform-knative-serving-core")]


def test_knative_nodeselector_feature_is_on_without_accelerator_pools(knative_cpu):
    # Every InferenceService carries its pool's nodeSelector; Knative (default "disabled") refused them all.
    features = resource(knative_cpu, PATCH, "platform-knative-config-features")
    assert features["inputs"]["data"] == {"kubernetes.podspec-nodeselector": "enabled"}
    assert urn(PATCH, "platform-knative-config-features") in deps(knative_cpu, RELEASE, "platform-kserve-resources")


@pytest.mark.parametrize(("pools", "expected"), [
    ({"system": (["m7i.large"], 3)}, {"kubernetes.podspec-nodeselector": "enabled"}),
    ({"system": (["m7i.large"], 3), "gpu": (["g6.xlarge"], 2)},
     {"kubernetes.podspec-nodeselector": "enabled", "kubernetes.podspec-tolerations": "enabled"}),
    ({"neuron": (["inf2.xlarge"], 1)}, {"kubernetes.podspec-nodeselector": "enabled", "kubernetes.podspec-tolerations": "enabled"}),
    ({}, {}),
])
def test_knative_features_decision(pools, expected):
    placements = {name: placement_for(name, types, size) for name, (types, size) in pools.items()}
    assert knative_features(placements) == expected


INSTANCE_TYPES = {"m7i.large": False, "c7i.xlarge": False, "r7i.large": False, "g6.xlarge": True,
                  "inf2.xlarge": True, "trn1.2xlarge": True, "f2.6xlarge": True}
#: Pod-spec fields anywhere in an InferenceService's components that Knative gates behind a feature.
_GATED = set(KNATIVE_POD_SPEC_FEATURES)


def _gated_fields(manifest: dict[str, Any]) -> set[str]:
    spec = manifest["spec"]
    parts = [spec.get(c) for c in ("predictor", "transformer", "explainer")] + [c.get("predictor") for c in spec.get("canary", [])]
    return {field for part in parts if part for field in _GATED & set(part)}


@given(st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), st.sampled_from(sorted(INSTANCE_TYPES)), min_size=1, max_size=4))
def test_knative_features_cover_every_field_an_endpoint_on_any_pool_renders(pools):
    from components.config.endpoints import EndpointConfig
    from components.render.inference_service import render_inference_service

    placements = {name: placement_for(name, [t], 1, resource_name="servestack.io/fpga" if t.startswith("f2") else None)
                  for name, t in pools.items()}
    enabled = {feature for feature, value in knative_features(placements).items() if value == "enabled"}
    used: set[str] = set()
    for name, placement in placements.items():
        endpoint = EndpointConfig.model_validate({
            "pool": name, "accelerators": 1 if placement.has_accelerator else 0,
            "model": {"format": "sklearn", "storageUri": "s3://acme-models/models/iris/1.0.0", "version": "1.0.0"},
            "transformer": {"container": {"image": "registry.example.com/t:1.0.0"}},
            "explainer": {"type": "art"},
        })
        used |= _gated_fields(render_inference_service("iris", endpoint, placement, "Knative"))
    assert "nodeSelector" in used
    assert {KNATIVE_POD_SPEC_FEATURES[field] for field in used} == enabled


def test_istio_networking_installs_istio_with_cni_then_net_istio(istio):
    charts = {"istio-base": "base", "istio-cni": "cni", "istiod": "istiod", "istio-ingressgateway": "gateway"}
    for name, chart in charts.items():
        inputs = release(istio, name)["inputs"]
        assert {k: inputs[k] for k in ("name", "chart", "version", "repositoryOpts", "namespace")} == {
            "name": name, "chart": chart, "version": "1.27.1",
            "repositoryOpts": {"repo": "https://istio-release.storage.googleapis.com/charts"}, "namespace": "istio-system",
        }
    assert release(istio, "istio-base")["inputs"]["values"] == {"defaultRevision": "default"}
    assert deps(istio, RELEASE, "platform-istio-base") == [READY]
    assert deps(istio, RELEASE, "platform-istio-cni") == [urn(RELEASE, "platform-istio-base")]
    assert deps(istio, RELEASE, "platform-istio-ingressgateway") == [urn(RELEASE, "platform-istiod")]
    assert release(istio, "istiod")["inputs"]["values"] == {"pilot": {"cni": {"enabled": True}}}
    assert deps(istio, RELEASE, "platform-istiod") == sorted([urn(RELEASE, "platform-istio-base"), urn(RELEASE, "platform-istio-cni")])
    assert deps(istio, CONFIG_FILE, "platform-knative-net-istio") == sorted([
        urn(CONFIG_FILE, "platform-knative-serving-core"), urn(RELEASE, "platform-istiod"),
        urn(RELEASE, "platform-istio-ingressgateway"),
    ])
    assert release(istio, "kserve-resources")["inputs"]["values"] == {"kserve": {"controller": {"deploymentMode": "Knative"}}}
    assert "platform-knative-kourier" not in resources(istio, CONFIG_FILE)


# --------------------------------------------------------------------------- Standard mode


def test_standard_mode_installs_envoy_gateway_and_its_gateway_class_before_kserve(standard):
    envoy = release(standard, "envoy-gateway")
    assert {k: envoy["inputs"].get(k) for k in ("name", "chart", "version", "namespace", "repositoryOpts")} == {
        "name": "envoy-gateway",
        "chart": "oci://docker.io/envoyproxy/gateway-helm",
        "version": "v1.8.1",
        "namespace": "envoy-gateway-system",
        "repositoryOpts": None,
    }
    gateway_class = resource(standard, "kubernetes:gateway.networking.k8s.io/v1:GatewayClass", "platform-gatewayclass-envoy")
    assert gateway_class["inputs"] == {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "GatewayClass",
        "metadata": {"name": "envoy"},
        "spec": {"controllerName": "gateway.envoyproxy.io/gatewayclass-controller"},
    }
    assert gateway_class["dependencies"] == [urn(RELEASE, "platform-envoy-gateway")]
    controller = release(standard, "kserve-resources")
    assert controller["inputs"]["values"] == {"kserve": {"controller": {
        "deploymentMode": "Standard",
        "gateway": {"ingressGateway": {"enableGatewayApi": True, "createGateway": True,
                                       "kserveGateway": "kserve/kserve-ingress-gateway", "className": "envoy"}},
    }}}
    assert urn("kubernetes:gateway.networking.k8s.io/v1:GatewayClass", "platform-gatewayclass-envoy") in controller["dependencies"]
    assert resources(standard, CONFIG_FILE) == {}
    assert resources(standard, PATCH) == {}


# --------------------------------------------------------------------------- endpoint namespaces


def test_endpoint_namespaces_carry_pod_security_and_mesh_labels(knative_gpu, istio):
    plan, _ = knative_gpu
    base_labels = {
        "app.kubernetes.io/managed-by": "servestack",
        "app.kubernetes.io/part-of": "servestack-endpoints",
        "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/enforce": "baseline",
        "pod-security.kubernetes.io/warn": "restricted",
    }
    models = resource(plan, "kubernetes:core/v1:Namespace", "platform-ns-models")
    assert models["inputs"]["metadata"] == {"name": "models", "labels": base_labels}
    assert models["dependencies"] == [READY]
    for name in ("models", "fraud"):
        meta = resource(istio, "kubernetes:core/v1:Namespace", f"platform-ns-{name}")["inputs"]["metadata"]
        assert meta == {"name": name, "labels": {**base_labels, "istio-injection": "enabled"}}
    assert namespace_labels(PlatformConfig.model_validate({"kubeflow": {"enabled": True}}))["istio-injection"] == "enabled"


def test_handle_exposes_mode_version_namespaces_and_what_endpoints_wait_for(knative_gpu):
    _, platform = knative_gpu
    handle = platform.handle
    assert handle.deployment_mode == "Knative"
    assert handle.kserve_version == "v0.20.0"
    assert handle.namespaces == {"models": platform.namespaces["models"]}
    releases = platform.releases
    assert sorted(releases) == ["cert-manager", "kserve-crd", "kserve-resources", "kserve-runtime-configs"]
    assert handle.ready == [releases["kserve-runtime-configs"]]


@pytest.mark.parametrize("mode", ["knative_gpu", "knative_cpu", "istio", "standard"])
def test_waiting_for_kserves_runtimes_waits_for_every_install_and_the_cluster(mode, request):
    plan = request.getfixturevalue(mode)
    plan = plan[0] if isinstance(plan, tuple) else plan
    runtimes = urn(RELEASE, "platform-kserve-runtime-configs")
    assert waited_for(plan, [runtimes]) >= installs(plan) - {runtimes} | {READY}


# --------------------------------------------------------------------------- Kubeflow


def test_kubeflow_replaces_the_kserve_charts_and_knative_but_keeps_one_cert_manager(kubeflow_gpu):
    plan, platform = kubeflow_gpu
    assert sorted(resources(plan, RELEASE)) == ["platform-cert-manager"]
    assert resources(plan, CONFIG_FILE) == {}
    assert platform.handle.kserve_version == "v0.16.0"
    assert platform.handle.deployment_mode == "Knative"


#: example/kustomization.yaml at kubeflow/manifests tag 26.03, minus cert-manager (the Helm release is the
#: cluster's one; its overlay installs a second) and the example user's namespace.
KUBEFLOW_26_03_TARGETS = [
    "applications/admission-webhook/upstream/overlays/cert-manager",
    "applications/centraldashboard/overlays/oauth2-proxy",
    "applications/jupyter/jupyter-web-app/upstream/overlays/istio",
    "applications/jupyter/notebook-controller/upstream/overlays/kubeflow",
    "applications/katib/upstream/installs/katib-with-kubeflow",
    "applications/kserve/kserve",
    "applications/kserve/models-web-app/overlays/kubeflow",
    "applications/pipeline/overlays",
    "applications/profiles/pss",
    "applications/pvcviewer-controller/upstream/base",
    "applications/spark/spark-operator/overlays/kubeflow",
    "applications/tensorboard/tensorboard-controller/upstream/overlays/kubeflow",
    "applications/tensorboard/tensorboards-web-app/upstream/overlays/istio",
    "applications/trainer/overlays",
    "applications/volumes-web-app/upstream/overlays/istio",
    "common/dex/overlays/oauth2-proxy",
    "common/istio/cluster-local-gateway/base",
    "common/istio/istio-crds/base",
    "common/istio/istio-install/overlays/oauth2-proxy",
    "common/istio/istio-namespace/base",
    "common/istio/kubeflow-istio-resources/base",
    "common/knative/knative-serving/overlays/gateways",
    "common/kubeflow-namespace/base",
    "common/kubeflow-roles/base",
    "common/oauth2-proxy/overlays/m2m-dex-only",
]


def test_kubeflow_directories_are_the_pinned_release_targets(kubeflow_gpu):
    plan, _ = kubeflow_gpu
    targets = sorted(state["inputs"]["directory"] for state in resources(plan, DIRECTORY).values())
    expected = sorted(f"https://github.com/kubeflow/manifests//{path}?ref=26.03" for _, paths in KUBEFLOW_LAYERS for path in paths)
    assert targets == expected
    assert sorted(path for _, paths in KUBEFLOW_LAYERS for path in paths) == KUBEFLOW_26_03_TARGETS
    # Gone at 26.03 (kubeflow/manifests#3342 moved their files into the targets above): applying them failed
    # the whole layer and everything after it.
    assert not any("common/cert-manager/kubeflow-issuer" in t or "common/networkpolicies" in t for t in targets)
    assert "https://github.com/kubeflow/manifests//applications/kserve/kserve?ref=26.03" in targets
    assert not any("common/cert-manager/base" in t for t in targets)
    assert kubeflow_directory("https://git.example.com/me/manifests/", "common/dex", "26.03") == \
        "https://git.example.com/me/manifests//common/dex?ref=26.03"


def test_kubeflow_layers_each_depend_on_the_whole_layer_before(kubeflow_gpu):
    plan, _ = kubeflow_gpu
    directories = resources(plan, DIRECTORY)
    by_target = {state["inputs"]["directory"]: f"{PLATFORM}${DIRECTORY}::{name}" for name, state in directories.items()}
    urn_by_name = {name: f"{PLATFORM}${DIRECTORY}::{name}" for name in directories}
    previous = sorted([urn(RELEASE, "platform-cert-manager"), READY])
    for layer, targets in kubeflow_layers("https://github.com/kubeflow/manifests", "26.03"):
        layer_urns = [by_target[target] for _, target in targets]
        for layer_urn in layer_urns:
            name = layer_urn.rsplit("::", 1)[1]
            assert directories[name]["dependencies"] == previous, (layer, name)
        if layer == "knative":
            layer_urns.append(urn(PATCH, "platform-knative-config-features"))
        previous = sorted(layer_urns)
    assert set(urn_by_name.values()) == set(by_target.values())


def test_kubeflow_knative_gets_the_placement_features_its_pools_need(kubeflow_gpu, kubeflow_cpu):
    plan, _ = kubeflow_gpu
    features = resource(plan, PATCH, "platform-knative-config-features")
    assert features["inputs"]["data"] == {"kubernetes.podspec-nodeselector": "enabled", "kubernetes.podspec-tolerations": "enabled"}
    assert features["dependencies"] == sorted([
        f"{PLATFORM}${DIRECTORY}::platform-kubeflow-knative-knative-serving-overlays-gateways",
        f"{PLATFORM}${DIRECTORY}::platform-kubeflow-istio-cluster-local-gateway-base",
    ])
    cpu = resource(kubeflow_cpu, PATCH, "platform-knative-config-features")
    assert cpu["inputs"]["data"] == {"kubernetes.podspec-nodeselector": "enabled"}


def test_kubeflow_endpoints_wait_for_every_layer_through_kserve_not_the_applications(kubeflow_gpu):
    plan, platform = kubeflow_gpu
    layers = platform.kubeflow_layers
    assert list(layers) == [layer for layer, _ in KUBEFLOW_LAYERS]
    assert platform.handle.ready == layers["kserve"]
    by_target = {s["newState"]["inputs"]["directory"]: s["urn"] for s in plan.steps if s["newState"]["type"] == DIRECTORY}
    targets = dict(kubeflow_layers("https://github.com/kubeflow/manifests", "26.03"))
    kserve = [by_target[target] for _, target in targets["kserve"]]
    applications = {by_target[target] for _, target in targets["applications"]}
    assert waited_for(plan, kserve) == installs(plan) - set(kserve) - applications | {READY}


def test_the_same_config_plans_byte_identically(knative_gpu):
    from harness import dumps

    assert dumps(plan_platform({}, GPU_POOLS)) == dumps(knative_gpu[0])
