"""Leaving a ``try`` whose ``finally`` waits: the one home of SPEC 2.2's "finally overrides".

Facts this depends on (Python's rules, and what a suspension does to them):

- Python runs a ``finally`` on every way out of its ``try``: falling off the end, ``return``,
  an exception, ``break``, ``continue``. The exit that was on its way then goes on, unless the
  ``finally`` leaves by an exit of its own (a ``return``, ``break``, ``continue`` or raise):
  that one wins and the pending one is forgotten. That is the "override".
- A ``finally`` that waits can be left mid-way by a suspension, and no Python construct
  resumes a half-run ``finally`` with its pending exit. So every exit through such a ``try``
  first records its kind (``Exit``) and value in two variables of the coroutine (the
  ``(kind, value)`` pair of ``ir.Try.fin``, ``_pk``/``_pv``, made by ``lower.py``, which
  also resets the kind to ``Exit.NONE`` where the ``try`` ends normally: an exit a nested
  ``finally`` cancelled must not outlive it). The exits are recorded by ``Control`` while
  the ``try`` body is printed (``statements.Render`` prints the ``try`` itself); an
  exception, by the ``except BaseException`` clause ``FinallyFrame.write_pending_raise``
  prints after the body.
- A ``try`` that no ``return``, ``break`` or ``continue`` can leave (``exits_through``)
  needs no clause to record an exception: its kind says "raising" from the start of the
  body until the body's end resets it, and its ``finally`` takes the exception from
  ``sys.exc_info()``. It then costs CPython the blocks it costs in the source (the limit is
  20 statically nested blocks, and the source compiles).
- The resume function that finishes such a ``finally`` after a wait in it then carries the
  pending exit out itself (``finish_finally``): a pending raise is raised again (around
  the rest of the ``finally``, so the ``__context__`` of what the rest raises matches), a
  pending return returns the kept value, a pending break or continue leaves the
  re-entered loop. The rest is printed once (a copy per exit doubled the code per level
  of nested waiting ``finally`` blocks).
- An exit inside the ``finally`` itself is printed as plain Python outside the frame of its
  own ``try``, so it records nothing there and simply happens first: the override falls
  out of the order, with no case of its own.
- A ``return`` records itself in every waiting ``finally`` it leaves (innermost first, the
  value kept once and copied outwards); a ``break``/``continue`` only in those between it
  and its loop.
- A suspension returns through the ``finally`` blocks around its wait: they must not run
  then. It clears the local ``_m`` first (or, when nested functions close over ``_m``,
  leaves ``_state`` set), and such a ``finally`` runs its body only when that says "not
  suspending" (``not_suspending``).

The generated code prints the exits as the integers of ``Exit``: its bytes are those of the
releases before this enum had a name.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import IntEnum

import libcst as cst

from corofy.transform.expressions import equals, name
from corofy.transform.ir import (
    Block,
    Break,
    Continue,
    Gen,
    If,
    Loop,
    Reenter,
    Resume,
    Return,
    Try,
    Wait,
    children,
    walk,
)
from corofy.transform.writer import Writer


class Exit(IntEnum):
    """What a waiting ``finally`` must carry out when it ends normally."""

    NONE = 0  # the try ended normally: nothing is pending
    RETURN = 1
    RAISE = 2
    BREAK = 3
    CONTINUE = 4


# -- control frames: what a return, break or continue being printed passes through --------


@dataclass(frozen=True)
class LoopFrame:
    """A native ``while``/``for``: ``break`` and ``continue`` are Python's own."""

    def write_jump(self, w: Writer, exit: Exit, line: int) -> None:
        w.line("break" if exit is Exit.BREAK else "continue", line)


@dataclass(frozen=True)
class OnceFrame:
    """``while True: ... break`` run once around the rest of an interrupted loop iteration
    (``loops``): a ``break`` or ``continue`` of the user's loop leaves it by ``break``, and
    the flag ``go`` says whether the real loop runs again after it."""

    go: str

    def write_jump(self, w: Writer, exit: Exit, line: int) -> None:
        # A continue may follow a break it cancels (from a finally): both set the flag.
        w.line(f"{self.go} = {exit is Exit.CONTINUE}")
        w.line("break", line)


@dataclass(frozen=True)
class FinallyFrame:
    """The body of a ``try`` whose ``finally`` waits: exits through it record themselves in
    ``kind`` and ``value`` (the variables as printed: ``_pk`` or ``_m._pk``)."""

    kind: str
    value: str

    def record(self, w: Writer, exit: Exit) -> None:
        w.line(f"{self.kind} = {exit.value}")

    def write_pending_raise(self, w: Writer, exc: str) -> None:
        """The clause after the ``try`` body that records an exception leaving it."""
        w.line(f"except BaseException as {exc}:  # an exception is pending while the finally runs")
        w.level += 1
        self.record(w, Exit.RAISE)
        w.line(f"{self.value} = {exc}")
        w.line("raise")
        w.level -= 1


Frame = LoopFrame | OnceFrame | FinallyFrame


