"""ServingEnvironment: the whole model-serving environment of one stack, from typed config."""

from __future__ import annotations

import pulumi

from . import naming
from .config import StackConfig
from .network import Network, NetworkArgs


class ServingEnvironment(pulumi.ComponentResource):
    """Network, cluster, platform and endpoints of one stack. Outputs are always registered."""

    outputs: dict[str, pulumi.Input]

    def __init__(self, name: str, config: StackConfig, opts: pulumi.ResourceOptions | None = None):
        super().__init__("servestack:index:ServingEnvironment", name, None, opts)
        tags = naming.base_tags(config.tags)
        cluster_name = naming.cluster_name()

        if config.network.existing is None:
            network = Network(
                f"{name}-network", NetworkArgs(config.network, cluster_name, tags), pulumi.ResourceOptions(parent=self)
            )
            vpc_id, private_subnets, public_subnets = network.vpc_id, network.private_subnet_ids, network.public_subnet_ids
        else:
            existing = config.network.existing
            vpc_id = pulumi.Output.from_input(existing.vpc_id)
            private_subnets = pulumi.Output.from_input(existing.private_subnet_ids)
            public_subnets = pulumi.Output.from_input(existing.public_subnet_ids)

        self.outputs = {
            "tier": config.tier,
            "region": config.region,
            "clusterName": cluster_name,
            "vpcId": vpc_id,
            "privateSubnetIds": private_subnets,
            "publicSubnetIds": public_subnets,
        }
        self.register_outputs(self.outputs)
