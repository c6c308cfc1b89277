"""KServe's built-in serving runtimes and KServe's own rules for picking one (pure, no Pulumi).

The runtimes are read from ``data/upstream/kserve-runtimes-<version>.json``, derived by
``tools/vendor_upstream.py`` from each KServe release's ``config/runtimes/*.yaml`` (the same
ClusterServingRuntimes the ``kserve-runtime-configs`` chart and Kubeflow's KServe install).

The selection rules are a transcription of KServe's Go code at v0.20.0 (identical at v0.16.0
except where noted):

- ``InferenceService.setPredictorModelDefaults`` (pkg/apis/serving/v1beta1/
  inference_service_defaults.go, the mutating webhook): a predictor model without
  ``protocolVersion`` gets ``v2`` when its format name is exactly ``triton`` or ``vLLM``
  (v0.16.0: ``triton`` only); nothing else.
- ``ModelSpec.GetProtocol`` (predictor_model.go): a model still without ``protocolVersion`` is
  matched as ``v1``.
- ``ModelSpec.GetSupportingRuntimes``: a runtime supports the model when it is not ``disabled``,
  not ``multiModel`` (ModelMesh), multi-node (``workerSpec``) exactly when the predictor is, it
  speaks the protocol (``IsProtocolVersionSupported``: a runtime that declares no
  ``protocolVersions`` speaks every protocol), and ``RuntimeSupportsModel``: the label
  ``mt:<name>`` (or ``mt:<name>:<version>`` when the model names a version) is among the
  runtime's formats, counting only ``autoSelect: true`` formats when no runtime is named. Names
  and versions compare as exact strings (Go ``==``): case matters.
- Runtimes of the stack's own (``servestack:servingRuntimes``, ClusterServingRuntimes created after
  the built-in ones) take part exactly like the built-ins: :func:`resolve_runtime` takes both.
  KServe lists namespaced ServingRuntimes before ClusterServingRuntimes; servestack creates no
  namespaced ones, so every candidate here is cluster-scoped.
- Order: runtimes pre-sorted by their lowest protocol (v1 < v2 < grpc-v1 < grpc-v2 < none), then
  newest first, then name (all built-ins are created together, so: by name); then by the
  ``priority`` of the model's format in the runtime (higher first, unset last). The first wins.
  ``sort.Slice`` is not a stable sort, so two runtimes with the same top priority are a tie whose
  winner KServe does not guarantee: :attr:`Resolution.ambiguous`.
- With a named runtime (predictor.go ``reconcileModel``): it must exist, not be disabled, speak
  the model's protocol when one is set, and declare the format (autoSelect not needed).
- After selection, a model still without ``protocolVersion`` gets the runtime's default
  (``SetRuntimeDefaults``: ``v2`` for mlserver and tritonserver, ``v1`` for torchserve), else the
  lowest protocol the runtime declares, else ``""``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from . import versions

#: Format names the webhook defaults to protocol v2, per KServe version (exact spelling; Go ==).
#: Source: setPredictorModelDefaults in pkg/apis/serving/v1beta1/inference_service_defaults.go.
V2_DEFAULT_FORMATS: dict[str, tuple[str, ...]] = {
    "v0.16.0": ("triton",),
    "v0.20.0": ("triton", "vLLM"),
}

#: KServe's protocol ordering (constants.ProtocolVersion: V1 < V2 < GRPCV1 < GRPCV2 < Unknown).
PROTOCOL_ORDER: tuple[str, ...] = ("v1", "v2", "grpc-v1", "grpc-v2")

#: SetRuntimeDefaults: the protocol a server type gets when the model names none.
_SERVER_TYPE_PROTOCOL = {"mlserver": "v2", "tritonserver": "v2", "torchserve": "v1"}
#: constants.GetServerTypeFromRuntimeName: the fallback when a runtime has no server-type annotation.
_SERVER_TYPE_BY_NAME = {"kserve-mlserver": "mlserver", "kserve-torchserve": "torchserve",
                        "kserve-tritonserver": "tritonserver"}


@dataclass(frozen=True)
class SupportedFormat:
    """One ``supportedModelFormats`` entry of a runtime."""

    name: str
    version: str | None
    auto_select: bool
    priority: int | None


@dataclass(frozen=True)
class Runtime:
    """One built-in (Cluster)ServingRuntime of a KServe release."""

    name: str
    kind: str
    kserve_version: str
    supported_model_formats: tuple[SupportedFormat, ...]
    protocol_versions: tuple[str, ...]
    """As declared; empty means the runtime declares none and KServe lets it serve every protocol."""
    multi_model: bool = False
    multi_node: bool = False
    disabled: bool = False
    server_type: str | None = None
    builtin: bool = True
    """False for a runtime of the stack's own (``servestack:servingRuntimes``)."""

    def speaks(self, protocol: str) -> bool:
        """``IsProtocolVersionSupported``: a declared protocol, or any when none is declared."""
        return not self.protocol_versions or protocol in self.protocol_versions

    def priority(self, format_name: str) -> int | None:
        """``GetPriority``: the priority of the first entry with exactly this name (autoSelect or not)."""
        for fmt in self.supported_model_formats:
            if fmt.name == format_name:
                return fmt.priority
        return None

    def supports(self, format_name: str, format_version: str | None, *, named: bool) -> bool:
        """``RuntimeSupportsModel``: exact name (and version when given); autoSelect unless named."""
        for fmt in self.supported_model_formats:
            if not (named or fmt.auto_select) or fmt.name != format_name:
                continue
            if format_version is None or fmt.version == format_version:
                return True
        return False

    def default_protocol(self) -> str:
        """The protocol KServe gives a model that named none once this runtime is chosen."""
        server_type = self.server_type or _SERVER_TYPE_BY_NAME.get(self.name)
        if server_type in _SERVER_TYPE_PROTOCOL:
            return _SERVER_TYPE_PROTOCOL[server_type]
        return min(self.protocol_versions, key=_protocol_rank) if self.protocol_versions else ""

    def spoken(self) -> str:
        """The protocols for messages: ``v1, v2`` or ``any protocol (declares none)``."""
        return ", ".join(self.protocol_versions) if self.protocol_versions else "any protocol (declares none)"


