"""ServingPlatform: everything model serving runs on inside the cluster, in the order it needs.

cert-manager (Helm, with its CRDs) comes first: KServe's webhooks take their certificates from
it. Then the networking KServe's deployment mode needs (Knative Serving and Kourier or Istio in
``Knative`` mode; Envoy Gateway and the Gateway API in ``Standard`` mode), then KServe's three
charts in order: CRDs, controller, built-in runtimes. With Kubeflow, its kustomize manifests
replace all of that but cert-manager, applied layer by layer in upstream's order, and KServe is
Kubeflow's own. Every step is an explicit ``depends_on`` edge, so that one ``pulumi up`` on an
empty cluster converges and a preview never needs a CRD or namespace that does not exist yet.

The decisions (chart values, Knative feature flags, namespace labels, Kubeflow layers) are pure
functions below, tested without Pulumi.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from . import versions
from .config.platform import PlatformConfig, platform_kserve_version
from .handles import ClusterHandle, PlatformHandle
from .placement import PoolPlacement
from .versions import Pinned

CERT_MANAGER_NAMESPACE = "cert-manager"
KSERVE_NAMESPACE = "kserve"
KNATIVE_NAMESPACE = "knative-serving"
ISTIO_NAMESPACE = "istio-system"
ENVOY_GATEWAY_NAMESPACE = "envoy-gateway-system"

# Knative's webhook refuses a Service whose pod spec sets nodeSelector, tolerations or affinity
# unless the matching feature is "enabled" in config-features (each is "disabled" by default in
# knative-serving's config/core/configmaps/features.yaml): every InferenceService would be refused.
KNATIVE_POD_SPEC_FEATURES = {
    "affinity": "kubernetes.podspec-affinity",
    "nodeSelector": "kubernetes.podspec-nodeselector",
    "tolerations": "kubernetes.podspec-tolerations",
}
KOURIER_INGRESS_CLASS = "kourier.ingress.networking.knative.dev"

# Standard mode: the Gateway KServe's chart creates, and the GatewayClass it names.
KSERVE_GATEWAY = f"{KSERVE_NAMESPACE}/kserve-ingress-gateway"
ENVOY_GATEWAY_CLASS = "envoy"
ENVOY_GATEWAY_CONTROLLER = "gateway.envoyproxy.io/gatewayclass-controller"

# Kubeflow's manifests at tag 26.03: the targets of upstream's single-command install
# (example/kustomization.yaml at that tag), grouped in layers in the order its README installs
# them; each layer needs the one before (CRDs and namespaces, then the mesh, then what runs in it).
# Every target is a directory with a kustomization at the tag (the conformance tests check them
# against the tag's path list). Left out on purpose:
# - common/cert-manager/overlays/kubeflow: it installs cert-manager itself (../../base); the Helm
#   release below is the cluster's one cert-manager. What the overlay adds is not needed: its
#   ClusterIssuer kubeflow-self-signing-issuer (formerly common/cert-manager/kubeflow-issuer/base,
#   moved here by kubeflow/manifests#3342) is referenced by no kustomization at 26.03 (every
#   component creates its own namespaced self-signed Issuer), and its two NetworkPolicies only
#   restrict ingress into the cert-manager namespace.
# - common/networkpolicies/base: gone at 26.03; kubeflow/manifests#3342 moved each policy into the
#   target of its namespace, all applied here (kubeflow-namespace/base for kubeflow and
#   kubeflow-system, istio-namespace/base, knative-serving via overlays/gateways, oauth2-proxy via
#   overlays/m2m-dex-only, dex/overlays/oauth2-proxy for auth), except cert-manager's (see above).
# - common/user-namespace/base: the example user's profile (user@example.com), not a platform part.
KUBEFLOW_LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("foundation", (
        "common/kubeflow-namespace/base",
        "common/istio/istio-crds/base",
        "common/istio/istio-namespace/base",
    )),
    ("mesh", ("common/istio/istio-install/overlays/oauth2-proxy",)),
    ("auth", ("common/oauth2-proxy/overlays/m2m-dex-only", "common/dex/overlays/oauth2-proxy")),
    ("knative", ("common/knative/knative-serving/overlays/gateways", "common/istio/cluster-local-gateway/base")),
    ("platform", (
        "common/kubeflow-roles/base",
        "common/istio/kubeflow-istio-resources/base",
    )),
    ("kserve", ("applications/kserve/kserve", "applications/kserve/models-web-app/overlays/kubeflow")),
    # The pipeline, profiles and trainer targets are example/kustomization.yaml's overlays of the
    # upstream bases: KFP's pipeline-install-config security context, Pod Security labels on
    # profile namespaces, and the trainer's webhook port excluded from the Istio sidecar.
    ("applications", (
        "applications/pipeline/overlays",
        "applications/katib/upstream/installs/katib-with-kubeflow",
        "applications/centraldashboard/overlays/oauth2-proxy",
        "applications/admission-webhook/upstream/overlays/cert-manager",
        "applications/jupyter/notebook-controller/upstream/overlays/kubeflow",
        "applications/jupyter/jupyter-web-app/upstream/overlays/istio",
        "applications/pvcviewer-controller/upstream/base",
        "applications/profiles/pss",
        "applications/volumes-web-app/upstream/overlays/istio",
        "applications/tensorboard/tensorboards-web-app/upstream/overlays/istio",
        "applications/tensorboard/tensorboard-controller/upstream/overlays/kubeflow",
        "applications/trainer/overlays",
        "applications/spark/spark-operator/overlays/kubeflow",
    )),
)
# The layer after which Kubeflow's KServe serves InferenceServices.
KUBEFLOW_KSERVE_LAYER = "kserve"
KUBEFLOW_KNATIVE_LAYER = "knative"


# --------------------------------------------------------------------------- pure decisions


def knative_features(placements: Mapping[str, PoolPlacement]) -> dict[str, str]:
    """Knative ``config-features`` entries the cluster needs: the feature of every pod-spec field
    that an endpoint placed on one of these pools renders (:meth:`PoolPlacement.pod_spec_fields`).

    Endpoints take their placement fields from their pool and nothing else, so this covers every
    endpoint on the cluster, this stack's and those of serving stacks that reference it: the node
    selector always (every endpoint has a pool), tolerations when some pool is tainted (accelerator
    pools). Affinity is never rendered and stays at Knative's default.
    """
    fields = {field for placement in placements.values() for field in placement.pod_spec_fields()}
    return {KNATIVE_POD_SPEC_FEATURES[field]: "enabled" for field in sorted(fields, key=KNATIVE_POD_SPEC_FEATURES.get)}


def cert_manager_values() -> dict[str, Any]:
    # CRDs belong to the release (and survive its deletion: certificates must not vanish with it).
    return {"crds": {"enabled": True, "keep": True}}


def kserve_resources_values(config: PlatformConfig) -> dict[str, Any]:
    """Values of the ``kserve-resources`` chart: the controller's deployment mode and ingress."""
    mode = config.kserve.deployment_mode
    if mode == "Standard":
        gateway: dict[str, Any] = {"ingressGateway": {
            "enableGatewayApi": True,
            "createGateway": True,
            "kserveGateway": KSERVE_GATEWAY,
            "className": ENVOY_GATEWAY_CLASS,
        }}
    elif config.knative.networking == "kourier":
        # Top-level routing through Istio VirtualServices is the chart's default; without Istio
        # KServe must route through Knative's own ingress.
        gateway = {"disableIstioVirtualHost": True}
    else:
        gateway = {}
    controller: dict[str, Any] = {"deploymentMode": mode}
    if gateway:
        controller["gateway"] = gateway
    return {"kserve": {"controller": controller}}


