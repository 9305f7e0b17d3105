"""The functions of the machine's states: one resume function per state, the shared tails
and loop continuations they call, the methods of nested coroutines' statements, and the
``_steps`` tuple ``poll`` dispatches through (see ``emit.py`` for the shape of it all).

A resume function of state ``j`` is called by ``poll()`` (runtime/machine.py) once the future
its wait is waiting on has answered: with that answer, or with the exception polling it raised
(or close()'s GeneratorExit), which it raises again at the wait. It loads the locals it needs
from the machine and runs its block. A function that holds an
inline wait keeps ``_closing`` (is ``close()`` driving it?): a wait reached while closing
suspends without polling.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from corofy.transform import nested
from corofy.transform.edges import edges
from corofy.transform.ir import Block, Return, TailCall, Wait, children
from corofy.transform.loops import hands_off
from corofy.transform.writer import Writer

if TYPE_CHECKING:
    from corofy.transform.statements import Render

# Lines a resume function may print after its start before a wait it reaches is deferred.
RESUME_BUDGET = 0


def write(
    r: Render,
    blocks: dict[int, Block],
    tails: dict[int, Block],
    states: list[tuple[int, str, int, str]],
    fn_names: dict[int, str],
    base: str,
) -> tuple[Writer, list[tuple[int, int, str]]]:
    """The state functions, in the class body indented by ``base``, and the edges between
    states (where a poll in each can end)."""
    body = Writer(r.indent, base + r.indent)
    found: list[tuple[int, int, str]] = []
    tail_ends: dict = {}
    for state, _, wait_line, _ in states:
        _resume_function(body, r, state, fn_names[state], wait_line, blocks[state])
        found.extend(edges(state, blocks[state], tails, tail_ends))
    for k, block in tails.items():
        _tail(body, r, k, block)
    nested.methods(r, body)
    body.line("")
    body.line(
        "# poll() dispatches in O(1): state j runs _steps[j]; a finished machine is state -1."
    )
    steps = ", ".join(fn_names[s] for s, _, _, _ in states)
    body.line(f"_steps = ({steps}, {r.names.Machine}._finished)")
    return body, found


def _resume_function(
    body: Writer, r: Render, state: int, fn_name: str, wait_line: int, block: Block
) -> None:
    names = r.names
    body.line("")
    if state:
        # poll() polled the future of this state's wait: its answer is _r, or an exception
        # it raised (or close()'s GeneratorExit) is in _thrown, raised again at the wait.
        body.line(
            f"def {fn_name}({names.m}, {names.w}, {names.r}, {names.thrown}):"
            "  # poll() polled the wait: its answer _r, or [exception] _thrown"
        )
    else:
        body.line(f"def {fn_name}({names.m}, {names.w}):")
    body.level += 1
    closing_at = len(body.lines) if has_inline_wait(block) else None
    if closing_at is not None:
        body.line(
            f"{names.closing} = {names.w} is {names.CLOSING}  # closing: a wait must not poll"
        )
    for decl in r.declarations:
        body.line(r.code(decl).rstrip().rstrip(";"))
    needed = r.storage.needed.get(state, frozenset())
    r.unchanged = r.storage.unchanged.get(("state", state), frozenset())
    # What this function only hands on to a tail, unchanged, is passed from its slot
    # there instead of loaded here (fewer loads to compile, issue 10).
    r.through = needed & r.unchanged - r.storage.own_reads.get(("state", state), frozenset())
    r.transfer(body, sorted(needed - r.through), load=True)
    r.last_line = -1
    r.control.reset()
    r.budget = len(body.lines) + RESUME_BUDGET if state else None
    r.inline_waits = 0
    ended = r.block(body, block)
    r.budget = None
    r.through = frozenset()
    if closing_at is not None and not r.inline_waits:  # every wait here was deferred
        del body.lines[closing_at], body.origin[closing_at]
    if not ended and not _returns(block):
        body.line(f"return {names.Ready}(None)")
    body.level -= 1


def _tail(body: Writer, r: Render, k: int, block: Block) -> None:
    """The body after line L's statement (or a loop's continuation), shared by every
    state that reaches it."""
    names = r.names
    passed = "".join(f", {r.mangle(a)}" for a in sorted(r.storage.tail_args.get(k, ())))
    body.line("")
    if k >= 0:
        what = f"the rest of the body after the statement at line {r.unit.body[k].line}"
    else:
        what = "the loop from its head, then what follows it: shared by its states"
    body.line(f"def {r.tail_names[k]}({names.m}, {names.w}{passed}):  # {what}")
    body.level += 1
    if has_inline_wait(block):
        body.line(
            f"{names.closing} = {names.w} is {names.CLOSING}  # closing: a wait must not poll"
        )
    for decl in r.declarations:
        body.line(r.code(decl).rstrip().rstrip(";"))
    r.last_line = -1
    r.control.reset()
    r.unchanged = r.storage.unchanged.get(("tail", k), frozenset())
    r.through = frozenset()
    r.block(body, block)
    if not _returns(block):
        body.line(f"return {names.Ready}(None)")
    body.level -= 1


def _returns(block: Block) -> bool:
    """Does ``block`` surely end in a ``return`` (so no ``return Ready(None)`` follows)?"""
    if not block:
        return False
    last = block[-1]
    return isinstance(last, (Return, TailCall)) or hands_off(last)


def has_inline_wait(block: Block) -> bool:
    for n in block:
        if isinstance(n, Wait) and not n.guarded:
            return True
        if any(has_inline_wait(child) for child in children(n)):
            return True
    return False
