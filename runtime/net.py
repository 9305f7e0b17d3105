"""TCP on the runtime: ``TcpListener`` and ``TcpStream`` with futures for every wait (SPEC §3).

Every socket is non-blocking and registered with the shared reactor exactly once, for
both directions, edge-triggered (``runtime.reactor``'s IO readiness contract). A future
asks its ``IoSource`` whether the direction it needs is ready — a look at two integers,
no syscall — and if so goes straight to its syscall; once the kernel has shown the socket
drained (EAGAIN, or a short read or write) it clears that readiness, and the next
operation leaves its waker for the next edge. A busy socket costs one syscall per
operation, no EAGAIN in a request/response exchange, and never an ``epoll_ctl``.

Facts this module depends on:

- Edge-triggered epoll reports a *change* to ready. Readiness is only known to be gone
  once a syscall has returned EAGAIN, or a short ``recv``/``send`` proved it (below);
  those are the only places it is cleared.
- ``clear_ready`` clears up to the edge that the last ``poll_ready`` saw; an edge the
  driver delivers later (another thread may drive the reactor meanwhile) stays set. That
  is why ``poll_ready`` comes *before* the syscall: calling it only after EAGAIN could
  count an edge that arrived after the syscall as seen, and clear it.
- A ``recv`` on a TCP socket that returns fewer bytes than asked has emptied the receive
  queue (``tcp_recvmsg`` only stops short when no segment is left), so the next read can
  wait for the next edge without first paying for an EAGAIN (an exception, in Python) —
  unless a FIN or an RST is queued behind the data: its edge has already been delivered
  and no other will come. ``IoSource.read_closed`` records such hang-up/error edges
  (stickily, before their readiness is published), and a short read clears readiness
  only while it is False. This is tokio's rule too (its "read closed" is sticky).
- A ``send`` that sends fewer bytes than given has filled the send buffer; errors still
  arrive as new edges (EPOLLERR), so a short send clears write readiness.
- A non-blocking ``connect`` returns EINPROGRESS; the socket turns writable when the
  handshake ends either way, and ``SO_ERROR`` says which. On loopback the refusal can
  also come back from ``connect`` itself. ``OSError(errno, text)`` builds the matching
  subclass (``ConnectionRefusedError`` for ECONNREFUSED), which is what ``wait`` raises.
- A peer that resets the connection makes ``recv``/``send`` raise
  ``ConnectionResetError``; EPOLLERR/EPOLLHUP set both directions ready, so a task
  waiting on a reset socket wakes and sees that error instead of sleeping.
- CPython ignores SIGPIPE at startup, so writing to a socket the peer closed raises
  ``BrokenPipeError`` rather than killing the process.
- epoll keys a registration on the open file description, not on the fd number: a
  closed fd must be deregistered *before* ``close``, or a new socket that reuses the
  number could receive events meant for the old one.
- Python retries syscalls interrupted by signals itself (PEP 475); no EINTR handling here.

One task reads and one task writes a stream at a time: the ``IoSource`` keeps one waker
per direction (the most recent), as tokio's does.
"""

from __future__ import annotations

import errno
import os
import socket
from typing import Any, NoReturn, Self

from runtime.blocking import spawn_blocking
from runtime.future import PENDING, Future, Ready
from runtime.reactor import Interest, reactor

_READABLE = Interest.READABLE
_WRITABLE = Interest.WRITABLE
_BOTH = Interest.READABLE | Interest.WRITABLE

DEFAULT_READ_SIZE = 65536
# A deep accept queue: bursts of connections (1,000 at once in the tests) must not be
# refused before the accepting task gets to run.
DEFAULT_BACKLOG = 1024

# Read and WriteAll futures are built with object.__new__ and two slot stores, without an
# __init__ frame: one of each per message makes this the hot path of every echo.
_new = object.__new__
# Every finished write answers this one Ready: nothing ever changes a Ready's value, and
# building one costs a Python frame per message.
_READY_NONE = Ready(None)


def _resolve_for_bind(host: str, port: int) -> list[tuple[Any, ...]]:
    """getaddrinfo for a listening socket; numeric addresses skip the resolver.

    ``bind`` runs at once, like Rust's ``TcpListener::bind``, so a name is resolved in
    place; ``Connect`` instead resolves names off the executor's thread.
    """
    flags = socket.AI_PASSIVE
    try:
        return socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=flags | socket.AI_NUMERICHOST
        )
    except socket.gaierror:
        return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=flags)


class _RegisteredSocket:
    """A non-blocking socket registered once with the reactor: how streams and listeners close."""

    __slots__ = ("_io", "_sock")

    def fileno(self) -> int:
        """The socket's fd (-1 once closed)."""
        return self._sock.fileno()

    def close(self) -> None:
        """Deregister, then close the fd. Idempotent; pending futures on it fail with EBADF."""
        self._io.deregister()
        self._sock.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __del__(self) -> None:
        # A socket dropped unclosed must not leave its registration behind in the reactor.
        try:
            self.close()
        except Exception:
            pass


