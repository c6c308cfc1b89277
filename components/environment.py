"""ServingEnvironment: the whole model-serving environment of one stack, from typed config.

The environment builds its layers with one of two builders, then the endpoints on top:

- :func:`own_cluster_layers`: network (or the one the config names), cluster, node pools, late
  add-ons, device plugins and the serving platform; exports what a serving stack needs.
- :func:`existing_cluster_layers` (``cluster.existing``): the cluster and platform another stack
  owns, read from its outputs (:mod:`components.referenced`); creates neither.

Both hand over the same :class:`ClusterHandle` and platform handle, so endpoints do not care which.
Every resource keeps the environment as its parent.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pulumi
import pulumi_kubernetes as k8s

from . import naming
from .core.catalog import AcceleratorKind
from .cluster import Cluster, ClusterAddons, ClusterAddonsArgs, ClusterArgs
from .config import StackConfig
from .device_plugins import DeclaredPlugin, DevicePlugins, DevicePluginsArgs
from .efa import Efa, EfaArgs
from .endpoint import ModelEndpoint, ModelEndpointArgs
from .llm_endpoint import LlmEndpoint, LlmEndpointArgs
from .render.llm_inference_service import needs_leader_worker_set
from .render.llm_presets import preset_namespaces, render_llm_preset
from .render.llm_platform import LlmNeeds
from .core import metrics as metric_names
from .handles import ClusterHandle, MetricsHandle, NetworkHandle, PlatformHandle
from .observability import EndpointMetrics, EndpointMetricsArgs, Metrics, MetricsArgs
from .karpenter import Karpenter, KarpenterArgs
from .network import Network, NetworkArgs, existing_network
from .node_pools import NodePools, NodePoolsArgs
from .platform import ServingPlatform, ServingPlatformArgs, platform_output
from .referenced import ExistingCluster, ExistingClusterArgs, ExistingPlatform, ExistingPlatformArgs


def declared_plugins(config: StackConfig) -> dict[AcceleratorKind, DeclaredPlugin]:
    """The device plugin the stack declares for each kind the catalog has no chart for (FPGA): the
    pools of one kind share one (the config checks it), so the first pool's is the kind's."""
    declared: dict[AcceleratorKind, DeclaredPlugin] = {}
    for _, pool in sorted(config.node_pools.items()):
        if pool.device_plugin is not None:
            declared.setdefault(pool.kind, DeclaredPlugin(image=pool.device_plugin.image, resource_name=pool.resource_name))
    return declared


@dataclass(frozen=True, kw_only=True)
class Layers:
    """What a builder hands the environment: the handles endpoints build on, and stack outputs."""

    cluster: ClusterHandle
    platform: PlatformHandle
    outputs: dict[str, pulumi.Input]
    llm_ready: list[pulumi.Resource]
    """The platform's LLM installs (empty without LLM endpoints or on a referenced platform)."""
    metrics: MetricsHandle | None
    """The cluster's metrics platform (None: a referenced platform stack that exports none)."""


def endpoint_families(config: StackConfig) -> tuple[str, ...]:
    """The model families (:data:`components.core.metrics.FAMILIES`) of the stack's endpoints, sorted."""
    families = {metric_names.KNATIVE if config.deployment_mode_of(n) == "Knative" else metric_names.STANDARD
                for n in config.endpoints}
    if config.llm_endpoints:
        families.add(metric_names.LLM)
    return tuple(sorted(families))


