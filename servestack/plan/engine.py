"""Run the real Pulumi program in-process under the mock runtime and record what it declares.

The program (``__main__.py``) runs exactly as ``pulumi up`` would run it, except that every
call to the engine goes to :class:`RecordingMonitor`: it records each resource registration
(type, parent, provider, dependencies, options and inputs) and answers with the
deterministic outputs of :mod:`servestack.plan.mocks`. Each run gets a fresh
``contextvars.Context`` and event loop, so runs never share Pulumi state.
"""

from __future__ import annotations

import asyncio
import contextvars
import gc
import logging
import math
import time
import runpy
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

from google.protobuf import json_format, struct_pb2
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor, MockResourceArgs, _resolve_callbacks
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from components.config.base import ConfigError
from components.config.stack import REGION_KEY, SECRET_MASK

from .mocks import MockContext, PlanMocks, UnknownInvoke, UnknownStackReference
from .project import Project, StackFile

# Signatures Pulumi's wire format uses for special values (sdk/go/common/resource/sig).
_SIG = "4dabf18193072939515e22adb298388d"
_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
_RESOURCE_REF_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
_ASSET_SIG = "c44067f5952c0a294b673a41bacd8c17"
_ARCHIVE_SIG = "0def7320c3a5731c473e5ecbe6d01bc7"
_OUTPUT_SIG = "d0e6a833031e9bbcd3f4e8bde6ca49a4"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


class PlanError(Exception):
    """The program could not be planned (not a config problem: those raise ConfigError)."""


@dataclass
class Registration:
    type: str
    name: str
    urn: str
    custom: bool
    parent: str
    provider: str
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    protect: bool
    retain_on_delete: bool
    inputs: dict[str, Any]
    remote: bool = False


@dataclass
class ProgramRun:
    project: str
    stack: str
    registrations: list[Registration]
    outputs: dict[str, Any]
    default_providers: dict[str, str] = field(default_factory=dict)


