"""A cluster and platform another (platform) stack owns, taken from that stack's outputs.

A serving stack with ``cluster.existing`` creates no cluster, node pools or platform: it reads
them from the platform stack's outputs (``StackReference``) and hands them to its endpoints as
the same handles an own cluster gives (:class:`ClusterHandle`, :class:`PlatformHandle`). What the
platform stack exports is written by :class:`components.environment.ServingEnvironment`
(:data:`components.cluster.EXPORTED_OUTPUTS` and :func:`components.platform.platform_output`).

Two outputs are needed as plain values while the program runs, not as ``Output``: the node pools
(each endpoint is placed on a pool, and its placement decides the resources it creates) and the
platform (an endpoint that does not fit the platform's mode or namespaces must stop the program
before anything is created). :func:`read_output` is the one place that reads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
from pulumi.runtime.sync_await import _sync_await

from .cluster import kubeconfig
from .handles import ClusterHandle, MetricsHandle, PlatformHandle
from .core.placement import PoolPlacement
from .render.serving_runtimes import runtimes_from_output


def read_output(reference: pulumi.StackReference, name: str) -> Any:
    """The value of a referenced stack's output, now, as a plain value (None when it has none).

    Why not public SDK API alone: its reads of a stack reference are ``get_output`` and
    ``require_output``, which return an ``Output`` (resolved only once the program has run), and
    ``get_output_details``, a coroutine. A Pulumi Python program is a plain function the SDK calls
    inside its running event loop, so it cannot ``await``; the SDK itself runs coroutines to the
    end inside that loop with ``pulumi.runtime.sync_await._sync_await`` (its synchronous
    ``pulumi.runtime.invoke`` does). This wrapper does the same for the public
    ``get_output_details``, and nothing else in the components touches SDK internals. A stack
    reference's outputs are known in previews too, so the value is there in ``pulumi preview``.
    """
    return _sync_await(reference.get_output_details(name)).value


# ----------------------------------------------------------------------------- cluster


@dataclass(frozen=True, kw_only=True)
class ExistingClusterArgs:
    stack: str
    """The platform stack that owns the cluster (``org/project/stack`` or a stack name)."""


class ExistingCluster(pulumi.ComponentResource):
    """A cluster another (platform) stack created, read from that stack's outputs."""

    handle: ClusterHandle
    """The referenced cluster with its pools; ``ready`` is empty (it converged in its own stack)."""

    def __init__(self, name: str, args: ExistingClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("servestack:cluster:ExistingCluster", name, None, opts)
        stack = args.stack
        partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self)).partition
        reference = pulumi.StackReference(f"{name}-platform", stack_name=stack, opts=pulumi.ResourceOptions(parent=self))
        cluster_name = reference.require_output("clusterName")
        endpoint = reference.require_output("clusterEndpoint")
        certificate_authority = reference.require_output("clusterCertificateAuthority")
        region = reference.require_output("region")
        pools = read_output(reference, "nodePools")
        if pools is None:
            raise pulumi.RunError(f"stack {stack!r} exports no nodePools; is it a servestack platform stack?")
        kubernetes_provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=pulumi.Output.all(cluster_name, endpoint, certificate_authority, region).apply(
                lambda v: kubeconfig(v[0], v[1], v[2], v[3])
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.handle = ClusterHandle(
            name=cluster_name,
            endpoint=endpoint,
            certificate_authority=certificate_authority,
            oidc_provider_arn=reference.require_output("oidcProviderArn"),
            oidc_issuer=reference.require_output("oidcIssuer"),
            partition=partition,
            kubernetes_provider=kubernetes_provider,
            placements={pool: PoolPlacement.from_output(value) for pool, value in sorted(pools.items())},
            ready=[],
        )
        self.register_outputs({"name": cluster_name, "endpoint": endpoint, "stack": stack})


# ----------------------------------------------------------------------------- platform


@dataclass(frozen=True, kw_only=True)
class ExistingPlatformArgs:
    stack: str
    """The platform stack that installed cert-manager and KServe on the cluster."""
    cluster: ClusterHandle


class ExistingPlatform(pulumi.ComponentResource):
    """The platform another (platform) stack installed on a referenced cluster.

    A serving stack must not install cert-manager or KServe a second time; it reads the platform
    stack's ``platform`` output and looks up the endpoint namespaces, so that endpoints build on
    the same :class:`PlatformHandle` either way.
    """

    handle: PlatformHandle
    metrics: MetricsHandle | None
    """The platform stack's metrics platform (its ``observability`` output); None when it exports none."""

    def __init__(self, name: str, args: ExistingPlatformArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("servestack:platform:ExistingPlatform", name, None, opts)
        stack = args.stack
        reference = pulumi.StackReference(f"{name}-ref", stack_name=stack, opts=pulumi.ResourceOptions(parent=self))
        exported = read_output(reference, "platform")
        if exported is None:
            raise pulumi.RunError(f"stack {stack!r} exports no platform; is it a servestack platform stack?")
        namespaces = {
            namespace: k8s.core.v1.Namespace.get(
                f"{name}-ns-{namespace}", namespace,
                opts=pulumi.ResourceOptions(parent=self, provider=args.cluster.kubernetes_provider),
            )
            for namespace in sorted(exported["endpointNamespaces"])
        }
        self.handle = PlatformHandle(
            deployment_mode=exported["deploymentMode"],
            kserve_version=exported["kserveVersion"],
            namespaces=namespaces,
            runtimes=runtimes_from_output(exported.get("servingRuntimes"), exported["kserveVersion"]),
            ready=[],  # installed and converged by the platform stack
        )
        observability = read_output(reference, "observability")
        self.metrics = None if observability is None else MetricsHandle(
            prometheus=observability["prometheus"], scrape_interval=observability["scrapeInterval"],
            amp_workspace_id=observability.get("ampWorkspaceId"))
        self.register_outputs({"stack": stack, **{k: exported[k] for k in sorted(exported)}})
