"""A small HTTP/1.1 client on runtime.net: the book's ``Http::get`` (SPEC §3).

``Http.get(path)`` returns a future of a ``Response``. It is written by hand as explicit
state machines — the shape corofy generates — so it runs with nothing but the runtime:
``HttpGet`` connects, sends the request, and feeds what it reads to ``ResponseParser``,
a pure, incremental parser that knows nothing about sockets.

Facts the parser depends on (RFC 9112, "HTTP/1.1"):

- A response is a status line, header lines, an empty line, then the body. Lines end in
  CRLF; a bare LF is accepted as well, as most clients do (§2.2).
- The body's length is decided in this order (§6.3): responses with status 1xx, 204 and
  304 have none; a ``Transfer-Encoding`` whose last coding is ``chunked`` means chunked
  framing, and overrides ``Content-Length``; any other ``Transfer-Encoding`` means the body
  runs to the end of the connection; otherwise ``Content-Length`` (several equal values are
  one value; different ones are an error) gives its size; with neither, the body runs to
  the end of the connection ("close-delimited").
- A chunked body is ``size-in-hex[;extensions] CRLF data CRLF`` repeated, ending with a
  zero-size chunk, optional trailer fields, and an empty line (§7.1).
- Interim 1xx responses (``100 Continue``, ``103 Early Hints``) precede the real one and
  are skipped; ``101 Switching Protocols`` ends HTTP on the connection, so it is final.
- Field values are bytes; they are decoded as ISO-8859-1, so no byte is ever rejected
  (the same choice as ``http.client``). Obsolete line folding (a line starting with a
  space or tab continues the previous field) is unfolded with one space (§5.2).
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import quote, urlsplit

from runtime.future import PENDING, Future, Ready
from runtime.net import TcpStream

# How much of a response head (status line + fields) we buffer before refusing it; the
# same order of magnitude as http.client's and browsers' limits.
MAX_HEAD_BYTES = 64 * 1024


class ProtocolError(ValueError):
    """The server's answer is not a well-formed HTTP/1.x response."""


class Headers(Mapping[str, str]):
    """Response fields with case-insensitive names, in the order the server sent them.

    ``headers["content-type"]`` gives the value; a field sent several times gives its
    values joined with ``", "`` (RFC 9110 §5.3). ``get_all(name)`` gives them one by one,
    which is what ``Set-Cookie`` needs.
    """

    __slots__ = ("_fields", "_index")

    def __init__(self, fields: Iterable[tuple[str, str]] = ()) -> None:
        self._fields: list[tuple[str, str]] = []
        self._index: dict[str, list[str]] = {}
        for name, value in fields:
            self._add(name, value)

    def _add(self, name: str, value: str) -> None:
        self._fields.append((name, value))
        self._index.setdefault(name.lower(), []).append(value)

    def __getitem__(self, name: str) -> str:
        return ", ".join(self._index[name.lower()])

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._index

    def __iter__(self) -> Iterator[str]:
        # Each name once, spelled as the server first sent it.
        seen: set[str] = set()
        for name, _ in self._fields:
            key = name.lower()
            if key not in seen:
                seen.add(key)
                yield name

    def __len__(self) -> int:
        return len(self._index)

    def get_all(self, name: str) -> list[str]:
        """Every value of field ``name``, in order; ``[]`` if it was not sent."""
        return list(self._index.get(name.lower(), ()))

    @property
    def fields(self) -> list[tuple[str, str]]:
        """The fields exactly as received: ``(name, value)`` pairs, repeats included."""
        return list(self._fields)

    def __repr__(self) -> str:
        return f"Headers({self._fields!r})"


class Response:
    """A complete HTTP response: ``status``, ``reason``, ``headers``, ``body``, ``text``."""

    __slots__ = ("body", "headers", "reason", "status", "trailers", "version")

    def __init__(
        self,
        version: str,
        status: int,
        reason: str,
        headers: Headers,
        body: bytes,
        trailers: Headers | None = None,
    ) -> None:
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
        self.trailers = trailers if trailers is not None else Headers()

    @property
    def charset(self) -> str:
        """The ``charset`` parameter of ``Content-Type`` if it names a known codec, else utf-8."""
        for param in self.headers.get("content-type", "").split(";")[1:]:
            key, _, value = param.partition("=")
            if key.strip().lower() == "charset":
                name = value.strip().strip('"').strip()
                try:
                    return codecs.lookup(name).name
                except LookupError:
                    break
        return "utf-8"

    @property
    def text(self) -> str:
        """The body decoded per its charset; undecodable bytes become U+FFFD, never an error."""
        return self.body.decode(self.charset, errors="replace")

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.reason!r} {len(self.body)} bytes>"


