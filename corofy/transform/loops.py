"""Loops in resume functions: re-entering an interrupted iteration, and leaving it.

Facts this depends on (see ``emit.py`` for the shape of the output):

- A wait inside a loop body suspends in the middle of an iteration. The resume function
  finishes that iteration (``Reenter.rest``) and then runs the loop again from its head:
  by a call of the loop's shared continuation (``Reenter.cont``, built by
  ``reenter.Continuations``), or, inside a re-entered ``try`` (where the call, a
  ``return``, would leave the ``try`` and run its handlers and ``finally`` too early), by
  a *hand-off*: a wait deferred to poll() on runtime's ``Machine.NOW`` (ready at once),
  which leaves the ``try`` as a suspension does; its state's function calls the
  continuation, which re-enters the ``try`` itself. The loop is printed once either way
  (but the hot path's copy, ``reenter.Continuations.keeps_copy``; a loop no iteration's end
  hands off and one block enters is printed in that block, ``Continuations.enter``).
- A ``for`` whose body waits iterates an explicit ``iter()`` kept in a temporary (made by
  ``lower.py``), so the iterator lives across waits and ``break`` leaves it unclosed, as
  in Python.
- The rest of an interrupted iteration is no longer inside a Python loop, so a ``break``
  or ``continue`` there has nothing to leave: when it has one (``jumps``), it is printed
  inside ``while True: ... break`` run once (``exits.OnceFrame``), and a flag says whether
  the loop runs again after it (``continue``) or not (``break``). A loop's ``else`` runs
  only when its test fails, which the loop run again decides, as Python does.
- A resume function or continuation reaching a nested loop that waits calls that loop's
  continuation instead of holding a copy (``delegate_loops``): nested loops are not
  copied into every level's functions. The start function and the tails call it too: a
  loop that waits, outside a ``try``, is printed once.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Protocol

from corofy.transform.exits import LoopFrame, OnceFrame, jumps, suspends
from corofy.transform.ir import (
    Block,
    Case,
    Handler,
    If,
    Loop,
    Match,
    Node,
    Reenter,
    TailCall,
    Try,
    Wait,
    With,
)
from corofy.transform.printer import Printer
from corofy.transform.writer import Writer


class LoopCalls(Protocol):
    """Where a loop's shared continuation is asked for (``reenter.Continuations``)."""

    def call(self, loop: Loop) -> TailCall: ...

    def hand_off(self, loop: Loop) -> Wait: ...

    def enter(self, loop: Loop, in_loop: bool) -> Wait | None: ...


# -- the IR of resume functions ---------------------------------------------------------------


def reentered(loop: Loop, rest: Block, conts: LoopCalls | None) -> Block:
    """``rest`` of an interrupted iteration of ``loop``, then the loop again: by a call of
    its continuation when ``conts`` gives one, else by a copy of it."""
    cont = conts.call(loop) if conts is not None else None
    return [Reenter(loop.line, loop, rest, cont=cont)]


def delegate_loops(
    block: Block,
    conts: LoopCalls,
    own: Loop | None = None,
    in_try: bool = False,
    in_loop: bool = False,
) -> Block:
    """``block`` with each loop that waits replaced by a call of its continuation, or,
    inside a ``try`` or waiting ``with`` (``in_try``: a call, a ``return``, would leave
    it), by a hand-off to the state that calls it: a resume function or continuation
    reaching a nested loop calls it instead of holding a copy of it, so nested loops are
    not copied into every level's functions (the start function and the tails too: one
    call or hand-off per entry into the loop, and each waiting loop is printed once).
    ``own``: the loop a continuation runs itself; ``in_loop``: ``block`` is in the body of
    a loop printed in the same function."""
    out: Block | None = None
    for k, n in enumerate(block):
        new = _delegated(n, conts, own, in_try, in_loop)
        if new is not n and out is None:
            out = list(block[:k])
        if out is not None:
            out.append(new)
            if new is not n and isinstance(new, (TailCall, Wait)):
                # A loop replaced by a call or hand-off: what followed it is in its
                # continuation. (Not a wait of the user's that merely follows a changed
                # node: what follows that wait runs after it, here.)
                return out
    return block if out is None else out


