"""A task: a spawned future, its state word, and the transitions that guard the wake race.

A spawned future becomes a ``Task``. The task is its own waker (its ``wake()`` puts it back on
its executor's ready queue) and its own join handle (as a Future it resolves to the task's
value), so spawning costs one object. The executor that polls tasks is runtime.executor.

Some facts the state word relies on (it is tokio's task state word, one int here):

- A wake can come at any moment: before the task's first poll, while it sits on the ready
  queue, during its own poll (the future stored the waker and an inner future woke it at
  once), from another thread, or after it finished. Without a state word "woken while being
  polled" is a race: the executor would see PENDING, forget the task, and the wake that came
  meanwhile would be lost. With it, that wake is a transition (RUNNING -> NOTIFIED) that the
  executor reads when the poll returns.
- Only the executor's own thread changes a task's state. A wake from another thread appends
  the task to the executor's ``_remote`` deque (``deque.append`` is atomic under the GIL) and
  unparks the executor, which replays it with ``_wake_here`` on its own thread; an ``abort()``
  from another thread goes through ``_aborts`` the same way. The common case, a wake on the
  executor's thread, costs one ``get_ident()`` and takes no lock.
- The states are ordered: everything ``>= DONE`` is finished, so "finished?" is one compare.
- What a task touches on its executor is its queues and nothing else (``Scheduler`` below).
  They keep their underscores because ``Executor`` is public API; this module and
  runtime.executor are their only users.
- A task is never closed while its poll is on the stack: ``abort()`` from inside its own poll
  only marks it ABORTING, and the executor closes it once the poll returns.

The transitions, and where each is made (the executor's are spelled out inline in its loop,
``Executor._run_until``, which runs once per poll and cannot afford a call per transition):

    new -> SCHEDULED             ``spawn`` queues it (from another thread: IDLE, then a wake)
    IDLE -> SCHEDULED            a wake (``Task.wake``, ``_wake_here``): queued, polled once
    SCHEDULED, NOTIFIED,         a wake does nothing: wakes before the task runs coalesce
      ABORTING
    SCHEDULED -> RUNNING         the executor starts its poll
    RUNNING -> NOTIFIED          a wake during its own poll
    RUNNING -> IDLE              the poll answered PENDING: parked until a wake
    NOTIFIED -> SCHEDULED        the poll answered PENDING after a wake: queued again, the
                                 wake is not lost
    RUNNING, NOTIFIED -> ABORTING  ``abort()`` during its own poll
    ABORTING -> CANCELLED        the poll answered PENDING: the executor closes the future
    IDLE, SCHEDULED -> CANCELLED   ``abort()`` (``_cancel``: the future is closed at once)
    any unfinished -> CANCELLED  ``Executor.close()`` as ``run()`` ends (``_cancel``)
    RUNNING.. -> DONE            the poll answered ``Ready(value)`` (also after an abort
                                 during it: the task finished first)
    RUNNING.. -> FAILED          the poll raised (or closing the future raised)
    FAILED -> JOINED_FAILED      a joiner saw the exception, or it was reported unjoined
    DONE, FAILED, CANCELLED      a wake or an abort does nothing
"""

from __future__ import annotations

import sys
import threading
from collections import deque
from threading import get_ident
from typing import Any, Generic, Protocol, TypeVar

from runtime.future import PENDING, Future, Ready, Waker

# The state word's values; ordered so that ``state >= DONE`` means finished.
IDLE = 0  # parked: waiting for a wake
SCHEDULED = 1  # on the ready queue
RUNNING = 2  # being polled
NOTIFIED = 3  # woken while being polled: goes back on the queue when the poll returns
ABORTING = 4  # aborted while being polled: closed when the poll returns
DONE = 5  # finished with a value
FAILED = 6  # finished with an exception nobody has joined yet
JOINED_FAILED = 7  # finished with an exception a joiner has seen
CANCELLED = 8  # closed by abort() or by the end of run()