def kserve_runtime_values() -> dict[str, Any]:
    # The chart ships the ClusterServingRuntimes disabled; endpoints name them by model format.
    return {"kserve": {"servingruntime": {"enabled": True}}}


def namespace_labels(config: PlatformConfig) -> dict[str, str]:
    """Labels of every endpoint namespace: ownership, Pod Security, and mesh injection."""
    labels = {
        "app.kubernetes.io/managed-by": "servestack",
        "app.kubernetes.io/part-of": "servestack-endpoints",
        # Model servers need no privileges; the mesh joins pods through Istio CNI, not init
        # containers with NET_ADMIN, so baseline holds with a sidecar too.
        "pod-security.kubernetes.io/enforce": "baseline",
        "pod-security.kubernetes.io/warn": "restricted",
        "pod-security.kubernetes.io/audit": "restricted",
    }
    if config.mesh == "istio":
        labels["istio-injection"] = "enabled"
    return dict(sorted(labels.items()))


def kubeflow_directory(repository: str, path: str, ref: str) -> str:
    """A kustomize remote target: ``<repo>//<path>?ref=<tag>``."""
    return f"{repository.rstrip('/')}//{path}?ref={ref}"


def kubeflow_short_name(path: str) -> str:
    """``applications/kserve/kserve`` -> ``kserve-kserve``: the resource name of one kustomization."""
    return path.split("/", 1)[1].replace("/", "-")


