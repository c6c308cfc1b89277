"""How requests reach an LLM endpoint: ``router`` of ``servestack:llmEndpoints`` (KServe's ``spec.router``).

The choices KServe v0.20.0 offers (``api/llm_inference_service_types.go``, ``llmisvc/config_merge.go``):

- ``route: managed`` with the scheduler (the default): KServe writes the HTTPRoute on the Gateway, and
  an InferencePool whose endpoint picker (llm-d's EPP) chooses a pod per request. ``scheduler.config``
  replaces the picker's configuration (its plugins and scorers: prefix-cache-aware, load-aware,
  latency-predicting), inline or from a ConfigMap;
- ``route: managed`` with ``scheduler.enabled: false``: the HTTPRoute sends requests to the workload's
  Service, balanced by the gateway, no picker;
- ``route: none`` with the scheduler: the InferencePool and its endpoint picker without a route, for a
  route the team manages itself (an Envoy AI Gateway ``AIGatewayRoute`` naming ``<endpoint>-inference-pool``);
- ``route: none`` with ``scheduler.enabled: false``: no router at all, only the workload and its Service;
- ``httpRoutes``: HTTPRoutes the team manages itself (``route.http.refs``); KServe then writes none;
- ``gateways``: Gateways other than the platform's (``gateway.refs``).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field

from .base import ConfigModel, Finding
from .containers import EnvValue

DNS_LABEL = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
DNS_SUBDOMAIN = r"^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$"
#: llm-d's endpoint picker configuration (``EndpointPickerConfig``), in either API group KServe's examples use.
EPP_API_VERSIONS = ("inference.networking.x-k8s.io/v1alpha1", "llm-d.ai/v1alpha1")
#: The plugin type after which KServe v0.20.0 adds its latency-predictor preset (scheduler_latency_predictor.go).
LATENCY_PRODUCER_PLUGIN = "predicted-latency-producer"


class GatewayRef(ConfigModel):
    """A Gateway (gateway.networking.k8s.io) the endpoint's HTTPRoute attaches to."""

    name: str = Field(pattern=DNS_SUBDOMAIN)
    """Required."""
    namespace: str = Field(pattern=DNS_LABEL)
    """Required."""
    section_name: str | None = Field(default=None, pattern=DNS_SUBDOMAIN)
    """One listener of the Gateway. Default: all of them."""

    def render(self) -> dict[str, str]:
        ref = {"name": self.name, "namespace": self.namespace}
        if self.section_name is not None:
            ref["sectionName"] = self.section_name
        return ref


class ConfigMapKey(ConfigModel):
    """A key of a ConfigMap in the endpoint's namespace."""

    name: str = Field(pattern=DNS_SUBDOMAIN)
    """Required."""
    key: str = Field(pattern=r"^[-._a-zA-Z0-9]{1,253}$")
    """Required."""


class SchedulerConfig(ConfigModel):
    """The endpoint picker (KServe's ``router.scheduler``)."""

    enabled: bool = True
    """Run the endpoint picker (InferencePool and EPP). Default true."""
    config: dict[str, Any] | None = None
    """The picker's ``EndpointPickerConfig`` (llm-d): ``plugins`` (type, name, parameters) and
    ``schedulingProfiles`` whose ``pluginRef`` names them. Default: KServe's preset (load-aware scoring)."""
    config_map: ConfigMapKey | None = None
    """The same configuration read from a ConfigMap key instead. Default: none."""
    replicas: int | None = Field(default=None, ge=1, le=20)
    """Endpoint picker pods. Default: KServe's (1)."""
    env: dict[str, dict[str, EnvValue]] = {}
    """Environment of the picker pod's containers by container name (``main``, ``tokenizer``): plain values
    or references. Default: none."""

    def problems(self) -> list[Finding]:
        found = []
        if self.config is not None and self.config_map is not None:
            found.append(Finding(("configMap",), "must not be set together with config (KServe reads one of them)",
                                 self.config_map.name))
        if not self.enabled:
            for key in ("config", "config_map", "replicas"):
                if getattr(self, key) is not None:
                    alias = type(self).model_fields[key].alias or key
                    found.append(Finding((alias,), "configures the endpoint picker, which enabled: false turns off",
                                         "[set]" if key == "config" else getattr(self, key)))
        if self.config is not None:
            found += [Finding(("config", *f.loc), f.message, f.value) for f in picker_config_problems(self.config)]
        return found

    @property
    def latency_predicting(self) -> bool:
        return self.config is not None and any(isinstance(p, dict) and p.get("type") == LATENCY_PRODUCER_PLUGIN
                                               for p in self.config.get("plugins") or [])


def picker_config_problems(config: dict[str, Any]) -> list[Finding]:
    """The shape of an EndpointPickerConfig: its kind, plugins with a type, and profiles that name them."""
    found = []
    if config.get("apiVersion") not in EPP_API_VERSIONS:
        found.append(Finding(("apiVersion",), f"must be one of {', '.join(EPP_API_VERSIONS)}", config.get("apiVersion")))
    if config.get("kind") != "EndpointPickerConfig":
        found.append(Finding(("kind",), "must be EndpointPickerConfig", config.get("kind")))
    plugins = config.get("plugins")
    if not isinstance(plugins, list) or not plugins:
        return found + [Finding(("plugins",), "must list the picker's plugins ({type, name?, parameters?})", plugins)]
    names = set()
    for i, plugin in enumerate(plugins):
        if not isinstance(plugin, dict) or not isinstance(plugin.get("type"), str):
            found.append(Finding(("plugins", i, "type"), "must name the plugin's type", plugin))
            continue
        names.add(plugin.get("name") or plugin["type"])
    for i, profile in enumerate(config.get("schedulingProfiles") or []):
        for j, ref in enumerate((profile or {}).get("plugins") or []):
            name = (ref or {}).get("pluginRef")
            if name not in names:
                found.append(Finding(("schedulingProfiles", i, "plugins", j, "pluginRef"),
                                     f"must name a plugin declared under plugins ({', '.join(sorted(names))})", name))
    return found


class LlmRouterConfig(ConfigModel):
    """How requests reach the endpoint (see the module's docstring)."""

    route: Literal["managed", "none"] = "managed"
    """``managed``: KServe's HTTPRoute (or ``httpRoutes``) on a Gateway; ``none``: no route (with the scheduler:
    only the InferencePool; without: only the workload's Service). Default ``managed``."""
    http_routes: list[str] = Field(default=[], max_length=16)
    """Names of HTTPRoutes in the endpoint's namespace that the team manages (KServe then writes none).
    Default: none (KServe writes one)."""
    gateways: list[GatewayRef] = Field(default=[], max_length=16)
    """Gateways the route attaches to. Default: the platform's (``kserve/kserve-ingress-gateway``)."""
    scheduler: SchedulerConfig = SchedulerConfig()
    """The endpoint picker. Default: enabled with KServe's configuration."""

    def problems(self) -> list[Finding]:
        found = []
        bad = [r for r in self.http_routes if not isinstance(r, str) or not re.fullmatch(DNS_SUBDOMAIN, r)]
        if bad:
            found.append(Finding(("httpRoutes",), "must name HTTPRoutes (DNS subdomain names)", bad))
        if self.route == "none" and (self.http_routes or self.gateways):
            found.append(Finding(("route",), "is none, so httpRoutes and gateways would route nothing; "
                                 "remove them or use route: managed", self.route))
        return found