# Parser states, named for what the parser is waiting to read next.
_STATUS_LINE = 0
_FIELDS = 1
_FIXED_BODY = 2
_CHUNK_SIZE = 3
_CHUNK_DATA = 4
_CHUNK_END = 5
_TRAILERS = 6
_UNTIL_CLOSE = 7
_DONE = 8

_NO_BODY_STATUSES = frozenset({204, 304})
_HEX_DIGITS = frozenset(b"0123456789abcdefABCDEF")
# tchar of RFC 9110 §5.6.2: the characters a field name may use.
_TOKEN_BYTES = frozenset(
    b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)


class ResponseParser:
    """Incremental HTTP/1.x response parser: ``feed`` bytes as they come, ``feed_eof`` at EOF.

    ``done`` turns true once a whole response has been read; ``response()`` then returns
    it. Bytes after the end of the response are ignored (the client sends
    ``Connection: close``, so there is never a second one). Malformed input raises
    ``ProtocolError`` from the ``feed`` or ``feed_eof`` call that revealed it.
    """

    __slots__ = (
        "_body",
        "_buf",
        "_fields",
        "_head_bytes",
        "_reason",
        "_remaining",
        "_response",
        "_state",
        "_status",
        "_trailers",
        "_version",
    )

    def __init__(self) -> None:
        self._state = _STATUS_LINE
        self._buf = bytearray()
        self._head_bytes = 0
        self._version = ""
        self._status = 0
        self._reason = ""
        self._fields: list[tuple[str, str]] = []
        self._trailers: list[tuple[str, str]] = []
        self._body: list[bytes] = []
        self._remaining = 0
        self._response: Response | None = None

    @property
    def done(self) -> bool:
        return self._state == _DONE

    def response(self) -> Response:
        if self._response is None:
            raise RuntimeError("the response is not complete yet")
        return self._response

    def feed(self, data: bytes) -> None:
        """Consume the next bytes received from the server."""
        if self._state == _DONE or not data:
            return
        self._buf += data
        self._advance()

    def feed_eof(self) -> None:
        """The server closed its side: finish a close-delimited body, or refuse a cut one."""
        if self._state == _DONE:
            return
        if self._state == _UNTIL_CLOSE:
            self._finish()
            return
        if self._state == _STATUS_LINE and not self._buf and self._head_bytes == 0:
            raise ProtocolError("the server closed the connection without sending a response")
        raise ProtocolError(
            f"the server closed the connection in the middle of the response ({self._where()})"
        )

    # --- the state machine -----------------------------------------------------------

    def _advance(self) -> None:
        buf = self._buf
        while buf:
            state = self._state
            if state == _FIXED_BODY or state == _CHUNK_DATA:  # noqa: SIM109 (no tuple per byte run)
                take = min(self._remaining, len(buf))
                self._body.append(bytes(buf[:take]))
                del buf[:take]
                self._remaining -= take
                if self._remaining == 0:
                    if state == _FIXED_BODY:
                        self._finish()
                    else:
                        self._state = _CHUNK_END
            elif state == _UNTIL_CLOSE:
                self._body.append(bytes(buf))
                buf.clear()
            elif state == _DONE:
                buf.clear()
            else:
                line = self._take_line()
                if line is None:
                    return
                if state == _STATUS_LINE:
                    self._status_line(line)
                elif state == _FIELDS:
                    self._field_line(line, self._fields)
                elif state == _CHUNK_SIZE:
                    self._chunk_size_line(line)
                elif state == _CHUNK_END:
                    if line:
                        raise ProtocolError("chunk data is longer than its declared size")
                    self._state = _CHUNK_SIZE
                else:  # _TRAILERS
                    self._field_line(line, self._trailers)

    def _take_line(self) -> bytes | None:
        """The next line without its line ending, or None until one has fully arrived."""
        buf = self._buf
        end = buf.find(b"\n")
        in_head = self._state in (_STATUS_LINE, _FIELDS, _TRAILERS)
        if end < 0:
            if in_head and self._head_bytes + len(buf) > MAX_HEAD_BYTES:
                raise ProtocolError(f"response head is larger than {MAX_HEAD_BYTES} bytes")
            if not in_head and len(buf) > 1024:
                raise ProtocolError("chunk size line is too long")
            return None
        if in_head:
            self._head_bytes += end + 1
            if self._head_bytes > MAX_HEAD_BYTES:
                raise ProtocolError(f"response head is larger than {MAX_HEAD_BYTES} bytes")
        line = bytes(buf[:end])
        del buf[: end + 1]
        return line[:-1] if line.endswith(b"\r") else line

    def _status_line(self, line: bytes) -> None:
        if not line:
            return  # RFC 9112 §2.2: tolerate empty lines before the status line
        version, _, rest = line.partition(b" ")
        code, _, reason = rest.partition(b" ")
        if (
            len(version) != 8
            or not version.startswith(b"HTTP/")
            or not version[5:6].isdigit()
            or version[6:7] != b"."
            or not version[7:8].isdigit()
        ):
            raise ProtocolError(f"not an HTTP/1.x status line: {line[:80]!r}")
        if len(code) != 3 or not code.isdigit():
            raise ProtocolError(f"bad status code in status line: {line[:80]!r}")
        self._version = version.decode("ascii")
        self._status = int(code)
        self._reason = reason.decode("latin-1").strip()
        self._state = _FIELDS

    def _field_line(self, line: bytes, fields: list[tuple[str, str]]) -> None:
        if not line:
            if self._state == _FIELDS:
                self._end_of_head()
            else:
                self._finish()
            return
        if line[0] in b" \t":
            if not fields:
                raise ProtocolError("a continuation line came before any field")
            name, value = fields[-1]
            fields[-1] = (name, f"{value} {line.strip().decode('latin-1')}".strip())
            return
        name, colon, value = line.partition(b":")
        if not colon or not name or not _TOKEN_BYTES.issuperset(name):
            raise ProtocolError(f"malformed header field line: {line[:80]!r}")
        fields.append((name.decode("ascii"), value.strip(b" \t").decode("latin-1")))

    def _end_of_head(self) -> None:
        status = self._status
        if 100 <= status < 200 and status != 101:
            # An interim response: forget it and read the real one.
            self._state = _STATUS_LINE
            self._fields = []
            self._head_bytes = 0
            return
        headers = Headers(self._fields)
        if status < 200 or status in _NO_BODY_STATUSES:
            self._finish()
            return
        if "transfer-encoding" in headers:
            codings = [c.strip().lower() for c in headers["transfer-encoding"].split(",")]
            if codings[-1] == "chunked":
                self._state = _CHUNK_SIZE
            else:
                self._state = _UNTIL_CLOSE
            return
        if "content-length" in headers:
            values = {v.strip() for v in headers["content-length"].split(",")}
            if len(values) != 1:
                raise ProtocolError(f"conflicting Content-Length values: {sorted(values)}")
            (value,) = values
            if not value.isdigit() or not value.isascii():
                raise ProtocolError(f"bad Content-Length: {value!r}")
            self._remaining = int(value)
            if self._remaining == 0:
                self._finish()
            else:
                self._state = _FIXED_BODY
            return
        self._state = _UNTIL_CLOSE

    def _chunk_size_line(self, line: bytes) -> None:
        size = line.partition(b";")[0].strip(b" \t")
        if not size or not _HEX_DIGITS.issuperset(size):
            raise ProtocolError(f"bad chunk size line: {line[:80]!r}")
        self._remaining = int(size, 16)
        if self._remaining == 0:
            self._state = _TRAILERS
            self._head_bytes = 0  # trailers get a budget of their own
        else:
            self._state = _CHUNK_DATA

    def _finish(self) -> None:
        self._response = Response(
            self._version,
            self._status,
            self._reason,
            Headers(self._fields),
            b"".join(self._body),
            Headers(self._trailers),
        )
        self._body = []
        self._buf.clear()
        self._state = _DONE

    def _where(self) -> str:
        state = self._state
        if state in (_STATUS_LINE, _FIELDS):
            return "in its head"
        if state == _FIXED_BODY:
            return f"{self._remaining} bytes of the body missing"
        return "in its chunked body"


