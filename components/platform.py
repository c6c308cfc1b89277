"""ServingPlatform: everything model serving runs on inside the cluster, in the order it needs.

cert-manager (Helm, with its CRDs) comes first: KServe's webhooks take their certificates from
it. Then the networking KServe's deployment mode needs (Knative Serving and Kourier or Istio in
``Knative`` mode; Envoy Gateway and the Gateway API in ``Standard`` mode), then KServe's three
charts in order: CRDs, controller, built-in runtimes. With Kubeflow, its kustomize manifests
replace all of that but cert-manager, applied layer by layer in upstream's order, and KServe is
Kubeflow's own. Every step is an explicit ``depends_on`` edge, so that one ``pulumi up`` on an
empty cluster converges and a preview never needs a CRD or namespace that does not exist yet.
The Gateway API and LLM installs (Envoy Gateway, the InferencePool CRDs, Envoy AI Gateway, KServe's
llmisvc charts, LeaderWorkerSet) are in :mod:`components.platform_llm`.

The decisions (chart values, Knative feature flags, namespace labels, Kubeflow layers) are pure
functions below, tested without Pulumi.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from .core import versions
from .config.platform import PlatformConfig, platform_kserve_version
from .config.runtimes import ServingRuntimeConfig, custom_runtimes
from .handles import ClusterHandle, PlatformHandle
from .platform_llm import ENVOY_GATEWAY_CLASS, ENVOY_GATEWAY_CONTROLLER, ENVOY_GATEWAY_NAMESPACE, KSERVE_NAMESPACE, LlmInstalls
from .render.llm_platform import LlmNeeds, runtime_configs_llm_values
from .core.kubeflow import KUBEFLOW_KNATIVE_LAYER, KUBEFLOW_KSERVE_LAYER, kubeflow_layers
from .core.placement import PoolPlacement
from .render.serving_runtimes import render_cluster_serving_runtime, runtimes_output
from .core.versions import Pinned

CERT_MANAGER_NAMESPACE = "cert-manager"
KNATIVE_NAMESPACE = "knative-serving"
ISTIO_NAMESPACE = "istio-system"

# Knative's webhook refuses a Service whose pod spec sets nodeSelector, tolerations or affinity
# unless the matching feature is "enabled" in config-features (each is "disabled" by default in
# knative-serving's config/core/configmaps/features.yaml): every InferenceService would be refused.
KNATIVE_POD_SPEC_FEATURES = {
    "affinity": "kubernetes.podspec-affinity",
    "nodeSelector": "kubernetes.podspec-nodeselector",
    "tolerations": "kubernetes.podspec-tolerations",
}
KOURIER_INGRESS_CLASS = "kourier.ingress.networking.knative.dev"

# Standard mode: the Gateway KServe's chart creates (its GatewayClass: ENVOY_GATEWAY_CLASS).
KSERVE_GATEWAY = f"{KSERVE_NAMESPACE}/kserve-ingress-gateway"

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


def release_manifest(pinned: Pinned, file: str) -> str:
    """URL of one file of an upstream release (Knative publishes its releases as manifests)."""
    return f"{pinned.source}/{pinned.version}/{file}"


# --------------------------------------------------------------------------- component


@dataclass(frozen=True, kw_only=True)
class ServingPlatformArgs:
    config: PlatformConfig
    cluster: ClusterHandle
    llm: LlmNeeds | None = None
    """What the stack's LLM endpoints need (:mod:`components.render.llm_platform`); None: no LLM installs."""
    runtimes: dict[str, ServingRuntimeConfig] = field(default_factory=dict)
    """``servestack:servingRuntimes``: ClusterServingRuntimes to install after KServe's built-in ones."""