@dataclass(frozen=True)
class Resolution:
    """The runtime KServe would pick for a predictor model, and what it would make of it."""

    runtime: Runtime | None
    protocol: str | None
    """The model's protocol after KServe's defaulting (before selection when nothing matched)."""
    format_spelling: str
    """The format name exactly as the chosen runtime (or, without one, any runtime) declares it."""
    reason: str = ""
    """One line explaining why nothing matched (empty when a runtime was chosen)."""
    candidates: tuple[Runtime, ...] = field(default=())
    """Every supporting runtime in KServe's order (the first is :attr:`runtime`)."""
    ambiguous: bool = False
    """True when the first two candidates tie on priority, so KServe's choice is not guaranteed."""


def _protocol_rank(protocol: str) -> int:
    return PROTOCOL_ORDER.index(protocol) if protocol in PROTOCOL_ORDER else len(PROTOCOL_ORDER)


def _lowest_protocol_rank(runtime: Runtime) -> int:
    """``GetProtocolVersionPriority``: the lowest declared protocol, Unknown when none."""
    return min((_protocol_rank(p) for p in runtime.protocol_versions), default=len(PROTOCOL_ORDER))


@lru_cache(maxsize=None)
def _load(kserve_version: str) -> tuple[Runtime, ...]:
    path = resources.files("components").joinpath(f"data/upstream/kserve-runtimes-{kserve_version}.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    return tuple(
        Runtime(
            name=entry["name"],
            kind=entry["kind"],
            kserve_version=data["kserveVersion"],
            supported_model_formats=tuple(
                SupportedFormat(f["name"], f["version"], f["autoSelect"], f["priority"])
                for f in entry["supportedModelFormats"]),
            protocol_versions=tuple(entry["protocolVersions"]),
            multi_model=entry["multiModel"],
            multi_node=entry["multiNode"],
            disabled=entry["disabled"],
            server_type=entry["serverType"],
        )
        for entry in data["runtimes"]
    )


def runtime_versions() -> tuple[str, ...]:
    """The KServe versions whose built-in runtimes the project carries, sorted."""
    folder = resources.files("components").joinpath("data/upstream")
    names = [p.name for p in folder.iterdir() if p.name.startswith("kserve-runtimes-") and p.name.endswith(".json")]
    return tuple(sorted(n[len("kserve-runtimes-"):-len(".json")] for n in names))


def builtin_runtimes(kserve_version: str) -> tuple[Runtime, ...]:
    """KServe's built-in runtimes at ``kserve_version`` (``v0.20.0``), sorted by name.

    Raises ``KeyError`` naming the versions that have data when there is none for this one.
    """
    if kserve_version not in runtime_versions():
        raise KeyError(f"no built-in runtime data for KServe {kserve_version}; data exists for "
                       f"{', '.join(runtime_versions())} (regenerate with tools/vendor_upstream.py)")
    return _load(kserve_version)


def default_protocol(format_name: str, kserve_version: str | None = None) -> str:
    """The protocol KServe matches a predictor model of ``format_name`` with when it names none.

    ``v2`` for exactly ``triton`` and ``vLLM`` (webhook default; KServe v0.16.0: ``triton``
    only), else ``v1`` (``GetProtocol``). Case-sensitive like KServe: ``vllm`` gets ``v1``.
    ``kserve_version`` defaults to the standalone KServe servestack installs.
    """
    version = kserve_version or versions.KSERVE_RESOURCES.version
    if version not in V2_DEFAULT_FORMATS:
        raise KeyError(f"no protocol defaulting rules for KServe {version}; rules exist for "
                       f"{', '.join(sorted(V2_DEFAULT_FORMATS))}")
    return "v2" if format_name in V2_DEFAULT_FORMATS[version] else "v1"


