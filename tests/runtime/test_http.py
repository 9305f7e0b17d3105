"""Http.get against the standard library's ThreadingHTTPServer: a server we did not write."""

from __future__ import annotations

import os
import socket
import struct
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from runtime_helpers import coro
from runtime_helpers import run_with_deadline as run

import runtime
from runtime import PENDING, Future
from runtime.http import Http, HttpGet, ProtocolError, Response


class Handler(BaseHTTPRequestHandler):
    """Routes by path; each route answers with one kind of framing or status."""

    protocol_version = "HTTP/1.1"  # chunked needs 1.1; routes that close say so

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        route = self.path.split("/")[1]
        getattr(self, "route_" + route.replace("-", "_"), self.route_missing)()

    def send_body(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def route_length(self) -> None:
        self.send_body(200, f"path={self.path}".encode())

    def route_request(self) -> None:
        """Echo the request head back, so tests can see what the client sent."""
        head = f"{self.requestline}\r\n{self.headers}".encode("latin-1")
        self.send_body(200, head)

    def route_chunked(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for piece in [b"zero ", b"one ", "tw\u00f6 ".encode(), b"x" * 70000]:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.flush()
        self.wfile.write(b"0\r\nX-Trailer: done\r\n\r\n")

    def route_close(self) -> None:
        # No length, no chunking: the body ends when the server closes the connection.
        self.send_response(200)
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(b"until the end")
        self.wfile.flush()
        self.close_connection = True

    def route_latin1(self) -> None:
        self.send_body(200, "caf\u00e9".encode("latin-1"), "text/plain; charset=latin-1")

    def route_headers(self) -> None:
        self.send_response(200)
        self.send_header("X-Repeated", "first")
        self.send_header("X-Repeated", "second")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def route_status(self) -> None:
        code = int(self.path.split("/")[2])
        self.send_body(code, f"status {code}".encode())

    def route_no_content(self) -> None:
        self.send_response(204)
        self.end_headers()

    def route_truncated(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "100")
        self.end_headers()
        self.wfile.write(b"only part")
        self.wfile.flush()
        self.close_connection = True

    def route_reset(self) -> None:
        # SO_LINGER 0 makes close() send an RST; Server skips the FIN it would send first.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.server.reset_fds.add(self.connection.fileno())
        self.close_connection = True

    def route_missing(self) -> None:
        self.send_error(404, "no such route")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default 5 drops SYNs of concurrent clients: 1 s retries

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.reset_fds: set[int] = set()

    def shutdown_request(self, request: socket.socket) -> None:
        if request.fileno() in self.reset_fds:
            self.reset_fds.discard(request.fileno())
            self.close_request(request)  # no shutdown(SHUT_WR): the peer sees only the RST
        else:
            super().shutdown_request(request)


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, int]]:
    httpd = Server()
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield httpd.server_address[:2]
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(10)


def get(server: tuple[str, int], path: str) -> Response:
    host, port = server
    return run(Http.get(path, host=host, port=port))


def test_content_length_body(server):
    response = get(server, "/length/abc")
    assert response.status == 200 and response.reason == "OK"
    assert response.body == b"path=/length/abc"
    assert response.headers["content-length"] == "16"


def test_chunked_body_with_trailer(server):
    response = get(server, "/chunked")
    assert response.headers["Transfer-Encoding"] == "chunked"
    assert response.text == "zero one tw\u00f6 " + "x" * 70000
    assert response.trailers["x-trailer"] == "done"


def test_close_delimited_body(server):
    response = get(server, "/close")
    assert "content-length" not in response.headers
    assert response.body == b"until the end"


def test_headers_are_case_insensitive_and_repeats_are_kept(server):
    response = get(server, "/headers")
    assert response.headers["x-repeated"] == "first, second"
    assert response.headers.get_all("X-REPEATED") == ["first", "second"]
    assert "BaseHTTP" in response.headers["server"]


@pytest.mark.parametrize("code", [201, 301, 404, 418, 500, 503])
def test_status_codes_other_than_200(server, code):
    response = get(server, f"/status/{code}")
    assert response.status == code
    assert response.body == f"status {code}".encode()


def test_an_error_page_is_a_response_not_an_exception(server):
    response = get(server, "/nowhere")
    assert response.status == 404 and "no such route" in response.text


def test_no_content_has_an_empty_body(server):
    response = get(server, "/no-content")
    assert response.status == 204 and response.body == b""


def test_text_is_decoded_per_the_declared_charset(server):
    assert get(server, "/latin1").text == "caf\u00e9"


def test_request_says_connection_close_and_names_the_host(server):
    host, port = server
    head = get(server, "/request").text
    assert head.startswith("GET /request HTTP/1.1\r\n")
    assert "Connection: close" in head
    assert f"Host: {host}:{port}" in head


def test_a_full_url_overrides_host_and_port(server):
    host, port = server
    response = run(Http.get(f"http://{host}:{port}/length/u?q=1", port=1))
    assert response.body == b"path=/length/u?q=1"


def test_a_path_without_slash_and_with_spaces_is_made_a_valid_target(server):
    assert get(server, "length/a b").body == b"path=/length/a%20b"


def test_a_host_name_is_resolved(server):
    _, port = server
    assert run(Http.get("/length/n", host="localhost", port=port)).body == b"path=/length/n"


def test_only_http_urls_are_accepted():
    with pytest.raises(ValueError, match="http://"):
        Http.get("https://example.com/")


def test_a_truncated_body_raises_protocol_error(server):
    with pytest.raises(ProtocolError, match="91 bytes of the body missing"):
        get(server, "/truncated")


def test_a_reset_from_the_server_is_an_oserror(server):
    with pytest.raises(OSError):
        get(server, "/reset")


def test_refused_connection_surfaces_from_wait():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    with pytest.raises(ConnectionRefusedError):
        run(Http.get("/", port=port))


def test_many_concurrent_gets_each_get_their_own_answer(server):
    host, port = server

    @coro
    def main():
        handles = [runtime.spawn(Http.get(f"/length/{i}", host, port)) for i in range(40)]
        bodies = []
        for handle in handles:
            bodies.append((yield handle).body)
        return bodies

    assert run(main()) == [f"path=/length/{i}".encode() for i in range(40)]


def test_polling_a_finished_get_raises(server):
    host, port = server

    class Twice(Future):
        def __init__(self) -> None:
            self.inner: HttpGet = Http.get("/length/x", host, port)

        def poll(self, waker: Any) -> Any:
            answer = self.inner.poll(waker)
            if answer is PENDING:
                return PENDING
            with pytest.raises(RuntimeError):
                self.inner.poll(waker)
            return answer

    assert run(Twice()).status == 200


def test_a_timed_out_get_closes_its_connection():
    silent = socket.create_server(("127.0.0.1", 0))  # accepts (in the kernel), never answers
    port = silent.getsockname()[1]
    try:
        with pytest.raises(TimeoutError):
            runtime.run(runtime.timeout(Http.get("/", port=port), 0.05))  # warm-up
        before = len(os.listdir("/proc/self/fd"))
        with pytest.raises(TimeoutError):
            runtime.run(runtime.timeout(Http.get("/", port=port), 0.05))
        assert len(os.listdir("/proc/self/fd")) <= before
    finally:
        silent.close()
