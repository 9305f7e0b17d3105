"""``spawn_blocking``: run a blocking call on a small thread pool, as libuv does for files.

epoll cannot wait on regular files (they are always "ready"), and some calls simply block,
so they run on one of a few worker threads; the task waiting on the result is woken when the
call returns.

Facts: the workers block SIGINT, SIGTERM and SIGQUIT, so those signals are delivered to a
thread that runs Python's handlers or sits in ``epoll_wait`` (where EINTR returns it to
Python); a worker thread catching Ctrl-C would leave the main thread asleep. Workers are
daemon threads: a call that never returns must not keep the process alive.
"""

from __future__ import annotations

import queue
import signal
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from runtime.future import PENDING, Future, Ready

T = TypeVar("T")

DEFAULT_THREADS = 4

_PENDING_CALL = 0
_RETURNED = 1
_RAISED = 2
_STOP = None  # sentinel job: a worker exits when it takes one


class BlockingCall(Future[T]):
    """The result of ``fn(*args)`` run on the pool: its value, or its exception raised."""

    __slots__ = ("_args", "_fn", "_result", "_state", "_submitted", "_waker")

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self._fn: Callable[..., Any] | None = fn
        self._args = args
        self._state = _PENDING_CALL
        self._result: Any = None
        self._waker: Any = None
        self._submitted = False

    def poll(self, waker: Any) -> Ready | Any:
        if self._state == _PENDING_CALL:
            self._waker = waker
            if not self._submitted:
                self._submitted = True
                _pool.submit(self)
            if self._state == _PENDING_CALL:  # look again after storing the waker
                return PENDING
        if self._state == _RAISED:
            raise self._result
        return Ready(self._result)

    def _run(self) -> None:
        fn, args = self._fn, self._args
        self._fn = self._args = None
        if fn is None:
            return  # closed before a worker got to it
        try:
            self._result = fn(*args)
            self._state = _RETURNED
        except BaseException as exc:
            self._result = exc
            self._state = _RAISED
        waker = self._waker
        if waker is not None:
            waker.wake()

    def close(self) -> None:
        # A call already running cannot be stopped; one still queued is skipped.
        self._fn = None
        self._waker = None


def spawn_blocking(fn: Callable[..., T], *args: Any) -> BlockingCall[T]:
    """A future of ``fn(*args)`` run on the blocking pool (4 threads by default)."""
    return BlockingCall(fn, args)


class _Pool:
    """Worker threads fed from one queue, started on demand up to ``size``."""

    def __init__(self, size: int = DEFAULT_THREADS) -> None:
        self.size = size
        self._jobs: queue.SimpleQueue[BlockingCall | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._workers = 0
        self._idle = 0  # workers minus calls in flight; negative when calls queue up

    def submit(self, call: BlockingCall) -> None:
        with self._lock:
            if self._idle <= 0 and self._workers < self.size:
                self._workers += 1
                self._idle += 1
                threading.Thread(
                    target=self._work, name=f"runtime-blocking-{self._workers}", daemon=True
                ).start()
            self._idle -= 1
        self._jobs.put(call)

    def _work(self) -> None:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM, signal.SIGQUIT})
        while True:
            job = self._jobs.get()
            if job is _STOP:
                return
            try:
                job._run()
            finally:
                with self._lock:
                    self._idle += 1

    def stop(self) -> None:
        """Let every worker exit once the calls queued before now have returned."""
        with self._lock:
            workers, self._workers = self._workers, self.size  # no new workers from now
        for _ in range(workers):
            self._jobs.put(_STOP)


_pool = _Pool()


def shutdown() -> None:
    """Stop the pool's threads (``runtime.run`` calls this on exit); a new pool starts on demand."""
    global _pool
    old, _pool = _pool, _Pool(_pool.size)
    old.stop()


def set_pool_size(size: int) -> None:
    """Change how many threads the pool may run (4 by default)."""
    if size < 1:
        raise ValueError("the blocking pool needs at least one thread")
    _pool.size = size