class TcpStream(_RegisteredSocket):
    """A connected TCP socket. ``read``/``write_all`` return futures to ``wait`` on."""

    __slots__ = ()

    def __init__(self, sock: socket.socket) -> None:
        """Take over a connected socket: make it non-blocking and register it once."""
        sock.setblocking(False)
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            # Each write_all is a message; don't let Nagle hold it back for an ACK.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock = sock
        self._io = reactor().register_io(sock.fileno(), _BOTH)

    @staticmethod
    def connect(host: str, port: int) -> Connect:
        """A future of a stream connected to ``host:port`` (each address tried in turn)."""
        return Connect(host, port)

    def read(self, n: int = DEFAULT_READ_SIZE) -> Read:
        """A future of up to ``n`` bytes: what is available once any is; ``b""`` at EOF."""
        if n <= 0:
            raise ValueError(f"read size must be positive, got {n}")
        future = _new(Read)
        future._stream = self
        future._n = n
        return future

    def write_all(self, data: bytes | bytearray | memoryview) -> WriteAll:
        """A future that finishes once all of ``data`` is handed to the kernel."""
        future = _new(WriteAll)
        future._stream = self
        future._data = data
        return future

    def shutdown_write(self) -> None:
        """Send EOF to the peer (``shutdown(SHUT_WR)``); reading stays possible."""
        self._sock.shutdown(socket.SHUT_WR)

    @property
    def local_addr(self) -> tuple[Any, ...]:
        """The socket's own address, ``(host, port)`` (the port chosen for port 0)."""
        return self._sock.getsockname()

    @property
    def peer_addr(self) -> tuple[Any, ...]:
        """The address of the other end, ``(host, port)``."""
        return self._sock.getpeername()

    def __repr__(self) -> str:
        if self._sock.fileno() < 0:
            return "<TcpStream closed>"
        try:
            return f"<TcpStream {self.local_addr} -> {self.peer_addr}>"
        except OSError:
            return f"<TcpStream fd={self._sock.fileno()}>"


class TcpListener(_RegisteredSocket):
    """A listening TCP socket; ``accept()`` returns a future of ``(TcpStream, address)``."""

    __slots__ = ("local_addr",)

    def __init__(self, sock: socket.socket) -> None:
        sock.setblocking(False)
        self._sock = sock
        self._io = reactor().register_io(sock.fileno(), _READABLE)
        self.local_addr: tuple[Any, ...] = sock.getsockname()

    @classmethod
    def bind(
        cls, host: str = "127.0.0.1", port: int = 0, backlog: int = DEFAULT_BACKLOG
    ) -> TcpListener:
        """Bind and listen now (as Rust's ``TcpListener::bind``); port 0 picks a free port."""
        error: OSError | None = None
        for family, type_, proto, _, addr in _resolve_for_bind(host, port):
            sock = socket.socket(family, type_, proto)
            try:
                # Restarting a server must not wait out TIME_WAIT on its port.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind(addr)
                sock.listen(backlog)
            except OSError as exc:
                sock.close()
                error = exc
                continue
            return cls(sock)
        raise error if error is not None else OSError(f"no address to bind for {host!r}")

    def accept(self) -> Accept:
        """A future of the next connection: ``(TcpStream, peer address)``."""
        return Accept(self)

    def __repr__(self) -> str:
        return f"<TcpListener {self.local_addr}>"


# --- the futures ---------------------------------------------------------------------
# Each holds its stream (or listener), which keeps that alive while the future is pending:
# ``wait(wait(TcpStream.connect(h, p)).read())`` must not close the socket under the read
# when the temporary stream is dropped. The IoSource keeps the latest waker it was given.


class Read(Future[bytes]):
    """``TcpStream.read(n)``: up to ``n`` bytes, or ``b""`` at EOF. Made by ``read``."""

    __slots__ = ("_n", "_stream")

    def poll(self, waker: Any) -> Ready | Any:
        stream = self._stream
        io = stream._io
        while io.poll_ready(_READABLE, waker):
            try:
                data = stream._sock.recv(self._n)
            except BlockingIOError:
                io.clear_ready(_READABLE)
                continue
            if len(data) < self._n and not io.read_closed:
                # The receive queue is empty (module facts): the next read waits for its
                # edge instead of paying for an EAGAIN.
                io.clear_ready(_READABLE)
            return Ready(data)
        return PENDING


class WriteAll(Future[None]):
    """``TcpStream.write_all(data)``: done when every byte has been sent. Made by ``write_all``."""

    __slots__ = ("_data", "_stream")

    def poll(self, waker: Any) -> Ready | Any:
        stream = self._stream
        io = stream._io
        data = self._data
        while io.poll_ready(_WRITABLE, waker):
            try:
                sent = stream._sock.send(data)
            except BlockingIOError:
                io.clear_ready(_WRITABLE)
                continue
            if sent == len(data):
                self._data = b""
                return _READY_NONE
            # The send buffer is full (module facts): wait for the next edge, then send the
            # rest without copying it.
            io.clear_ready(_WRITABLE)
            data = self._data = memoryview(data)[sent:]
        return PENDING


