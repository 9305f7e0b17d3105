"""The base class of every generated state machine: what all of them do the same way.

A generated class holds only what is its own (slots, constructor, resume functions and the
``_steps`` tuple that indexes them by state); the methods below are the same for every
machine, so they are compiled once here instead of once per coroutine in generated code
(compile time of a generated module, issue 10).

Facts these methods depend on:

- ``poll`` dispatches in O(1) on ``_state`` through the class's ``_steps`` tuple. A machine
  suspended at wait j is polled by polling that wait's future here, once for every machine
  instead of in each state's function; only an answer (or its exception, or close()'s
  GeneratorExit) runs state j's function, as ``_sj(m, waker, answer, thrown)``: ``thrown``
  is None or a one-item list the function pops its exception from (so no frame keeps it).
  When a wait is deferred (left to its state's function, which answers ``AGAIN``) it loops
  until an answer is PENDING or Ready, so the deferred wait is polled in the same ``poll()``.
- ``close()`` and ``__del__`` re-enter the suspended state with the ``CLOSING`` waker: the
  wait raises GeneratorExit there, so ``finally`` blocks and ``with`` exits run, as
  ``generator.close()`` does; a machine that suspends again instead is an error, as there
  (``__del__`` reports it as unraisable, as a generator's finalizer does). ``close()``
  closes the future waited on first; what that raises is raised at the wait instead of
  GeneratorExit, as ``coroutine.close()`` does with the coroutine it awaits.
- State 0 is "not started", -1 "finished or running", j > 0 "suspended at wait j".
- Only locals that live across a wait have slots; reading or deleting one that is unset is
  an unbound local (or, from a nested scope, an unbound free variable), as Python says: a
  class with such locals sets ``__getattr__``/``__delattr__`` to ``_unbound_read`` and
  ``_unbound_delete``. Other machines keep Python's AttributeError.
"""

from __future__ import annotations

import sys
from typing import Any, Final, NoReturn

from runtime._qualnames import requalify
from runtime.future import PENDING, Future, Ready

CLOSING: Final = object()  # the waker close() passes: the re-entered wait raises GeneratorExit
AGAIN: Final = object()  # a state function's answer: "poll me again" (a deferred wait)


class _States:
    """``_corofy_states_`` of a machine class: state -> (name, original line of its wait),
    0 being the start (at the line of the def). Made on first use from the names of the
    class's resume functions in ``_steps`` (``_s0_start``, then ``_sJ_lineL`` for the wait
    of state J at line L), then kept on the class itself: generated code prints no table
    (a dict display per class was 2% of a generated module's compile time, issue 10)."""

    def __get__(self, machine: Any, cls: type) -> dict[int, tuple[str, int]]:
        steps = getattr(cls, "_steps", None)
        if steps is None:  # Machine itself
            return {}
        states = {0: ("start", cls._corofy_line_)}  # type: ignore[attr-defined]
        for state, step in enumerate(steps[1:-1], 1):
            name = step.__name__[1:]
            states[state] = (name, int(name.rpartition("line")[2]))
        cls._corofy_states_ = states  # type: ignore[attr-defined]
        return states


class _Now(Future[None]):
    """Ready at once, every time: what a hand-off waits on. A resume function inside a
    re-entered ``try`` that finished a loop iteration leaves the ``try`` by deferring this
    "wait" to ``poll()`` (as any deferred wait does: ``AGAIN``); the state it names runs the
    loop from its head, re-entering the ``try`` itself (corofy's reenter.py)."""

    __slots__ = ()

    def poll(self, waker: Any) -> Any:
        return _READY_NONE


_READY_NONE: Final = Ready(None)


class _Scope:
    """One run of a waiting comprehension, for the variables of it that a lambda or
    generator expression in it reads (``scope.x``). Python gives each run of a
    comprehension a frame of its own, whose cells its closures share; a run that waits
    spans several resume functions, so its variables live here instead, made afresh for
    each run and kept on the machine across its waits."""

    def __getattr__(self, name: str) -> NoReturn:
        # Read before the comprehension bound it (a lambda of an earlier ``for`` clause).
        raise NameError(
            f"cannot access free variable {name!r} where it is not associated with a value "
            "in enclosing scope"
        )


