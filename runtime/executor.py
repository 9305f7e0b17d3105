"""The Executor: a ready queue of tasks, each polled when woken (SPEC §3).

Tasks, their state word and its transitions are runtime.task; this module polls them. Some
facts the code below relies on:

- The loop makes the state word's executor-side transitions inline (SCHEDULED -> RUNNING ->
  IDLE, SCHEDULED, CANCELLED or DONE; see runtime.task's table): it runs once per poll, and a
  call per transition would cost more than the rest of the loop.
- Wakes and aborts from other threads arrive in ``_remote`` and ``_aborts`` and are replayed
  on the executor's thread (runtime.task's facts).
- Parking is a Dekker handshake under the GIL's sequential consistency: the executor publishes
  ``_parked`` and then looks at ``_remote``; a waker appends to ``_remote`` and then reads
  ``_parked``. One of them sees the other, so a parked executor is always unparked.
- One thread at a time drives the shared reactor (``driver_lock``). An executor with nothing
  to run takes the driver and sleeps in ``epoll_wait``; if another thread holds it, it parks on
  its condition variable after announcing itself in ``idle_executors``. Whoever releases the
  driver while someone is parked there hands it over (unparks one), so IO and timers always
  have a thread waiting on them.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import threading
import weakref
from collections import deque
from collections.abc import Callable
from itertools import repeat
from threading import get_ident
from typing import Any, TypeVar

from runtime import task as _task
from runtime.future import PENDING, Future, Ready
from runtime.reactor import Reactor, reactor
from runtime.task import (
    CANCELLED,
    DONE,
    FAILED,
    IDLE,
    JOINED_FAILED,
    NO_WAKER,
    NOTIFIED,
    RUNNING,
    SCHEDULED,
    CancelledError,
    Task,
    UnjoinedTask,
)

# Executor park states.
_RUNNING = 0
_DRIVING = 1  # holds the driver, maybe inside epoll_wait: unpark by notifying the reactor
_PARKED = 2  # waiting on its condition variable

_EVENT_INTERVAL = 61  # polls between two non-blocking looks at IO and timers (tokio's number)


# runtime.instrument's tools; an executor started while any is installed (or under
# RUNTIME_TRACE) reports its tasks through `observe`, which runtime.tracing puts here when
# imported: this module never imports it (runtime imports it at once under RUNTIME_TRACE).
instruments: list[Any] = []
TRACE = os.environ.get("RUNTIME_TRACE", "") not in ("", "0")
observe: Callable[[Executor], None] | None = None


class _Local(threading.local):
    executor: Executor | None = None  # the executor running on this thread
    holding_ctrl_c = False  # opening or releasing the reactor: Ctrl-C waits (see run())
    interrupted = False  # a Ctrl-C came while held


_local = _Local()
_executors: weakref.WeakSet[Executor] = weakref.WeakSet()

T = TypeVar("T")


class Executor:
    """Runs tasks on the thread that calls ``block_on``; several may share one reactor."""

    __slots__ = (
        "__weakref__",
        "_aborts",
        "_cond",
        "_live",
        "_mutex",
        "_parked",
        "_reactor",
        "_ready",
        "_remote",
        "_running",
        "_thread",
    )

    def __init__(self) -> None:
        self._ready: deque[Task] = deque()
        self._remote: deque[Task] = deque()  # wakes from other threads, to replay here
        self._aborts: deque[Task] = deque()  # abort() from other threads, to replay here
        # Tasks that parked (answered PENDING) and have not finished. With the two queues and
        # the running task that is every unfinished task; a task that finishes in its first
        # poll, the common case, never pays for an entry here.
        self._live: dict[Task, None] = {}
        self._running: Task | None = None
        self._thread = get_ident()
        self._parked = _RUNNING
        self._mutex = threading.Lock()
        self._cond = threading.Condition(self._mutex)
        self._reactor: Reactor | None = None
        _executors.add(self)

    def spawn(self, future: Future[T]) -> Task[T]:
        """Schedule ``future`` as a task of this executor; safe from any thread."""
        if not isinstance(future, Future):
            raise TypeError(f"spawn() needs a runtime.Future, got {type(future).__qualname__}")
        task = Task(future, self)
        if self._thread == get_ident():
            self._ready.append(task)
        else:
            task._state = IDLE
            task.wake()
        return task

    def block_on(self, future: Future[T]) -> T:
        """Run until ``future`` completes (spawned tasks run meanwhile); return its value."""
        if _local.executor is not None:
            raise RuntimeError(
                "block_on() called from inside a running task; use spawn() or wait() instead"
            )
        _local.holding_ctrl_c = True  # first, with no call before it: see run()
        try:
            self._enter_reactor()  # may open the reactor's fds
        finally:
            _let_ctrl_c()
        self._thread = get_ident()
        _local.executor = self
        if (instruments or TRACE) and observe is not None:  # once per block_on: free when off
            observe(self)
        try:
            root = self.spawn(future)
            root._joiner = NO_WAKER
            self._run_until(root)
        finally:
            self._leave()
        if root._state == DONE:
            return root._result
        if root._state == CANCELLED:
            raise CancelledError("the future given to block_on() was aborted")
        root._state = JOINED_FAILED
        raise root._result

    def _enter_reactor(self) -> None:
        """Use the shared Reactor, counted as one of its users (``_leave`` undoes it).

        ``_reactor`` is stored before the count, so an interrupt between the two leaves no
        user behind that ``_leave`` would not remove (``Reactor.exit`` of an executor never
        counted does nothing). Looping covers a ``run()`` on another thread closing the
        reactor between the lookup and the count.
        """
        while True:
            self._reactor = shared = reactor()
            if shared.enter(self):
                return

    def _leave(self) -> None:
        """Stop using this thread and the reactor; idempotent (``run`` calls it again)."""
        if _local.executor is self:
            _local.executor = None
        self._parked = _RUNNING
        shared = self._reactor
        if shared is not None:
            self._hand_off(shared)
            shared.exit(self)

    def _report_unjoined(self) -> None:
        """Print each of this executor's failed tasks nobody joined, once; they count as joined.

        Called by ``run()`` as it ends: tasks whose handles died are reported by the garbage
        collection here, and those an escaping exception still holds are found among the
        objects that refer to this executor (only on this failure path: it scans the heap).
        """
        gc.collect()
        for referrer in gc.get_referrers(self):
            if type(referrer) is UnjoinedTask:
                referrer.report()

    def unfinished(self) -> list[Task]:
        """This executor's tasks that have not finished."""
        running = [self._running] if self._running is not None else []
        tasks = dict.fromkeys([*running, *self._live, *self._ready, *self._remote])
        return [task for task in tasks if task._state < DONE]

    def close(self) -> None:
        """Close every unfinished task (their ``finally`` blocks run)."""
        previous = _local.executor
        _local.executor = self  # finally blocks may spawn or look up the executor
        try:
            while tasks := self.unfinished():
                for task in tasks:
                    if task._state < DONE:
                        task._cancel()
        finally:
            _local.executor = previous
        self._ready.clear()
        self._remote.clear()
        self._aborts.clear()

    # -- the loop ------------------------------------------------------------------------

    def _run_until(self, root: Task) -> None:
        ready = self._ready
        remote = self._remote
        popleft = ready.popleft
        append = ready.append
        live = self._live
        live_pop = live.pop
        since_io = 0
        task = None
        aborts = self._aborts
        while root._state < DONE:
            while remote:
                remote.popleft()._wake_here()
            while aborts:
                aborted = aborts.popleft()
                if aborted._state < DONE:
                    aborted._cancel()
            n = len(ready)
            if not n:
                self._park()
                since_io = 0
                continue
            since_io += n
            for _ in repeat(None, n):
                task = popleft()
                if task._state != SCHEDULED:
                    continue  # cancelled while queued
                task._state = RUNNING  # this loop's transitions: runtime.task's table
                self._running = task
                future = task.future
                try:
                    result = future.poll(task)
                except (KeyboardInterrupt, SystemExit):
                    # Leave the loop; run() closes the rest, this task too: it stays RUNNING
                    # in self._running. A Ctrl-C's handler may run just after a poll returned,
                    # with the future suspended at a wait, so only close() ends it for sure
                    # (it does nothing to a future that finished by raising this itself).
                    raise
                except BaseException as exc:
                    # GeneratorExit and other BaseExceptions too: they fail this task alone.
                    task._finish(FAILED, exc)
                    continue
                if result is PENDING:
                    live[task] = None
                    state = task._state
                    if state == RUNNING:
                        task._state = IDLE
                    elif state == NOTIFIED:  # woken during its own poll
                        task._state = SCHEDULED
                        append(task)
                    else:  # ABORTING: aborted during its own poll
                        task._cancel()
                elif type(result) is Ready:
                    # Task._finish(DONE, result), inlined: this runs once per task.
                    task._state = DONE
                    task._result = result.value
                    task.future = None
                    live_pop(task, None)
                    joiner = task._joiner
                    if joiner is not None:
                        task._joiner = None
                        joiner.wake()
                else:
                    task._finish(
                        FAILED,
                        TypeError(
                            f"{type(future).__qualname__}.poll() returned {result!r}; "
                            "it must return runtime.Ready(value) or runtime.PENDING"
                        ),
                    )
            if since_io >= _EVENT_INTERVAL and ready:
                # Tasks stay busy: look at IO and timers anyway, without blocking.
                since_io = 0
                shared = self._reactor
                if (shared.timer_ticks or shared.sources) and shared.driver_lock.acquire(False):
                    try:
                        shared.turn(False)
                    finally:
                        shared.driver_lock.release()
                    if shared.idle_executors:
                        # One may have parked while we held the driver: let it wait in epoll.
                        self._hand_off(shared)
        task = self._running = None  # a failed task must not outlive its handle here

    def _park(self) -> None:
        """Wait until there is something to run: drive the reactor, or sleep until unparked."""
        shared = self._reactor
        driver = shared.driver_lock
        remote, aborts = self._remote, self._aborts
        while True:
            if driver.acquire(False):
                try:
                    self._parked = _DRIVING  # publish, then look (the Dekker handshake)
                    shared.turn(not (remote or aborts))
                finally:
                    self._parked = _RUNNING
                    driver.release()
                if shared.idle_executors and (self._ready or remote or aborts):
                    self._hand_off(shared)  # we go run tasks: someone else should drive
                return
            with self._mutex:
                self._parked = _PARKED  # publish, then look
                if remote or aborts:
                    self._parked = _RUNNING
                    return
                shared.idle_executors[self] = None
                # Announced ourselves: if the driver was released meanwhile, its releaser
                # may have missed us, so only sleep while it is still held.
                if driver.locked():
                    self._cond.wait()
                self._parked = _RUNNING
                shared.idle_executors.pop(self, None)
            if remote or aborts:
                return

    def _unpark(self) -> None:
        parked = self._parked
        if parked == _DRIVING:
            self._reactor.notify()
        elif parked == _PARKED:
            with self._mutex:
                if self._parked == _PARKED:
                    self._parked = _RUNNING
                    self._cond.notify()

    @staticmethod
    def _hand_off(shared: Reactor) -> None:
        """Unpark one executor waiting for the driver, so it takes over epoll."""
        for waiting in list(shared.idle_executors):
            waiting._unpark()
            return

    def __repr__(self) -> str:
        return f"<Executor {len(self._live)} live tasks, {len(self._ready)} ready>"