def _spelling(runtimes: tuple[Runtime, ...], format_name: str) -> tuple[str | None, list[str]]:
    """The declared spelling of ``format_name``: exact, else the unique case-insensitive match."""
    declared = sorted({f.name for r in runtimes for f in r.supported_model_formats})
    if format_name in declared:
        return format_name, declared
    folded = [name for name in declared if name.lower() == format_name.lower()]
    return (folded[0] if len(folded) == 1 else None), declared


def resolve_runtime(runtimes: tuple[Runtime, ...] | list[Runtime], format_name: str, *,
                    format_version: str | None = None, protocol: str | None = None,
                    runtime_name: str | None = None, multi_node: bool = False) -> Resolution:
    """The runtime KServe selects for a predictor ``model`` of ``format_name`` among ``runtimes``.

    Case: KServe compares format names exactly (``mt:<name>`` labels, Go ``==``), and its v2
    default applies only to the exact spelling ``vLLM``. This function accepts the user's
    ``format_name`` in any case when exactly one declared format matches it ignoring case (the
    built-in formats never differ only by case), so a config may say ``vllm``; it then applies
    KServe's rules to the declared spelling and returns it as :attr:`Resolution.format_spelling`,
    which is what must be rendered: an InferenceService that says ``vllm`` would match no runtime.

    ``format_version``, ``protocol`` and ``runtime_name`` are the model's ``modelFormat.version``,
    ``protocolVersion`` and ``runtime``; ``multi_node`` whether the predictor has a ``workerSpec``.
    """
    runtimes = tuple(runtimes)
    kserve_version = runtimes[0].kserve_version if runtimes else None
    spelling, declared = _spelling(runtimes, format_name)
    where = f"KServe {kserve_version}" if kserve_version else "KServe"
    # With the stack's own runtimes among them, the messages speak of runtimes, not built-in ones.
    noun = "built-in runtime" if all(r.builtin for r in runtimes) else "runtime"
    if spelling is None:
        near = [name for name in declared if name.lower() == format_name.lower()]
        detail = (f"it matches {', '.join(near)} ignoring case only" if near
                  else f"formats with a {noun}: {', '.join(declared) or 'none'}")
        return Resolution(None, protocol, format_name,
                          f"no {noun} of {where} declares model format {format_name!r} ({detail})")
    requested = protocol
    if requested is None and kserve_version is not None:
        requested = "v2" if spelling in V2_DEFAULT_FORMATS.get(kserve_version, ()) else None
    match_protocol = requested or "v1"
    declaring = [r for r in runtimes if any(f.name == spelling for f in r.supported_model_formats)]
    version_text = f" version {format_version}" if format_version else ""
    protocol_text = (f"protocol {protocol}" if protocol else
                     f"protocol {match_protocol} (KServe's default for {spelling})")

    def offered(rs: list[Runtime]) -> str:
        parts = []
        for r in rs:
            entries = [f for f in r.supported_model_formats if f.name == spelling]
            notes = []
            versions_ = sorted({f.version for f in entries if f.version})
            if versions_:
                notes.append(f"versions {', '.join(versions_)}")
            if not any(f.auto_select for f in entries):
                notes.append("no autoSelect")
            if r.disabled:
                notes.append("disabled")
            if r.multi_model:
                notes.append("multi-model")
            if r.multi_node:
                notes.append("multi-node")
            parts.append(f"{r.name} speaks {r.spoken()}" + (f" ({'; '.join(notes)})" if notes else ""))
        return "; ".join(parts) or "none"

    if runtime_name is not None:
        chosen = next((r for r in runtimes if r.name == runtime_name), None)
        problem = ""
        if chosen is None:
            problem = f"{where} has no {noun} {runtime_name!r}"
        elif chosen.disabled:
            problem = f"runtime {runtime_name} is disabled"
        elif requested is not None and not chosen.speaks(requested):
            problem = f"runtime {runtime_name} does not speak protocol {requested} (it speaks {chosen.spoken()})"
        elif not chosen.supports(spelling, format_version, named=True):
            problem = f"runtime {runtime_name} does not serve {spelling}{version_text}"
        if problem:
            return Resolution(None, requested, spelling,
                              f"{problem}; runtimes for {spelling}: {offered(declaring)}")
        return Resolution(chosen, requested or chosen.default_protocol(), spelling, "", (chosen,))

    supporting = [r for r in runtimes
                  if not r.disabled and not r.multi_model and r.multi_node == multi_node
                  and r.supports(spelling, format_version, named=False) and r.speaks(match_protocol)]
    supporting.sort(key=lambda r: (_lowest_protocol_rank(r), r.name))
    supporting.sort(key=lambda r: (r.priority(spelling) is None, -(r.priority(spelling) or 0)))
    if not supporting:
        return Resolution(None, requested or match_protocol, spelling,
                          f"no {noun} of {where} serves {spelling}{version_text} with {protocol_text}; "
                          f"runtimes for {spelling}: {offered(declaring)}")
    first = supporting[0]
    ambiguous = len(supporting) > 1 and supporting[1].priority(spelling) == first.priority(spelling)
    return Resolution(first, requested or first.default_protocol(), spelling, "", tuple(supporting), ambiguous)
