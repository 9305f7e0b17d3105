"""What every poller under runtime.reactor does, whichever ``RUNTIME_POLLER`` picked.

CI runs tests/runtime once per poller, so these pin the shared API on both.
"""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from runtime.reactor import POLLER, Events, Interest, Poll, Token


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


def test_a_drained_direction_is_reported_again_after_rearm_when_new_data_arrives():
    a, b = socket.socketpair()
    a.setblocking(False)
    with Poll() as poll:
        registry = poll.registry()
        events = Events(8)
        registry.register(a.fileno(), Token(5), Interest.READABLE)
        b.send(b"first")
        poll.poll(events, 1.0)
        assert [e.token for e in events] == [5]
        assert a.recv(100) == b"first"
        with pytest.raises(BlockingIOError):
            a.recv(100)
        registry.rearm(a.fileno(), Interest.READABLE)
        poll.poll(events, 0)
        assert events.is_empty(), "drained: nothing to report"
        b.send(b"second")
        poll.poll(events, 1.0)
        assert [(e.token, e.is_readable()) for e in events] == [(5, True)]
    a.close()
    b.close()


def test_an_idle_writable_socket_is_reported_once_not_on_every_poll():
    a, b = socket.socketpair()
    with Poll() as poll:
        events = Events(8)
        poll.registry().register(a.fileno(), Token(9), Interest.BOTH)
        poll.poll(events, 1.0)
        assert [(e.token, e.is_writable()) for e in events] == [(9, True)]
        poll.poll(events, 0)
        assert events.is_empty()
    a.close()
    b.close()


def _run_without_the_extension(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``code`` in a fresh Python where runtime._epoll cannot be imported, as on a machine
    where it was never built (None in sys.modules makes a module unimportable)."""
    return subprocess.run(
        [sys.executable, "-c", f"import sys; sys.modules['runtime._epoll'] = None\n{code}"],
        env={**env, "PYTHONPATH": ":".join(sys.path)},
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("kqueue", "RUNTIME_POLLER='kqueue' is not a poller: use RUNTIME_POLLER=epoll"),
        ("epoll", "RUNTIME_POLLER=epoll, but the epoll extension (runtime._epoll) is not built"),
    ],
)
def test_an_unusable_runtime_poller_setting_fails_at_import_saying_what_to_set(setting, message):
    done = _run_without_the_extension("import runtime", RUNTIME_POLLER=setting)
    assert done.returncode == 1
    assert message in done.stderr.splitlines()[-1]


def test_without_the_extension_the_runtime_falls_back_to_selectors_and_runs():
    done = _run_without_the_extension(
        "import runtime, runtime.reactor\n"
        "print(runtime.reactor.POLLER, runtime.run(runtime.sleep(0.001)))"
    )
    assert done.stdout == "selectors None\n", done.stderr


def test_the_poller_is_the_one_runtime_poller_names_else_epoll_where_built():
    import importlib.util
    import os

    built = importlib.util.find_spec("runtime._epoll") is not None
    assert (os.environ.get("RUNTIME_POLLER") or ("epoll" if built else "selectors")) == POLLER
