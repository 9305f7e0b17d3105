"""runtime — the reactor-executor runtime corofy's state machines run on (SPEC §3)."""

import importlib
from typing import TYPE_CHECKING, Any

# Generated code looks for this name to know the `runtime` it imported is this one, not a
# module of the user's that shadows it (SPEC §3); the number is its import contract's version.
__corofy_runtime__ = 8

from runtime import executor as _executor
from runtime.blocking import spawn_blocking
from runtime.combinators import join_all, select, sleep, timeout
from runtime.executor import Executor, live_tasks, run, spawn
from runtime.future import PENDING, Future, Pending, Ready, Waker
from runtime.task import CancelledError, JoinHandle, Task

if TYPE_CHECKING:  # imported on first use at run time (see __getattr__); typed for checkers
    from runtime.asyncio_bridge import from_asyncio, to_asyncio
    from runtime.tracing import dump_tasks, instrument

__all__ = [
    "PENDING",
    "CancelledError",
    "Executor",
    "Future",
    "JoinHandle",
    "Pending",
    "Ready",
    "Task",
    "Waker",
    "dump_tasks",
    "from_asyncio",
    "instrument",
    "join_all",
    "live_tasks",
    "run",
    "select",
    "sleep",
    "spawn",
    "spawn_blocking",
    "timeout",
    "to_asyncio",
]


def __getattr__(name: str) -> Any:
    if name in ("dump_tasks", "instrument"):
        # runtime.tracing (SPEC §6) is imported on first use: most programs never dump tasks.
        from runtime import tracing

        return getattr(tracing, name)
    if name in ("from_asyncio", "to_asyncio"):
        # The asyncio bridge imports asyncio: only programs that use it pay for that.
        from runtime import asyncio_bridge

        return getattr(asyncio_bridge, name)
    raise AttributeError(f"module 'runtime' has no attribute {name!r}")


def _excepthook(exc_type: Any, exc: Any, tb: Any) -> None:
    # Uncaught tracebacks through corofy-generated code name the user's file and line (SPEC §6);
    # runtime.debug is imported only when one reaches the top. A program's own hook is kept.
    from runtime.debug import excepthook

    excepthook(exc_type, exc, tb)


def _thread_excepthook(args: Any) -> None:
    # The same for an executor running on a thread of its own (d-multiple-threads).
    from runtime.debug import thread_excepthook

    thread_excepthook(args)


def _install_excepthook() -> None:
    import sys  # not a module-level name: runtime._sys is the epoll binding
    import threading

    if sys.excepthook is sys.__excepthook__:
        sys.excepthook = _excepthook
    if threading.excepthook is threading.__excepthook__:
        threading.excepthook = _thread_excepthook


_install_excepthook()

if _executor.TRACE:
    # RUNTIME_TRACE=1 (SPEC §6): runtime.tracing puts its observer in runtime.executor, which
    # calls it from the first block_on on (the executor never imports runtime.tracing).
    importlib.import_module("runtime.tracing")