def own_cluster_layers(name: str, config: StackConfig, tags: dict[str, str], opts: pulumi.ResourceOptions) -> Layers:
    """Network, cluster, pools, add-ons, device plugins and platform, created by this stack."""
    cluster_name = naming.cluster_name()
    karpenter_pools = {k: p for k, p in config.node_pools.items() if p.uses_karpenter}
    if config.network.existing is None:
        network: NetworkHandle = Network(
            f"{name}-network", NetworkArgs(config=config.network, cluster_name=cluster_name, tags=tags,
                                           karpenter_discovery=bool(karpenter_pools)), opts).handle
    else:
        network = existing_network(config.network.existing)

    cluster = Cluster(
        f"{name}-cluster",
        ClusterArgs(config=config.cluster, cluster_name=cluster_name, subnet_ids=network.private_subnet_ids,
                    region=config.region, is_production=config.is_production, tags=tags),
        opts,
    )
    pools = NodePools(f"{name}-pools", NodePoolsArgs(pools=config.node_pools, control_plane=cluster.handle, subnet_ids=network.private_subnet_ids,
                                                     tags=tags, cluster_name=cluster_name), opts).handle
    addons = ClusterAddons(f"{name}-addons", ClusterAddonsArgs(control_plane=cluster.handle, nodes=pools.node_groups), opts)
    pool_ready: dict[str, list[pulumi.Resource]] = {}
    if karpenter_pools:
        karpenter = Karpenter(f"{name}-karpenter", KarpenterArgs(
            pools=karpenter_pools,
            placements={k: pools.placements[k] for k in karpenter_pools},
            control_plane=cluster.handle, cluster_name=cluster_name, region=config.region,
            system_pools={k: p.min_size for k, p in sorted(config.node_pools.items())
                          if not p.uses_karpenter and not pools.placements[k].has_accelerator},
            managed_nodes=pools.node_groups,
            untagged_subnet_ids=list(config.network.existing.private_subnet_ids) if config.network.existing else [],
            tags=tags,
        ), opts)
        pool_ready = {k: karpenter.pool_ready(k) for k in sorted(karpenter_pools)}
    plugins = DevicePlugins(
        f"{name}-device-plugins",
        DevicePluginsArgs(placements=pools.placements, provider=cluster.handle.kubernetes_provider,
                          declared=declared_plugins(config)),
        opts,
    )
    efa_pools = sorted({e.pool for e in config.llm_endpoints.values() if e.efa})
    efa = [Efa(f"{name}-efa", EfaArgs(pools=[pools.placements[p] for p in efa_pools],
                                      cluster_security_group_id=cluster.handle.cluster_security_group_id,
                                      provider=cluster.handle.kubernetes_provider, tags=tags), opts)] if efa_pools else []
    # The platform's charts run on the managed system pool: they wait for the node groups and add-ons only, not
    # for Karpenter's NodePools nor the device plugins, which only workloads on those pools wait for (issue 24).
    for pool, placement in sorted(pools.placements.items()):
        if placement.has_accelerator:
            pool_ready[pool] = [*pool_ready.get(pool, []), *(plugins.plugins[k] for k in sorted(plugins.plugins))]
    for pool in efa_pools:
        pool_ready[pool] = [*pool_ready.get(pool, []), *(e.plugin for e in efa)]
    handle = ClusterHandle.on(cluster.handle, placements=pools.placements, ready=[
        *pools.node_groups, *(addons.addons[k] for k in sorted(addons.addons))], pool_ready=pool_ready)
    llm = LlmNeeds(multi_node=any(needs_leader_worker_set(e) for e in config.llm_endpoints.values())) if config.llm_endpoints else None
    serving = ServingPlatform(f"{name}-platform", ServingPlatformArgs(config=config.platform, cluster=handle, llm=llm,
                                                                     runtimes=config.serving_runtimes), opts)
    system_pool = next(n for n, p in sorted(config.node_pools.items())
                       if not p.uses_karpenter and not pools.placements[n].has_accelerator and p.min_size >= 1)
    metrics = Metrics(f"{name}-metrics", MetricsArgs(
        config=config.observability, tier=config.tier, placements=pools.placements, system_pool=system_pool,
        provider=cluster.handle.kubernetes_provider, cluster_name=handle.name, cluster_arn=cluster.arn,
        subnet_ids=network.private_subnet_ids, cluster_security_group_id=cluster.cluster_security_group_id,
        families=endpoint_families(config), tags=tags, depends_on=handle.ready,
        knative_ready=serving.handle.ready if config.platform.knative_installed else None), opts)
    # Endpoints wait for Knative's request metrics to be on, so that their first revision exports them.
    platform = replace(serving.handle, ready=[*serving.handle.ready, *metrics.knative_patch])

    # What a serving stack needs to take this cluster (components.cluster.EXPORTED_OUTPUTS),
    # plus the network for whoever places load balancers.
    outputs = {
        "tier": config.tier,
        "region": config.region,
        "clusterName": handle.name,
        "clusterEndpoint": handle.endpoint,
        "clusterCertificateAuthority": handle.certificate_authority,
        "oidcProviderArn": handle.oidc_provider_arn,
        "oidcIssuer": handle.oidc_issuer,
        "kubernetesVersion": config.cluster.kubernetes_version,
        "nodePools": {k: pools.placements[k].to_output() for k in sorted(pools.placements)},
        "vpcId": network.vpc_id,
        "privateSubnetIds": network.private_subnet_ids,
        "publicSubnetIds": network.public_subnet_ids,
        "platform": platform_output(config.platform, platform),
        "observability": metrics.handle.to_output(),
    }
    return Layers(cluster=handle, platform=platform, outputs=outputs, llm_ready=serving.llm_ready, metrics=metrics.handle)


