"""``servestack:servingRuntimes``: serving runtimes of your own, installed once by the platform.

Each entry is a KServe ``ClusterServingRuntime`` (``serving.kserve.io/v1alpha1``, cluster-scoped, so
every endpoint namespace may use it): a pinned image, the model formats it serves (with versions,
``autoSelect`` and ``priority``), the protocols it speaks and its container's resources. Endpoints
use one by name (``model.runtime``) or, for a format it declares with ``autoSelect: true``, by
KServe's own selection, which servestack resolves the same way over the built-in runtimes and these
(:mod:`components.core.kserve_runtimes`).

Only ClusterServingRuntimes: KServe also reads namespaced ``ServingRuntime`` objects (and considers
them before the cluster-scoped ones), which servestack does not create.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, Field

from ..core.kserve_runtimes import PROTOCOL_ORDER, Runtime, SupportedFormat
from .base import ConfigModel, Finding
from .containers import ContainerConfig, ResourcesConfig
from .endpoints import FORMAT_NAME_PATTERN, ProtocolVersion
from .values import LABEL_VALUE

#: The largest priority the CRD allows (int32).
MAX_PRIORITY = 2**31 - 1


def _runtime_name(name: str) -> str:
    if not re.fullmatch(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?", name):
        raise ValueError("must be a DNS-1123 label: lowercase letters, digits and '-', at most 63 characters, "
                         "starting and ending with a letter or digit")
    return name


RuntimeName = Annotated[str, AfterValidator(_runtime_name)]
"""The ClusterServingRuntime's name, which endpoints give as ``model.runtime``."""


class RuntimeFormatConfig(ConfigModel):
    """One ``supportedModelFormats`` entry."""

    name: str = Field(pattern=FORMAT_NAME_PATTERN)
    """The format name endpoints give as ``model.format``. KServe compares it exactly (case matters). Required."""
    version: str | None = Field(default=None, pattern=LABEL_VALUE)
    """The format's version (``modelFormat.version`` of the models it serves). Default: none."""
    auto_select: bool = False
    """Whether KServe may choose this runtime for an endpoint that names no runtime. Default ``false``
    (KServe's): only endpoints that name the runtime use it."""
    priority: int | None = Field(default=None, ge=1, le=MAX_PRIORITY)
    """Among the runtimes KServe may auto-select for the format, the higher priority wins (unset
    comes last). Default: none."""


class ServingRuntimeConfig(ConfigModel):
    """A ClusterServingRuntime of your own."""

    container: ContainerConfig
    """The serving container: ``image`` (pinned by a version tag or a digest), ``command``, ``args``
    (KServe fills ``{{.Name}}`` with the InferenceService's name), ``env``, ``port``/``grpcPort``
    and probes, as for an endpoint's container. Required."""
    formats: list[RuntimeFormatConfig] = Field(min_length=1)
    """The model formats it serves (at least one). Required."""
    protocol_versions: list[ProtocolVersion] = []
    """The protocols it speaks (``v1``, ``v2``, ``grpc-v1``, ``grpc-v2``). Default: none declared, which
    KServe reads as "speaks every protocol"; declare them so that KServe does not choose it for a
    protocol it does not speak."""
    resources: ResourcesConfig = ResourcesConfig()
    """The container's default requests and limits (an endpoint's own resources replace them).
    Default: 500m CPU and 1Gi memory requested, 1 CPU and 2Gi limit."""

    def problems(self) -> list[Finding]:
        found: list[Finding] = []
        seen: set[tuple[str, str | None]] = set()
        priorities: dict[str, int] = {}
        for index, fmt in enumerate(self.formats):
            key = (fmt.name, fmt.version)
            if key in seen:
                found.append(Finding(("formats", index), f"declares {fmt.name}"
                                     + (f" version {fmt.version}" if fmt.version else "") + " a second time", fmt.name))
            seen.add(key)
            if fmt.priority is not None:
                if not fmt.auto_select:
                    found.append(Finding(("formats", index, "priority"), "only orders runtimes KServe auto-selects; "
                                         "set autoSelect: true or remove it", fmt.priority))
                earlier = priorities.setdefault(fmt.name, fmt.priority)
                if earlier != fmt.priority:
                    found.append(Finding(("formats", index, "priority"), f"differs from the priority {earlier} given to "
                                         f"{fmt.name} earlier: KServe uses one priority per format name", fmt.priority))
        duplicates = sorted({p for p in self.protocol_versions if self.protocol_versions.count(p) > 1})
        if duplicates:
            found.append(Finding(("protocolVersions",), f"lists {', '.join(duplicates)} more than once",
                                 list(self.protocol_versions)))
        return found

    def runtime(self, name: str, kserve_version: str) -> Runtime:
        """This runtime as KServe's selection sees it (:mod:`components.core.kserve_runtimes`)."""
        return Runtime(
            name=name,
            kind="ClusterServingRuntime",
            kserve_version=kserve_version,
            supported_model_formats=tuple(SupportedFormat(f.name, f.version, f.auto_select, f.priority)
                                          for f in self.formats),
            protocol_versions=tuple(sorted(set(self.protocol_versions), key=PROTOCOL_ORDER.index)),
            builtin=False,
        )


def custom_runtimes(runtimes: dict[str, ServingRuntimeConfig], kserve_version: str) -> tuple[Runtime, ...]:
    """The stack's runtimes as KServe's selection sees them, by name."""
    return tuple(runtimes[name].runtime(name, kserve_version) for name in sorted(runtimes))
