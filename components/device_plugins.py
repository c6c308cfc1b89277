"""Accelerator device plugins: installed only where a pool needs them, nowhere else.

The catalog says which plugin each accelerator kind has (:attr:`catalog.Accelerator.plugin`):
a Helm chart servestack pins, installed by one release builder with the values the kind's entry
builds (``core/plugin_values.py``), or a plugin the stack declares, run as a DaemonSet of the stack's
image (the objects: ``render/device_plugins.py``).
Each plugin serves the pools of one accelerator kind. It tolerates exactly the taints of those
pools (no blanket ``operator: Exists``) and runs only on nodes labelled with its kind
(``servestack.io/accelerator``), so it never lands on a CPU node or another kind's node.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from .core import catalog
from .core.catalog import AcceleratorKind
from .core.placement import PoolPlacement
from .render.device_plugins import NAMESPACE, chart_values, declared_daemon_set, declared_network_policy, pools_served



@dataclass(frozen=True, kw_only=True)
class DeclaredPlugin:
    """A device plugin the stack declares (the catalog has no chart for its kind): the image and
    the extended resource it advertises."""

    image: str
    resource_name: str


@dataclass(frozen=True, kw_only=True)
class DevicePluginsArgs:
    placements: dict[str, PoolPlacement]
    provider: k8s.Provider
    declared: dict[AcceleratorKind, DeclaredPlugin] = field(default_factory=dict)
    """The plugin of each kind the stack declares; required for such a kind's pools (FPGA)."""
    depends_on: list[pulumi.Resource] = field(default_factory=list)


class DevicePlugins(pulumi.ComponentResource):
    """The device plugin of every accelerator kind the pools have, keyed by plugin name."""

    plugins: dict[str, pulumi.CustomResource]

    def __init__(self, name: str, args: DevicePluginsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("servestack:device_plugins:DevicePlugins", name, None, opts)
        self._name = name
        self._child = pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=args.depends_on)
        self.plugins = {}
        for kind in catalog.device_kinds():
            served = pools_served(args.placements, kind)
            if not served:
                continue
            plugin = catalog.ACCELERATORS[kind].plugin
            if plugin.declared_by_stack:
                self.plugins[plugin.name.value] = self._daemon_set(kind, served, args.declared.get(kind))
            else:
                self.plugins[plugin.name.value] = self._release(kind, plugin, served)
        self.register_outputs({"plugins": sorted(self.plugins)})

    def _release(self, kind: AcceleratorKind, plugin: catalog.PluginSpec, served: list[PoolPlacement]) -> k8s.helm.v3.Release:
        """The Helm release of a plugin the catalog pins, with the kind's values."""
        return k8s.helm.v3.Release(
            f"{self._name}-{kind.value}",
            name=plugin.name.value,
            chart=plugin.chart,
            version=plugin.pin.version,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=plugin.repository) if plugin.repository else None,
            namespace=NAMESPACE,
            values=chart_values(kind, served),
            cleanup_on_fail=True,
            opts=self._child,
        )

    def _daemon_set(self, kind: AcceleratorKind, served: list[PoolPlacement],
                    declared: DeclaredPlugin | None) -> k8s.apps.v1.DaemonSet:
        """The DaemonSet of a plugin the stack declares."""
        if declared is None:
            accelerator = catalog.ACCELERATORS[kind]
            raise ValueError(f"{accelerator.title} pools {', '.join(p.name for p in served)} need {accelerator.a_title} device plugin "
                             "(image and resource name)")
        manifest = declared_daemon_set(kind, served, declared.image, declared.resource_name)
        policy = declared_network_policy(kind)
        k8s.networking.v1.NetworkPolicy(f"{self._name}-{kind.value}-network-policy", metadata=policy["metadata"],
                                        spec=policy["spec"], opts=self._child)
        return k8s.apps.v1.DaemonSet(
            f"{self._name}-{kind.value}",
            metadata=manifest["metadata"],
            spec=manifest["spec"],
            opts=self._child,
        )