def existing_cluster_layers(name: str, config: StackConfig, tags: dict[str, str], opts: pulumi.ResourceOptions) -> Layers:
    """The cluster and platform of the stack ``cluster.existing`` names; nothing is created for them.
    The platform stack installed KServe on its cluster: KServe is installed exactly once."""
    stack = config.cluster.existing
    cluster = ExistingCluster(f"{name}-cluster", ExistingClusterArgs(stack=stack), opts).handle
    existing = ExistingPlatform(f"{name}-platform", ExistingPlatformArgs(stack=stack, cluster=cluster), opts)
    platform = existing.handle
    # The referenced pools, in the shape the platform exports them (``nodePools``): the serving stack's plan then
    # records where its endpoints are placed, and the placement rules and cost read them (plandoc.pools).
    outputs = {"tier": config.tier, "region": config.region, "clusterName": cluster.name, "clusterStack": stack,
               "clusterNodePools": {k: cluster.placements[k].to_output() for k in sorted(cluster.placements)}}
    return Layers(cluster=cluster, platform=platform, outputs=outputs, llm_ready=[],
                  metrics=existing.metrics)


@dataclass(frozen=True, kw_only=True)
class ServingEnvironmentArgs:
    config: StackConfig
    """The whole stack, validated (``components.config.load_stack_config``): every problem was reported
    before this component is built, so it creates nothing from an invalid config."""


def llm_presets(name: str, config: StackConfig, cluster: ClusterHandle, ready: list[pulumi.Resource],
                opts: pulumi.ResourceOptions) -> dict[tuple[str, str], pulumi.Resource]:
    """The stack's LLMInferenceServiceConfig presets, one per (preset, namespace) an LLM endpoint names."""
    created: dict[tuple[str, str], pulumi.Resource] = {}
    for preset, namespace in preset_namespaces(config.llm_presets, config.llm_endpoints):
        manifest = render_llm_preset(preset, config.llm_presets[preset], namespace)
        created[(preset, namespace)] = k8s.apiextensions.CustomResource(
            f"{name}-llm-preset-{namespace}-{preset}", api_version=manifest["apiVersion"], kind=manifest["kind"],
            metadata=manifest["metadata"], spec=manifest["spec"],
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(
                provider=cluster.kubernetes_provider, depends_on=[*ready, *cluster.ready])))
    return created


