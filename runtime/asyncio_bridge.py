"""asyncio, both ways (SPEC §3): ``from_asyncio`` and ``to_asyncio``.

The design: each loop keeps its own thread, and the two cross by thread-safe wakes. Neither
loop is stepped from inside the other, so neither needs the other's internals, and each
sleeps in its own poller when idle (no busy polling); docs/internals.md says why this over
hosting one loop in the other.

- ``from_asyncio(aw)`` (corofy waits on asyncio): the awaitable runs as an asyncio task on
  *its* loop: the loop of an asyncio Future given, else the loop whose ``to_asyncio`` started
  this corofy code (asyncio streams belong to the loop that made them), else a background
  asyncio loop on a thread of its own, started on first use and stopped at the end of
  ``runtime.run()``. The task's done-callback (on the asyncio thread) calls the most recent
  waker, which is safe from any thread. ``close()`` cancels the task.
- ``to_asyncio(fut)`` (asyncio awaits corofy): the future runs as a task of a corofy Executor
  on a thread serving that asyncio loop, started on the loop's first ``to_asyncio``. The task
  reports its outcome with ``loop.call_soon_threadsafe``. Cancelling the awaiting asyncio
  task aborts the corofy task (its ``finally`` blocks run). The serving thread stops when the
  loop's leftover tasks are cancelled, as ``asyncio.run()`` does as it ends: a keeper task
  waits for that, so no thread or fd outlives ``asyncio.run()``.

Facts: asyncio objects are not thread-safe, so everything that touches the asyncio task runs
on its loop's thread, reached by ``loop.call_soon_threadsafe``; a done-callback runs on that
thread too. asyncio's CancelledError is a BaseException, which would end a
corofy ``run()``: an asyncio task cancelled from its own side reaches corofy code as
``runtime.CancelledError``.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Generator
from typing import Any, Generic, TypeVar

from runtime.executor import Executor, current_executor
from runtime.future import PENDING, Future, Ready
from runtime.task import CancelledError, Task

T = TypeVar("T")

__all__ = ["from_asyncio", "to_asyncio"]


class _Local(threading.local):
    loop: asyncio.AbstractEventLoop | None = None  # the asyncio loop a serving thread serves


_local = _Local()


async def _await(awaitable: Awaitable[T]) -> T:
    return await awaitable


class FromAsyncio(Future[T]):
    """A corofy Future of an asyncio awaitable's result; see ``from_asyncio``.

    Its life: CREATED (``_task`` None, ``_loop`` None) -> STARTING (``_loop`` set: the task
    is being made on the loop's thread) -> RUNNING (``_task`` set) -> DONE (``_done`` set by
    the task's done-callback, then the waker is called). Only the loop's thread touches the
    asyncio task while it runs; the corofy side reads it only once ``_done`` is set, when
    asyncio no longer changes it.
    """

    __slots__ = ("_awaitable", "_closed", "_done", "_loop", "_task", "_waker")

    def __init__(self, awaitable: Awaitable[T]) -> None:
        if not hasattr(awaitable, "__await__"):
            raise TypeError(
                f"from_asyncio() needs something asyncio can await, got {type(awaitable).__name__}"
            )
        self._awaitable: Awaitable[Any] | None = awaitable
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Future[Any] | None = None
        self._done = False
        self._closed = False
        self._waker: Any = None

    def poll(self, waker: Any) -> Ready | Any:
        self._waker = waker
        if self._done:
            task = self._task
            assert task is not None
            if task.cancelled():
                raise CancelledError("the asyncio side was cancelled")
            exc = task.exception()
            if exc is not None:
                raise exc
            return Ready(task.result())
        if self._loop is None:
            awaitable = self._awaitable
            if awaitable is None:
                raise RuntimeError("cannot poll a from_asyncio() future after it was closed")
            if isinstance(awaitable, asyncio.Future):
                loop = awaitable.get_loop()
            else:
                loop = _local.loop or _background_loop()
            self._loop = loop
            loop.call_soon_threadsafe(self._start)
        return PENDING

    def _start(self) -> None:
        """On the loop's thread: run the awaitable as a task."""
        awaitable, self._awaitable = self._awaitable, None
        if self._closed or awaitable is None:
            return
        task = asyncio.ensure_future(awaitable, loop=self._loop)
        self._task = task
        task.add_done_callback(self._finished)

    def _finished(self, _: Any) -> None:
        """On the loop's thread: the task is done; wake the corofy task waiting on it."""
        self._done = True
        waker = self._waker
        if waker is not None:
            waker.wake()

    def _cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def close(self) -> None:
        """Cancel the asyncio side (its ``finally`` blocks run on its loop)."""
        self._closed = True
        self._waker = None
        loop = self._loop
        if loop is None:
            awaitable, self._awaitable = self._awaitable, None
            if asyncio.iscoroutine(awaitable):
                awaitable.close()  # never started: no "never awaited" warning for it
            return
        if not self._done:
            try:
                loop.call_soon_threadsafe(self._cancel)
            except RuntimeError:
                pass  # the loop is closed: its tasks were cancelled with it


def from_asyncio(awaitable: Awaitable[T]) -> Future[T]:
    """A Future of what ``await awaitable`` gives, for corofy code to ``wait`` on.

    Anything asyncio can await: coroutines (asyncio streams, aiohttp, httpx), tasks, futures.
    Exceptions cross with their type; closing the Future cancels the asyncio side.
    """
    return FromAsyncio(awaitable)


# -- corofy code awaited from asyncio ------------------------------------------------------


class _Report(Future):
    """The corofy task ``to_asyncio`` runs: polls the future, posts its outcome to asyncio."""

    __slots__ = ("_future", "_loop", "_target")

    def __init__(self, future: Future, target: asyncio.Future[Any]) -> None:
        self._future = future
        self._target = target
        self._loop = target.get_loop()

    def poll(self, waker: Any) -> Ready | Any:
        try:
            answer = self._future.poll(waker)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:
            self._post(_set_exception, exc)
            return Ready(None)
        if answer is PENDING:
            return PENDING
        self._post(_set_result, answer.value)
        return Ready(None)

    def _post(self, setter: Any, value: Any) -> None:
        try:
            self._loop.call_soon_threadsafe(setter, self._target, value)
        except RuntimeError:
            pass  # the loop closed meanwhile: nobody is waiting any more

    def close(self) -> None:
        close = getattr(self._future, "close", None)
        if close is not None:
            close()

    # What tools see through (runtime.tracing, dump_tasks): the corofy future it runs.
    @property
    def _awaiting(self) -> Future:
        return self._future

    def _waiting_on(self) -> list[Future]:
        return [self._future]


def _set_result(target: asyncio.Future[Any], value: Any) -> None:
    if not target.done():
        target.set_result(value)


def _set_exception(target: asyncio.Future[Any], exc: BaseException) -> None:
    if not target.done():
        target.set_exception(exc)


class _Serving(Future):
    """The root of a serving thread's executor: pending until ``stop()``."""

    __slots__ = ("executor", "started", "stopping", "waker")

    def __init__(self) -> None:
        self.started = threading.Event()
        self.stopping = False
        self.waker: Any = None
        self.executor: Executor | None = None

    def poll(self, waker: Any) -> Ready | Any:
        self.waker = waker
        if self.executor is None:
            self.executor = current_executor()
            self.started.set()
        return Ready(None) if self.stopping else PENDING

    def stop(self) -> None:
        self.stopping = True
        if self.waker is not None:
            self.waker.wake()


class _CorofyThread:
    """A corofy executor on a thread of its own, serving one asyncio loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.root = _Serving()
        self.keeper: asyncio.Task[None] | None = None  # held: the loop keeps tasks weakly
        self.thread = threading.Thread(target=self._main, name="corofy-for-asyncio", daemon=True)
        self.thread.start()
        self.root.started.wait()

    def _main(self) -> None:
        from runtime.executor import run

        _local.loop = self.loop
        run(self.root)

    def spawn(self, future: Future, target: asyncio.Future[Any]) -> Task:
        executor = self.root.executor
        assert executor is not None
        return executor.spawn(_Report(future, target))

    def stop(self) -> None:
        self.root.stop()
        self.thread.join()


_serving: dict[asyncio.AbstractEventLoop, _CorofyThread] = {}
_serving_lock = threading.Lock()


async def _keeper(loop: asyncio.AbstractEventLoop, serving: _CorofyThread) -> None:
    """Waits until the loop cancels its leftover tasks (``asyncio.run`` does as it ends)."""
    try:
        await loop.create_future()
    finally:
        with _serving_lock:
            _serving.pop(loop, None)
        serving.stop()


def _serving_thread(loop: asyncio.AbstractEventLoop) -> _CorofyThread:
    with _serving_lock:
        serving = _serving.get(loop)
        if serving is None or not serving.thread.is_alive():
            serving = _serving[loop] = _CorofyThread(loop)
            serving.keeper = loop.create_task(_keeper(loop, serving), name="corofy-bridge")
    return serving


class ToAsyncio(Generic[T]):
    """An awaitable of a corofy Future's value, for asyncio code; see ``to_asyncio``."""

    __slots__ = ("_future",)

    def __init__(self, future: Future[T]) -> None:
        if not isinstance(future, Future):
            raise TypeError(f"to_asyncio() needs a runtime.Future, got {type(future).__name__}")
        self._future = future

    def __await__(self) -> Generator[Any, None, T]:
        return self._run().__await__()

    async def _run(self) -> T:
        loop = asyncio.get_running_loop()
        target = loop.create_future()
        task = _serving_thread(loop).spawn(self._future, target)
        try:
            return await target
        except asyncio.CancelledError:
            task.abort()  # closes the corofy future on its thread: its finally blocks run
            raise


def to_asyncio(future: Future[T]) -> ToAsyncio[T]:
    """An awaitable asyncio code can ``await`` or ``gather``: runs ``future`` on corofy's runtime.

    Exceptions cross with their type; cancelling the awaiting asyncio task closes the future.
    """
    return ToAsyncio(future)


# -- the background asyncio loop -----------------------------------------------------------


class _AsyncioThread:
    """An asyncio loop on a thread of its own, for corofy code run by ``runtime.run``."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._main, name="asyncio-for-corofy", daemon=True)
        self.thread.start()

    def _main(self) -> None:
        loop = self.loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
            tasks = asyncio.all_tasks(loop)
            for task in tasks:
                task.cancel()
            if tasks:
                loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            asyncio.set_event_loop(None)
            loop.close()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()


_background: _AsyncioThread | None = None
_background_lock = threading.Lock()


def _background_loop() -> asyncio.AbstractEventLoop:
    global _background
    with _background_lock:
        if _background is None:
            _background = _AsyncioThread()
        return _background.loop


def shutdown() -> None:
    """Stop the background asyncio loop and its thread (``runtime.run`` calls this as it ends)."""
    global _background
    if _local.loop is not None:
        return  # a serving thread's run() ending: the background loop is not its to stop
    with _background_lock:
        background, _background = _background, None
    if background is not None:
        background.stop()