class Control:
    """The frames around the code being printed, innermost last (regenerator's ``leap``,
    mypyc's ``nonlocalcontrol``): where a ``return``, ``break`` or ``continue`` goes, and
    which waiting ``finally`` blocks it must record itself in on the way."""

    def __init__(self) -> None:
        self.frames: list[Frame] = []

    def reset(self) -> None:
        """A new function is being printed: no frame is open."""
        self.frames = []

    @contextmanager
    def inside(self, frame: Frame) -> Iterator[None]:
        self.frames.append(frame)
        yield
        self.frames.pop()

    def write_return(self, w: Writer, value: str, line: int, ready: str) -> None:
        """``return Ready(value)``, recorded in every waiting ``finally`` it leaves."""
        finallys = [f for f in reversed(self.frames) if isinstance(f, FinallyFrame)]
        if finallys:
            first = finallys[0].value
            w.text(f"{first} = {value}", line)
            for f in finallys:
                if f.value != first:
                    w.line(f"{f.value} = {first}")
                f.record(w, Exit.RETURN)
            value = first
        w.text(f"return {ready}({value})", line)

    def write_jump(self, w: Writer, exit: Exit, line: int) -> None:
        """``break`` or ``continue``, recorded in the waiting ``finally`` blocks between it
        and its loop."""
        for frame in reversed(self.frames):
            if isinstance(frame, FinallyFrame):
                frame.record(w, exit)
            else:
                frame.write_jump(w, exit, line)
                return
        LoopFrame().write_jump(w, exit, line)  # no frame open: the keyword as written


# -- what a finally prints around a suspension -------------------------------------------------


def not_suspending(m: str, clear_m: bool) -> str:
    """The test a ``finally`` that a suspension may return through runs its body under."""
    if clear_m:
        return f"if {m} is not None:  # not suspending"
    return f"if {m}._state == -1:  # not suspending"


def jumps(block: Block) -> bool:
    """Does ``block`` break or continue the loop it sits in (not an inner one)?"""
    for n in block:
        if isinstance(n, (Break, Continue)):
            return True
        if isinstance(n, (Loop, Reenter)):
            # A loop's own body breaks that loop, but its else clause breaks ours.
            if jumps((n.loop if isinstance(n, Reenter) else n).orelse):
                return True
            continue
        for child in children(n):
            if jumps(child):
                return True
    return False


def exits_through(n: Try, exits: tuple[type, ...] = (Return, Break, Continue)) -> bool:
    """Can one of ``exits`` (a return, break or continue) leave the try ``n`` by its body,
    handlers or else? A break or continue inside a loop there leaves only that loop."""
    blocks = [n.body, *(h.body for h in n.handlers), n.orelse]
    return any(
        (Return in exits and any(isinstance(x, Return) for x in walk(b)))
        or (Break in exits and jumps(b))
        for b in blocks
    )


def suspends(block: Block) -> bool:
    """Can control leave ``block`` by suspending (a wait, or a resumed wait)?"""
    for n in block:
        if isinstance(n, (Wait, Resume)):
            return True
        for child in children(n):
            if suspends(child):
                return True
    return False


# -- resuming: a resume function that finishes a waiting finally ----------------------------


def finish_finally(node: Try, rest: Block, in_loop: bool) -> Block:
    """After a wait in ``node``'s ``finally``: ``rest`` (the rest of the ``finally``), then
    the exit it interrupted carried out. ``in_loop``: a pending break or continue leaves the
    loop being re-entered (else none can be pending).

    ``rest`` is printed once, as the ``finally`` of a ``try`` that raises the pending
    exception again (if one is pending): Python then runs it inside that exception, as the
    ``finally`` it continues (what it raises chains onto the exception; ending normally,
    it raises the exception on), or outside any, and the pending return, break or continue
    follows. One copy: a wait in a ``finally`` inside a ``finally`` costs no more lines
    per level (two branches, each with its copy, doubled the code at each level)."""
    assert node.fin is not None
    kind, value = node.fin
    line = node.line
    # Only the exits that can leave the try are carried out (a return printed where none
    # can be pending would count as leaving every try around it).
    pending: Block = []
    if in_loop and exits_through(node, (Break,)):
        pending = [
            If(
                line,
                _pending(kind, Exit.BREAK),
                [Break(line)],
                [If(line, _pending(kind, Exit.CONTINUE), [Continue(line)], [])],
            )
        ]
    if exits_through(node, (Return,)):
        pending = [If(line, _pending(kind, Exit.RETURN), [Return(line, name(value))], pending)]
    save, again, restore = raise_again(line, value, node.saved)
    raising = _pending(kind, Exit.RAISE)
    return [
        Try(
            line,
            [If(line, raising, [save, again], [])],
            [],
            [],
            [If(line, raising, [restore], []), *rest],
        ),
        *pending,
    ]


def _pending(kind: str, exit: Exit) -> cst.Comparison:
    return equals(kind, exit.value)


def raise_again(
    line: int, exc: str, saved: str | None, traceback: str | None = None
) -> tuple[Gen, Gen, Gen]:
    """Statements raising ``exc`` again to be inside its handler (or a ``finally`` it is
    passing through): Python sets the ``__context__`` of an exception raised while another
    is handled, so it is kept before and put back after (the exception's chain stays what
    it was when first raised). With ``traceback`` (a temporary), the exception's traceback
    is put back too."""
    assert saved is not None
    restore = Gen(line, f"{exc}.__context__ = {saved}", reads=frozenset({exc, saved}))
    if traceback is not None:
        restore = Gen(
            line,
            f"{exc}.__context__, {exc}.__traceback__ = {saved}, {traceback}",
            reads=frozenset({exc, saved, traceback}),
        )
    return (
        Gen(
            line, f"{saved} = {exc}.__context__", reads=frozenset({exc}), writes=frozenset({saved})
        ),
        Gen(line, f"raise {exc}", reads=frozenset({exc}), ends=True),
        restore,
    )
