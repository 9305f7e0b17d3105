"""Hand-written futures and helpers for the runtime tests: the public protocol only."""

from __future__ import annotations

import os
import threading

import runtime
from runtime import PENDING, Future, Ready


class Gate(Future):
    """Pending until ``open()`` (from any thread); counts its polls; keeps the latest waker."""

    __slots__ = ("closed", "is_open", "polls", "value", "waker")

    def __init__(self) -> None:
        self.value = None
        self.is_open = False
        self.waker = None
        self.polls = 0
        self.closed = False

    def poll(self, waker):
        self.polls += 1
        if self.is_open:
            return Ready(self.value)
        self.waker = waker
        return PENDING

    def open(self, value=None) -> None:
        self.value = value
        self.is_open = True
        if self.waker is not None:
            self.waker.wake()

    def close(self) -> None:
        self.closed = True


class Coro(Future):
    """Drives a generator that yields futures: SPEC §2.1's reference driver, for tests."""

    __slots__ = ("current", "done", "gen")

    def __init__(self, gen) -> None:
        self.gen = gen
        self.current = None
        self.done = False

    def poll(self, waker):
        if self.done:
            raise RuntimeError("polled after it finished")
        try:
            if self.current is None:
                self.current = self.gen.send(None)
            while True:
                try:
                    result = self.current.poll(waker)
                except Exception as exc:
                    self.current = self.gen.throw(exc)
                    continue
                if result is PENDING:
                    return PENDING
                self.current = self.gen.send(result.value)
        except StopIteration as stop:
            self.done = True
            return Ready(stop.value)
        except BaseException:
            self.done = True
            raise

    def close(self) -> None:
        current = self.current
        if current is not None:
            current.close()
        self.gen.close()


def coro(fn):
    """Decorator: calling ``fn`` returns a Coro over its generator, like @coroutine."""

    def make(*args, **kwargs):
        return Coro(fn(*args, **kwargs))

    return make


def run_with_deadline(future: Future, seconds: float = 20.0):
    """runtime.run with a deadline, so a lost wake fails the test in seconds, not a hang."""
    return runtime.run(runtime.timeout(future, seconds))


def open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def in_thread(fn, *args) -> threading.Thread:
    thread = threading.Thread(target=fn, args=args, daemon=True)
    thread.start()
    return thread


class YieldNow(Future):
    """Pending once (waking itself), so every other ready task runs before it resumes."""

    __slots__ = ("yielded",)

    def __init__(self) -> None:
        self.yielded = False

    def poll(self, waker):
        if self.yielded:
            return Ready(None)
        self.yielded = True
        waker.wake()
        return PENDING
