"""The future protocol every state machine and leaf future speaks (SPEC §3): ``Future``,
``Ready``, ``PENDING`` and the ``Waker`` a poll receives.

A future is polled with a waker. It answers ``Ready(value)`` when done, or ``PENDING``
after arranging for ``waker.wake()`` to be called once it can make progress. It keeps
the most recent waker it was given; an older one may belong to a task that moved on.
"""

from __future__ import annotations

import inspect
import sys
import warnings
from typing import Any, Final, Generic, Self, TypeVar

from runtime import _except_star

# Covariant: a Future[bool] is a Future[int], as a Rust future's Output is.
T_co = TypeVar("T_co", covariant=True)


class Waker:
    """What ``poll`` receives: ``wake()`` asks for the future to be polled again.

    Safe from any thread; wakes before the next poll coalesce into one; a wake after the
    task finished does nothing. Every ``Task`` is a Waker.
    """

    __slots__ = ()

    def wake(self) -> None:
        """Ask for the future this waker was given with to be polled again."""
        raise NotImplementedError


class Ready(Generic[T_co]):
    """The answer of a future that has finished, carrying its value."""

    __slots__ = ("value",)

    def __init__(self, value: T_co = None) -> None:  # type: ignore[assignment]
        self.value: T_co = value

    def __repr__(self) -> str:
        return f"Ready({self.value!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Ready) and other.value == self.value

    __hash__ = None  # type: ignore[assignment]


class Pending:
    """The type of the one ``PENDING`` answer (a poll returns ``Ready[T] | Pending``)."""

    __slots__ = ()
    _instance: Pending | None = None

    def __new__(cls) -> Self:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "PENDING"

    def __reduce__(self) -> str:
        return "PENDING"


PENDING: Final = Pending()


class _WithExit:
    """The end of a ``with`` whose body a state machine runs over several polls.

    The generated code calls the manager's ``__enter__`` itself, once; each of its functions
    that runs (part of) the body does so inside ``with Future._with_exit(machine, manager,
    exit):``. Python then calls ``__exit__`` as for the ``with`` written in the source
    (with the exception, which it may suppress; on return, break and continue) — except
    when the function returns because the machine suspends: a suspension sets the
    machine's ``_state`` to its wait's state before it returns, and it is -1 while the
    machine runs (or has finished)."""

    __slots__ = ("exit", "machine", "manager")

    def __init__(self, machine: Any, manager: Any, exit: Any) -> None:
        self.machine = machine
        self.manager = manager
        self.exit = exit

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, value: Any, traceback: Any) -> Any:
        if self.machine._state == -1:  # running: not a suspension returning through it
            return self.exit(self.manager, kind, value, traceback)
        return None


class Future(Generic[T_co]):
    """Base class of everything ``wait()`` accepts: ``Future[T]`` finishes with a ``T``.

    Holds no state and takes no constructor arguments, so a subclass need not call
    ``super().__init__()``.
    """

    __slots__ = ()

    def poll(self, waker: Waker) -> Ready[T_co] | Pending:
        """``Ready(value)`` when done; else ``PENDING``, having arranged ``waker.wake()``."""
        raise NotImplementedError(f"{type(self).__qualname__} must implement poll(waker)")

    def close(self) -> None:
        """Release what the future holds; the default holds nothing."""

    # Called by generated code (learner diagnostics of SPEC §3, the end of a with): reached
    # through the Future class it already imports, so generated code imports nothing more.

    _with_exit = _WithExit

    @staticmethod
    def _with_enter(manager: Any) -> tuple[Any, Any]:
        """The start of a ``with`` whose body a state machine runs over several polls:
        ``__enter__`` and ``__exit__`` looked up on the type, as Python's ``with`` does
        (a TypeError if either is missing), then ``__enter__`` called. Returns the
        ``__exit__`` (for ``_with_exit``) and what ``__enter__`` returned."""
        kind = type(manager)
        enter = getattr(kind, "__enter__", None)
        if enter is None:
            raise TypeError(
                f"{kind.__name__!r} object does not support the context manager protocol"
            )
        exit = getattr(kind, "__exit__", None)
        if exit is None:
            raise TypeError(
                f"{kind.__name__!r} object does not support the context manager protocol "
                "(missed __exit__ method)"
            )
        return exit, enter(manager)

    # try/except* whose clauses span polls (runtime/_except_star.py); _star_next is set below
    _star_match = staticmethod(_except_star.match)
    _star_raise = staticmethod(_except_star.reraise)
    _star_next: Future[None]

    @staticmethod
    def _wait_error(value: Any, error: BaseException | None = None) -> BaseException:
        """What ``wait(value)`` raises when polling ``value`` raised ``error`` (by default
        the exception being handled: generated code calls this from ``except
        AttributeError:`` with no name bound, which is cheaper to compile).

        A TypeError naming the type when ``value`` has no ``poll``, pointing at
        ``from_asyncio`` for an asyncio awaitable; otherwise ``error`` itself.
        """
        if error is None:
            error = sys.exc_info()[1]
            assert error is not None, "_wait_error(value) outside an except block"
        if type(error) is not AttributeError or hasattr(value, "poll"):
            return error
        kind = type(value).__qualname__
        message = f"wait() needs a runtime.Future, got {kind}"
        if hasattr(value, "__await__"):
            name = getattr(value, "__qualname__", kind)
            message += (
                f" ({name!r} is an asyncio awaitable: wait on it with "
                f"wait(runtime.from_asyncio(...)))"
            )
            close = getattr(value, "close", None)
            if close is not None and inspect.iscoroutine(value):
                close()  # the error says what went wrong; Python's "never awaited" would not
        elif callable(value):
            message += " (did you forget to call it?)"
        exc = TypeError(message)
        exc.__suppress_context__ = True
        return exc

    @staticmethod
    def _global_scope(namespace: dict[str, Any], key: str) -> dict[str, Any]:
        """``namespace``, where generated code reads or deletes the private global ``key``
        (``__x`` outside any class); NameError, as Python raises, when it is unbound."""
        if key in namespace:
            return namespace
        raise NameError(f"name {key!r} is not defined", name=key)

    @staticmethod
    def _never_waited(machine: Future, name: str) -> None:
        """Warn that a coroutine's Future was dropped before anything polled it."""
        qualname = type(machine).__qualname__.rpartition(".")[0]
        warnings.warn(
            f"coroutine {qualname + '.' + name if qualname else name!r} was never waited",
            RuntimeWarning,
            stacklevel=2,
        )


class _StarNext(Future[None]):
    """What a machine "waits" on to go on to its next except* clause in a state function of
    its own (so no resume function copies the clauses after its wait): ready at once, so
    ``poll()`` runs that state in the same call; ``close()`` goes on through it too."""

    __slots__ = ()

    def poll(self, waker: Waker) -> Ready[None]:
        return Ready(None)


Future._star_next = _StarNext()
