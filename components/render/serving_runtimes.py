"""The platform's own serving runtimes (``servestack:servingRuntimes``) as KServe ClusterServingRuntimes.

Pure rendering and the stack-output round trip; :class:`~components.platform.ServingPlatform` creates
the objects once, after KServe's built-in runtimes, and puts them on its
:class:`~components.handles.PlatformHandle` so that endpoints resolve their runtime over them. A
serving stack on a referenced platform reads them back from the platform stack's ``platform``
output (:func:`runtimes_from_output`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..core.labels import KSERVE_CONTAINER as RUNTIME_CONTAINER
from ..core.pod_security import RUNTIME_SECURITY_CONTEXT
from ..core.kserve_runtimes import Runtime, SupportedFormat

if TYPE_CHECKING:  # the renderer reads the stack model's values; it does not load pydantic
    from ..config.runtimes import ServingRuntimeConfig

API_VERSION = "serving.kserve.io/v1alpha1"
KIND = "ClusterServingRuntime"


def render_cluster_serving_runtime(name: str, config: ServingRuntimeConfig) -> dict[str, Any]:
    """The ClusterServingRuntime object of one ``servestack:servingRuntimes`` entry."""
    from .inference_service import resource_requirements

    formats = []
    for fmt in config.formats:
        entry: dict[str, Any] = {"name": fmt.name}
        if fmt.version is not None:
            entry["version"] = fmt.version
        entry["autoSelect"] = fmt.auto_select
        if fmt.priority is not None:
            entry["priority"] = fmt.priority
        formats.append(entry)
    container = config.container.render_into({"name": RUNTIME_CONTAINER, "image": config.container.image})
    container["resources"] = resource_requirements(config.resources)
    container["securityContext"] = RUNTIME_SECURITY_CONTEXT
    spec: dict[str, Any] = {"supportedModelFormats": formats}
    if config.protocol_versions:
        spec["protocolVersions"] = list(config.protocol_versions)
    spec["containers"] = [container]
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "servestack"}},
        "spec": spec,
    }


def runtimes_output(runtimes: tuple[Runtime, ...]) -> dict[str, Any]:
    """What a serving stack needs of the platform's runtimes to resolve its endpoints' runtimes."""
    return {
        r.name: {
            "supportedModelFormats": [{"name": f.name, "version": f.version, "autoSelect": f.auto_select,
                                       "priority": f.priority} for f in r.supported_model_formats],
            "protocolVersions": list(r.protocol_versions),
        }
        for r in sorted(runtimes, key=lambda r: r.name)
    }


def runtimes_from_output(exported: dict[str, Any] | None, kserve_version: str) -> tuple[Runtime, ...]:
    """:func:`runtimes_output` read back (a platform stack from before this output exports none)."""
    return tuple(
        Runtime(
            name=name,
            kind=KIND,
            kserve_version=kserve_version,
            supported_model_formats=tuple(SupportedFormat(f["name"], f.get("version"), bool(f.get("autoSelect")),
                                                          f.get("priority")) for f in entry["supportedModelFormats"]),
            protocol_versions=tuple(entry.get("protocolVersions") or ()),
            builtin=False,
        )
        for name, entry in sorted((exported or {}).items())
    )
