"""The IO readiness contract (docs/internals.md) that runtime.net builds on."""

from __future__ import annotations

import socket

from runtime_helpers import coro

from runtime import PENDING, Future, Ready, run, sleep, spawn
from runtime.reactor import Interest, reactor


class Recv(Future):
    """Read up to n bytes from a non-blocking socket through an IoSource."""

    __slots__ = ("n", "polls", "sock", "source")

    def __init__(self, sock, source, n):
        self.sock, self.source, self.n, self.polls = sock, source, n, 0

    def poll(self, waker):
        self.polls += 1
        while True:
            if not self.source.poll_ready(Interest.READABLE, waker):
                return PENDING
            try:
                return Ready(self.sock.recv(self.n))
            except BlockingIOError:
                self.source.clear_ready(Interest.READABLE)


def test_read_waits_for_data_written_later_and_wakes_once_it_arrives(no_fd_leak):
    a, b = socket.socketpair()
    a.setblocking(False)

    @coro
    def writer():
        yield sleep(0.02)
        b.send(b"hello")

    @coro
    def main():
        source = reactor().register_io(a.fileno(), Interest.READABLE | Interest.WRITABLE)
        spawn(writer())
        recv = Recv(a, source, 100)
        data = yield recv
        source.deregister()
        return data, recv.polls

    try:
        data, polls = run(main())
    finally:
        a.close()
        b.close()
    assert data == b"hello"
    assert polls == 2  # pending once, then ready after the single edge


def test_hangup_makes_both_directions_ready_so_the_syscall_reports_it(no_fd_leak):
    a, b = socket.socketpair()
    a.setblocking(False)

    @coro
    def closer():
        yield sleep(0.01)
        b.close()

    @coro
    def main():
        source = reactor().register_io(a.fileno(), Interest.READABLE)
        spawn(closer())
        data = yield Recv(a, source, 100)
        source.deregister()
        return data

    try:
        assert run(main()) == b""  # EOF, not a hang
    finally:
        a.close()


def test_deregister_is_idempotent_and_leaves_the_source_always_ready():
    a, b = socket.socketpair()
    try:
        source = reactor().register_io(a.fileno(), Interest.READABLE)
        source.deregister()
        source.deregister()
        assert source.poll_ready(Interest.READABLE, None) is True
    finally:
        a.close()
        b.close()


def test_clear_ready_keeps_an_edge_that_arrived_after_poll_ready_saw_readiness():
    a, b = socket.socketpair()
    try:
        source = reactor().register_io(a.fileno(), Interest.READABLE)
        source._on_event(Interest.READABLE)  # the driver reports an edge
        assert source.poll_ready(Interest.READABLE, None)
        source._on_event(Interest.READABLE)  # another edge while the task is in its syscall
        source.clear_ready(Interest.READABLE)
        assert source.poll_ready(Interest.READABLE, None)  # the newer edge survived
        source.clear_ready(Interest.READABLE)
        assert not source.poll_ready(Interest.READABLE, None)
        source.deregister()
    finally:
        a.close()
        b.close()
