"""ServingEnvironment: the whole model-serving environment of one stack, from typed config."""

from __future__ import annotations

import pulumi

from . import naming
from .catalog import AcceleratorKind
from .cluster import Cluster, ClusterAddons, ClusterAddonsArgs, ClusterArgs, ExistingCluster
from .config import StackConfig
from .device_plugins import DeclaredPlugin, DevicePlugins, DevicePluginsArgs
from .endpoint import ModelEndpoint, ModelEndpointArgs
from .handles import ClusterHandle
from .network import Network, NetworkArgs
from .node_pools import NodePools, NodePoolsArgs
from .platform import ExistingPlatform, ServingPlatform, ServingPlatformArgs, platform_output


def declared_plugins(config: StackConfig) -> dict[AcceleratorKind, DeclaredPlugin]:
    """The device plugin the stack declares for each kind the catalog has no chart for (FPGA): the
    pools of one kind share one (the config checks it), so the first pool's is the kind's."""
    declared: dict[AcceleratorKind, DeclaredPlugin] = {}
    for _, pool in sorted(config.node_pools.items()):
        if pool.fpga_device_plugin is not None:
            declared.setdefault(pool.kind, DeclaredPlugin(image=pool.fpga_device_plugin.image,
                                                          resource_name=pool.fpga_device_plugin.resource_name))
    return declared


class ServingEnvironment(pulumi.ComponentResource):
    """Network, cluster, platform and endpoints of one stack. Outputs are always registered."""

    outputs: dict[str, pulumi.Input]
    cluster: ClusterHandle
    """What the platform and endpoint layers build on, whether the cluster is ours or referenced."""
    platform: ServingPlatform | ExistingPlatform
    """cert-manager, KServe (or Kubeflow) and their networking, installed here or by the referenced
    platform stack; ``platform.handle`` is what endpoints build on."""
    endpoints: dict[str, ModelEndpoint]
    """Model endpoints by name, on the cluster's pools and the platform's KServe."""

    def __init__(self, name: str, config: StackConfig, opts: pulumi.ResourceOptions | None = None):
        super().__init__("servestack:index:ServingEnvironment", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = naming.base_tags(config.tags)

        if config.cluster.existing is not None:
            existing = ExistingCluster(f"{name}-cluster", config.cluster.existing, child)
            self.cluster = ClusterHandle(
                name=existing.name,
                kubernetes_provider=existing.kubernetes_provider,
                oidc_provider_arn=existing.oidc_provider_arn,
                oidc_issuer=existing.oidc_issuer,
                partition=existing.partition,
                placements=existing.placements,
            )
            # The platform stack installed KServe on its cluster; KServe is installed exactly once.
            self.platform = ExistingPlatform(f"{name}-platform", config.cluster.existing, self.cluster, child)
            self.outputs = {
                "tier": config.tier,
                "region": config.region,
                "clusterName": existing.name,
                "clusterStack": config.cluster.existing,
            }
            self._add_endpoints(name, config, tags)
            self.register_outputs(self.outputs)
            return

        cluster_name = naming.cluster_name()
        if config.network.existing is None:
            network = Network(f"{name}-network", NetworkArgs(config.network, cluster_name, tags), child)
            vpc_id, private_subnets, public_subnets = network.vpc_id, network.private_subnet_ids, network.public_subnet_ids
        else:
            existing_network = config.network.existing
            vpc_id = pulumi.Output.from_input(existing_network.vpc_id)
            private_subnets = pulumi.Output.from_input(existing_network.private_subnet_ids)
            public_subnets = pulumi.Output.from_input(existing_network.public_subnet_ids)

        cluster = Cluster(
            f"{name}-cluster",
            ClusterArgs(config.cluster, cluster_name, private_subnets, config.region, config.is_production, tags),
            child,
        )
        pools = NodePools(f"{name}-pools", NodePoolsArgs(config.node_pools, cluster, private_subnets, tags, cluster_name), child)
        node_groups = [pools.node_groups[k] for k in sorted(pools.node_groups)]
        addons = ClusterAddons(f"{name}-addons", ClusterAddonsArgs(cluster, node_groups), child)
        plugins = DevicePlugins(
            f"{name}-device-plugins",
            DevicePluginsArgs(placements=pools.placements, provider=cluster.kubernetes_provider,
                              declared=declared_plugins(config)),
            child,
        )
        self.cluster = ClusterHandle(
            name=cluster.name,
            kubernetes_provider=cluster.kubernetes_provider,
            oidc_provider_arn=cluster.oidc_provider_arn,
            oidc_issuer=cluster.oidc_issuer,
            partition=cluster.partition,
            placements=pools.placements,
            ready=[*node_groups, *(addons.addons[k] for k in sorted(addons.addons)),
                   *(plugins.plugins[k] for k in sorted(plugins.plugins))],
        )
        self.platform = ServingPlatform(f"{name}-platform", ServingPlatformArgs(config.platform, self.cluster), child)

        # What a serving stack needs to take this cluster (components.cluster.EXPORTED_OUTPUTS),
        # plus the network for whoever places load balancers.
        self.outputs = {
            "tier": config.tier,
            "region": config.region,
            "clusterName": cluster.name,
            "clusterEndpoint": cluster.endpoint,
            "clusterCertificateAuthority": cluster.certificate_authority,
            "oidcProviderArn": cluster.oidc_provider_arn,
            "oidcIssuer": cluster.oidc_issuer,
            "kubernetesVersion": config.cluster.kubernetes_version,
            "nodePools": {k: pools.placements[k].to_output() for k in sorted(pools.placements)},
            "vpcId": vpc_id,
            "privateSubnetIds": private_subnets,
            "publicSubnetIds": public_subnets,
            "platform": platform_output(config.platform, self.platform.handle),
        }
        self._add_endpoints(name, config, tags)
        self.register_outputs(self.outputs)

    def _add_endpoints(self, name: str, config: StackConfig, tags: dict[str, str]) -> None:
        """One ModelEndpoint per configured endpoint, after the cluster and the platform."""
        self.endpoints = {
            endpoint: ModelEndpoint(
                f"{name}-endpoint-{endpoint}",
                ModelEndpointArgs(endpoint_config, self.cluster, self.platform.handle, tags, name=endpoint),
                pulumi.ResourceOptions(parent=self),
            )
            for endpoint, endpoint_config in sorted(config.endpoints.items())
        }
        if self.endpoints:
            self.outputs["endpoints"] = {k: e.outputs for k, e in sorted(self.endpoints.items())}