STATE_NAMES = (
    "idle",
    "scheduled",
    "running",
    "notified",
    "aborting",
    "done",
    "failed",
    "failed",
    "cancelled",
)

unjoined_failures = 0  # how many tasks failed with nobody joined (run() collects if any)
_report_task_failure: Any = None  # runtime.debug's, imported at the first unjoined failure


class Scheduler(Protocol):
    """What a task touches on its executor (runtime.executor's ``Executor``; see the facts)."""

    _thread: int  # the thread that polls its tasks
    _ready: deque[Task[Any]]
    _remote: deque[Task[Any]]  # wakes from other threads, replayed on ``_thread``
    _aborts: deque[Task[Any]]  # abort() from other threads, replayed on ``_thread``
    _live: dict[Task[Any], None]  # unfinished tasks that parked
    _parked: int  # nonzero: asleep, ``_unpark()`` it after queueing a remote wake

    def _unpark(self) -> None: ...


class CancelledError(Exception):
    """Raised when joining a task that was aborted or closed before it finished."""


class _NoWaker(Waker):
    """A joiner that needs no wake: ``block_on`` checks its root task directly."""

    __slots__ = ()

    def wake(self) -> None:
        pass


NO_WAKER = _NoWaker()  # block_on's root task: its executor checks it directly


class _Joiners(list):
    """Several tasks joining one handle: completion wakes them all."""

    __slots__ = ()

    def wake(self) -> None:
        for waker in self:
            waker.wake()


def _add_joiner(current: Any, waker: Any) -> Any:
    """The joiner slot after ``waker`` joins: one waker, or a _Joiners of distinct ones.

    A task re-polling its join passes the same waker (itself) again, so distinct wakers mean
    distinct joiners, each of which must be woken; a repeat of any of them adds nothing.
    """
    if current is None:
        return waker
    if type(current) is _Joiners:
        if not any(joiner is waker for joiner in current):
            current.append(waker)
        return current
    return _Joiners((current, waker))


_join_lock = threading.Lock()
_READY_NONE = Ready(None)  # most tasks finish with None: their joins share one answer


T = TypeVar("T")


