"""runtime.net: TCP listener and streams on the shared reactor, through run/spawn."""

from __future__ import annotations

import os
import resource
import socket
import struct
import threading
from typing import Any

import pytest
from runtime_helpers import coro
from runtime_helpers import run_with_deadline as run

import runtime
from runtime import PENDING, Future, Ready
from runtime.net import TcpListener, TcpStream
from runtime.reactor import POLLER


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.fixture(autouse=True)
def enough_fds():
    """1,000 connections in one process are 2,000 sockets: lift the soft fd limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 4096 if hard == resource.RLIM_INFINITY else min(hard, 4096)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@coro
def echo_server(listener: TcpListener, connections: int):
    """Accept ``connections`` clients, echoing each in a task of its own until its EOF."""
    handles = []
    for _ in range(connections):
        stream, _addr = yield listener.accept()
        handles.append(runtime.spawn(echo(stream)))
    for handle in handles:  # noqa: UP028 - each yield is a wait, not a value to pass on
        yield handle


@coro
def echo(stream: TcpStream):
    try:
        while data := (yield stream.read(4096)):
            yield stream.write_all(data)
    finally:
        stream.close()


class Barrier:
    """Holds every client until all have arrived, so all connections are open at once."""

    def __init__(self, parties: int) -> None:
        self.parties = parties
        self.arrived = 0
        self.wakers: list[Any] = []
        self.fds_when_full = 0

    def wait(self) -> Future:
        return BarrierWait(self)


class BarrierWait(Future):
    __slots__ = ("_barrier", "_counted")

    def __init__(self, barrier: Barrier) -> None:
        self._barrier = barrier
        self._counted = False

    def poll(self, waker: Any) -> Any:
        barrier = self._barrier
        if not self._counted:
            self._counted = True
            barrier.arrived += 1
            if barrier.arrived == barrier.parties:
                barrier.fds_when_full = open_fds()
                for other in barrier.wakers:
                    other.wake()
        if barrier.arrived >= barrier.parties:
            return Ready(None)
        barrier.wakers.append(waker)
        return PENDING


@coro
def echo_client(port: int, message: bytes, barrier: Barrier):
    stream = yield TcpStream.connect("127.0.0.1", port)
    try:
        yield stream.write_all(message)
        got = b""
        while len(got) < len(message):
            data = yield stream.read(4096)
            assert data, "server closed early"
            got += data
        yield barrier.wait()
        return got
    finally:
        stream.close()


@coro
def echo_session(clients: int, barrier: Barrier):
    listener = TcpListener.bind("127.0.0.1", 0)
    try:
        port = listener.local_addr[1]
        server = runtime.spawn(echo_server(listener, clients))
        handles = [
            runtime.spawn(echo_client(port, b"hello %d " % i * (1 + i % 7), barrier))
            for i in range(clients)
        ]
        replies = []
        for handle in handles:
            replies.append((yield handle))
        yield server
        return replies
    finally:
        listener.close()


def test_thousand_concurrent_connections_echo_and_leave_no_fds_behind():
    run(echo_session(3, Barrier(3)))  # warm up: the shared reactor opens its fds once
    before = open_fds()
    barrier = Barrier(1000)
    replies = run(echo_session(1000, barrier))
    assert replies == [b"hello %d " % i * (1 + i % 7) for i in range(1000)]
    # Every client held its connection until all had their echo: 2,000 sockets at once.
    assert barrier.fds_when_full >= before + 2000
    assert open_fds() <= before


def test_listener_binds_port_zero_and_reports_its_address():
    with TcpListener.bind("127.0.0.1", 0) as listener:
        host, port = listener.local_addr
        assert host == "127.0.0.1" and port > 0
        probe = socket.create_connection(("127.0.0.1", port), timeout=5)
        probe.close()


def test_connect_to_a_closed_port_raises_connection_refused():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    before = open_fds()
    with pytest.raises(ConnectionRefusedError):
        run(TcpStream.connect("127.0.0.1", port))
    assert open_fds() <= before


def test_connection_refused_can_be_caught_inside_a_task():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()

    @coro
    def attempt():
        try:
            yield TcpStream.connect("127.0.0.1", port)
        except ConnectionRefusedError as exc:
            return type(exc)

    assert run(attempt()) is ConnectionRefusedError


def _reset_after(server: socket.socket, wait_for: bytes) -> threading.Thread:
    """Accept one client, read ``wait_for`` from it, then close with SO_LINGER 0: an RST."""

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            conn.settimeout(10)
            got = b""
            while len(got) < len(wait_for):
                got += conn.recv(100)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return thread


def test_peer_reset_while_reading_is_an_oserror_not_a_hang():
    server = socket.create_server(("127.0.0.1", 0))
    thread = _reset_after(server, b"go")

    @coro
    def client():
        stream = yield TcpStream.connect("127.0.0.1", server.getsockname()[1])
        try:
            yield stream.write_all(b"go")
            # The RST arrives while this read is pending: the reactor must wake it.
            while True:
                data = yield stream.read(100)
                if not data:
                    return "eof"
        finally:
            stream.close()

    try:
        with pytest.raises(OSError) as info:
            run(client())
        assert isinstance(info.value, ConnectionResetError)
    finally:
        thread.join(10)
        server.close()


def test_writing_to_a_reset_connection_is_an_oserror():
    server = socket.create_server(("127.0.0.1", 0))
    thread = _reset_after(server, b"go")

    @coro
    def client():
        stream = yield TcpStream.connect("127.0.0.1", server.getsockname()[1])
        try:
            yield stream.write_all(b"go")
            try:
                yield stream.read(100)  # the RST shows up here, or as EOF
            except ConnectionResetError:
                pass
            while True:  # now every write must fail, not wait
                yield stream.write_all(b"x" * 65536)
        finally:
            stream.close()

    try:
        with pytest.raises((BrokenPipeError, ConnectionResetError)):
            run(client())
    finally:
        thread.join(10)
        server.close()


def test_read_returns_empty_bytes_at_eof():
    @coro
    def session():
        with TcpListener.bind() as listener:
            client = yield TcpStream.connect(*listener.local_addr)
            served, _ = yield listener.accept()
            yield served.write_all(b"bye")
            served.shutdown_write()
            chunks = []
            while data := (yield client.read(10)):
                chunks.append(data)
            client.close()
            served.close()
            return b"".join(chunks)

    assert run(session()) == b"bye"


def test_write_all_waits_for_a_slow_reader_and_sends_every_byte():
    payload = os.urandom(8 * 1024 * 1024)  # far beyond the socket buffers

    @coro
    def reader(stream: TcpStream):
        got = bytearray()
        while data := (yield stream.read(65536)):
            got += data
        stream.close()
        return bytes(got)

    @coro
    def session():
        with TcpListener.bind() as listener:
            client = yield TcpStream.connect(*listener.local_addr)
            served, _ = yield listener.accept()
            handle = runtime.spawn(reader(served))
            yield client.write_all(payload)
            client.close()
            return (yield handle)

    assert run(session()) == payload


class PollOnce(Future):
    """Polls ``inner`` once, then closes it; answers what that first poll answered."""

    __slots__ = ("_inner",)

    def __init__(self, inner: Future) -> None:
        self._inner = inner

    def poll(self, waker: Any) -> Ready:
        answer = self._inner.poll(waker)
        self._inner.close()
        return Ready(answer)


def test_closing_a_connect_future_mid_connect_releases_its_socket():
    # A listener with a full accept queue that never accepts drops new SYNs, so a
    # connect to it stays in progress.
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen(0)
    port = blocker.getsockname()[1]
    queued = []
    try:
        for _ in range(4):
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", port))
            queued.append(s)
        run(PollOnce(TcpStream.connect("127.0.0.1", port)))  # warm up the reactor
        before = open_fds()
        assert run(PollOnce(TcpStream.connect("127.0.0.1", port))) is PENDING
        assert open_fds() == before
    finally:
        for s in queued:
            s.close()
        blocker.close()


def test_close_deregisters_and_closes_the_fd_and_later_reads_fail():
    @coro
    def session():
        with TcpListener.bind() as listener:
            client = yield TcpStream.connect(*listener.local_addr)
            served, _ = yield listener.accept()
            client.close()
            client.close()  # idempotent
            served.close()
            assert client.fileno() == -1
            try:
                yield client.read(10)
            except OSError as exc:
                return type(exc)

    assert issubclass(run(session()), OSError)


def test_read_rejects_a_size_that_is_not_positive():
    @coro
    def session():
        with TcpListener.bind() as listener:
            client = yield TcpStream.connect(*listener.local_addr)
            with client, pytest.raises(ValueError):
                client.read(0)

    run(session())


def test_connect_by_host_name_resolves_it():
    @coro
    def session():
        with TcpListener.bind("127.0.0.1", 0) as listener:
            client = yield TcpStream.connect("localhost", listener.local_addr[1])
            served, _ = yield listener.accept()
            with client, served:
                yield client.write_all(b"ping")
                return (yield served.read(10))

    assert run(session()) == b"ping"


@pytest.mark.skipif(POLLER != "epoll", reason="counts epoll_ctl calls of the epoll poller")
@pytest.mark.parametrize("messages", [5, 200])
def test_waiting_for_readiness_costs_no_epoll_ctl_per_message(monkeypatch, messages):
    from runtime import _sys

    calls: list[str] = []
    real_epoll_ctl = _sys.epoll_ctl

    def counting_epoll_ctl(epfd: int, op: str, *args: Any) -> None:
        calls.append(op)
        real_epoll_ctl(epfd, op, *args)

    @coro
    def session():
        with TcpListener.bind() as listener:
            client = yield TcpStream.connect(*listener.local_addr)
            served, _ = yield listener.accept()
            server = runtime.spawn(echo(served))
            with client:
                for i in range(messages):
                    yield client.write_all(b"message %d" % i)
                    got = b""
                    while len(got) < len(b"message %d" % i):
                        got += yield client.read(100)
            yield server

    run(session())  # warm up: the reactor registers its eventfd on first use
    monkeypatch.setattr(_sys, "epoll_ctl", counting_epoll_ctl)
    run(session())
    # Three sockets, each registered once and deregistered once, however many messages
    # (plus the reactor's own eventfd, when this run started it afresh).
    assert calls.count("mod") == 0
    assert calls.count("add") in (3, 4) and calls.count("del") == 3, calls


def test_a_pending_read_keeps_its_temporary_stream_open():
    @coro
    def session():
        with TcpListener.bind() as listener:
            # The stream is a temporary: only the read future refers to it.
            read = (yield TcpStream.connect(*listener.local_addr)).read(10)
            served, _ = yield listener.accept()
            with served:
                yield served.write_all(b"kept")
                return (yield read)

    assert run(session()) == b"kept"


@pytest.mark.parametrize("size", [3, 5000])
def test_eof_queued_behind_data_is_not_lost(size):
    """Data and FIN arrive together: the short read that drains the data must not clear
    the readiness the FIN's (already delivered) edge set."""
    payload = os.urandom(size)

    @coro
    def session(listener: TcpListener):
        stream, _ = yield listener.accept()
        with stream:
            chunks = []
            while data := (yield stream.read(65536)):
                chunks.append(data)
            return b"".join(chunks)

    with TcpListener.bind() as listener:
        peer = socket.create_connection(listener.local_addr, timeout=5)
        peer.sendall(payload)
        peer.shutdown(socket.SHUT_WR)  # both are queued before the server reads at all
        try:
            assert run(session(listener)) == payload
        finally:
            peer.close()


