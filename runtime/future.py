"""The future protocol every state machine and leaf future speaks (SPEC §3).

A future is polled with a waker. It answers ``Ready(value)`` when done, or ``PENDING``
after arranging for ``waker.wake()`` to be called once it can make progress. It keeps
the most recent waker it was given; an older one may belong to a task that moved on.
"""

from __future__ import annotations

from typing import Any, Final


class Ready:
    """The answer of a future that has finished, carrying its value."""

    __slots__ = ("value",)

    def __init__(self, value: Any = None) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"Ready({self.value!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Ready) and other.value == self.value

    __hash__ = None  # type: ignore[assignment]


class _Pending:
    """The type of the one ``PENDING`` answer."""

    __slots__ = ()
    _instance: _Pending | None = None

    def __new__(cls) -> _Pending:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "PENDING"

    def __reduce__(self) -> str:
        return "PENDING"


PENDING: Final = _Pending()


class Future:
    """Base class of everything ``wait()`` accepts.

    Holds no state and takes no constructor arguments, so a subclass need not call
    ``super().__init__()``.
    """

    __slots__ = ()

    def poll(self, waker: Any) -> Ready | _Pending:
        raise NotImplementedError(f"{type(self).__qualname__} must implement poll(waker)")

    def close(self) -> None:
        """Release what the future holds; the default holds nothing."""