def current_executor() -> Executor:
    """The executor running on this thread; RuntimeError outside ``block_on``/``run``."""
    executor = _local.executor
    if executor is None:
        raise RuntimeError(
            "no executor is running on this thread: call spawn() from inside a task "
            "started by runtime.run() or Executor.block_on()"
        )
    return executor


def spawn(future: Future[T]) -> Task[T]:
    """Spawn ``future`` on the current thread's executor; returns its JoinHandle."""
    executor = _local.executor
    if executor is None:
        current_executor()  # raises the explanatory RuntimeError
    if not isinstance(future, Future):
        raise TypeError(f"spawn() needs a runtime.Future, got {type(future).__qualname__}")
    # Executor.spawn for the executor's own thread, with Task.__init__ spelled out: this
    # runs once per task, and skipping the __init__ frame saves ~100 ns of ~400.
    task = _new_task(Task)
    task.future = future
    task._kind = type(future)
    task._state = SCHEDULED
    task._executor = executor
    task._result = None
    task._joiner = None
    executor._ready.append(task)
    return task


_new_task = object.__new__


def run(future: Future[T]) -> T:
    """Run ``future`` to completion on a new executor on the shared reactor.

    Afterwards closes the tasks still pending (their ``finally`` blocks run), reports the
    failed tasks nobody joined, and releases every fd the runtime opened, also when
    interrupted (KeyboardInterrupt).

    Facts about Ctrl-C the release depends on: CPython runs a Python signal handler only at
    certain instructions (a function's entry, a loop's back edge, after a call into C), never
    between the first instructions of a ``try`` or ``finally`` block and its first call. A
    KeyboardInterrupt raised just after ``os.close`` or ``epoll_create`` returned would lose
    track of an fd. So ``run()`` installs its own SIGINT handler (in place of Python's default
    one, on the main thread only), and code that opens or releases the reactor sets a
    thread-local flag with a plain store before its first call; while it is set the handler
    holds the interrupt back, and ``_let_ctrl_c`` raises it once the fds are accounted for.
    A Ctrl-C while pending tasks are closed still interrupts them: a ``finally`` block that
    hangs must not make the program deaf to Ctrl-C.
    """
    _refuse_inside_asyncio()
    failures_before = _task.unjoined_failures
    executor = Executor()
    try:
        _take_sigint()
        try:
            return executor.block_on(future)
        finally:
            try:
                executor.close()
            finally:
                if _task.unjoined_failures != failures_before:
                    executor._report_unjoined()
    finally:
        _local.holding_ctrl_c = True  # first, with no call before it: see the facts above
        _release(executor)