class ServingEnvironment(pulumi.ComponentResource):
    """Network, cluster, platform and endpoints of one stack. Outputs are always registered."""

    outputs: dict[str, pulumi.Input]
    cluster: ClusterHandle
    """What the platform and endpoint layers build on, whether the cluster is ours or referenced."""
    platform: PlatformHandle
    """cert-manager, KServe (or Kubeflow) and their networking, installed here or by the referenced
    platform stack: what endpoints build on."""
    endpoints: dict[str, ModelEndpoint]
    """Model endpoints by name, on the cluster's pools and the platform's KServe."""

    def __init__(self, name: str, args: ServingEnvironmentArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("servestack:index:ServingEnvironment", name, None, opts)
        config = args.config
        tags = naming.base_tags(config.tags)
        build = own_cluster_layers if config.cluster.existing is None else existing_cluster_layers
        layers = build(name, config, tags, pulumi.ResourceOptions(parent=self))
        self.cluster, self.platform, self.outputs = layers.cluster, layers.platform, dict(layers.outputs)
        self.endpoints = {
            endpoint: ModelEndpoint(
                f"{name}-endpoint-{endpoint}",
                ModelEndpointArgs(config=endpoint_config, cluster=self.cluster, platform=self.platform, tags=tags, name=endpoint),
                pulumi.ResourceOptions(parent=self),
            )
            for endpoint, endpoint_config in sorted(config.endpoints.items())
        }
        if self.endpoints:
            self.outputs["endpoints"] = {k: e.outputs for k, e in sorted(self.endpoints.items())}
        presets = llm_presets(name, config, self.cluster, layers.llm_ready, pulumi.ResourceOptions(parent=self))
        self.llm_endpoints = {
            endpoint: LlmEndpoint(
                f"{name}-llm-{endpoint}",
                LlmEndpointArgs(config=endpoint_config, cluster=self.cluster, platform=self.platform,
                                ready=[*layers.llm_ready, *(presets[(p, endpoint_config.namespace)]
                                                            for p in endpoint_config.presets
                                                            if (p, endpoint_config.namespace) in presets)],
                                tags=tags, name=endpoint),
                pulumi.ResourceOptions(parent=self),
            )
            for endpoint, endpoint_config in sorted(config.llm_endpoints.items())
        }
        if self.llm_endpoints:
            self.outputs["llmEndpoints"] = {k: e.outputs for k, e in sorted(self.llm_endpoints.items())}
        self.endpoint_metrics: dict[str, EndpointMetrics] = {}
        if layers.metrics is not None:
            self._endpoint_metrics(name, config, layers.metrics)
        self.register_outputs(self.outputs)

    def _endpoint_metrics(self, name: str, config: StackConfig, handle: MetricsHandle) -> None:
        """Each endpoint's PodMonitor and rules (or its AMP rule groups), after the endpoint itself."""
        provider = self.cluster.kubernetes_provider
        for endpoint, component in sorted(self.endpoints.items()):
            endpoint_config = config.endpoints[endpoint]
            rollout = endpoint_config.rollout_state()
            versions = (rollout.stable, rollout.candidate) if rollout.phase.value == "inProgress" else None
            family = metric_names.KNATIVE if component.deployment_mode == "Knative" else metric_names.STANDARD
            self.endpoint_metrics[endpoint] = EndpointMetrics(f"{name}-metrics-{endpoint}", EndpointMetricsArgs(
                endpoint=endpoint, namespace=endpoint_config.namespace, family=family, metrics=handle, provider=provider,
                versions=versions, depends_on=[component.inference_service]), pulumi.ResourceOptions(parent=self))
        for endpoint, llm in sorted(self.llm_endpoints.items()):
            self.endpoint_metrics[f"llm-{endpoint}"] = EndpointMetrics(f"{name}-metrics-llm-{endpoint}", EndpointMetricsArgs(
                endpoint=endpoint, namespace=config.llm_endpoints[endpoint].namespace, family=metric_names.LLM,
                metrics=handle, provider=provider, depends_on=[llm.llm_inference_service]),
                pulumi.ResourceOptions(parent=self))
