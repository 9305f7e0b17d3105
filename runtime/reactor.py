"""The mio-like layer ``Poll``, ``Registry``, ``Interest``, ``Token``, ``Events`` (SPEC §3), and
the shared Reactor that drives it.

``runtime.reactor`` is where users find the mio-like layer (SPEC §3): its ``__all__`` is that
layer's names, re-exported from runtime.poll, which holds it. This file is the Reactor built
on it: one ``Poll``, a wake fd to wake it, timers, and IO readiness. The runtime's own modules
use the Reactor (``reactor()``, ``Reactor``, ``IoSource``), which is not a public API.

Executors on any number of threads share one Reactor. Only the thread holding ``driver_lock``
waits in ``epoll_wait`` (``turn``); the others park on their own condition variables and are
handed the driver when it is released (runtime.executor owns that protocol). Wakers flow out
of a turn: IO edges wake the waker stored in an ``IoSource``, due timers wake theirs.

Some facts the code below relies on:

- Every IO source is registered once, edge-triggered, for both directions (tokio's
  ScheduledIo). Readiness lives here, not in the kernel: an edge sets it, and the task clears
  it after its syscall hit EAGAIN.
- Readiness is kept as event ticks so that no field has two writers. The driver (one thread at
  a time) stamps ``_read_event`` with a fresh tick; the task side records the tick it saw in
  ``poll_ready`` and ``clear_ready`` moves ``_read_cleared`` up to it. An edge that lands while
  the task is inside its syscall carries a newer tick, so clearing cannot swallow it.
- A waker stored by ``poll_ready`` races with an edge delivered by another thread. The driver
  sets readiness *before* it reads the waker, and ``poll_ready`` stores the waker *before* it
  reads readiness again; under the GIL's sequentially consistent order one of the two sides
  sees the other, so the wake is never lost.
- Timers live in millisecond buckets (a dict from tick to an insertion-ordered dict of
  entries) whose ticks sit in a heap: 10,000 sleeps of one duration cost a handful of heap
  operations, not 10,000. A deadline is rounded *up* to its millisecond, so a timer never fires
  early. Cancelling removes the entry at once (a finished ``timeout`` must not hold its timer
  for the hour it was given); a bucket left empty goes with it, and its tick is dropped from the
  heap's top at once or, deeper down, when stale ticks outnumber live ones (asyncio's rule).
- Timers are added and cancelled from any thread, and the driver pops due buckets: one lock
  (``_timer_lock``) orders the three. Wakes happen outside it.
- The wake fd is an eventfd where the OS has one (Linux), else a self-pipe; either is
  registered level-triggered and drained by the turn that sees it.
- Under a poller that emulates edges (``Poll.NEEDS_REARM``: selectors), a direction it reported
  stays disarmed until ``clear_ready`` re-arms it; epoll needs no such call.

What an executor uses of a Reactor, and nothing else: ``enter``/``exit`` (count it as a user),
``driver_lock``, ``turn(block)``, ``notify()``, ``idle_executors`` (the driver hand-off),
``sources`` and ``timer_ticks`` (read only: is anything watched?), ``close_when_idle()``. IO
futures use ``register_io`` and ``IoSource``; timers ``add_timer``, ``schedule``, ``cancel``.
"""

from __future__ import annotations

import itertools
import math
import operator
import os
import sys
import threading
from heapq import heapify, heappop, heappush
from time import monotonic
from typing import Any

from runtime.poll import POLLER, READ_CLOSED, Event, Events, Interest, Poll, Registry, Token

__all__ = ["POLLER", "READ_CLOSED", "Event", "Events", "Interest", "Poll", "Registry", "Token"]

WAKE_TOKEN = 0  # the wake fd's token; IO sources count up from 1

if hasattr(os, "eventfd"):

    def _open_wake_fds() -> tuple[int, int]:
        fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        return fd, fd

    _WAKE_BYTES = (1).to_bytes(8, sys.byteorder)  # an eventfd adds 8-byte counters
else:

    def _open_wake_fds() -> tuple[int, int]:
        read_fd, write_fd = os.pipe()  # close-on-exec, as every fd Python opens
        os.set_blocking(read_fd, False)
        os.set_blocking(write_fd, False)
        return read_fd, write_fd

    _WAKE_BYTES = b"\0"

_READABLE = Interest.READABLE
_WRITABLE = Interest.WRITABLE
_deadline_of = operator.attrgetter("deadline")
_ABSENT = object()


