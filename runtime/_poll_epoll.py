"""The epoll poller: ``Poll``, ``Registry`` and ``Events`` over the cffi binding (runtime._sys).

Every registration is edge-triggered (``EPOLLET``): the kernel reports a *change* to ready
once, and the caller drains the fd (until EAGAIN) before waiting again. Nothing needs
re-arming, so ``Registry.rearm`` does nothing here (compare runtime._poll_selectors).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from typing import Final, Self

from runtime import _sys
from runtime._readiness import (
    EVENT_ERROR,
    EVENT_WRITE_CLOSED,
    READ_CLOSED,
    Event,
    EventsBase,
    Interest,
    check_interests,
)

NAME: Final = "epoll"

_READ_FLAGS = _sys.EPOLLIN | _sys.EPOLLPRI | _sys.EPOLLRDHUP
_WRITE_FLAGS = _sys.EPOLLOUT
# Errors and hang-ups make both directions "ready": the next syscall then reports the
# error instead of a task waiting forever for an edge that will never come.
_BOTH_FLAGS = _sys.EPOLLERR | _sys.EPOLLHUP
_READ_CLOSED_FLAGS = _sys.EPOLLRDHUP | _sys.EPOLLHUP | _sys.EPOLLERR


def _epoll_flags(interests: int) -> int:
    check_interests(interests)
    flags = _sys.EPOLLET
    if interests & Interest.READABLE:
        flags |= _sys.EPOLLIN | _sys.EPOLLRDHUP
    if interests & Interest.WRITABLE:
        flags |= _sys.EPOLLOUT
    return flags


def readiness(flags: int) -> int:
    """The ``Interest`` bits an epoll event's flags make ready, plus ``READ_CLOSED``."""
    ready = 0
    if flags & _READ_FLAGS:
        ready = Interest.READABLE
    if flags & _WRITE_FLAGS:
        ready |= Interest.WRITABLE
    if flags & _BOTH_FLAGS:
        ready = Interest.BOTH
    if flags & _READ_CLOSED_FLAGS:
        ready |= READ_CLOSED
    return ready


def _event_bits(flags: int) -> int:
    """An ``Event``'s bits: what the flags say, without readiness()'s "errors ready both"."""
    bits = 0
    if flags & (_sys.EPOLLIN | _sys.EPOLLPRI):
        bits |= Interest.READABLE
    if flags & _sys.EPOLLOUT:
        bits |= Interest.WRITABLE
    if flags & _sys.EPOLLERR:
        bits |= EVENT_ERROR
    if flags & (_sys.EPOLLHUP | _sys.EPOLLRDHUP):
        bits |= READ_CLOSED
    if flags & _sys.EPOLLHUP:
        bits |= EVENT_WRITE_CLOSED
    return bits


# readiness() of every flags value seen so far: epoll reports a handful of distinct
# combinations, and a dict lookup costs a fraction of a Python call per event.
_READINESS_OF: dict[int, int] = {}


class Events(EventsBase):
    """A reusable buffer that ``Poll.poll`` fills; iterate it for ``Event`` objects."""

    __slots__ = ("_buffer",)

    def __init__(self, capacity: int = 1024) -> None:
        self._buffer = _sys.EventBuffer(capacity)
        self._len = 0

    @property
    def capacity(self) -> int:
        """How many events one poll can report."""
        return self._buffer.capacity

    def __iter__(self) -> Iterator[Event]:
        buffer = self._buffer
        for i in range(self._len):
            yield Event(buffer.token(i), _event_bits(buffer.flags(i)))

    def readiness(self) -> list[tuple[int, int]]:
        """Each event as ``(token, Interest bits)``: the reactor's allocation-light path."""
        table = _READINESS_OF
        out = []
        for token, flags in self._buffer.items(self._len):
            ready = table.get(flags)
            if ready is None:
                ready = table[flags] = readiness(flags)
            out.append((token, ready))
        return out


class Registry:
    """Registers fds with a ``Poll`` (mio's ``Registry``); safe to use from any thread."""

    __slots__ = ("_epfd",)

    def __init__(self, epfd: int) -> None:
        self._epfd = epfd

    def register(self, fd: int, token: int, interests: int) -> None:
        """Report ``fd``'s readiness edges for ``interests`` under ``token``."""
        _sys.epoll_ctl(self._epfd, "add", fd, _epoll_flags(interests), token)

    def reregister(self, fd: int, token: int, interests: int) -> None:
        """Change the token or interests of a registered ``fd``."""
        _sys.epoll_ctl(self._epfd, "mod", fd, _epoll_flags(interests), token)

    def deregister(self, fd: int) -> None:
        """Stop reporting ``fd``. Call it before closing ``fd`` (see runtime._sys)."""
        _sys.epoll_ctl(self._epfd, "del", fd)

    def register_level(self, fd: int, token: int, interests: int) -> None:
        """Level-triggered registration, for fds the caller drains itself (an eventfd)."""
        flags = _epoll_flags(interests) & ~_sys.EPOLLET
        _sys.epoll_ctl(self._epfd, "add", fd, flags, token)

    def rearm(self, fd: int, interests: int) -> None:
        """Nothing to do: the kernel reports the next edge by itself."""


class Poll:
    """An epoll instance (mio's ``Poll``). Close it, or use it as a context manager."""

    __slots__ = ("_epfd", "_registry")

    # The kernel reports edges: drained directions need no Registry.rearm.
    NEEDS_REARM: Final = False

    def __init__(self) -> None:
        self._epfd = _sys.epoll_create()
        self._registry = Registry(self._epfd)

    def registry(self) -> Registry:
        """The ``Registry`` that adds, changes and removes this poller's fds."""
        return self._registry

    def poll(self, events: Events, timeout: float | None) -> None:
        """Fill ``events``, waiting at most ``timeout`` seconds (``None``: until an event).

        Sub-millisecond timeouts round up, so a wait never ends before its timeout; an
        interrupted wait (a signal) returns with no events.
        """
        if timeout is None:
            ms = -1
        else:
            ms = max(0, math.ceil(timeout * 1000))
        events._len = events._buffer.wait(self._epfd, ms)

    def fileno(self) -> int:
        """The epoll fd."""
        return self._epfd

    @property
    def closed(self) -> bool:
        """True once ``close()`` ran."""
        return self._epfd < 0

    def close(self) -> None:
        """Release the poller's fds; idempotent."""
        if self._epfd >= 0:
            fd, self._epfd = self._epfd, -1
            os.close(fd)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