# --- the client ------------------------------------------------------------------------

# HttpGet's states, named for what it is waiting on.
_CONNECTING = 0
_SENDING = 1
_RECEIVING = 2
_FINISHED = 3

# RFC 3986's reserved and unreserved characters, plus "%" so an already-encoded target
# passes through unchanged; anything else (spaces, non-ASCII) is percent-encoded.
_TARGET_SAFE = "!#$%&'()*+,/:;=?@[]~-._"


class Http:
    """The book's ``Http::get``, for the delay server and any other HTTP/1.1 server."""

    @staticmethod
    def get(path_or_url: str, host: str = "127.0.0.1", port: int = 8080) -> HttpGet:
        """A future of the ``Response`` to ``GET path`` at ``host:port``.

        A full ``http://host[:port]/path`` URL overrides ``host`` and ``port``. The request
        says ``Connection: close``, so the body may also be delimited by the server closing.
        """
        if "://" in path_or_url:
            url = urlsplit(path_or_url)
            if url.scheme.lower() != "http":
                raise ValueError(f"only http:// URLs are supported, not {path_or_url!r}")
            if not url.hostname:
                raise ValueError(f"no host in URL {path_or_url!r}")
            host, port = url.hostname, url.port or 80
            target = url.path or "/"
            if url.query:
                target += "?" + url.query
        else:
            target = path_or_url if path_or_url.startswith("/") else "/" + path_or_url
        return HttpGet(host, port, quote(target, safe=_TARGET_SAFE))


