"""What every poller reports in: ``Token``, ``Interest``, ``Event``, and what both ``Events``
buffers share (used by runtime.poll's two backends, ``runtime._poll_epoll`` and
``runtime._poll_selectors``)."""

from __future__ import annotations

from typing import Final, NewType

Token = NewType("Token", int)
"""The integer a registration reports its events under (mio's ``Token(usize)``)."""


class Interest:
    """Which readiness a registration asks for: ``READABLE``, ``WRITABLE``, or both OR-ed.

    Plain ints rather than an ``enum.IntFlag``: readiness is tested on every poll of every
    IO future, and an IntFlag ``&`` costs ~50x an int's.
    """

    READABLE: Final = 1
    WRITABLE: Final = 2
    BOTH: Final = 3

    @staticmethod
    def name(bits: int) -> str:
        """``"READABLE | WRITABLE"`` style, for messages and reprs."""
        parts = [n for n, b in (("READABLE", 1), ("WRITABLE", 2)) if bits & b]
        return " | ".join(parts) or "0"


def check_interests(interests: int) -> None:
    if not interests & Interest.BOTH:
        raise ValueError("interests must include Interest.READABLE or Interest.WRITABLE")


# Not an interest but a readiness bit: the peer hung up or the fd has an error, so a read may
# end in EOF or the error with no further edge to announce it (runtime.reactor's
# IoSource.read_closed, runtime.net's short reads). Only the epoll poller reports it.
READ_CLOSED: Final = 4

# An Event's bits: the readiness bits above plus two that only Event's methods read.
EVENT_ERROR: Final = 8
EVENT_WRITE_CLOSED: Final = 16


class Event:
    """One readiness event, as mio's ``Event``."""

    __slots__ = ("_bits", "token")

    def __init__(self, token: int, bits: int) -> None:
        self.token = Token(token)
        self._bits = bits

    def is_readable(self) -> bool:
        """Data (or a connection) to read."""
        return bool(self._bits & Interest.READABLE)

    def is_writable(self) -> bool:
        """Room to write."""
        return bool(self._bits & Interest.WRITABLE)

    def is_error(self) -> bool:
        """The fd has an error pending (epoll only; the next syscall reports it)."""
        return bool(self._bits & EVENT_ERROR)

    def is_read_closed(self) -> bool:
        """The peer closed its side or hung up (epoll only)."""
        return bool(self._bits & READ_CLOSED)

    def is_write_closed(self) -> bool:
        """Writing can never succeed again (epoll only)."""
        return bool(self._bits & EVENT_WRITE_CLOSED)

    def __repr__(self) -> str:
        return f"Event(token={self.token}, readiness={Interest.name(self._bits)})"


class EventsBase:
    """What both pollers' ``Events`` share: ``_len``, the count ``Poll.poll`` set last.

    The reactor reads ``_len`` directly after each poll (an attribute, not a call).
    """

    __slots__ = ("_len",)

    def __len__(self) -> int:
        return self._len

    def is_empty(self) -> bool:
        """True when the last poll reported nothing."""
        return self._len == 0

    def clear(self) -> None:
        """Forget the events held."""
        self._len = 0
