"""The selectors poller: ``Poll``, ``Registry`` and ``Events`` over the standard library's
``selectors`` (kqueue on macOS and the BSDs, epoll or poll elsewhere), for machines where the
epoll extension is not built. ``RUNTIME_POLLER=selectors`` picks it anywhere.

Some facts this module depends on:

- Selectors are level-triggered: an idle socket is reported writable by every ``select()``.
  The Reactor above expects edges (runtime.reactor keeps readiness itself and clears it once a
  syscall showed the fd drained), so this poller emulates them as mio's poll(2) backend does: a
  direction it reports is disarmed (taken out of the selector's interest set) until
  ``Registry.rearm`` puts it back, which the driver calls where it clears readiness. What
  arrived meanwhile is reported by the first ``select()`` after the rearm (level), so nothing is
  lost; at worst an edge is reported twice.
- A selector registration needs at least one event: a fd with both directions disarmed is
  taken out of the selector and put back on rearm.
- Registrations change from any thread. epoll and kqueue apply a change to a ``select()``
  already sleeping in another thread; poll(2) and select(2) read their sets only when called,
  so under those a change made while another thread sleeps writes a byte to the poller's own
  pipe, and the sleeper looks again.
- The selectors module folds hang-ups and errors into both READ and WRITE, which is what the
  driver wants: the next syscall reports the error. It cannot tell a hang-up apart, so
  ``Event.is_read_closed`` and ``is_error`` are never set here (rearming makes them unneeded).
"""

from __future__ import annotations

import errno
import os
import selectors
import threading
from collections.abc import Iterator
from typing import Final, Self

from runtime._readiness import Event, EventsBase, Interest, check_interests

NAME: Final = "selectors"

# Interest bits are selectors' own event bits, so masks pass through unchanged.
assert (selectors.EVENT_READ, selectors.EVENT_WRITE) == (Interest.READABLE, Interest.WRITABLE)

_READ_AT_CALL = (selectors.PollSelector, selectors.SelectSelector)


class _Registration:
    __slots__ = ("armed", "level", "token", "wanted")

    def __init__(self, token: int, wanted: int, level: bool) -> None:
        self.token = token
        self.wanted = wanted
        self.armed = wanted
        self.level = level


class Events(EventsBase):
    """A reusable buffer that ``Poll.poll`` fills; iterate it for ``Event`` objects."""

    __slots__ = ("_items", "capacity")

    def __init__(self, capacity: int = 1024) -> None:
        if capacity < 1:
            raise ValueError("an event buffer needs room for at least one event")
        self.capacity = capacity
        self._items: list[tuple[int, int]] = []
        self._len = 0

    def __iter__(self) -> Iterator[Event]:
        for token, mask in self._items[: self._len]:
            yield Event(token, mask)

    def readiness(self) -> list[tuple[int, int]]:
        """Each event as ``(token, Interest bits)``: the reactor's path."""
        return self._items[: self._len]


