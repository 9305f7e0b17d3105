"""The cffi epoll binding and the epoll poller over it (runtime._sys, runtime._poll_epoll).

Skipped where the extension is not built; tests/runtime/test_poller_api.py holds what every
poller must do, whichever RUNTIME_POLLER picks.
"""

from __future__ import annotations

import importlib.util
import platform
import socket

import pytest

# Skipped only where the compiled extension is absent: a broken import of the binding or the
# poller over it must fail these tests, not skip them.
if importlib.util.find_spec("runtime._epoll") is None:
    pytest.skip("the epoll extension is not built here", allow_module_level=True)

from runtime import _sys
from runtime._poll_epoll import Events, Poll
from runtime._readiness import Interest, Token

# glibc's <sys/epoll.h>: packed on x86-64 only.
EPOLL_EVENT_LAYOUT = {"x86_64": (12, 4), "aarch64": (16, 8)}


@pytest.mark.skipif(platform.machine() not in EPOLL_EVENT_LAYOUT, reason="layout not pinned")
def test_epoll_event_has_the_kernel_layout_of_this_architecture():
    size, data_offset = EPOLL_EVENT_LAYOUT[platform.machine()]
    assert size == _sys.EVENT_SIZE
    assert data_offset == _sys.EVENT_DATA_OFFSET
    assert _sys.ffi.offsetof("struct epoll_event", "events") == 0


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