class Machine(Future[Any]):
    """What every generated state machine does the same way (subclassed by generated code)."""

    __slots__ = ()
    NOW: Final = _Now()  # ready at once: the future of a hand-off (see _Now)
    Scope: Final = _Scope  # a run of a waiting comprehension whose closures read it
    _steps: tuple[Any, ...]  # resume functions by state; the last one is _finished (-1)
    _corofy_name_: str  # the coroutine's name, as written
    _corofy_line_: int  # the original line of its def
    _corofy_states_: Any = _States()  # state -> (name, original line of its wait)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        name = cls.__dict__.get("_corofy_name_")
        if name is not None:  # what the coroutine's body defines, named as in the source
            outer = cls.__qualname__.rpartition(".")[0]
            requalify(cls, f"{outer}.{name}" if outer else name, _OWN_FUNCTIONS)

    def poll(self, waker: Any) -> Any:
        try:
            while True:
                state = self._state  # type: ignore[attr-defined]
                if state > 0:  # suspended at the wait of this state: poll its future first
                    awaiting = self._awaiting  # type: ignore[attr-defined]
                    try:
                        answer = awaiting.poll(waker)
                    except BaseException as error:  # raised again at the wait, in the state
                        answer, thrown = None, [Future._wait_error(awaiting, error)]
                    else:
                        if answer is PENDING:
                            return answer
                        thrown = None
                    self._awaiting, self._state = None, -1  # running; a suspension sets both
                    answer = self._steps[state](self, waker, answer, thrown)  # type: ignore[attr-defined]
                else:  # not started (or finished: _finished raises)
                    self._state = -1  # running; a suspension sets it again
                    answer = self._steps[state](self, waker)  # type: ignore[attr-defined]
                if answer is not AGAIN:  # AGAIN: a wait left to its state, polled from here
                    return answer
        except StopIteration as stop:
            # A StopIteration leaving the coroutine's body, as one leaving a generator's
            # (PEP 479): the generator reference (SPEC 2.1) raises this RuntimeError.
            raise RuntimeError("generator raised StopIteration") from stop

    def close(self) -> None:
        state = self._state  # type: ignore[attr-defined]
        if state <= 0:  # not started, finished, or running
            if state == 0:
                self._state = -1  # type: ignore[attr-defined]
            return
        # Close the future waited on first. If that raises, its exception is raised at the
        # wait instead of GeneratorExit, as coroutine.close() and generator.close() do with
        # the coroutine awaited or iterator delegated to (no local here keeps that future:
        # the wait drops it, so a nested machine that ignored GeneratorExit is finalized at
        # once, before this machine's handlers run, as CPython pops an awaited coroutine).
        thrown: BaseException = GeneratorExit()
        try:
            getattr(self._awaiting, "close", _no_close)()  # type: ignore[attr-defined]
        except BaseException as error:
            thrown = error
        try:
            answer = self._resume_closing(state, thrown)
        except GeneratorExit:
            return
        except StopIteration as stop:  # as in poll(): what G.close() raises
            raise RuntimeError("generator raised StopIteration") from stop
        finally:
            del thrown  # the exception raised from here keeps no machine in its frames
        if answer is PENDING or answer is AGAIN:
            # This frame, kept by the error's traceback, must not keep the machine alive:
            # dropping it finalizes it at once (closing it again), as a generator is.
            del self
            raise RuntimeError("generator ignored GeneratorExit")

    def __del__(self) -> None:  # dropped while suspended: finalize, as a generator is
        state = self._state  # type: ignore[attr-defined]
        if state > 0:
            try:
                answer = self._resume_closing(state, GeneratorExit())
            except GeneratorExit:
                return
            if answer is PENDING or answer is AGAIN:  # reported as unraisable, as CPython does
                raise RuntimeError("generator ignored GeneratorExit")
        elif state == 0:  # never polled: a wait() forgotten, as asyncio warns
            Future._never_waited(self, self._corofy_name_)

    def _resume_closing(self, state: int, thrown: BaseException) -> Any:
        """Re-enter the wait of ``state`` raising ``thrown`` there (GeneratorExit, or what
        closing the future waited on raised), as ``close()`` does."""
        self._awaiting, self._state = None, -1  # type: ignore[attr-defined]
        answer = self._steps[state](self, CLOSING, None, [thrown])  # type: ignore[attr-defined]
        del thrown
        # A step to the next except* clause, or a hand-off of a loop inside a try to the
        # state that runs it again (NOW), is no suspension: the code goes on.
        while answer is AGAIN and (
            self._awaiting is Future._star_next  # type: ignore[attr-defined]
            or self._awaiting is Machine.NOW  # type: ignore[attr-defined]
        ):
            state = self._state  # type: ignore[attr-defined]
            self._awaiting, self._state = None, -1  # type: ignore[attr-defined]
            answer = self._steps[state](self, CLOSING, None, None)  # type: ignore[attr-defined]
        # An exception the state kept in a slot (an except clause that waits) holds its
        # traceback, whose frame's f_back is this frame: it must not keep the machine, or
        # one that ignored GeneratorExit is finalized at GC time, not when dropped.
        del self
        return answer

    def _finished(self, waker: Any) -> NoReturn:
        raise RuntimeError(f"cannot poll {self._corofy_name_}(): it has finished (or is running)")

    def _unbound_read(self, name: str) -> NoReturn:
        """``__getattr__`` of a machine with locals that may be unset."""
        # Read by the machine's own code, it is an unbound local; by a lambda, nested
        # function or comprehension frame, an unbound free variable (as Python says).
        reader = sys._getframe(1).f_code
        if any(getattr(f, "__code__", None) is reader for f in type(self).__dict__.values()):
            raise UnboundLocalError(
                f"cannot access local variable {name!r} where it is not associated with a value"
            )
        raise NameError(
            f"cannot access free variable {name!r} where it is not associated with a value "
            "in enclosing scope"
        )

    def _unbound_delete(self, name: str) -> None:
        """``__delattr__`` of a machine with locals that may be unset."""
        try:
            return object.__delattr__(self, name)
        except AttributeError:
            pass
        raise UnboundLocalError(
            f"cannot access local variable {name!r} where it is not associated with a value"
        )


def _no_close() -> None:
    """``close`` of a future waited on that has none."""


_OWN_FUNCTIONS = frozenset(f for f in vars(Machine).values() if callable(f))