def _on_sigint(signum: int, frame: Any) -> None:
    """SIGINT while ``run()`` is running: KeyboardInterrupt, held back while it releases."""
    if _local.holding_ctrl_c:
        _local.interrupted = True
        return
    signal.default_int_handler(signum, frame)  # raises KeyboardInterrupt


def _take_sigint() -> None:
    """Put ``_on_sigint`` in place of Python's default SIGINT handler (main thread only)."""
    if get_ident() != _MAIN_THREAD:
        return  # only the main thread runs Python's signal handlers
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _on_sigint)


def _release(executor: Executor) -> None:
    """Give back the reactor's fds and the blocking pool's threads; then raise a held Ctrl-C.

    Every step is idempotent: ``block_on``'s own clean-up may have been cut short.
    """
    from runtime import blocking

    try:
        executor._leave()
        shared = executor._reactor
        if shared is not None:
            shared.close_when_idle()
        blocking.shutdown()
        bridge = sys.modules.get("runtime.asyncio_bridge")
        if bridge is not None:
            bridge.shutdown()  # the background asyncio loop from_asyncio started, if any
    finally:
        if get_ident() == _MAIN_THREAD and signal.getsignal(signal.SIGINT) is _on_sigint:
            signal.signal(signal.SIGINT, signal.default_int_handler)
        _let_ctrl_c()


def _let_ctrl_c() -> None:
    """End holding Ctrl-C back; raise the KeyboardInterrupt held meanwhile, if any."""
    _local.holding_ctrl_c = False
    if _local.interrupted:
        _local.interrupted = False
        raise KeyboardInterrupt


_MAIN_THREAD = threading.main_thread().ident


def _refuse_inside_asyncio() -> None:
    """run() blocks its thread: inside a running asyncio loop it would freeze that loop."""
    asyncio = sys.modules.get("asyncio")  # not imported here: a program without it pays nothing
    if asyncio is not None and asyncio._get_running_loop() is not None:
        raise RuntimeError(
            "runtime.run() cannot be called from inside a running asyncio event loop (it would "
            "block the loop); from asyncio code use `await runtime.to_asyncio(future)`"
        )


def live_tasks() -> list[Task]:
    """Every unfinished task on every executor."""
    return [task for executor in list(_executors) for task in executor.unfinished()]
