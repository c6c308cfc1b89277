"""``servestack:observability``: the metrics platform the platform layer installs.

``prometheus: kube-prometheus-stack`` (the default, every tier): the Prometheus Operator stack from the
pinned chart on the managed CPU pool, Prometheus keeping ``retention`` of samples on an encrypted gp3
volume of ``storageSize`` (both sized per tier unless set), Alertmanager and Grafana off unless turned
on. ``prometheus: amp``: an Amazon Managed Service for Prometheus workspace and its managed scraper for
the cluster, no Prometheus in the cluster. Either way the exporters follow the pools (DCGM exporter on
NVIDIA pools, neuron-monitor on Neuron pools) and every endpoint is scraped and gets its rules.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from .base import ConfigModel, Finding
from ..core import versions
from .values import checked_memory, image_pin_problem, memory_bytes

Backend = Literal["kube-prometheus-stack", "amp"]
#: Prometheus durations (``30s``, ``10m``, ``15d``): one number and unit, as retention and intervals take them.
DURATION = re.compile(r"^[1-9][0-9]*(ms|s|m|h|d|w|y)$")
_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}

#: Per tier: (retention, Prometheus volume size) when the stack sets neither.
TIER_DEFAULTS: dict[str, tuple[str, str]] = {"dev": ("7d", "20Gi"), "staging": ("15d", "50Gi"), "prod": ("30d", "100Gi")}


def duration_seconds(value: str) -> float:
    """``"10m"`` -> 600.0 (a duration already checked by :data:`DURATION`)."""
    match = DURATION.match(value)
    if match is None:
        raise ValueError(f"not a Prometheus duration: {value!r}")
    return int(value[: -len(match[1])]) * _SECONDS[match[1]]


def _checked_duration(value: str | None) -> str | None:
    if value is not None and not DURATION.match(value):
        raise ValueError("must be a Prometheus duration: a whole number and one unit of ms, s, m, h, d, w, y (30s, 15d)")
    return value


class ObservabilityConfig(ConfigModel):
    """The metrics platform. Default: kube-prometheus-stack, sized per tier, no Alertmanager, no Grafana."""

    prometheus: Backend = "kube-prometheus-stack"
    """Where metrics are scraped and stored: ``kube-prometheus-stack`` (Prometheus in the cluster, on the
    managed CPU pool) or ``amp`` (an Amazon Managed Service for Prometheus workspace fed by its managed
    scraper; no Prometheus in the cluster). Default ``kube-prometheus-stack``."""
    retention: str | None = None
    """How long Prometheus keeps samples (kube-prometheus-stack only; AMP keeps them 150 days). Default per
    tier: dev 7d, staging 15d, prod 30d."""
    storage_size: str | None = None
    """Size of Prometheus's persistent volume (encrypted gp3; kube-prometheus-stack only). Default per tier:
    dev 20Gi, staging 50Gi, prod 100Gi."""
    scrape_interval: str = "30s"
    """How often every target is scraped (and rules evaluated). Default ``30s``."""
    alertmanager: bool = False
    """Install Alertmanager (kube-prometheus-stack only); the alerting rules fire into it. Default false:
    alerts are visible in Prometheus only."""
    grafana: bool = False
    """Install Grafana (kube-prometheus-stack only). Default false."""
    storage_class_name: str = Field(default="servestack-metrics", pattern=r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
    """Name of the encrypted gp3 StorageClass the platform creates for Prometheus's volume. Default
    ``servestack-metrics``."""

    neuron_monitor_image: str = f"{versions.NEURON_MONITOR.source}:{versions.NEURON_MONITOR.version}"
    """Image of neuron-monitor, the Neuron pools' exporter (a privileged DaemonSet). Prod must pull it by digest
    (policy ``declared-plugin-image-digest``): mirror it into your registry and give ``<image>:<tag>@sha256:<digest>``.
    Default: AWS's public image at the pinned tag."""

    _duration_fields = field_validator("retention", "scrape_interval")(_checked_duration)

    @field_validator("neuron_monitor_image")
    @classmethod
    def _image(cls, value: str) -> str:
        problem = image_pin_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("storage_size")
    @classmethod
    def _size(cls, value: str | None) -> str | None:
        return checked_memory(value)

    def effective_retention(self, tier: str) -> str:
        return self.retention or TIER_DEFAULTS[tier][0]

    def effective_storage_size(self, tier: str) -> str:
        return self.storage_size or TIER_DEFAULTS[tier][1]

    def problems(self) -> list[Finding]:
        found: list[Finding] = []
        if self.prometheus == "amp":
            for field_name in ("retention", "storage_size", "alertmanager", "grafana", "storage_class_name"):
                if field_name in self.model_fields_set:
                    alias = type(self).model_fields[field_name].alias
                    found.append(Finding((alias,), "applies to the in-cluster Prometheus only; prometheus: amp "
                                                   "installs none (remove it, or use prometheus: kube-prometheus-stack)",
                                         getattr(self, field_name)))
        if self.storage_size is not None and memory_bytes(self.storage_size) < 2**30:
            found.append(Finding(("storageSize",), "must be at least 1Gi (an EBS volume's minimum)", self.storage_size))
        if duration_seconds(self.scrape_interval) < 5:
            found.append(Finding(("scrapeInterval",), "must be at least 5s", self.scrape_interval))
        return found