def to_plain(value: Any) -> Any:
    """Pulumi wire value (protobuf Struct as python) -> JSON value; secrets become the mask."""
    if isinstance(value, dict):
        sig = value.get(_SIG)
        if sig == _SECRET_SIG:
            return SECRET_MASK
        if sig == _RESOURCE_REF_SIG:
            return value.get("urn")
        if sig == _OUTPUT_SIG:
            return SECRET_MASK if value.get("secret") else to_plain(value.get("value", UNKNOWN))
        if sig in (_ASSET_SIG, _ARCHIVE_SIG):
            return {k: to_plain(v) for k, v in sorted(value.items()) if k != _SIG}
        return {k: to_plain(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [to_plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _struct_to_plain(struct) -> dict[str, Any]:
    return to_plain(json_format.MessageToDict(struct)) if struct is not None else {}


def _recorded(struct: struct_pb2.Struct) -> dict[str, Any]:
    """``_struct_to_plain`` with one pass over the protobuf where it can."""
    try:
        return to_plain(_struct_to_python(struct, [False]))
    except _NotPlain:
        return _struct_to_plain(struct)


class _NotPlain(Exception):
    """A value the fast conversion leaves to protobuf's and Pulumi's own converters."""


def _struct_to_python(struct: struct_pb2.Struct, special: list[bool]) -> dict[str, Any]:
    """``json_format.MessageToDict(struct)`` (numbers as floats, nulls kept, the struct's key order).

    Sets ``special[0]`` when the struct holds a value Pulumi's deserializer does not pass through
    as it is (a signature: secret, resource reference, asset, output value; or the unknown
    value). Raises _NotPlain where MessageToDict would raise (a non-finite number, a Value
    without a kind), so that the caller's fallback raises exactly as before.
    """
    out = {}
    for key, value in struct.fields.items():
        out[key] = _value_to_python(value, special)
    if _SIG in out:
        special[0] = True
    return out


def _value_to_python(value: struct_pb2.Value, special: list[bool]) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "string_value":
        text = value.string_value
        if text == UNKNOWN:
            special[0] = True
        return text
    if kind == "struct_value":
        return _struct_to_python(value.struct_value, special)
    if kind == "list_value":
        return [_value_to_python(item, special) for item in value.list_value.values]
    if kind == "bool_value":
        return value.bool_value
    if kind == "number_value":
        number = value.number_value
        if not math.isfinite(number):
            raise _NotPlain
        return number
    if kind == "null_value":
        return None
    raise _NotPlain


def _as_deserialized(value: Any) -> Any:
    """What ``rpc.deserialize_properties`` makes of a struct holding no special value: the same
    values, without the keys whose value is null."""
    if type(value) is dict:
        return {k: _as_deserialized(v) for k, v in value.items() if v is not None}
    if type(value) is list:
        return [_as_deserialized(v) for v in value]
    return value


def _is_plain(value: Any) -> bool:
    """JSON data that ``rpc.serialize_properties`` would pass through unchanged."""
    kind = type(value)
    if kind is dict:
        return _SIG not in value and all(type(k) is str and _is_plain(v) for k, v in value.items())
    if kind is list:
        return all(_is_plain(v) for v in value)
    return kind is str or kind is float or kind is int or kind is bool or value is None


def _plain_struct(state: dict[str, Any]) -> struct_pb2.Struct:
    """``rpc.serialize_properties(state, {})`` for plain JSON ``state``: the same assignments
    (a top-level null is left out), without an event loop round trip per value."""
    struct = struct_pb2.Struct()
    for key, value in state.items():
        if value is not None:
            struct[key] = value
    return struct


def _package_version(package: str) -> str:
    try:
        return metadata.version(f"pulumi_{package}").replace(".", "_")
    except metadata.PackageNotFoundError:
        return "0_0_0"


class RecordingMonitor(MockMonitor):
    """A mock monitor that also records every registration with its options."""

    def __init__(self, mocks: PlanMocks, project: str, stack: str):
        super().__init__(mocks)
        self.plan_mocks = mocks
        self.project = project
        self.stack = stack
        self.registrations: list[Registration] = []
        self.outputs_by_urn: dict[str, dict[str, Any]] = {}
        self.default_providers: dict[str, str] = {}
        self._lock = threading.Lock()
        self.thread_loops: set[asyncio.AbstractEventLoop] = set()

    def _note_thread_loop(self) -> None:
        # The mock monitor runs in executor threads and gives each one an event loop; they are
        # closed after the run so that nothing is left for the garbage collector at exit.
        loop = _ensure_event_loop()
        with self._lock:
            self.thread_loops.add(loop)

    def close_thread_loops(self, main_loop: asyncio.AbstractEventLoop) -> None:
        for loop in self.thread_loops:
            if loop is not main_loop and not loop.is_running() and not loop.is_closed():
                loop.close()
        self.thread_loops.clear()

    def Invoke(self, request):
        response = super().Invoke(request)
        self._note_thread_loop()
        return response

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        # As the real engine does: a child's URN type is its parent's qualified type (the whole
        # chain, the root stack excluded) joined by '$' to its own.
        qualified = type_
        if parent:
            parent_type = parent.split("::")[2]
            if parent_type != "pulumi:pulumi:Stack":
                qualified = f"{parent_type}${type_}"
        return f"urn:pulumi:{self.stack}::{self.project}::{qualified}::{name}"

    def _default_provider(self, type_token: str) -> str:
        package = type_token.split(":", 1)[0]
        if package == "pulumi":
            return ""
        with self._lock:
            ref = self.default_providers.get(package)
            if ref is None:
                name = f"default_{_package_version(package)}"
                urn = f"urn:pulumi:{self.stack}::{self.project}::pulumi:providers:{package}::{name}"
                ref = f"{urn}::{UNKNOWN}"
                self.default_providers[package] = ref
            return ref

    def RegisterResource(self, request):
        urn = self.make_urn(request.parent, request.type, request.name)
        self.plan_mocks.current.urn = urn
        special = [False]
        try:
            raw = _struct_to_python(request.object, special)
        except _NotPlain:
            raw, special = None, [True]
        if special[0]:
            # Secrets, resource references, assets, unknowns: Pulumi's mock monitor (de)serializes them.
            response = super().RegisterResource(request)
            self._note_thread_loop()
            inputs = _struct_to_plain(request.object)
        else:
            response = self._register_plain(request, urn, raw)
            inputs = to_plain(raw)
        provider = request.provider
        if request.custom and not provider and not request.type.startswith("pulumi:providers:"):
            provider = self._default_provider(request.type)
        registration = Registration(
            type=request.type,
            name=request.name,
            urn=response.urn,
            custom=bool(request.custom),
            parent=request.parent,
            provider=provider,
            dependencies=sorted(set(request.dependencies)),
            property_dependencies={k: sorted(set(v.urns)) for k, v in sorted(request.propertyDependencies.items())},
            protect=bool(request.protect) if request.HasField("protect") else False,
            retain_on_delete=bool(request.retainOnDelete) if request.HasField("retainOnDelete") else False,
            inputs=inputs,
            remote=bool(request.remote),
        )
        with self._lock:
            self.registrations.append(registration)
        return response

    def _register_plain(self, request, urn: str, raw: dict[str, Any]):
        """``MockMonitor.RegisterResource`` for inputs that are plain JSON, already converted once
        (``raw``) for the recording too: the same mocks call and the same response, with the
        state serialized directly unless it holds something only Pulumi's serializer handles."""
        self._note_thread_loop()
        if request.type == "pulumi:pulumi:Stack":
            return resource_pb2.RegisterResourceResponse(urn=urn)
        resource_args = MockResourceArgs(
            typ=request.type,
            name=request.name,
            inputs=_as_deserialized(raw),
            provider=request.provider,
            resource_id=request.importId,
            custom=request.custom or False,
            transforms=_resolve_callbacks(request.transforms),
        )
        # This runs in an executor thread beside the program (the critical path). Pulumi's async
        # serializer let the program's thread in at every event-loop step; this direct pass would
        # hold the interpreter lock throughout, so it hands it over between its steps.
        time.sleep(0)
        id_, state = self.mocks.new_resource(resource_args)
        time.sleep(0)
        obj_proto = _plain_struct(state) if _is_plain(state) else _sync_await(rpc.serialize_properties(state, {}))
        self.resources[urn] = MockMonitor.ResourceRegistration(urn, id_, state)
        return resource_pb2.RegisterResourceResponse(urn=urn, id=id_, object=obj_proto)

    def RegisterResourceOutputs(self, request):
        with self._lock:
            self.outputs_by_urn[request.urn] = _recorded(request.outputs)
        return super().RegisterResourceOutputs(request)


def run_program(project: Project, stack_file: StackFile, stack_outputs=None, program: Callable[[], Any] | None = None) -> ProgramRun:
    """Run ``project.main`` (or ``program``) for one stack under mocks, in a context of its own."""
    context = contextvars.Context()
    return context.run(_run_in_fresh_context, project, stack_file, stack_outputs, program)


def _run_in_fresh_context(project: Project, stack_file: StackFile, stack_outputs, program) -> ProgramRun:
    from pulumi.runtime import config as runtime_config
    from pulumi.runtime import settings as runtime_settings
    from pulumi.runtime.mocks import MockEngine, MockSettings
    from pulumi.runtime.stack import run_in_stack

    region = stack_file.config.get(REGION_KEY, "us-east-1")
    mocks = PlanMocks(MockContext(project.name, stack_file.name, region, stack_outputs))
    monitor = RecordingMonitor(mocks, project.name, stack_file.name)
    logger = logging.getLogger("servestack.plan")
    settings = MockSettings(
        monitor=monitor,
        monitor_features=set(monitor.GetDeploymentInfo(None).supportedFeatures),
        engine=MockEngine(logger),
        project=project.name,
        stack=stack_file.name,
        dry_run=False,
        organization="organization",
        root_directory=str(project.root),
        callbacks=None,
        outputs=set(),
        lock=threading.Lock(),
        parallel=None,
        legacy_apply_enabled=False,
        package_refs={},
        base_providers_by_ref={},
    )
    runtime_settings.configure(settings)
    runtime_config.set_all_config(dict(stack_file.config), sorted(stack_file.secret_keys))

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    stack_trace = _without_source_positions()
    collector = _no_collections()
    added_path = str(project.root) not in sys.path
    if added_path:
        sys.path.insert(0, str(project.root))
    try:
        main = program or (lambda: runpy.run_path(str(project.main), run_name="__main__"))
        loop.run_until_complete(run_in_stack(_then_settle(main)))
    except ConfigError:
        raise
    except Exception as error:  # noqa: BLE001 - every failure becomes one clear message
        if mocks.unknown_invokes:
            raise PlanError(str(UnknownInvoke(sorted(set(mocks.unknown_invokes))[0]))) from None
        cause = _root_cause(error)
        if isinstance(cause, ConfigError):
            raise cause from None
        if isinstance(cause, (UnknownInvoke, UnknownStackReference)):
            raise PlanError(str(cause)) from None
        raise PlanError(f"the program failed: {type(cause).__name__}: {cause}") from error
    finally:
        stack_trace.restore()
        collector.restore()
        if added_path:
            sys.path.remove(str(project.root))
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in pending:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_default_executor())
        monitor.close_thread_loops(loop)
        loop.close()
        asyncio.set_event_loop(None)
    if mocks.unknown_invokes:
        raise PlanError(str(UnknownInvoke(sorted(set(mocks.unknown_invokes))[0])))

    stack_urn = f"urn:pulumi:{stack_file.name}::{project.name}::pulumi:pulumi:Stack::{project.name}-{stack_file.name}"
    return ProgramRun(
        project=project.name,
        stack=stack_file.name,
        registrations=monitor.registrations,
        outputs=monitor.outputs_by_urn.get(stack_urn, {}),
        default_providers=dict(monitor.default_providers),
    )


class _without_source_positions:
    """For one run, the SDK sends no source position with a registration.

    Pulumi's SDK walks and converts the whole Python stack (every frame's file to a URI) for each
    resource, so that the engine can point at the line that declared it; the recording monitor
    never reads it, and at a thousand endpoints it was a sixth of the plan. The SDK sends this
    same empty trace when it finds no user frame. Restored after the run (runs nest for stack
    references, each restoring what it found).
    """

    def __init__(self) -> None:
        from pulumi.runtime import resource as sdk_resource
        from pulumi.runtime.proto import source_pb2

        self._module = sdk_resource
        self._saved = getattr(sdk_resource, "_get_stack_trace", None)
        if self._saved is not None:
            sdk_resource._get_stack_trace = source_pb2.StackTrace

    def restore(self) -> None:
        if self._saved is not None:
            self._module._get_stack_trace = self._saved


class _no_collections:
    """For one run, the cyclic garbage collector is off (its state is restored afterwards).

    A run creates hundreds of thousands of objects that live until it ends (outputs, futures,
    registrations), and nearly all of them are still alive when it ends: the collector only
    re-traverses them. With Python's default thresholds that was a third of a 1000-endpoint
    plan (6.6 s of 18.7 s); with raised thresholds still 3.3 s of 14.8 s (491 young, 34 middle,
    3 full collections), against 0.1 s with the collector off. The price is memory: the cycles a
    run leaves wait for the next collection after it (the bench's peak at a thousand endpoints
    went from 404 to 415 MiB). Runs nest for stack references; each restores what it found.
    """

    def __init__(self) -> None:
        self._was_enabled = gc.isenabled()
        gc.disable()

    def restore(self) -> None:
        if self._was_enabled:
            gc.enable()


def _then_settle(main: Callable[[], Any]) -> Callable[[], Any]:
    """``main``, then a wait for everything it left outstanding, in bulk.

    Pulumi's own final wait (``wait_for_rpcs``) takes the outstanding outputs one completion at a
    time, re-arming a wait on all of them each time: quadratic in the outputs of the program, which
    at a thousand endpoints cost more than running the program itself. Waiting for all of them at
    once leaves it nothing to do. A failed RPC or output stays where Pulumi looks for it, so its
    error is raised exactly as before.
    """
    from inspect import isawaitable

    from pulumi.runtime.settings import SETTINGS, _get_rpc_manager

    async def settle() -> None:
        rpc_manager = _get_rpc_manager()
        while True:
            with SETTINGS.lock:
                pending = [t for t in (*rpc_manager.rpcs, *SETTINGS.outputs) if not t.done()]
            if not pending:
                return
            await asyncio.wait(pending)

    async def run() -> None:
        result = main()
        if isawaitable(result):
            await result
        await settle()

    return run


def _root_cause(error: BaseException) -> BaseException:
    seen = set()
    while id(error) not in seen:
        seen.add(id(error))
        nxt = error.__cause__ or error.__context__
        if isinstance(error, (ConfigError, UnknownInvoke, UnknownStackReference)) or nxt is None:
            return error
        error = nxt
    return error
