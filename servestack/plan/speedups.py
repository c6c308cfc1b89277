"""What makes a run fast at a thousand endpoints without changing what it records: the garbage
collector off, no source positions, and one bulk wait at the end instead of Pulumi's quadratic one.

Each is a workaround for a cost of Pulumi's SDK that the offline plan does not need, measured in
docs/benchmarks.md. One of the two files of the plan engine that use private Pulumi SDK names
(the other is :mod:`servestack.plan.monitor`); each use says why. If a Pulumi release renames one,
the run stays correct and only pays the cost again (or, for the final wait, fails loudly in every
plan test).
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable
from inspect import isawaitable
from typing import Any


class without_source_positions:
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
        # Private SDK: _get_stack_trace is the one place the SDK builds the trace and there is no
        # setting that turns it off. If a release renames it, nothing is replaced (getattr).
        self._saved = getattr(sdk_resource, "_get_stack_trace", None)
        if self._saved is not None:
            sdk_resource._get_stack_trace = source_pb2.StackTrace

    def restore(self) -> None:
        if self._saved is not None:
            self._module._get_stack_trace = self._saved


class no_collections:
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


def then_settle(main: Callable[[], Any]) -> Callable[[], Any]:
    """``main``, then a wait for everything it left outstanding, in bulk.

    Pulumi's own final wait (``wait_for_rpcs``) takes the outstanding outputs one completion at a
    time, re-arming a wait on all of them each time: quadratic in the outputs of the program, which
    at a thousand endpoints cost more than running the program itself. Waiting for all of them at
    once leaves it nothing to do. A failed RPC or output stays where Pulumi looks for it, so its
    error is raised exactly as before.
    """
    # Private SDK: _get_rpc_manager is how the SDK's own wait_for_rpcs finds the outstanding RPCs
    # (SETTINGS.outputs holds the outstanding outputs); there is no public accessor for either.
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
