"""Seeing what tasks do (SPEC §6): ``runtime.dump_tasks()``, ``runtime.instrument(obj)`` and
``RUNTIME_TRACE=1``.

``dump_tasks()`` prints every live task as its chain of waiting coroutines (each described by
runtime.debug's ``describe_chain``).

An instrument is any object with some of these methods (as trio's ``Instrument``); each is
called on the thread the event happens on:

- ``task_spawned(task)``: a task was put on an executor's ready queue for the first time;
- ``task_polled(task)``: its poll is about to run (``task.future`` is in the state it resumes);
- ``task_pending(task)``: its poll answered PENDING (the future is in the state it waits in);
- ``task_ready(task, value)``: it finished with ``value``;
- ``task_failed(task, exc)``: its poll raised ``exc``;
- ``task_woken(task)``: something called its waker (from any thread).

``RUNTIME_TRACE=1`` installs ``TracePrinter``, which prints one line per poll and one per wake
to stderr. An instrument that raises is removed, with its traceback printed.

How it costs nothing when off: executors started while no instrument is installed are not
touched at all. ``Executor.block_on`` looks once, at its start, and only then calls the
observer this module puts in ``runtime.executor.observe`` when imported (``runtime`` imports it
at once under ``RUNTIME_TRACE``; ``instrument`` lives here): the executor never imports this
module. The observer replaces the executor's ready queue with ``_ObservedQueue``. Every task
enters through that queue (spawn and wake both append to it), so the queue sees each new task
once: it reports the spawn, switches the task to ``_ObservedTask`` (whose ``wake`` reports the
wake) and wraps its future in ``_Observed`` (whose ``poll`` reports the poll and its outcome,
passing the task itself on as the waker). The executor's loop is the same code either way.
"""

from __future__ import annotations

import os
import sys
import threading
import traceback
from collections import deque
from typing import Any, Self, TextIO

from runtime import executor as _executor
from runtime.debug import describe_chain
from runtime.future import PENDING, Future
from runtime.task import DONE, Task

EVENTS = (
    "task_spawned",
    "task_polled",
    "task_pending",
    "task_ready",
    "task_failed",
    "task_woken",
)

_lock = threading.Lock()


class Instrumented:
    """What ``instrument`` returns: ``remove()`` it, or use it as a context manager."""

    def __init__(self, instrument: Any) -> None:
        self.instrument = instrument

    def remove(self) -> None:
        _remove(self.instrument)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.remove()


def instrument(obj: Any) -> Instrumented:
    """Call ``obj``'s event methods (see the module docstring) for every task of every
    executor started from now on; returns a handle to remove it."""
    if not any(callable(getattr(obj, event, None)) for event in EVENTS):
        raise TypeError(
            f"an instrument needs at least one of the methods {', '.join(EVENTS)}; "
            f"{type(obj).__qualname__} has none"
        )
    with _lock:
        _executor.instruments.append(obj)
    return Instrumented(obj)


def _remove(obj: Any) -> None:
    with _lock:
        if obj in _executor.instruments:
            _executor.instruments.remove(obj)


def _emit(event: str, *args: Any) -> None:
    for obj in list(_executor.instruments):
        method = getattr(obj, event, None)
        if method is None:
            continue
        try:
            method(*args)
        except Exception:
            _remove(obj)
            print(f"runtime: instrument {obj!r} raised in {event}; removed:", file=sys.stderr)
            traceback.print_exc()


class _Observed(Future):
    """A task's future, reporting each poll and its outcome."""

    __slots__ = ("future", "task")

    def __init__(self, future: Any, task: Task) -> None:
        self.future = future
        self.task = task

    def poll(self, waker: Any) -> Any:
        task = self.task
        _emit("task_polled", task)
        try:
            answer = self.future.poll(waker)
        except BaseException as exc:  # the executor fails the task (Ctrl-C ends run())
            _emit("task_failed", task, exc)
            raise
        if answer is PENDING:
            _emit("task_pending", task)
        else:
            _emit("task_ready", task, getattr(answer, "value", answer))
        return answer

    def close(self) -> None:
        close = getattr(self.future, "close", None)
        if close is not None:
            close()

    @property
    def _awaiting(self) -> Any:  # runtime.debug's dump_tasks walks through
        return self.future


class _ObservedTask(Task):
    """A task of an observed executor: its wakes are reported."""

    __slots__ = ()

    def wake(self) -> None:
        if self._state < DONE:
            _emit("task_woken", self)
        Task.wake(self)


def observed_future(task: Task) -> Any:
    """The future a task runs, seen through the observer (for tools reading states)."""
    future = task.future
    return future.future if type(future) is _Observed else future


def _shown(future: Any) -> Any:
    """A wrapper that is not a machine (to_asyncio's task) is shown as the machine it runs."""
    inner = getattr(future, "_awaiting", None)
    if not hasattr(type(future), "_corofy_states_") and hasattr(type(inner), "_corofy_states_"):
        return inner
    return future


class _ObservedQueue(deque):
    """An executor's ready queue that reports and wraps each task the first time it enters."""

    def append(self, task: Task) -> None:
        if type(task) is Task:
            task.__class__ = _ObservedTask
            task.future = _Observed(task.future, task)
            _emit("task_spawned", task)
        deque.append(self, task)