class Task(Future[T], Waker, Generic[T]):
    """A spawned future; its own waker and its own join handle (``JoinHandle``).

    As a Future it resolves to the task's value or raises its exception; any number of
    tasks may join it, and all are woken. ``abort()`` closes the task's future (its
    ``finally`` blocks run) and joining then raises CancelledError. ``close()``, which
    ``select``/``timeout``/``join_all`` call on the futures they give up, only lets go of
    the handle: the task runs on, as a dropped JoinHandle's does in tokio.
    """

    __slots__ = ("_executor", "_joiner", "_kind", "_result", "_state", "future")

    def __init__(self, future: Future[T], executor: Scheduler) -> None:
        self.future = future
        self._kind = type(future)  # `future` is let go when the task ends; its name is not
        self._state = SCHEDULED  # spawn() queues it at once
        self._executor = executor
        self._result: Any = None
        self._joiner: Any = None

    @property
    def name(self) -> str:
        """The future's class and this task's id, as ``dump_tasks`` and tracing print it."""
        return f"{self._kind.__qualname__}-{id(self):x}"

    @property
    def state(self) -> int:
        """The task's state word (scheduled, running, idle, done: see runtime.task)."""
        return self._state

    def done(self) -> bool:
        """True once the task has finished: with a value, an exception, or aborted."""
        return self._state >= DONE

    def wake(self) -> None:
        """Schedule the task to be polled again (from any thread; see ``Waker``)."""
        executor = self._executor
        if executor._thread == get_ident():
            state = self._state
            if state == IDLE:
                self._state = SCHEDULED
                executor._ready.append(self)
            elif state == RUNNING:
                self._state = NOTIFIED
        else:
            executor._remote.append(self)
            if executor._parked:
                executor._unpark()

    def _wake_here(self) -> None:
        """Replay a wake from another thread, on the executor's thread."""
        state = self._state
        if state == IDLE:
            self._state = SCHEDULED
            self._executor._ready.append(self)
        elif state == RUNNING:
            self._state = NOTIFIED

    # -- the join handle -----------------------------------------------------------------

    def poll(self, waker: Any) -> Ready | Any:
        """Join: the task's value (or its exception) once it finished, else PENDING."""
        state = self._state
        if state < DONE:
            if self._joiner is not waker:
                with _join_lock:  # joiners on other threads may register at the same time
                    self._joiner = _add_joiner(self._joiner, waker)
            state = self._state  # it may have finished on another thread meanwhile
            if state < DONE:
                return PENDING
        if state == DONE:
            result = self._result
            return _READY_NONE if result is None else Ready(result)
        if state == CANCELLED:
            raise CancelledError(f"task {self.name} was aborted")
        self._state = JOINED_FAILED
        raise self._result

    def abort(self) -> None:
        """Close the task's future so it never resumes; joining it raises CancelledError."""
        state = self._state
        if state >= DONE:
            return
        executor = self._executor
        if executor._thread == get_ident():
            if state <= SCHEDULED:
                self._cancel()
            else:  # aborting itself from inside its own poll: closed when the poll returns
                self._state = ABORTING
        else:
            executor._aborts.append(self)  # replayed on the executor's thread
            if executor._parked:
                executor._unpark()

    def _cancel(self) -> None:
        future = self.future
        self._state = CANCELLED
        self._executor._live.pop(self, None)
        try:
            future.close()
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:
            self._finish(FAILED, exc)
            return
        self._finish(CANCELLED, None)

    def _finish(self, state: int, result: Any) -> None:
        """Record the outcome (DONE: the value; FAILED: the exception) and wake the joiner.

        The executor inlines the DONE case on its hot path. It stores the value, not the
        future's Ready: a finished task then keeps one GC-tracked object alive, not two, and
        the cyclic GC's cost grows with what stays alive, not with what is freed at once.
        """
        self._state = state
        self._result = result
        self._executor._live.pop(self, None)
        if state != FAILED:
            self.future = None  # release what the finished future held
        joiner = self._joiner
        if joiner is not None:
            self._joiner = None
            joiner.wake()
        elif state == FAILED:
            # Nobody waits on it yet: report the failure if the handle dies unjoined.
            global unjoined_failures, _report_task_failure
            if _report_task_failure is None:  # imported now, never from a finalizer
                from runtime.debug import report_task_failure

                _report_task_failure = report_task_failure
            unjoined_failures += 1
            self.__class__ = UnjoinedTask

    def __repr__(self) -> str:
        return f"<Task {self.name} {STATE_NAMES[self._state]}>"


class UnjoinedTask(Task):
    """A task that failed with nobody joined on it; reports the failure if never joined.

    Switching ``__class__`` on failure keeps ``__del__`` (and its cost) off every other task.
    Facts: the exception's traceback holds the failed ``poll`` frame, whose ``waker`` argument
    is this very task, so the task sits in a reference cycle and dies at the next garbage
    collection, not when its last handle goes. An exception leaving ``run()`` can keep such a
    task alive (its traceback holds the frames that hold the handles), and a finalizer running
    at interpreter shutdown finds half the interpreter gone: so ``run()`` reports every unjoined
    failure still alive before it returns or raises (``Executor._report_unjoined``), and ``__del__``
    stays silent once the interpreter is finalizing.
    """

    __slots__ = ()

    def report(self) -> None:
        """Print the failure if nobody joined it yet; from then on it counts as joined."""
        if self._state == FAILED:
            self._state = JOINED_FAILED  # reported: once each
            _report_task_failure(self.name, self._result)

    def __del__(self) -> None:
        if not sys.is_finalizing():
            self.report()


JoinHandle = Task
