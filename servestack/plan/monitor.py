"""The recording monitor: Pulumi's mock monitor, answering from :mod:`servestack.plan.mocks`, that
also records every resource registration (type, parent, provider, dependencies, options, inputs).

One of the two files of the plan engine that use private Pulumi SDK functions (the other is
:mod:`servestack.plan.speedups`); each use says why there is no public way. They match what
``pulumi.runtime.mocks.MockMonitor`` itself calls, so a Pulumi release that changes them changes
its own mock monitor too; the tests of this module compare against that monitor.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor, MockResourceArgs
# Private: MockMonitor.RegisterResource passes the program's transforms to the mocks through this
# lookup of callback tokens; the SDK has no public one, and the fast path must pass the same args.
from pulumi.runtime.mocks import _resolve_callbacks
from pulumi.runtime.proto import resource_pb2
# Private: the thread's event loop as MockMonitor makes it (_ensure_event_loop), and the SDK's
# blocking wait on a coroutine inside a possibly running loop (_sync_await); see their uses.
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from .mocks import PlanMocks
from .wire import UNKNOWN, NotPlain, as_deserialized, is_plain, plain_struct, recorded, struct_to_plain, struct_to_python, to_plain


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
        # Private SDK: _ensure_event_loop returns the very loop MockMonitor made for this thread
        # (or makes the one it would); asyncio has no public call that does both.
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
            raw = struct_to_python(request.object, special)
        except NotPlain:
            raw, special = None, [True]
        if special[0]:
            # Secrets, resource references, assets, unknowns: Pulumi's mock monitor (de)serializes them.
            response = super().RegisterResource(request)
            self._note_thread_loop()
            inputs = struct_to_plain(request.object)
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
            inputs=as_deserialized(raw),
            provider=request.provider,
            resource_id=request.importId,
            custom=request.custom or False,
            # Private SDK: the transforms exactly as MockMonitor.RegisterResource resolves them.
            transforms=_resolve_callbacks(request.transforms),
        )
        # This runs in an executor thread beside the program (the critical path). Pulumi's async
        # serializer let the program's thread in at every event-loop step; this direct pass would
        # hold the interpreter lock throughout, so it hands it over between its steps.
        time.sleep(0)
        id_, state = self.mocks.new_resource(resource_args)
        time.sleep(0)
        # Private SDK (_sync_await): a state with secrets or resources is serialized exactly as
        # MockMonitor does it, on this thread's loop; asyncio.run would make and close a new loop
        # per resource and cannot run inside a loop that is already running.
        obj_proto = plain_struct(state) if is_plain(state) else _sync_await(rpc.serialize_properties(state, {}))
        self.resources[urn] = MockMonitor.ResourceRegistration(urn, id_, state)
        return resource_pb2.RegisterResourceResponse(urn=urn, id=id_, object=obj_proto)

    def RegisterResourceOutputs(self, request):
        with self._lock:
            self.outputs_by_urn[request.urn] = recorded(request.outputs)
        return super().RegisterResourceOutputs(request)
