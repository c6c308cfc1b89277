"""Which runtime KServe serves a format model with, decided the way KServe decides
(:mod:`components.core.kserve_runtimes`), and what a predictor must render for it: the config checks
refuse a model KServe would find no runtime for; the renderer spells the format and protocol it resolves.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Protocol

from .findings import Finding
from .kserve_runtimes import PROTOCOL_ORDER, Runtime, builtin_runtimes, resolve_runtime, runtime_versions


class FormatModel(Protocol):
    """What runtime selection reads of a model (``ModelConfig`` in the stack model)."""

    @property
    def format(self) -> str | None: ...
    @property
    def format_version(self) -> str | None: ...
    @property
    def protocol_version(self) -> str | None: ...
    @property
    def runtime(self) -> str | None: ...


@dataclass(frozen=True)
class ModelRuntime:
    """What a format model's predictor renders so that KServe serves it with the runtime it resolves."""

    format_name: str
    """``modelFormat.name`` exactly as the runtime declares it (``vLLM`` for ``vllm``)."""
    protocol: str | None
    """``protocolVersion`` to render; None leaves it to KServe's defaulting (which then finds a runtime)."""
    runtime: str | None
    """The runtime KServe selects (built-in, or one of ``servestack:servingRuntimes``); None for a runtime
    the stack does not declare (not checked)."""


@cache
def builtin_runtime_names() -> frozenset[str]:
    """Names of KServe's built-in runtimes in any KServe version the project carries: naming one on a
    KServe that lacks it is an error, not a runtime of the user's."""
    return frozenset(r.name for version in runtime_versions() for r in builtin_runtimes(version))


def model_runtime(model: FormatModel, kserve_version: str,
                  custom: tuple[Runtime, ...] = ()) -> tuple[ModelRuntime | None, Finding | None]:
    """Resolve a format model's runtime the way ``kserve_version`` does (:mod:`components.core.kserve_runtimes`),
    over its built-in runtimes and the platform's own (``custom``: ``servestack:servingRuntimes``).

    Returns what to render, or a finding (loc relative to the model) when KServe would find no
    runtime. ``(None, None)`` for a custom container.
    """
    if model.format is None:
        return None, None
    custom_names = {r.name for r in custom}
    if model.runtime is not None and model.runtime not in builtin_runtime_names() | custom_names:
        return ModelRuntime(model.format, model.protocol_version, None), None
    runtimes = builtin_runtimes(kserve_version) + tuple(custom)
    if model.runtime is not None and model.runtime not in {r.name for r in runtimes}:
        return None, Finding(("runtime",), f"is a built-in runtime of another KServe release; KServe {kserve_version}, which "
                                           f"serves this platform, has: {', '.join(sorted(r.name for r in runtimes if r.builtin))}",
                             model.runtime)
    resolved = resolve_runtime(runtimes, model.format, format_version=model.format_version, protocol=model.protocol_version,
                               runtime_name=model.runtime)
    protocol = model.protocol_version
    if resolved.runtime is None and model.protocol_version is None and model.runtime is None:
        # KServe's default protocol (v1 for most formats) finds nothing: render the first protocol that does.
        for candidate in PROTOCOL_ORDER:
            explicit = resolve_runtime(runtimes, model.format, format_version=model.format_version, protocol=candidate)
            if explicit.runtime is not None:
                resolved, protocol = explicit, candidate
                break
    if resolved.runtime is None:
        declared = {f.name for r in runtimes for f in r.supported_model_formats}
        if model.runtime is not None:
            return None, Finding(("runtime",), resolved.reason, model.runtime)
        if resolved.format_spelling not in declared:
            return None, Finding(("format",), f"{resolved.reason}; a format of your own needs runtime: the name of the "
                                              "ClusterServingRuntime that serves it", model.format)
        if model.protocol_version is None:
            return None, Finding(("format",), resolved.reason, model.format)
        return None, Finding(("protocolVersion",), resolved.reason, model.protocol_version)
    if resolved.ambiguous:
        first, second = resolved.candidates[:2]
        return None, Finding(("runtime",), f"must be set: KServe {kserve_version} would choose between {first.name} and "
                                           f"{second.name} (equal priority for {resolved.format_spelling}) in no "
                                           "guaranteed order")
    return ModelRuntime(resolved.format_spelling, protocol, resolved.runtime.name), None


def rendered_model_runtime(model: FormatModel, kserve_version: str, custom: tuple[Runtime, ...] = ()) -> ModelRuntime | None:
    """:func:`model_runtime` for rendering: the config checks have refused every model it finds a problem with."""
    resolved, problem = model_runtime(model, kserve_version, custom)
    if problem is not None:
        raise ValueError(f"model {'.'.join(map(str, problem.loc))} {problem.message}")
    return resolved


