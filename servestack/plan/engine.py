"""Run the real Pulumi program in-process under the mock runtime and record what it declares.

The program (``__main__.py``) runs exactly as ``pulumi up`` would run it, except that every
call to the engine goes to :class:`~servestack.plan.monitor.RecordingMonitor`: it records each
resource registration and answers with the deterministic outputs of :mod:`servestack.plan.mocks`.
Each run gets a fresh ``contextvars.Context`` and event loop, so runs never share Pulumi state.

This module orchestrates a run through public SDK API only; the engine's other jobs have their
own modules: :mod:`.wire` (wire-format conversion), :mod:`.monitor` (the recording monitor),
:mod:`.speedups` (what keeps large runs fast).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import runpy
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from components.config.base import ConfigError
from components.config.stack import REGION_KEY

from .mocks import MockContext, PlanMocks, UnknownInvoke, UnknownStackReference
from .monitor import RecordingMonitor, Registration
from .project import Project, ProjectError, StackFile
from .speedups import no_collections, then_settle, without_source_positions


class PlanError(Exception):
    """The program could not be planned (not a config problem: those raise ConfigError)."""


@dataclass
class ProgramRun:
    project: str
    stack: str
    registrations: list[Registration]
    outputs: dict[str, Any]
    default_providers: dict[str, str] = field(default_factory=dict)


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
    failed = threading.Event()
    loop.set_exception_handler(lambda loop_, context: _quiet_after_failure(failed, loop_, context))
    stack_trace = without_source_positions()
    collector = no_collections()
    added_path = str(project.root) not in sys.path
    if added_path:
        sys.path.insert(0, str(project.root))
    try:
        main = program or (lambda: runpy.run_path(str(project.main), run_name="__main__"))
        loop.run_until_complete(run_in_stack(then_settle(main)))
    except ConfigError:
        failed.set()
        raise
    except Exception as error:  # noqa: BLE001 - every failure becomes one clear message
        failed.set()
        if mocks.unknown_invokes:
            raise PlanError(str(UnknownInvoke(sorted(set(mocks.unknown_invokes))[0]))) from None
        cause = _root_cause(error)
        if isinstance(cause, (ConfigError, ProjectError, PlanError)):
            raise cause from None  # a referenced stack's own problem, said once as it was said
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


#: asyncio's messages for a future or task whose exception nobody awaited.
UNRETRIEVED = ("Future exception was never retrieved", "Task exception was never retrieved")


def _quiet_after_failure(failed: threading.Event, loop: asyncio.AbstractEventLoop, context: dict) -> None:
    """The plan loop's exception handler. When the program failed, the failure is reported once, as
    one line: the outputs that carried it and were never awaited (Pulumi resolves every output of a
    failed resource with the error) would each print "Future exception was never retrieved" with a
    traceback when collected; those are dropped. Anything else goes to asyncio's default handler."""
    if failed.is_set() and context.get("message") in UNRETRIEVED:
        return
    loop.default_exception_handler(context)


def _root_cause(error: BaseException) -> BaseException:
    seen = set()
    while id(error) not in seen:
        seen.add(id(error))
        nxt = error.__cause__ or error.__context__
        if isinstance(error, (ConfigError, ProjectError, PlanError, UnknownInvoke, UnknownStackReference)) or nxt is None:
            return error
        error = nxt
    return error
