"""ResponseParser: pure, incremental HTTP/1.1 response parsing (no sockets)."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runtime.http import Headers, ProtocolError, Response, ResponseParser


def parse(*pieces: bytes, eof: bool = True) -> Response:
    parser = ResponseParser()
    for piece in pieces:
        parser.feed(piece)
    if eof:
        parser.feed_eof()
    assert parser.done
    return parser.response()


CONTENT_LENGTH = (
    b"HTTP/1.1 200 OK\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Length: 11\r\n"
    b"X-Thing: a\r\n"
    b"x-thing: b\r\n"
    b"\r\n"
    b"hello world"
)

CHUNKED = (
    b"HTTP/1.1 200 OK\r\n"
    b"Transfer-Encoding: chunked\r\n"
    b"Trailer: X-Checksum\r\n"
    b"\r\n"
    b"5\r\nhello\r\n"
    b"1;name=value\r\n \r\n"
    b"0005\r\nworld\r\n"
    b"0\r\n"
    b"X-Checksum: 42\r\n"
    b"\r\n"
)


def test_content_length_body_is_complete_without_eof():
    response = parse(CONTENT_LENGTH, eof=False)
    assert (response.version, response.status, response.reason) == ("HTTP/1.1", 200, "OK")
    assert response.body == b"hello world"
    assert response.text == "hello world"


def test_header_lookup_is_case_insensitive_and_repeats_are_joined():
    headers = parse(CONTENT_LENGTH).headers
    assert headers["content-type"] == "text/plain; charset=utf-8"
    assert headers["CONTENT-LENGTH"] == "11"
    assert headers["X-THING"] == "a, b"
    assert headers.get_all("x-thing") == ["a", "b"]
    assert headers.get("missing") is None
    assert "Content-Type" in headers and "nope" not in headers
    assert list(headers) == ["Content-Type", "Content-Length", "X-Thing"]
    assert len(headers) == 3
    with pytest.raises(KeyError):
        headers["missing"]


def test_chunked_body_with_extensions_and_trailers():
    response = parse(CHUNKED, eof=False)
    assert response.body == b"hello world"
    assert response.trailers["x-checksum"] == "42"
    assert "x-checksum" not in response.headers


def test_transfer_encoding_chunked_overrides_content_length():
    raw = (
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
        b"4\r\nabcd\r\n0\r\n\r\n"
    )
    assert parse(raw, eof=False).body == b"abcd"


def test_close_delimited_body_ends_only_at_eof():
    parser = ResponseParser()
    parser.feed(b"HTTP/1.0 200 OK\r\nServer: x\r\n\r\npart one, ")
    parser.feed(b"part two")
    assert not parser.done
    parser.feed_eof()
    assert parser.response().body == b"part one, part two"


def test_unknown_transfer_coding_reads_until_close():
    parser = ResponseParser()
    parser.feed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nzzz")
    assert not parser.done
    parser.feed_eof()
    assert parser.response().body == b"zzz"


@pytest.mark.parametrize("status", [204, 304])
def test_no_body_statuses_end_at_the_blank_line(status):
    response = parse(f"HTTP/1.1 {status} X\r\nContent-Length: 10\r\n\r\n".encode(), eof=False)
    assert response.status == status and response.body == b""


def test_zero_content_length_ends_at_the_blank_line():
    assert parse(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", eof=False).status == 404


def test_interim_responses_are_skipped():
    raw = (
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n"
        b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"
    )
    response = parse(raw, eof=False)
    assert response.status == 201 and "link" not in response.headers and response.body == b"ok"


def test_bare_lf_line_endings_and_missing_reason_are_accepted():
    response = parse(b"HTTP/1.1 500\nContent-Length: 1\n\nx", eof=False)
    assert (response.status, response.reason, response.body) == (500, "", b"x")


def test_obsolete_line_folding_is_unfolded():
    response = parse(
        b"HTTP/1.1 200 OK\r\nX-Long: one\r\n  two\r\n\tthree\r\nContent-Length: 0\r\n\r\n"
    )
    assert response.headers["x-long"] == "one two three"


def test_bytes_after_the_response_are_ignored():
    parser = ResponseParser()
    parser.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA")
    parser.feed(b"more")
    parser.feed_eof()
    assert parser.response().body == b"ok"


def test_text_uses_the_declared_charset_and_defaults_to_utf8():
    latin = parse(
        b'HTTP/1.1 200 OK\r\nContent-Type: text/plain; Charset="ISO-8859-1"\r\n'
        b"Content-Length: 1\r\n\r\n\xe9"
    )
    assert latin.text == "\u00e9"
    assert latin.charset == "iso8859-1"
    default = parse(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n\xc3\xa9")
    assert default.text == "\u00e9"
    unknown = parse(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=nope\r\n\r\n\xc3\xa9")
    assert unknown.text == "\u00e9"
    broken = parse(b"HTTP/1.1 200 OK\r\n\r\n\xff")
    assert broken.text == "\ufffd"


def test_response_is_not_available_before_it_is_complete():
    parser = ResponseParser()
    parser.feed(b"HTTP/1.1 200 OK\r\n")
    with pytest.raises(RuntimeError):
        parser.response()


@pytest.mark.parametrize(
    "raw",
    [
        b"SMTP/1.1 200 OK\r\n\r\n",
        b"HTTP/1.1 2000 OK\r\n\r\n",
        b"HTTP/1.1 abc OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n",
    ],
)
def test_malformed_responses_raise_protocol_error(raw):
    with pytest.raises(ProtocolError):
        ResponseParser().feed(raw)


def test_equal_repeated_content_lengths_are_one_value():
    assert parse(b"HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok", eof=False).body == b"ok"


def test_oversized_head_is_refused_even_without_a_line_end():
    parser = ResponseParser()
    parser.feed(b"HTTP/1.1 200 OK\r\nX: ")
    with pytest.raises(ProtocolError, match="larger than"):
        for _ in range(100):
            parser.feed(b"a" * 1024)


@pytest.mark.parametrize(
    "raw, message",
    [
        (b"", "without sending a response"),
        (b"HTTP/1.1 200 OK\r\nContent-", "in its head"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", "7 bytes of the body missing"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", "chunked body"),
    ],
)
def test_eof_before_the_end_raises_protocol_error(raw, message):
    parser = ResponseParser()
    parser.feed(raw)
    with pytest.raises(ProtocolError, match=message):
        parser.feed_eof()


def test_headers_keep_the_fields_as_received():
    headers = Headers([("A", "1"), ("b", "2"), ("a", "3")])
    assert headers.fields == [("A", "1"), ("b", "2"), ("a", "3")]
    assert headers["a"] == "1, 3"


@given(
    raw=st.sampled_from([CONTENT_LENGTH, CHUNKED]),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=12),
)
def test_any_split_of_the_input_parses_the_same(raw, cuts):
    whole = parse(raw)
    bounds = sorted({min(c, len(raw)) for c in cuts} | {0, len(raw)})
    pieces = [raw[a:b] for a, b in pairwise(bounds)]
    split = parse(*pieces)
    assert (split.status, split.headers.fields, split.body, split.trailers.fields) == (
        whole.status,
        whole.headers.fields,
        whole.body,
        whole.trailers.fields,
    )


@given(
    body=st.binary(max_size=300),
    chunk_sizes=st.lists(st.integers(min_value=1, max_value=64), min_size=1, max_size=20),
)
def test_chunked_encoding_round_trips_any_body(body, chunk_sizes):
    raw = bytearray(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    pos, i = 0, 0
    while pos < len(body):
        size = chunk_sizes[i % len(chunk_sizes)]
        raw += b"%x\r\n" % len(body[pos : pos + size]) + body[pos : pos + size] + b"\r\n"
        pos, i = pos + size, i + 1
    raw += b"0\r\n\r\n"
    assert parse(bytes(raw), eof=False).body == body