def test_reset_queued_behind_data_is_not_lost():
    @coro
    def session(listener: TcpListener):
        stream, _ = yield listener.accept()
        with stream:
            while (yield stream.read(65536)):
                pass
            return "eof"

    with TcpListener.bind() as listener:
        peer = socket.create_connection(listener.local_addr, timeout=5)
        peer.sendall(b"some data")
        peer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        peer.close()  # an RST right behind the data
        try:
            outcome = run(session(listener))
        except ConnectionResetError:
            outcome = "reset"
        assert outcome in ("reset", "eof")


def test_connect_tries_each_resolved_address_until_one_answers(monkeypatch):
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))
    dead_port = dead.getsockname()[1]
    dead.close()  # nothing listens there: refused
    real_getaddrinfo = socket.getaddrinfo

    def two_addresses(host: str, port: int, *args: Any, **kwargs: Any) -> list:
        if host != "two-addresses.test":
            return real_getaddrinfo(host, port, *args, **kwargs)
        if kwargs.get("flags", 0) & socket.AI_NUMERICHOST:
            raise socket.gaierror(socket.EAI_NONAME, "not numeric")
        tcp = (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "")
        return [(*tcp, ("127.0.0.1", dead_port)), (*tcp, ("127.0.0.1", port))]

    monkeypatch.setattr(socket, "getaddrinfo", two_addresses)

    @coro
    def session():
        with TcpListener.bind("127.0.0.1", 0) as listener:
            client = yield TcpStream.connect("two-addresses.test", listener.local_addr[1])
            with client:
                return client.peer_addr[1] == listener.local_addr[1]

    assert run(session())


