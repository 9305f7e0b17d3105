"""Futures built from time and from other futures: ``sleep``, ``timeout``, ``join_all``, ``select``.

Each is a lazy state machine like the generated ones: nothing runs before the first poll
(a ``sleep``'s deadline, like tokio's, is nonetheless fixed when it is created).
"Closing" a child means calling its ``close()``: a generated state machine then runs its
``finally`` blocks, as ``generator.close()`` would.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from time import monotonic
from typing import Any, TypeVar

from runtime.future import PENDING, Future, Ready, Waker
from runtime.reactor import reactor

T = TypeVar("T")


class Sleep(Future[None]):
    """Ready with ``None`` once its deadline passes; never early.

    The deadline is fixed when the sleep is created (``sleep(seconds)`` means "until
    ``seconds`` from now", as tokio's ``sleep`` does). The future is its own timer entry
    in the reactor: a sleep costs one object. Closing it removes that entry at once.
    """

    __slots__ = ("_reactor", "deadline", "waker")

    def __init__(self, seconds: float) -> None:
        if not seconds >= 0:
            raise ValueError(f"sleep() needs a non-negative number of seconds, got {seconds!r}")
        self.deadline = monotonic() + seconds
        self.waker: Any = None  # set to None by the reactor when the timer fires
        self._reactor: Any = None  # the reactor holding our timer entry, once scheduled

    def poll(self, waker: Any) -> Ready | Any:
        if monotonic() >= self.deadline:
            self.waker = None
            return _READY_NONE
        # The reactor clears ``waker`` when it fires us. Fired yet not due can only mean a
        # float rounding at the millisecond boundary: schedule again rather than hang.
        scheduled = self._reactor
        fired = scheduled is not None and self.waker is None
        self.waker = waker  # keep the most recent waker
        if self.deadline == _FOREVER:
            return PENDING  # sleep(math.inf), timeout(f, math.inf): no timer ever fires
        if scheduled is None:
            self._reactor = scheduled = reactor()
            scheduled.schedule(self)
        elif fired:
            scheduled.schedule(self)
        return PENDING

    def close(self) -> None:
        scheduled = self._reactor
        if scheduled is None:
            self.waker = None
        else:
            self._reactor = None
            scheduled.cancel(self)  # the reactor lets go of us now, not when the deadline passes


_READY_NONE = Ready(None)
_FOREVER = float("inf")


def sleep(seconds: float) -> Sleep:
    """A future that is ready ``seconds`` after this call (the deadline is fixed here)."""
    return Sleep(seconds)


class Timeout(Future[T]):
    """``future``'s value, or ``TimeoutError`` (with ``future`` closed) after ``seconds``."""

    __slots__ = ("_future", "_seconds", "_sleep")

    def __init__(self, future: Future[T], seconds: float) -> None:
        self._future: Future[T] | None = future
        self._sleep = Sleep(seconds)
        self._seconds = seconds

    def poll(self, waker: Any) -> Ready | Any:
        future = self._future
        if future is None:
            raise RuntimeError("timeout() polled after it finished")
        try:
            result = future.poll(waker)
        except BaseException:
            self._future = None
            self._sleep.close()
            raise
        if result is not PENDING:
            self._future = None
            self._sleep.close()
            return result
        if self._sleep.poll(waker) is PENDING:
            return PENDING
        self._future = None
        future.close()
        raise TimeoutError(f"timed out after {self._seconds} s")

    def close(self) -> None:
        future = self._future
        self._future = None
        self._sleep.close()
        if future is not None:
            future.close()

    def _waiting_on(self) -> list[Future]:
        """What runtime.dump_tasks() shows below this future."""
        return [self._future] if self._future is not None else []


def timeout(future: Future[T], seconds: float) -> Timeout[T]:
    """Wait for ``future`` at most ``seconds``; then close it and raise ``TimeoutError``."""
    return Timeout(future, seconds)


class _ChildWaker(Waker):
    """Marks one child of a join as worth polling again, then wakes the join's waker."""

    __slots__ = ("_index", "_parent", "_woken")

    def __init__(self, parent: JoinAll, index: int) -> None:
        self._woken = parent._woken
        self._index = index
        self._parent = parent

    def wake(self) -> None:
        self._woken.append(self._index)  # deque.append: atomic, so safe from any thread
        waker = self._parent._waker
        if waker is not None:
            waker.wake()


class JoinAll(Future[list[T]]):
    """All values in input order; the first exception closes the others and propagates.

    Only children that woke are polled again, so n children cost O(n) polls in total
    rather than O(n) per wake.
    """

    __slots__ = ("_futures", "_left", "_results", "_waker", "_wakers", "_woken")

    def __init__(self, futures: Iterable[Future[T]]) -> None:
        self._futures: list[Future | None] = list(futures)
        self._results: list[Any] = [None] * len(self._futures)
        self._left = len(self._futures)
        self._woken: deque[int] = deque()
        self._wakers: list[_ChildWaker] | None = None
        self._waker: Any = None

    def poll(self, waker: Any) -> Ready | Any:
        self._waker = waker
        if self._wakers is None:  # first poll: every child once
            self._wakers = [_ChildWaker(self, i) for i in range(len(self._futures))]
            indices: Iterable[int] = range(len(self._futures))
        else:
            woken = self._woken
            indices = [woken.popleft() for _ in range(len(woken))]
        futures = self._futures
        for i in indices:
            future = futures[i]
            if future is None:
                continue  # already finished; a stale wake
            try:
                result = future.poll(self._wakers[i])
            except BaseException:
                futures[i] = None
                self.close()
                raise
            if result is not PENDING:
                futures[i] = None
                self._results[i] = result.value
                self._left -= 1
        if self._left:
            return PENDING
        self._waker = None
        return Ready(self._results)

    def close(self) -> None:
        futures = self._futures
        self._waker = None
        for i, future in enumerate(futures):
            if future is not None:
                futures[i] = None
                future.close()

    def _waiting_on(self) -> list[Future]:
        """What runtime.dump_tasks() shows below this future."""
        return [future for future in self._futures if future is not None]


def join_all(futures: Iterable[Future[T]]) -> JoinAll[T]:
    """Wait for every future; a list of their values in input order."""
    return JoinAll(futures)


class Select(Future[tuple[int, T]]):
    """``(index, value)`` of the first future to finish; the others are closed."""

    __slots__ = ("_futures",)

    def __init__(self, futures: tuple[Future[T], ...]) -> None:
        if not futures:
            raise ValueError("select() needs at least one future")
        self._futures: tuple[Future, ...] | None = futures

    def poll(self, waker: Any) -> Ready | Any:
        futures = self._futures
        if futures is None:
            raise RuntimeError("select() polled after it finished")
        for i, future in enumerate(futures):
            try:
                result = future.poll(waker)
            except BaseException:
                self._close_except(i)
                raise
            if result is not PENDING:
                self._close_except(i)
                return Ready((i, result.value))
        return PENDING

    def _close_except(self, winner: int) -> None:
        futures = self._futures
        self._futures = None
        if futures is not None:
            for i, future in enumerate(futures):
                if i != winner:
                    future.close()

    def close(self) -> None:
        self._close_except(-1)

    def _waiting_on(self) -> list[Future]:
        """What runtime.dump_tasks() shows below this future."""
        return list(self._futures or ())


def select(*futures: Future[T]) -> Select[T]:
    """Wait for the first of ``futures`` to finish; ``(index, value)``, the rest closed."""
    return Select(futures)