class Accept(Future[tuple["TcpStream", Any]]):
    """``TcpListener.accept()``: the next connection as ``(TcpStream, peer address)``."""

    __slots__ = ("_listener",)

    def __init__(self, listener: TcpListener) -> None:
        self._listener = listener

    def poll(self, waker: Any) -> Ready | Any:
        listener = self._listener
        io = listener._io
        while io.poll_ready(_READABLE, waker):
            try:
                conn, addr = listener._sock.accept()
            except BlockingIOError:
                io.clear_ready(_READABLE)
                continue
            except ConnectionAbortedError:
                continue  # reset while it sat in the queue: accept(2) says try the next
            try:
                return Ready((TcpStream(conn), addr))
            except BaseException:
                conn.close()
                raise
        return PENDING


# Connect's states.
_START = 0
_RESOLVING = 1  # a host name is being looked up on the blocking pool
_CONNECTING = 2
_DONE = 3


class Connect(Future["TcpStream"]):
    """``TcpStream.connect(host, port)``: tries each resolved address until one answers.

    A numeric address is used at once; a host name is looked up with ``getaddrinfo`` on
    the ``spawn_blocking`` pool, since a DNS query would stall every task of this thread.
    ``close()`` while connecting deregisters and closes the half-open socket.
    """

    __slots__ = ("_addrs", "_error", "_host", "_io", "_lookup", "_port", "_sock", "_state")

    def __init__(self, host: str, port: int) -> None:
        self._host = host
        self._port = port
        self._state = _START
        self._lookup: Future | None = None
        self._addrs: list[tuple[Any, ...]] = []
        self._sock: socket.socket | None = None
        self._io: Any = None
        self._error: OSError | None = None

    def poll(self, waker: Any) -> Ready | Any:
        state = self._state
        if state == _CONNECTING:
            return self._poll_connecting(waker)
        if state == _START:
            try:
                addrs = socket.getaddrinfo(
                    self._host, self._port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST
                )
            except socket.gaierror:  # a name, not an address
                self._lookup = spawn_blocking(
                    socket.getaddrinfo, self._host, self._port, 0, socket.SOCK_STREAM
                )
                self._state = state = _RESOLVING
            else:
                return self._begin(addrs, waker)
        if state == _RESOLVING:
            try:
                answer = self._lookup.poll(waker)
            except BaseException:  # socket.gaierror (an OSError) for an unknown name
                self._lookup = None
                self._state = _DONE
                raise
            if answer is PENDING:
                return PENDING
            self._lookup = None
            return self._begin(answer.value, waker)
        raise RuntimeError("Connect polled after it finished")

    def _begin(self, addrs: list[tuple[Any, ...]], waker: Any) -> Ready | Any:
        self._addrs = addrs[::-1]  # popped from the end, in the resolver's order
        self._state = _CONNECTING
        if not self._start_next():
            self._fail()
        return self._poll_connecting(waker)

    def _poll_connecting(self, waker: Any) -> Ready | Any:
        while True:
            if not self._io.poll_ready(_WRITABLE, waker):
                return PENDING
            err = self._sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err == 0:
                return self._connected()
            self._error = OSError(err, f"{os.strerror(err)}: connecting to {self._addr_text()}")
            self._release()
            if not self._start_next():
                self._fail()

    def _start_next(self) -> bool:
        """Begin connecting to the next address; False when none is left to try."""
        while self._addrs:
            family, type_, proto, _, addr = self._addrs.pop()
            sock = socket.socket(family, type_, proto)
            sock.setblocking(False)
            # Registered before connect, once: the handshake's end is its first edge.
            self._sock, self._io = sock, reactor().register_io(sock.fileno(), _BOTH)
            err = sock.connect_ex(addr)
            if err in (0, errno.EINPROGRESS):
                return True
            self._error = OSError(err, f"{os.strerror(err)}: connecting to {self._addr_text()}")
            self._release()
        return False

    def _connected(self) -> Ready:
        sock, io = self._sock, self._io
        self._sock = self._io = None
        self._state = _DONE
        stream = TcpStream.__new__(TcpStream)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        stream._sock, stream._io = sock, io  # already non-blocking and registered
        return Ready(stream)

    def _fail(self) -> NoReturn:
        self._state = _DONE
        error = self._error or OSError(f"no address found for {self._host!r}")
        self._error = None
        raise error

    def _release(self) -> None:
        if self._sock is not None:
            self._io.deregister()
            self._sock.close()
            self._sock = self._io = None

    def _addr_text(self) -> str:
        return f"{self._host}:{self._port}"

    def close(self) -> None:
        """Give up connecting: the half-open socket is deregistered and closed."""
        if self._lookup is not None:
            self._lookup.close()
            self._lookup = None
        self._release()
        self._state = _DONE