class IoSource:
    """One registered fd: readiness per direction plus the most recent waker of each."""

    __slots__ = (
        "_closed",
        "_reactor",
        "_read_cleared",
        "_read_event",
        "_read_seen",
        "_read_waker",
        "_rearm",
        "_tick",
        "_write_cleared",
        "_write_event",
        "_write_seen",
        "_write_waker",
        "fd",
        "read_closed",
        "token",
    )

    def __init__(self, reactor: Reactor, fd: int, token: int) -> None:
        self.fd = fd
        self.token = token
        self._reactor = reactor
        self._rearm = reactor._rearm
        self._closed = False
        # Sticky: a hang-up or error edge was seen, so a read will never block again. A
        # reader may clear readiness after a short read only while this is False.
        self.read_closed = False
        self._tick = 0
        self._read_event = self._read_seen = self._read_cleared = 0
        self._write_event = self._write_seen = self._write_cleared = 0
        self._read_waker: Any = None
        self._write_waker: Any = None

    def poll_ready(self, interest: int, waker: Any) -> bool:
        """True when ``interest`` is ready: go try the syscall.

        False: ``waker`` is stored (replacing the previous one for that direction) and is
        woken on the next edge. A deregistered source is always ready, so the syscall
        reports the closed fd instead of waiting forever.
        """
        # One direction at a time is what every read and write asks: those two cases are
        # spelled out, saving the call to _ready() on the hottest path of runtime.net.
        if interest == _READABLE:
            event = self._read_event
            if event > self._read_cleared or self._closed:
                self._read_seen = event
                return True
            self._read_waker = waker
            event = self._read_event  # look again: see the comment at the end
            if event > self._read_cleared or self._closed:
                self._read_seen = event
                return True
            return False
        if interest == _WRITABLE:
            event = self._write_event
            if event > self._write_cleared or self._closed:
                self._write_seen = event
                return True
            self._write_waker = waker
            event = self._write_event
            if event > self._write_cleared or self._closed:
                self._write_seen = event
                return True
            return False
        if self._closed or self._ready(interest):
            return True
        if interest & _READABLE:
            self._read_waker = waker
        if interest & _WRITABLE:
            self._write_waker = waker
        # An edge delivered by another thread between the check above and the store would
        # have woken the old waker; look again now that the new one is in place.
        return self._ready(interest)

    def _ready(self, interest: int) -> bool:
        ready = False
        if interest & _READABLE:
            event = self._read_event
            if event > self._read_cleared:
                self._read_seen = event
                ready = True
        if interest & _WRITABLE:
            event = self._write_event
            if event > self._write_cleared:
                self._write_seen = event
                ready = True
        return ready

    def clear_ready(self, interest: int) -> None:
        """Forget the readiness ``poll_ready`` reported, after the syscall hit EAGAIN.

        Edges newer than the one ``poll_ready`` saw stay set.
        """
        if interest & _READABLE:
            self._read_cleared = self._read_seen
        if interest & _WRITABLE:
            self._write_cleared = self._write_seen
        if self._rearm is not None and not self._closed:
            self._rearm(self.fd, interest)

    def _on_event(self, ready: int) -> None:
        """Driver side: record an edge, then wake (in that order: see the module facts)."""
        if ready & READ_CLOSED:
            # Before the tick: a reader that sees this edge must also see the hang-up.
            self.read_closed = True
        self._tick = tick = self._tick + 1
        if ready & _READABLE:
            self._read_event = tick
            waker = self._read_waker
            if waker is not None:
                waker.wake()
        if ready & _WRITABLE:
            self._write_event = tick
            waker = self._write_waker
            if waker is not None:
                waker.wake()

    def deregister(self) -> None:
        """Stop watching the fd; call before closing it. Idempotent."""
        if self._closed:
            return
        self._detach()
        self._reactor._forget(self)

    def _detach(self) -> None:
        self._closed = True
        for waker in (self._read_waker, self._write_waker):
            if waker is not None:
                waker.wake()
        self._read_waker = self._write_waker = None

    def __repr__(self) -> str:
        state = "closed" if self._closed else "registered"
        return f"<IoSource fd={self.fd} token={self.token} {state}>"


class TimerHandle:
    """A pending timer; ``cancel()`` it, or replace ``waker`` to wake a newer waker."""

    __slots__ = ("_reactor", "deadline", "waker")

    def __init__(self, reactor: Reactor, deadline: float, waker: Any) -> None:
        self._reactor = reactor
        self.deadline = deadline
        self.waker = waker

    def cancel(self) -> None:
        self.waker = None
        self._reactor.cancel(self)


