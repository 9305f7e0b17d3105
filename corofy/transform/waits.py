"""Printing a wait, and the place a resume function re-enters after one.

Facts this depends on (see ``emit.py`` for the shape of the output):

- An *inline* wait makes its future and polls it at once, in the same ``poll()`` that
  reached it (SPEC 2.1); only a PENDING answer suspends: the machine records the future
  and the wait's state, stores the locals that state will load, and returns PENDING.
- A *deferred* wait (one in an ``except``/``finally`` block, where a future polled there
  would chain onto the exception being handled, or one a resume function reaches past
  its budget) records its future and state and returns ``_AGAIN``: ``poll()`` at once
  calls that state's function, which polls the future first, still in the same ``poll()``.
- Either way, inside a ``finally`` block's ``try``, the suspension clears the local ``_m``
  first (unless nested functions close over it): the ``finally`` blocks it returns through
  test it to know they must not run. Elsewhere nothing reads ``_m`` after it returns.
- While ``close()`` drives the machine (``_closing``), an inline wait reached suspends
  without polling; ``close()`` turns that into RuntimeError, as ``generator.close()`` does.
- A resume function re-enters at its wait (``Resume``): an exception the future raised,
  or close()'s GeneratorExit, is raised there, as ``gen.throw()`` raises at the yield.
"""

from __future__ import annotations

import libcst as cst

from corofy.transform.ir import Resume, Wait
from corofy.transform.printer import Printer
from corofy.transform.writer import Writer, one_line

# CPython compiles at most 20 nested blocks (try, with item, loop, except clause: two). The
# source compiles, so a wait stands inside at most 20; an inline wait's try/except adds two.
# Deeper, it is deferred: the state's function polls it at its top level.
_INLINE_DEPTH = 20 - 2


def write_wait(r: Printer, w: Writer, n: Wait) -> None:
    if n.guarded or _over_budget(r, w) or r.blocks > _INLINE_DEPTH:
        _write_deferred(r, w, n)
    else:
        _write_inline(r, w, n)


def _over_budget(r: Printer, w: Writer) -> bool:
    """Has this resume function printed its share? Then a wait in it is left to its own
    state's function (polled from poll()) instead of being copied here with all that
    follows it: each resume function holds a bounded stretch of code after its wait."""
    if r.budget is None or len(w.lines) - r.budget <= 0:
        return False
    if r.inline_allowed:
        r.inline_allowed -= 1
        return False
    return True


def _write_deferred(r: Printer, w: Writer, n: Wait) -> None:
    m, names = r.names.m, r.names
    why = "outside this except/finally" if n.guarded else "from the start of its own function"
    comment = f"# {one_line(n.source)}: state {n.id}, line {n.line}; polled by poll(), {why}"
    r.deferred = True
    r.ended = True
    if n.handoff:  # reenter.Continuations.hand_off: ready at once, its state runs the loop
        comment = (
            f"# the loop at line {n.line}: state {n.id} runs it from its head, "
            "re-entering this try (a call from here would leave it)"
        )
        future = f"{names.Machine}.NOW"
    else:
        future = r.expr(n.future)
    apart = isinstance(n.future, (cst.NamedExpr, cst.Lambda, cst.Yield)) or "\n" in future
    r.mark(w, n.line, said=not apart)  # the comment names the line
    if apart:
        w.line(comment, n.line)
        w.text(f"{m}._awaiting = {future}", n.line)
        w.line(f"{m}._state = {n.id}")
    else:  # the state's comment on the line that sets it
        w.line(f"{m}._awaiting, {m}._state = {future}, {n.id}  {comment}", n.line)
    r.store(w, n.id)
    if r.clear_m and r.guarding:
        w.line(f"{m} = None  # suspending (see the finally blocks)")
    w.line(f"return {names.AGAIN}")


def _write_inline(r: Printer, w: Writer, n: Wait) -> None:
    m, names, ind = r.names.m, r.names, r.indent
    r.inline_waits += 1
    future = r.expr(n.future)
    comment = f"# {one_line(n.source)}: state {n.id}, line {n.line}"
    r.mark(w, n.line, said="\n" not in future)  # the comment names the line
    if "\n" in future:
        w.line(comment, n.line)
        w.text(f"{names.f} = {future}", n.line)
    else:  # the state's comment on the line that makes its future
        w.line(f"{names.f} = {future}  {comment}", n.line)
    # A value without poll() is a learner's mistake (an asyncio coroutine, say):
    # say so as a TypeError at the wait. The try costs nothing until it raises.
    # (The suspension inside the try: storing to slots raises no AttributeError.)
    w.line("try:")
    w.line(
        f"{ind}if ({names.r} := {names.PENDING} if {names.closing} else {names.f}.poll({names.w})) "
        f"is {names.PENDING}:",
        n.line,
    )
    w.level += 2
    w.line(f"{m}._awaiting, {m}._state = {names.f}, {n.id}")
    r.store(w, n.id)
    if r.clear_m and r.guarding:
        w.line(f"{m} = None  # suspending (see the finally blocks)")
    w.line(f"return {names.r}")
    w.level -= 2
    # No "as" name: binding one costs CPython a cleanup block at every wait (compile time,
    # issue 10); _wait_error takes the AttributeError being handled from sys.exc_info().
    w.line("except AttributeError:  # no poll(): is it a runtime.Future?")
    w.line(f"{ind}raise {names.Future}._wait_error({names.f})", n.line)
    if n.target is not None:
        w.text(f"{r.target(n.target)} = {names.r}.value", n.line)


def write_resume(r: Printer, w: Writer, n: Resume) -> None:
    names, wait = r.names, n.wait
    if wait.step:
        r.last_line = wait.line
        return
    w.line(
        f"if {names.thrown}:  # resume {one_line(wait.source)} (state {wait.id}, "
        f"line {wait.line}): it raised, or close()",
        wait.line,
    )
    # Raised here as gen.throw() raises at the yield: it chains onto a handled
    # exception. It is popped from its one-item list, so no local of this frame
    # holds it: the frame and the exception's traceback form no cycle.
    w.line(f"{r.indent}raise {names.thrown}.pop()", wait.line)
    if wait.target is not None:
        w.text(f"{r.target(wait.target)} = {names.r}.value", wait.line)
    r.last_line = wait.line