class HttpGet(Future[Response]):
    """``Http.get``'s future, by hand in the shape corofy generates: connect, send, receive.

    ``close()`` in any state closes the inner future and the connection.
    """

    __slots__ = ("_awaiting", "_host", "_parser", "_port", "_state", "_stream", "_target")

    def __init__(self, host: str, port: int, target: str) -> None:
        self._host = host
        self._port = port
        self._target = target
        self._state = _CONNECTING
        self._awaiting: Future | None = None
        self._stream: TcpStream | None = None
        self._parser = ResponseParser()

    def request_bytes(self) -> bytes:
        """The request this future sends, byte for byte."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return (
            f"GET {self._target} HTTP/1.1\r\n"
            f"Host: {host}:{self._port}\r\n"
            "User-Agent: corofy-runtime\r\n"
            "Accept: */*\r\n"
            "Connection: close\r\n"
            "\r\n"
        ).encode("latin-1")

    def poll(self, waker: Any) -> Ready | Any:
        try:
            return self._advance(waker)
        except BaseException:
            self.close()
            raise

    def _advance(self, waker: Any) -> Ready | Any:
        if self._state == _FINISHED:
            raise RuntimeError("HttpGet polled after it finished")
        if self._awaiting is None:  # first poll: start connecting
            self._awaiting = TcpStream.connect(self._host, self._port)
        while True:
            answer = self._awaiting.poll(waker)
            if answer is PENDING:
                return PENDING
            if self._state == _CONNECTING:
                self._stream = answer.value
                self._awaiting = self._stream.write_all(self.request_bytes())
                self._state = _SENDING
                continue
            if self._state == _RECEIVING:
                data = answer.value
                if data:
                    self._parser.feed(data)
                else:
                    self._parser.feed_eof()
                if self._parser.done:
                    self.close()
                    self._state = _FINISHED
                    return Ready(self._parser.response())
            # sent the request, or read a piece of the response: read (more)
            self._state = _RECEIVING
            self._awaiting = self._stream.read()

    def close(self) -> None:
        awaiting, stream = self._awaiting, self._stream
        self._awaiting = self._stream = None
        self._state = _FINISHED
        if awaiting is not None:
            awaiting.close()
        if stream is not None:
            stream.close()