class Reactor:
    """Owns the Poll, the eventfd, the timers and the IO sources; shared by executors."""

    def __init__(self, events_capacity: int = 1024) -> None:
        self._poll = Poll()
        try:
            self._wake_fd, self._wake_write_fd = _open_wake_fds()
        except BaseException:
            self._poll.close()
            raise
        registry = self._poll.registry()
        # Level-triggered: the wake fd stays reported until the turn drains it.
        registry.register_level(self._wake_fd, WAKE_TOKEN, _READABLE)
        self._registry = registry
        self._rearm = registry.rearm if Poll.NEEDS_REARM else None
        self._events = Events(events_capacity)
        # What the executor reads to know whether anything is watched (an attribute, not a
        # call: it looks on its hot loop). Both are written only here.
        self.sources: dict[int, IoSource] = {}  # token -> the registered IO source
        self.timer_ticks: list[int] = []  # heap of millisecond ticks (some maybe emptied since)
        self._tokens = itertools.count(WAKE_TOKEN + 1)
        self._buckets: dict[int, dict[Any, None]] = {}  # tick -> its entries, in added order
        self._timer_lock = threading.Lock()
        self._notified = False  # a wake fd write is in flight: later notifies coalesce
        self._waiting = False  # the driver may be inside epoll_wait
        self._users: dict[Any, None] = {}  # the executors using the reactor now
        self._users_lock = threading.Lock()
        self._close_when_idle = False
        self.closed = False
        # Driver hand-off between executors (runtime.executor owns the protocol).
        self.driver_lock = threading.Lock()
        self.idle_executors: dict[Any, None] = {}

    # -- IO ------------------------------------------------------------------------------

    def register_io(self, fd: int, interests: int = Interest.BOTH) -> IoSource:
        """Watch ``fd`` (non-blocking, owned by the caller) for readiness edges."""
        if self.closed:
            raise RuntimeError("the reactor is closed; start a new runtime.run()")
        token = next(self._tokens)
        source = IoSource(self, fd, token)
        self.sources[token] = source
        try:
            self._registry.register(fd, token, interests)
        except BaseException:
            del self.sources[token]
            raise
        return source

    def _forget(self, source: IoSource) -> None:
        if self.sources.pop(source.token, None) is None or self.closed:
            return
        try:
            self._registry.deregister(source.fd)
        except OSError:
            pass  # the fd was closed first; the kernel dropped the registration with it
        self._close_if_idle()

    # -- timers --------------------------------------------------------------------------

    def add_timer(self, deadline: float, waker: Any) -> TimerHandle:
        """Wake ``waker`` once ``time.monotonic()`` reaches ``deadline``; safe from any thread."""
        handle = TimerHandle(self, deadline, waker)
        self.schedule(handle)
        return handle

    def schedule(self, timer: Any) -> None:
        """Add a timer entry: any hashable object with ``deadline`` and ``waker`` attributes.

        When it fires, the reactor sets ``timer.waker`` to None and wakes the old value, so
        an entry fires at most once; ``cancel(timer)`` removes it, and replacing ``waker``
        wakes a newer waker. ``runtime.sleep`` futures are their own entries (no extra object).
        """
        tick = math.ceil(timer.deadline * 1000)
        with self._timer_lock:
            bucket = self._buckets.get(tick)
            if bucket is not None:
                bucket[timer] = None
                return
            self._buckets[tick] = {timer: None}
            heappush(self.timer_ticks, tick)
        if self._waiting:  # the driver sleeps with a timeout computed without this tick
            self.notify()

    def cancel(self, timer: Any) -> None:
        """Remove ``timer``'s entry if it has not fired: it holds no memory from now on."""
        timer.waker = None
        tick = math.ceil(timer.deadline * 1000)
        with self._timer_lock:
            buckets = self._buckets
            bucket = buckets.get(tick)
            if bucket is None or bucket.pop(timer, _ABSENT) is _ABSENT or bucket:
                return
            del buckets[tick]
            ticks = self.timer_ticks
            while ticks and ticks[0] not in buckets:
                heappop(ticks)  # keeps the driver's epoll timeout true
            if len(ticks) > 2 * len(buckets) + 64:
                ticks[:] = buckets
                heapify(ticks)

    def _fire_due(self) -> None:
        ticks = self.timer_ticks
        if not ticks:
            return
        now = monotonic() * 1000
        due = []
        with self._timer_lock:
            buckets = self._buckets
            while ticks and ticks[0] <= now:
                bucket = buckets.pop(heappop(ticks), None)
                if bucket:
                    due.append(bucket)
        for bucket in due:
            handles = list(bucket)
            if len(handles) > 1:
                handles.sort(key=_deadline_of)  # stable; already sorted when added in order
            for handle in handles:
                waker = handle.waker
                if waker is not None:
                    handle.waker = None
                    waker.wake()

    def next_deadline(self) -> float | None:
        """``time.monotonic()`` of the earliest timer bucket, or None."""
        ticks = self.timer_ticks
        return ticks[0] / 1000 if ticks else None

    # -- driving -------------------------------------------------------------------------

    def notify(self) -> None:
        """Wake the thread blocked in ``epoll_wait`` (from any thread); coalesced."""
        if not self._notified and not self.closed:
            self._notified = True
            try:
                os.write(self._wake_write_fd, _WAKE_BYTES)
            except OSError:
                pass  # closed under us by the last run(); nobody waits any more

    def turn(self, block: bool) -> None:
        """One ``epoll_wait`` and dispatch; the caller holds ``driver_lock``.

        ``block``: wait for an event, a notify or the next timer; otherwise just look.
        """
        if block:
            self._waiting = True
            ticks = self.timer_ticks
            timeout = max(0.0, ticks[0] / 1000 - monotonic()) if ticks else None
        else:
            timeout = 0.0
        events = self._events
        try:
            self._poll.poll(events, timeout)
        finally:
            self._waiting = False
        if events._len:
            sources = self.sources
            for token, ready in events.readiness():
                if token == WAKE_TOKEN:
                    # Drain, then re-arm notify(). The other order loses wakes: a notify()
                    # landing between the two would be drained with its flag left set, and
                    # every later notify() would skip its write.
                    try:
                        os.read(self._wake_fd, 512)
                    except BlockingIOError:
                        pass
                    self._notified = False
                    continue
                source = sources.get(token)
                if source is not None:
                    source._on_event(ready)
        self._fire_due()

    # -- lifetime ------------------------------------------------------------------------

    def enter(self, executor: Any) -> bool:
        """``executor`` starts using the reactor; False if it was closed (take ``reactor()`` again).

        Counting an executor by its identity, not with a number, makes ``exit`` idempotent,
        also for an executor never counted: ``runtime.run`` calls it again after a Ctrl-C may
        have cut the first call short.
        """
        with self._users_lock:
            if self.closed:
                return False
            self._users[executor] = None
            return True

    def exit(self, executor: Any) -> None:
        """``executor`` stops using the reactor; idempotent, and nothing if it never entered."""
        with self._users_lock:
            self._users.pop(executor, None)
        self._close_if_idle()

    def close_when_idle(self) -> None:
        """Release the fds once no executor uses the reactor and no fd is registered."""
        self._close_when_idle = True
        self._close_if_idle()

    def _close_if_idle(self) -> None:
        with self._users_lock:
            if self._close_when_idle and not self._users and not self.sources:
                self.close()

    def close(self) -> None:
        """Close the poller and the wake fd; registered sources become always-ready.

        Idempotent fd by fd: a call cut short (Ctrl-C between the two closes) is finished by
        the next one.
        """
        self.closed = True
        sources = list(self.sources.values())
        self.sources.clear()
        for source in sources:
            source._detach()
        with self._timer_lock:
            self._buckets.clear()
            self.timer_ticks.clear()
        wake_fd, self._wake_fd = self._wake_fd, -1
        write_fd, self._wake_write_fd = self._wake_write_fd, -1
        if wake_fd >= 0:
            os.close(wake_fd)
        if write_fd >= 0 and write_fd != wake_fd:
            os.close(write_fd)
        self._poll.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"{len(self.sources)} sources"
        return f"<Reactor {state}, {len(self.timer_ticks)} timer ticks>"


_shared: Reactor | None = None
_shared_lock = threading.Lock()


def reactor() -> Reactor:
    """The shared Reactor, started on first use (again after ``runtime.run`` closed it)."""
    global _shared
    current = _shared
    if current is None or current.closed:
        with _shared_lock:
            current = _shared
            if current is None or current.closed:
                current = _shared = Reactor()
    return current