def kubeflow_layers(repository: str, ref: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """(layer, [(short name, kustomize target)]) in install order."""
    return [
        (layer, [(kubeflow_short_name(path), kubeflow_directory(repository, path, ref)) for path in paths])
        for layer, paths in KUBEFLOW_LAYERS
    ]


def release_manifest(pinned: Pinned, file: str) -> str:
    """URL of one file of an upstream release (Knative publishes its releases as manifests)."""
    return f"{pinned.source}/{pinned.version}/{file}"


# --------------------------------------------------------------------------- component


class ServingPlatformArgs:
    def __init__(self, config: PlatformConfig, cluster: ClusterHandle):
        self.config = config
        self.cluster = cluster


class ServingPlatform(pulumi.ComponentResource):
    """cert-manager, KServe (standalone or Kubeflow's) and their networking; fills :attr:`handle`."""

    handle: PlatformHandle
    releases: dict[str, k8s.helm.v3.Release]
    """Helm releases by short name (``cert-manager``, ``kserve-crd``, ...)."""
    namespaces: dict[str, k8s.core.v1.Namespace]
    kubeflow_layers: dict[str, list[pulumi.Resource]]
    """Kubeflow's kustomize directories (and patches) by layer, in install order; empty without Kubeflow."""

    def __init__(self, name: str, args: ServingPlatformArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("servestack:platform:ServingPlatform", name, None, opts)
        self._name = name
        self._config = config = args.config
        self._cluster = cluster = args.cluster
        self._provider = cluster.kubernetes_provider
        self.releases = {}
        self.kubeflow_layers: dict[str, list[pulumi.Resource]] = {}

        cert_manager = self._release("cert-manager", versions.CERT_MANAGER, CERT_MANAGER_NAMESPACE,
                                     cert_manager_values(), cluster.ready)
        if config.kubeflow.enabled:
            ready = self._kubeflow(cert_manager)
        else:
            ready = self._kserve(cert_manager)

        labels = namespace_labels(config)
        self.namespaces = {
            namespace: k8s.core.v1.Namespace(
                f"{name}-ns-{namespace}",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=namespace, labels=labels),
                opts=self._child(cluster.ready),
            )
            for namespace in config.endpoint_namespaces
        }

        self.handle = PlatformHandle(
            deployment_mode=config.deployment_mode,
            kserve_version=platform_kserve_version(config),
            namespaces=dict(self.namespaces),
            ready=ready,
        )
        self.register_outputs({
            "deploymentMode": self.handle.deployment_mode,
            "kserveVersion": self.handle.kserve_version,
            "kubeflow": config.kubeflow.enabled,
            "endpointNamespaces": sorted(self.namespaces),
        })

    # ----------------------------------------------------------------------- helpers

    def _child(self, depends_on: Sequence[pulumi.Resource] = ()) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, provider=self._provider, depends_on=list(depends_on))

    def _remote_child(self, depends_on: Sequence[pulumi.Resource] = ()) -> pulumi.ResourceOptions:
        # Remote components (yaml/v2, kustomize/v2) take the provider through `providers`.
        return pulumi.ResourceOptions(parent=self, providers=[self._provider], depends_on=list(depends_on))

    def _release(self, key: str, pinned: Pinned, namespace: str, values: dict[str, Any],
                 depends_on: Sequence[pulumi.Resource], chart: str | None = None) -> k8s.helm.v3.Release:
        """A Helm release named ``key``; ``chart`` names the chart when one pin covers several (Istio)."""
        oci = pinned.source.startswith("oci://")
        release = k8s.helm.v3.Release(
            f"{self._name}-{key}",
            name=key,
            chart=pinned.source if oci else (chart or pinned.name),
            version=pinned.version,
            repository_opts=None if oci else k8s.helm.v3.RepositoryOptsArgs(repo=pinned.source),
            namespace=namespace,
            create_namespace=True,
            values=values,
            # A failed upgrade rolls back instead of leaving half a controller behind.
            atomic=True,
            cleanup_on_fail=True,
            max_history=10,
            opts=self._child(depends_on),
        )
        self.releases[key] = release
        return release

    def _config_map_patch(self, key: str, config_map: str, namespace: str, data: dict[str, str],
                          depends_on: Sequence[pulumi.Resource]) -> k8s.core.v1.ConfigMapPatch:
        return k8s.core.v1.ConfigMapPatch(
            f"{self._name}-{key}",
            metadata=k8s.meta.v1.ObjectMetaPatchArgs(
                name=config_map,
                namespace=namespace,
                # The release manifests own the ConfigMap; these keys are servestack's.
                annotations={"pulumi.com/patchForce": "true"},
            ),
            data=dict(sorted(data.items())),
            opts=self._child(depends_on),
        )

    # ----------------------------------------------------------------------- standalone KServe

    def _kserve(self, cert_manager: k8s.helm.v3.Release) -> list[pulumi.Resource]:
        config, cluster = self._config, self._cluster
        if config.kserve.deployment_mode == "Knative":
            networking = self._knative()
        else:
            networking = self._gateway_api()

        crd = self._release("kserve-crd", versions.KSERVE_CRD, KSERVE_NAMESPACE, {}, [cert_manager, *cluster.ready])
        controller = self._release("kserve-resources", versions.KSERVE_RESOURCES, KSERVE_NAMESPACE,
                                   kserve_resources_values(config), [crd, cert_manager, *networking])
        runtimes = self._release("kserve-runtime-configs", versions.KSERVE_RUNTIME_CONFIGS, KSERVE_NAMESPACE,
                                 kserve_runtime_values(), [controller])
        # The runtimes wait for the controller, which waits for the CRDs, cert-manager, the
        # networking layer and (through them) the cluster: the one install endpoints wait for.
        return [runtimes]

    def _knative(self) -> list[pulumi.Resource]:
        """Knative Serving from its release manifests, its networking layer and feature flags."""
        name, config, cluster = self._name, self._config, self._cluster
        serving = versions.KNATIVE_SERVING
        crds = k8s.yaml.v2.ConfigFile(f"{name}-knative-serving-crds", file=release_manifest(serving, "serving-crds.yaml"),
                                      opts=self._remote_child(cluster.ready))
        core = k8s.yaml.v2.ConfigFile(f"{name}-knative-serving-core", file=release_manifest(serving, "serving-core.yaml"),
                                      opts=self._remote_child([crds]))
        installed: list[pulumi.Resource] = [crds, core]

        if config.knative.networking == "kourier":
            kourier = k8s.yaml.v2.ConfigFile(f"{name}-knative-kourier", file=release_manifest(versions.KNATIVE_NET_KOURIER, "kourier.yaml"),
                                             opts=self._remote_child([core]))
            network = self._config_map_patch("knative-config-network", "config-network", KNATIVE_NAMESPACE,
                                             {"ingress-class": KOURIER_INGRESS_CLASS}, [core])
            installed += [kourier, network]
        else:
            installed += self._istio([core])

        features = knative_features(cluster.placements)
        if features:
            installed.append(self._config_map_patch("knative-config-features", "config-features", KNATIVE_NAMESPACE,
                                                    features, [core]))
        return installed

    def _istio(self, knative_core: list[pulumi.Resource]) -> list[pulumi.Resource]:
        """Istio (with its CNI plugin, so meshed pods need no NET_ADMIN) and net-istio."""
        cluster = self._cluster
        base = self._release("istio-base", versions.ISTIO, ISTIO_NAMESPACE, {"defaultRevision": "default"}, cluster.ready,
                             chart="base")
        cni = self._release("istio-cni", versions.ISTIO, ISTIO_NAMESPACE, {}, [base], chart="cni")
        istiod = self._release("istiod", versions.ISTIO, ISTIO_NAMESPACE, {"pilot": {"cni": {"enabled": True}}},
                               [base, cni], chart="istiod")
        # The release name makes the gateway `istio-ingressgateway` (labels istio=ingressgateway),
        # which net-istio's knative-ingress-gateway selects.
        gateway = self._release("istio-ingressgateway", versions.ISTIO, ISTIO_NAMESPACE, {}, [istiod], chart="gateway")
        net_istio = k8s.yaml.v2.ConfigFile(
            f"{self._name}-knative-net-istio", file=release_manifest(versions.KNATIVE_NET_ISTIO, "net-istio.yaml"),
            opts=self._remote_child([*knative_core, istiod, gateway]),
        )
        return [base, cni, istiod, gateway, net_istio]

    def _gateway_api(self) -> list[pulumi.Resource]:
        """Standard mode's ingress: Envoy Gateway (with the Gateway API CRDs) and its GatewayClass."""
        envoy = self._release("envoy-gateway", versions.ENVOY_GATEWAY, ENVOY_GATEWAY_NAMESPACE, {}, self._cluster.ready)
        gateway_class = k8s.apiextensions.CustomResource(
            f"{self._name}-gatewayclass-{ENVOY_GATEWAY_CLASS}",
            api_version="gateway.networking.k8s.io/v1",
            kind="GatewayClass",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=ENVOY_GATEWAY_CLASS),
            spec={"controllerName": ENVOY_GATEWAY_CONTROLLER},
            opts=self._child([envoy]),
        )
        return [envoy, gateway_class]

    # ----------------------------------------------------------------------- Kubeflow

    def _kubeflow(self, cert_manager: k8s.helm.v3.Release) -> list[pulumi.Resource]:
        """Kubeflow's layers, each depending on the whole layer before; returns what endpoints need."""
        config, cluster = self._config, self._cluster
        previous: list[pulumi.Resource] = [cert_manager, *cluster.ready]
        for layer, targets in kubeflow_layers(config.kubeflow.manifests_repository, versions.KUBEFLOW_MANIFESTS.version):
            installed: list[pulumi.Resource] = [
                k8s.kustomize.v2.Directory(f"{self._name}-kubeflow-{short}", directory=target,
                                           opts=self._remote_child(previous))
                for short, target in targets
            ]
            if layer == KUBEFLOW_KNATIVE_LAYER:
                features = knative_features(cluster.placements)
                if features:
                    installed.append(self._config_map_patch("knative-config-features", "config-features",
                                                            KNATIVE_NAMESPACE, features, installed))
            self.kubeflow_layers[layer] = installed
            previous = installed
        # Endpoints need every layer up to Kubeflow's KServe, not the notebooks and pipelines after
        # it: the KServe layer waits for the whole layer before it, and so on down to the cluster.
        return list(self.kubeflow_layers[KUBEFLOW_KSERVE_LAYER])