def observe(executor: _executor.Executor) -> None:
    """Report the events of ``executor``'s tasks (``block_on`` calls this when instrumented)."""
    trace_from_environment()
    if not isinstance(executor._ready, _ObservedQueue):
        queued = list(executor._ready)
        executor._ready = _ObservedQueue()
        for task in queued:
            executor._ready.append(task)


_executor.observe = observe


# -- RUNTIME_TRACE ---------------------------------------------------------------------------


def _state_text(future: Any) -> str:
    """``state 1 s1_line17 (line 17)`` for a corofy machine; empty for any other future."""
    states = getattr(type(future), "_corofy_states_", None)
    if states is None:
        return ""
    state = getattr(future, "_state", None)
    if state not in states:
        return "done" if state == -1 else f"state {state}"
    name, line = states[state]
    return f"state {state} {name} (line {line})"


def _chain_text(future: Any) -> str:
    """The root's state, then each coroutine it waits on down its ``_awaiting`` chain."""
    text = _state_text(future)
    inner = getattr(future, "_awaiting", None)
    depth = 0
    while inner is not None and hasattr(type(inner), "_corofy_states_") and depth < 32:
        text += f" > {coroutine_name(inner)} {_state_text(inner)}"
        inner = getattr(inner, "_awaiting", None)
        depth += 1
    return text


def coroutine_name(future: Any) -> str:
    """The coroutine a task runs, as its function's qualname; a leaf future by its type."""
    if hasattr(type(future), "_corofy_states_"):
        from runtime.debug import machine_name

        return f"{machine_name(future)}()"
    return type(future).__qualname__


class TracePrinter:
    """Prints one line per poll and one per wake to ``file`` (stderr): what RUNTIME_TRACE does.

    ``trace: task 1 main() state 1 s1_line17 (line 17) -> pending in state 2 s2_line19 (line 19)``

    A coroutine waiting on another is followed down the chain: ``state 1 s1_line9 (line 9) >
    child() state 2 s2_line30 (line 30)``.
    """

    def __init__(self, file: Any = None) -> None:
        self.file = file
        self._numbers: dict[int, int] = {}
        self._next = 1
        self._before: dict[int, str] = {}
        self._lock = threading.Lock()

    def _number(self, task: Task, fresh: bool = False) -> int:
        # Keyed by id(): a new task may reuse the id of one that was closed (no ready or
        # failed event forgot it), so a spawn always takes a fresh number.
        with self._lock:
            number = None if fresh else self._numbers.get(id(task))
            if number is None:
                number = self._numbers[id(task)] = self._next
                self._next += 1
            return number

    def _write(self, text: str) -> None:
        (self.file or sys.stderr).write(f"trace: {text}\n")

    def _who(self, task: Task) -> str:
        return f"task {self._number(task)} {coroutine_name(_shown(observed_future(task)))}"

    def task_spawned(self, task: Task) -> None:
        self._number(task, fresh=True)
        self._write(f"{self._who(task)} spawned")

    def task_polled(self, task: Task) -> None:
        self._before[id(task)] = _chain_text(_shown(observed_future(task)))

    def _poll_line(self, task: Task, outcome: str) -> None:
        before = self._before.pop(id(task), "")
        self._write(f"{self._who(task)} {before + ' ' if before else ''}-> {outcome}")

    def task_pending(self, task: Task) -> None:
        after = _chain_text(_shown(observed_future(task)))
        self._poll_line(task, f"pending in {after}" if after else "pending")

    def task_ready(self, task: Task, value: Any) -> None:
        self._poll_line(task, "ready")
        self._forget(task)

    def task_failed(self, task: Task, exc: BaseException) -> None:
        self._poll_line(task, f"raised {type(exc).__name__}: {exc}")
        self._forget(task)

    def task_woken(self, task: Task) -> None:
        self._write(f"{self._who(task)} woken")

    def _forget(self, task: Task) -> None:
        with self._lock:
            self._numbers.pop(id(task), None)


def trace_from_environment() -> None:
    """Install a TracePrinter when ``RUNTIME_TRACE`` is set to anything but empty or 0."""
    if os.environ.get("RUNTIME_TRACE", "") not in ("", "0") and not any(
        type(obj) is TracePrinter for obj in _executor.instruments
    ):
        instrument(TracePrinter())


# -- dump_tasks ------------------------------------------------------------------------------


def dump_tasks(file: TextIO | None = None) -> str:
    """Print every live task as its chain of waiting coroutines; returns the same text.

    Each coroutine is shown with its function, its state and the original line where it
    waits; the chain ends at the leaf future it waits on. Prints to stderr by default.
    """
    out: list[str] = []
    tasks = list(_executor.live_tasks())
    out.append(f"{len(tasks)} live task{'' if len(tasks) == 1 else 's'}")
    for task in tasks:
        out.append(f"task {getattr(task, 'name', '?')}:")
        out.extend(describe_chain(observed_future(task)))  # an observed task's is wrapped
    text = "\n".join(out) + "\n"
    print(text, end="", file=file if file is not None else sys.stderr)
    return text
