"""The OS layer: epoll through the cffi binding. The only module that knows ``struct epoll_event``.

Some facts about epoll this runtime depends on:

- ``struct epoll_event`` is packed on x86-64 (12 bytes, ``data`` at offset 4) and naturally
  aligned on aarch64 (16 bytes, ``data`` at offset 8). The binding is built in cffi's API mode,
  so the C compiler decides the layout; tests/runtime/test_epoll_binding.py pins both.
- The kernel keys a registration by (file description, fd number). Closing an fd that another
  fd still shares (after dup or fork) leaves the registration alive, so callers deregister
  before they close.
- Edge-triggered (EPOLLET) registrations report a transition once; the reader must drain
  until EAGAIN before waiting again. The reactor registers every IO source once, for both
  directions, edge-triggered (tokio's model), and keeps readiness bits itself.
- cffi releases the GIL around every C call, so other Python threads run while one thread
  sleeps in ``epoll_wait``.
- ``epoll_wait`` fails with EINTR when a signal handler runs on this thread. Python only sets
  a flag in the C handler; the Python handler (e.g. the one raising KeyboardInterrupt) runs at
  the next bytecode, so an interrupted wait simply reports no events.
"""

from __future__ import annotations

import errno
import os
import struct

try:
    from runtime._epoll import ffi, lib
except ImportError as exc:  # pragma: no cover - only on a checkout that was never built
    raise ImportError(
        "runtime._epoll, the compiled epoll binding, is missing: run "
        "`python3 -m pip install -e .` (or `python3 runtime/_epoll_build.py`) first"
    ) from exc

EPOLLIN: int = lib.EPOLLIN
EPOLLOUT: int = lib.EPOLLOUT
EPOLLERR: int = lib.EPOLLERR
EPOLLHUP: int = lib.EPOLLHUP
EPOLLRDHUP: int = lib.EPOLLRDHUP
EPOLLPRI: int = lib.EPOLLPRI
EPOLLET: int = lib.EPOLLET
EPOLLONESHOT: int = lib.EPOLLONESHOT

EVENT_SIZE: int = ffi.sizeof("struct epoll_event")
EVENT_DATA_OFFSET: int = ffi.offsetof("struct epoll_event", "data")
# The same layout for the struct module, taken from the compiler's sizes and offsets:
# ``events`` (u32), padding up to ``data``, ``data.u64``, padding to the end.
_EVENT_LAYOUT = struct.Struct(f"=I{EVENT_DATA_OFFSET - 4}xQ{EVENT_SIZE - EVENT_DATA_OFFSET - 8}x")

_CTL_ADD = lib.EPOLL_CTL_ADD
_CTL_MOD = lib.EPOLL_CTL_MOD
_CTL_DEL = lib.EPOLL_CTL_DEL


def _raise_errno() -> None:
    code = ffi.errno
    raise OSError(code, os.strerror(code))


def epoll_create() -> int:
    """A new epoll fd, close-on-exec."""
    fd = lib.epoll_create1(lib.EPOLL_CLOEXEC)
    if fd < 0:
        _raise_errno()
    return fd


def epoll_ctl(epfd: int, op: str, fd: int, flags: int = 0, token: int = 0) -> None:
    """Add (``"add"``), modify (``"mod"``) or delete (``"del"``) ``fd``'s registration."""
    code = {"add": _CTL_ADD, "mod": _CTL_MOD, "del": _CTL_DEL}[op]
    event = ffi.new("struct epoll_event *")
    event.events = flags
    event.data.u64 = token
    if lib.epoll_ctl(epfd, code, fd, event) < 0:
        _raise_errno()


class EventBuffer:
    """A reusable array of ``struct epoll_event`` that ``epoll_wait`` fills."""

    __slots__ = ("_array", "capacity")

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("an event buffer needs room for at least one event")
        self.capacity = capacity
        self._array = ffi.new("struct epoll_event[]", capacity)

    def wait(self, epfd: int, timeout_ms: int) -> int:
        """Wait up to ``timeout_ms`` (-1: forever) and return how many events arrived.

        An interrupted wait (EINTR) reports 0 events, so the caller returns to Python code,
        where a pending signal handler (KeyboardInterrupt) runs.
        """
        n = lib.epoll_wait(epfd, self._array, self.capacity, timeout_ms)
        if n < 0:
            if ffi.errno == errno.EINTR:
                return 0
            _raise_errno()
        return n

    def token(self, i: int) -> int:
        return self._array[i].data.u64

    def flags(self, i: int) -> int:
        return self._array[i].events

    def items(self, n: int) -> list[tuple[int, int]]:
        """The first ``n`` events as ``(token, flags)`` pairs."""
        # One C call decodes them all; indexing cdata field by field costs ~1 us an event.
        raw = ffi.buffer(self._array, n * EVENT_SIZE)
        return [(token, flags) for flags, token in _EVENT_LAYOUT.iter_unpack(raw)]