class Registry:
    """Registers fds with a ``Poll`` (mio's ``Registry``); safe to use from any thread."""

    __slots__ = ("_interrupt", "_lock", "_polling", "_regs", "_selector")

    def __init__(self, selector: selectors.BaseSelector) -> None:
        self._selector = selector
        self._lock = threading.Lock()
        self._regs: dict[int, _Registration] = {}
        self._polling = False  # a thread sleeps in select()
        self._interrupt: tuple[int, int] | None = None
        if isinstance(selector, _READ_AT_CALL):
            r, w = os.pipe()
            os.set_blocking(r, False)
            os.set_blocking(w, False)
            self._interrupt = (r, w)
            selector.register(r, selectors.EVENT_READ, None)

    def register(self, fd: int, token: int, interests: int) -> None:
        """Report ``fd``'s readiness for ``interests`` under ``token``, as edges (see above)."""
        self._add(fd, _Registration(token, interests, level=False))

    def register_level(self, fd: int, token: int, interests: int) -> None:
        """Level-triggered registration, for fds the caller drains itself (a wake pipe)."""
        self._add(fd, _Registration(token, interests, level=True))

    def reregister(self, fd: int, token: int, interests: int) -> None:
        """Change the token or interests of a registered ``fd`` (both directions armed)."""
        check_interests(interests)
        with self._lock:
            reg = self._regs.get(fd)
            if reg is None:
                raise FileNotFoundError(errno.ENOENT, f"fd {fd} is not registered")
            reg.token, reg.wanted, reg.armed = token, interests, interests
            self._apply(fd, reg)

    def deregister(self, fd: int) -> None:
        """Stop reporting ``fd``. Call it before closing ``fd``."""
        with self._lock:
            if self._regs.pop(fd, None) is None:
                raise FileNotFoundError(errno.ENOENT, f"fd {fd} is not registered")
            if fd in self._selector.get_map():
                self._selector.unregister(fd)
            self._changed()

    def rearm(self, fd: int, interests: int) -> None:
        """Report ``interests`` of ``fd`` again: the caller drained what was last reported."""
        with self._lock:
            reg = self._regs.get(fd)
            if reg is not None and interests & reg.wanted & ~reg.armed:
                reg.armed |= interests & reg.wanted
                self._apply(fd, reg)

    def _add(self, fd: int, reg: _Registration) -> None:
        check_interests(reg.wanted)
        with self._lock:
            if fd in self._regs:
                raise FileExistsError(errno.EEXIST, f"fd {fd} is already registered")
            self._selector.register(fd, reg.wanted, reg.token)
            self._regs[fd] = reg
            self._changed()

    def _apply(self, fd: int, reg: _Registration) -> None:
        """Make the selector's interest set for ``fd`` what ``reg`` says; holds the lock."""
        want = reg.wanted if reg.level else reg.wanted & reg.armed
        key = self._selector.get_map().get(fd)
        if key is None:
            if not want:
                return
            self._selector.register(fd, want, reg.token)
        elif not want:
            self._selector.unregister(fd)
        elif key.events != want or key.data != reg.token:
            self._selector.modify(fd, want, reg.token)
        else:
            return
        self._changed()

    def _changed(self) -> None:
        if self._polling and self._interrupt is not None:
            try:
                os.write(self._interrupt[1], b"\0")
            except BlockingIOError:
                pass  # the pipe is full of wake-ups already

    def _select(self, events: Events, timeout: float | None) -> None:
        with self._lock:
            self._polling = True
        try:
            ready = self._selector.select(timeout)
        finally:
            with self._lock:
                self._polling = False
        items = events._items
        items.clear()
        with self._lock:
            for key, mask in ready:
                if key.data is None:  # the interrupt pipe
                    try:
                        os.read(key.fd, 4096)
                    except BlockingIOError:
                        pass
                    continue
                reg = self._regs.get(key.fd)
                if reg is None or reg.token != key.data:
                    continue  # deregistered or re-registered since select() returned
                if len(items) == events.capacity:
                    break  # the rest stay armed and are reported by the next select()
                if not reg.level:
                    reg.armed &= ~mask
                    self._apply(key.fd, reg)
                items.append((reg.token, mask))
        events._len = len(items)

    def _close(self) -> None:
        self._selector.close()
        if self._interrupt is not None:
            for fd in self._interrupt:
                os.close(fd)
            self._interrupt = None


class Poll:
    """A selector (mio's ``Poll``). Close it, or use it as a context manager.

    ``selector`` picks the ``selectors`` class (default: ``selectors.DefaultSelector``).
    """

    __slots__ = ("_closed", "_registry")

    # Reported directions are disarmed until the driver calls Registry.rearm (module facts).
    NEEDS_REARM: Final = True

    def __init__(self, selector: type[selectors.BaseSelector] | None = None) -> None:
        self._registry = Registry((selector or selectors.DefaultSelector)())
        self._closed = False

    def registry(self) -> Registry:
        """The ``Registry`` that adds, changes and removes this poller's fds."""
        return self._registry

    def poll(self, events: Events, timeout: float | None) -> None:
        """Fill ``events``, waiting at most ``timeout`` seconds (``None``: until an event)."""
        self._registry._select(events, None if timeout is None else max(0.0, timeout))

    def fileno(self) -> int:
        """The selector's own fd (epoll, kqueue), or -1 for one that has none (poll, select)."""
        fileno = getattr(self._registry._selector, "fileno", None)
        return fileno() if fileno is not None and not self._closed else -1

    @property
    def closed(self) -> bool:
        """True once ``close()`` ran."""
        return self._closed

    def close(self) -> None:
        """Release the poller's fds; idempotent."""
        if not self._closed:
            self._closed = True
            self._registry._close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