class ServingPlatform(LlmInstalls, pulumi.ComponentResource):
    """cert-manager, KServe (standalone or Kubeflow's) and their networking; fills :attr:`handle`."""

    handle: PlatformHandle
    releases: dict[str, k8s.helm.v3.Release]
    """Helm releases by short name (``cert-manager``, ``kserve-crd``, ...)."""
    namespaces: dict[str, k8s.core.v1.Namespace]
    kubeflow_layers: dict[str, list[pulumi.Resource]]
    """Kubeflow's kustomize directories (and patches) by layer, in install order; empty without Kubeflow."""
    llm_ready: list[pulumi.Resource]
    """The LLM installs an LLMInferenceService waits for (empty without LLM endpoints)."""
    serving_runtimes: dict[str, k8s.apiextensions.CustomResource]
    """The stack's own ClusterServingRuntimes by name; empty when it declares none."""

    def __init__(self, name: str, args: ServingPlatformArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("servestack:platform:ServingPlatform", name, None, opts)
        self._name = name
        self._config = config = args.config
        self._cluster = cluster = args.cluster
        self._provider = cluster.kubernetes_provider
        self.releases = {}
        self.kubeflow_layers: dict[str, list[pulumi.Resource]] = {}
        self.llm_ready: list[pulumi.Resource] = []
        self._llm_needs = args.llm

        cert_manager = self._release("cert-manager", versions.CERT_MANAGER, CERT_MANAGER_NAMESPACE,
                                     cert_manager_values(), cluster.ready)
        if config.kubeflow.enabled:
            ready = self._kubeflow(cert_manager)
        else:
            ready = self._kserve(cert_manager)

        # The stack's own runtimes need KServe's CRDs and webhook: they wait for the last installs, and
        # endpoints wait for them instead (which waits for everything before).
        self.serving_runtimes = {}
        for runtime_name, runtime_config in sorted(args.runtimes.items()):
            body = render_cluster_serving_runtime(runtime_name, runtime_config)
            self.serving_runtimes[runtime_name] = k8s.apiextensions.CustomResource(
                f"{name}-runtime-{runtime_name}",
                api_version=body["apiVersion"],
                kind=body["kind"],
                metadata=body["metadata"],
                spec=body["spec"],
                opts=self._child(ready),
            )
        if self.serving_runtimes:
            ready = [self.serving_runtimes[k] for k in sorted(self.serving_runtimes)]

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
            runtimes=custom_runtimes(args.runtimes, platform_kserve_version(config)),
            ready=ready,
        )
        self.register_outputs({
            "deploymentMode": self.handle.deployment_mode,
            "kserveVersion": self.handle.kserve_version,
            "kubeflow": config.kubeflow.enabled,
            "endpointNamespaces": sorted(self.namespaces),
            "servingRuntimes": sorted(self.serving_runtimes),
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
        llm = self._llm_needs
        gateway_api: list[pulumi.Resource] = []
        if config.kserve.deployment_mode == "Knative":
            networking = self._knative()
            if llm is not None:
                gateway_api = self._gateway_api(llm)  # LLM routing runs on the Gateway API in every mode
        else:
            networking = gateway_api = self._gateway_api(llm)

        crd = self._release("kserve-crd", versions.KSERVE_CRD, KSERVE_NAMESPACE, {}, [cert_manager, *cluster.ready])
        controller = self._release("kserve-resources", versions.KSERVE_RESOURCES, KSERVE_NAMESPACE,
                                   kserve_resources_values(config), [crd, cert_manager, *networking])
        runtime_values = kserve_runtime_values()
        llm_installs: list[pulumi.Resource] = []
        if llm is not None:
            runtime_values = runtime_configs_llm_values(runtime_values)
            llm_installs = self._llm(llm, cert_manager, crd, controller, gateway_api)
        runtimes = self._release("kserve-runtime-configs", versions.KSERVE_RUNTIME_CONFIGS, KSERVE_NAMESPACE,
                                 runtime_values, [controller, *llm_installs])
        if llm is not None:
            self.llm_ready = [runtimes, *llm_installs[1:]]
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


# --------------------------------------------------------------------------- what a serving stack reads


def platform_output(config: PlatformConfig, handle: PlatformHandle) -> dict[str, Any]:
    """The ``platform`` stack output: what a serving stack that references this cluster needs."""
    return {
        "deploymentMode": handle.deployment_mode,
        "kserveVersion": handle.kserve_version,
        "kubeflow": config.kubeflow.enabled,
        "endpointNamespaces": sorted(handle.namespaces),
        "servingRuntimes": runtimes_output(handle.runtimes),
    }