# --------------------------------------------------------------------------- referenced platform


def platform_output(config: PlatformConfig, handle: PlatformHandle) -> dict[str, Any]:
    """The ``platform`` stack output: what a serving stack that references this cluster needs."""
    return {
        "deploymentMode": handle.deployment_mode,
        "kserveVersion": handle.kserve_version,
        "kubeflow": config.kubeflow.enabled,
        "endpointNamespaces": sorted(handle.namespaces),
    }


class ExistingPlatform(pulumi.ComponentResource):
    """The platform another (platform) stack installed on a referenced cluster.

    A serving stack must not install cert-manager or KServe a second time; it reads the platform
    stack's ``platform`` output and looks up the endpoint namespaces, so that endpoints build on
    the same :class:`PlatformHandle` either way.
    """

    handle: PlatformHandle

    def __init__(self, name: str, stack: str, cluster: ClusterHandle, opts: pulumi.ResourceOptions | None = None):
        super().__init__("servestack:platform:ExistingPlatform", name, None, opts)
        from pulumi.runtime.sync_await import _sync_await

        reference = pulumi.StackReference(f"{name}-ref", stack_name=stack, opts=pulumi.ResourceOptions(parent=self))
        # Endpoints check their namespace and mode while the program runs: read the values now.
        exported = _sync_await(reference.get_output_details("platform")).value
        if exported is None:
            raise pulumi.RunError(f"stack {stack!r} exports no platform; is it a servestack platform stack?")
        namespaces = {
            namespace: k8s.core.v1.Namespace.get(
                f"{name}-ns-{namespace}", namespace,
                opts=pulumi.ResourceOptions(parent=self, provider=cluster.kubernetes_provider),
            )
            for namespace in sorted(exported["endpointNamespaces"])
        }
        self.handle = PlatformHandle(
            deployment_mode=exported["deploymentMode"],
            kserve_version=exported["kserveVersion"],
            namespaces=namespaces,
            ready=[],  # installed and converged by the platform stack
        )
        self.register_outputs({"stack": stack, **{k: exported[k] for k in sorted(exported)}})
