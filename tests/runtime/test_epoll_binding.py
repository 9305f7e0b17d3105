"""The cffi epoll binding and the mio-like layer over it (runtime._sys, runtime.reactor)."""

from __future__ import annotations

import platform
import socket

import pytest

from runtime import _sys
from runtime.reactor import Events, Interest, Poll, Token

# glibc's <sys/epoll.h>: packed on x86-64 only.
EPOLL_EVENT_LAYOUT = {"x86_64": (12, 4), "aarch64": (16, 8)}


@pytest.mark.skipif(platform.machine() not in EPOLL_EVENT_LAYOUT, reason="layout not pinned")
def test_epoll_event_has_the_kernel_layout_of_this_architecture():
    size, data_offset = EPOLL_EVENT_LAYOUT[platform.machine()]
    assert _sys.EVENT_SIZE == size
    assert _sys.EVENT_DATA_OFFSET == data_offset
    assert _sys.ffi.offsetof("struct epoll_event", "events") == 0


def test_a_token_round_trips_through_the_kernel_with_all_64_bits():
    a, b = socket.socketpair()
    with Poll() as poll:
        events = Events(8)
        poll.registry().register(a.fileno(), Token(2**64 - 3), Interest.READABLE)
        b.send(b"x")
        poll.poll(events, 1.0)
        assert [e.token for e in events] == [2**64 - 3]
    a.close()
    b.close()


def test_edge_triggered_registration_reports_each_edge_once():
    a, b = socket.socketpair()
    with Poll() as poll:
        events = Events(8)
        poll.registry().register(a.fileno(), Token(7), Interest.READABLE)
        b.send(b"first")
        poll.poll(events, 1.0)
        assert [(e.token, e.is_readable()) for e in events] == [(7, True)]
        poll.poll(events, 0)  # data still unread, but no new edge
        assert events.is_empty()
        b.send(b"second")
        poll.poll(events, 1.0)
        assert len(events) == 1
    a.close()
    b.close()


def test_reregister_changes_token_and_interests_and_deregister_silences_the_fd():
    a, b = socket.socketpair()
    with Poll() as poll:
        registry = poll.registry()
        events = Events(8)
        registry.register(a.fileno(), Token(1), Interest.READABLE)
        registry.reregister(a.fileno(), Token(2), Interest.READABLE | Interest.WRITABLE)
        poll.poll(events, 1.0)
        (event,) = list(events)
        assert event.token == 2 and event.is_writable()
        registry.deregister(a.fileno())
        b.send(b"x")
        poll.poll(events, 0)
        assert events.is_empty()
    a.close()
    b.close()


def test_peer_hangup_is_reported_as_read_closed():
    a, b = socket.socketpair()
    with Poll() as poll:
        events = Events(8)
        poll.registry().register(a.fileno(), Token(3), Interest.READABLE)
        b.close()
        poll.poll(events, 1.0)
        (event,) = list(events)
        assert event.is_read_closed()
    a.close()


def test_poll_times_out_with_no_events_and_close_is_idempotent():
    poll = Poll()
    events = Events(4)
    poll.poll(events, 0.01)
    assert events.is_empty()
    poll.close()
    poll.close()
    assert poll.closed


def test_registering_nothing_is_refused_with_a_clear_message():
    with Poll() as poll, pytest.raises(ValueError, match="READABLE or"):
        poll.registry().register(0, Token(1), 0)


def test_registering_a_bad_fd_raises_the_os_error():
    with Poll() as poll, pytest.raises(OSError):
        poll.registry().register(10**6, Token(1), Interest.READABLE)