def test_ipv6_loopback_works_when_the_host_has_it():
    try:
        probe = socket.socket(socket.AF_INET6)
        probe.bind(("::1", 0))
        probe.close()
    except OSError:
        pytest.skip("no IPv6 loopback here")

    @coro
    def session():
        with TcpListener.bind("::1", 0) as listener:
            client = yield TcpStream.connect("::1", listener.local_addr[1])
            served, addr = yield listener.accept()
            with client, served:
                yield client.write_all(b"six")
                return addr[0], (yield served.read(10))

    assert run(session()) == ("::1", b"six")


def test_echo_across_executors_on_two_threads_loses_no_wake():
    """Server tasks on one thread, clients on another, one shared reactor: edges are
    delivered by whichever thread drives it, while the other is inside a read."""
    clients, messages = 20, 50
    listener = TcpListener.bind()
    served: list[Any] = []
    server_thread = threading.Thread(
        target=lambda: served.append(run(echo_server(listener, clients))), daemon=True
    )
    server_thread.start()

    @coro
    def client(i: int):
        stream = yield TcpStream.connect(*listener.local_addr)
        with stream:
            for m in range(messages):
                message = b"%d:%d;" % (i, m)
                yield stream.write_all(message)
                got = b""
                while len(got) < len(message):
                    data = yield stream.read(4096)
                    assert data, "server closed early"
                    got += data
                assert got == message
            stream.shutdown_write()
            return (yield stream.read(10))  # the server's EOF once it saw ours

    @coro
    def main():
        handles = [runtime.spawn(client(i)) for i in range(clients)]
        results = []
        for handle in handles:
            results.append((yield handle))
        return results

    try:
        assert run(main()) == [b""] * clients
        server_thread.join(20)
        assert served == [None]
    finally:
        listener.close()
