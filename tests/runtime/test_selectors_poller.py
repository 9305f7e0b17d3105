"""The selectors poller's own facts (runtime._poll_selectors), tested on every machine.

It emulates edges on level-triggered selectors; these pin the emulation where the shared API
tests (test_poller_api.py) cannot see it: poll(2)-style selectors that read their sets only
when called, and a full event buffer.
"""

from __future__ import annotations

import selectors
import socket
import threading
import time

import pytest

from runtime._poll_selectors import Events, Poll
from runtime._readiness import Interest, Token


@pytest.mark.parametrize("selector", [selectors.PollSelector, selectors.SelectSelector])
def test_a_rearm_from_another_thread_wakes_a_poll_sleeping_in_a_poll2_style_selector(selector):
    a, b = socket.socketpair()
    with Poll(selector) as poll:
        registry = poll.registry()
        events = Events(8)
        registry.register(a.fileno(), Token(4), Interest.READABLE)
        b.send(b"x")
        poll.poll(events, 1.0)
        assert [e.token for e in events] == [4]  # reported, so now disarmed
        woke: list[float] = []

        def sleeper() -> None:
            start = time.monotonic()
            poll.poll(events, 10.0)
            woke.append(time.monotonic() - start)

        thread = threading.Thread(target=sleeper)
        thread.start()
        time.sleep(0.1)  # let it go to sleep in select()
        registry.rearm(a.fileno(), Interest.READABLE)  # the byte is still unread
        thread.join(5.0)
        assert woke and woke[0] < 5.0, "the sleeping poll did not see the rearm"
        if events.is_empty():  # woken by the interrupt pipe: the next poll reports the fd
            poll.poll(events, 1.0)
        assert [e.token for e in events] == [4]
    a.close()
    b.close()


def test_events_beyond_the_buffer_stay_armed_and_come_with_the_next_poll():
    pairs = [socket.socketpair() for _ in range(5)]
    with Poll() as poll:
        registry = poll.registry()
        for token, (a, b) in enumerate(pairs):
            registry.register(a.fileno(), Token(token), Interest.READABLE)
            b.send(b"x")
        events = Events(2)
        seen: list[int] = []
        for _ in range(3):
            poll.poll(events, 1.0)
            seen += [e.token for e in events]
        assert sorted(seen) == [0, 1, 2, 3, 4]
        poll.poll(events, 0)
        assert events.is_empty()
    for a, b in pairs:
        a.close()
        b.close()


def test_a_level_registration_is_reported_until_drained():
    a, b = socket.socketpair()
    a.setblocking(False)
    with Poll() as poll:
        poll.registry().register_level(a.fileno(), Token(0), Interest.READABLE)
        events = Events(4)
        b.send(b"wake")
        for _ in range(2):
            poll.poll(events, 1.0)
            assert [e.token for e in events] == [0]
        a.recv(100)
        poll.poll(events, 0)
        assert events.is_empty()
    a.close()
    b.close()


def test_a_fully_disarmed_fd_is_out_of_the_selector_and_deregisters_cleanly():
    a, b = socket.socketpair()
    with Poll() as poll:
        registry = poll.registry()
        registry.register(a.fileno(), Token(1), Interest.BOTH)
        b.send(b"x")
        events = Events(4)
        poll.poll(events, 1.0)
        assert [(e.is_readable(), e.is_writable()) for e in events] == [(True, True)]
        registry.deregister(a.fileno())
        with pytest.raises(FileNotFoundError):
            registry.deregister(a.fileno())
    a.close()
    b.close()