def _delegated(n: Node, conts: LoopCalls, own: Loop | None, in_try: bool, in_loop: bool) -> Node:
    if isinstance(n, Loop):
        if n is not own and suspends([n]):
            if not in_try:
                return conts.call(n)
            handed = conts.enter(n, in_loop)
            if handed is not None:
                return handed
            # Else printed here, where the loop is entered: its only entry (see enter).
        body = delegate_loops(n.body, conts, own, in_try, True)
        orelse = delegate_loops(n.orelse, conts, own, in_try, in_loop)
        if body is n.body and orelse is n.orelse:
            return n
        return Loop(n.line, n.test, n.target, n.iter, body, orelse)
    if isinstance(n, If):
        body = delegate_loops(n.body, conts, own, in_try, in_loop)
        orelse = delegate_loops(n.orelse, conts, own, in_try, in_loop)
        return n if body is n.body and orelse is n.orelse else If(n.line, n.test, body, orelse)
    if isinstance(n, Match):
        bodies = [delegate_loops(c.body, conts, own, in_try, in_loop) for c in n.cases]
        if all(b is c.body for b, c in zip(bodies, n.cases)):
            return n
        return Match(
            n.line,
            n.subject,
            [Case(c.line, c.pattern, c.guard, b) for c, b in zip(n.cases, bodies)],
        )
    if isinstance(n, Reenter) and n.cont is not None:
        rest = delegate_loops(n.rest, conts, own, in_try, in_loop)
        return n if rest is n.rest else Reenter(n.line, n.loop, rest, n.go, n.cont)
    if isinstance(n, Try):
        # Not into the finally: a loop there runs while an exit is pending (exits.py).
        body = delegate_loops(n.body, conts, own, True, in_loop)
        handlers = [
            Handler(h.line, h.type, h.name, delegate_loops(h.body, conts, own, True, in_loop))
            for h in n.handlers
        ]
        orelse = delegate_loops(n.orelse, conts, own, True, in_loop)
        if (
            body is n.body
            and orelse is n.orelse
            and all(h.body is g.body for h, g in zip(handlers, n.handlers))
        ):
            return n
        return replace(n, body=body, handlers=handlers, orelse=orelse)
    if isinstance(n, With) and n.entered is not None:
        body = delegate_loops(n.body, conts, own, True, in_loop)
        return n if body is n.body else replace(n, body=body)
    return n  # a native with (it holds no wait), a simple statement


def hands_off(n: Node) -> bool:
    """Is ``n`` a re-entered loop that ends by calling its continuation, whatever happens:
    the rest of the iteration cannot break out of the loop (its own loop)?"""
    return isinstance(n, Reenter) and n.cont is not None and not jumps(n.rest)


# -- printing -----------------------------------------------------------------------------------


def write_loop(r: Printer, w: Writer, n: Loop) -> None:
    """A native ``while``/``for``."""
    r.mark(w, n.line)
    if n.iter is not None:
        w.line(f"for {r.target(n.target)} in {r.expr(n.iter)}:", n.line)  # type: ignore[arg-type]
    else:
        w.line(f"while {r.expr(n.test) if n.test is not None else 'True'}:", n.line)
    with r.control.inside(LoopFrame()):
        r.indented(w, n.body, blocks=1)
    if n.orelse:
        w.line("else:")
        r.indented(w, n.orelse)


def write_reentered(r: Printer, w: Writer, n: Reenter) -> None:
    """The rest of an interrupted iteration, then the loop again (see the facts above)."""
    if not (n.rest and isinstance(n.rest[0], Reenter)):  # a nest of loops: one comment
        w.line(
            f"# finish the interrupted iteration of the loop at line {n.loop.line}, then loop again"
        )
    if not jumps(n.rest):
        ended = r.block(w, n.rest)
        if not ended:
            _loop_again(r, w, n)
        # Nothing follows a deferred wait or a call of the loop's continuation.
        r.ended = ended or n.cont is not None
        return
    go = r.temp("_go")
    w.line(f"{go} = True")
    w.line("while True:  # once: break and continue below leave this iteration")
    with r.control.inside(OnceFrame(go)):
        w.level += 1
        r.blocks += 1
        r.block(w, n.rest)
        r.blocks -= 1
        w.line("break")
        w.level -= 1
    w.line(f"if {go}:")
    w.level += 1
    _loop_again(r, w, n)
    w.level -= 1


def _loop_again(r: Printer, w: Writer, n: Reenter) -> None:
    if isinstance(n.cont, Wait):  # inside a try: handed off to the state that calls it
        r.node(w, n.cont)
        r.ended = False  # the caller says whether anything follows
    elif n.cont is not None:  # the loop's shared continuation, not a copy of the loop
        r.node(w, n.cont)
    else:
        # A copy of the loop (a resume block built without continuations). Its first wait
        # stays inline, so an iteration that ends by waiting there suspends without a
        # detour through poll().
        r.inline_allowed, allowed = 1, r.inline_allowed
        write_loop(r, w, n.loop)
        r.inline_allowed = allowed
