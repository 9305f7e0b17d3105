"""The lowered form of a coroutine body: control flow as nodes, user code as libcst nodes.

``lower.py`` builds it, ``liveness.py`` reads it (what is assigned and read where), and
``emit.py`` prints it as the resume functions of the state machine. Every ``wait`` has
become a ``Wait`` statement whose future expression holds no wait; every other expression
and simple statement is plain Python kept as a libcst node and printed as written.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst


@dataclass(eq=False)
class Node:
    line: int


Block = list[Node]


@dataclass(eq=False)
class Raw(Node):
    """A user statement without waits: a small statement, or a nested def/class."""

    stmt: cst.CSTNode
    comments: tuple[str, ...] = ()


@dataclass(eq=False)
class Gen(Node):
    """Generated code with no user expressions in it, and the names it reads and binds."""

    text: str
    reads: frozenset[str] = frozenset()
    writes: frozenset[str] = frozenset()
    dels: frozenset[str] = frozenset()
    ends: bool = False  # control never falls through (a raise)


@dataclass(eq=False)
class Assign(Node):
    """``name = value``: a temporary holding an evaluated operand or a lowered result."""

    name: str
    value: cst.BaseExpression


@dataclass(eq=False)
class Wait(Node):
    """``target = wait(future)``: suspension point number ``id`` (its state)."""

    id: int
    target: cst.BaseExpression | None
    future: cst.BaseExpression
    source: str
    # Inside an except or finally block: an exception may be being handled there, and a
    # future polled there would chain onto it (see emit.py), so it is polled by poll().
    guarded: bool = False
    # A hand-off to a state of its own on a future ready at once (except_star.py): never a
    # suspension, so nothing is ever thrown at it.
    step: bool = False
    # Not the user's: a *hand-off* (reenter.Continuations.hand_off). A resume function
    # inside a re-entered try that has finished an iteration of a loop leaves the try by
    # "waiting" on runtime's Machine.NOW (ready at once): the state it names runs the loop
    # from its head, re-entering the try itself, so the loop is printed once.
    handoff: bool = False


@dataclass(eq=False)
class If(Node):
    test: cst.BaseExpression
    body: Block
    orelse: Block


@dataclass(eq=False)
class Loop(Node):
    """``while test`` (``test`` None: ``while True``) or ``for target in iter``."""

    test: cst.BaseExpression | None
    target: cst.BaseExpression | None
    iter: cst.BaseExpression | None
    body: Block
    orelse: Block


@dataclass(eq=False)
class Handler:
    line: int
    type: cst.BaseExpression | None
    name: str | None
    body: Block
    # A temporary holding the traceback the exception must keep when a resume function
    # raises it again to re-enter this handler (except*: a bare ``raise`` there is told
    # from ``raise eg`` by it, see except_star.py); None: the traceback is not kept.
    traceback: str | None = None


@dataclass(eq=False)
class Try(Node):
    """A native try. ``fin`` names the pending-completion pair when the finally waits."""

    body: Block
    handlers: list[Handler]
    orelse: Block
    finalbody: Block
    fin: tuple[str, str] | None = None  # (kind variable, value variable)
    star: bool = False
    # A temporary keeping an exception's __context__ while a resume function raises the
    # exception again to be inside its handler or finally (raising sets __context__ anew).
    saved: str | None = None
    # The try/finally that unbinds a waiting handler's ``as`` name (lower._handler_body):
    # that name, and whether the handler's body binds or deletes it itself. Printed as the
    # handler's own ``except E as name`` instead (CPython's own cleanup: one block fewer,
    # as in the source; see Render._try_clauses and reenter._reenter).
    unbinds: str | None = None
    rebinds: bool = False


@dataclass(eq=False)
class With(Node):
    """A native with: no wait in its items or body; or, with ``entered``, the body of a
    with that waits, whose manager's ``__enter__`` lowering called already: ``entered``
    names the temporaries holding the manager and its ``__exit__``, and the with is printed
    as ``with Future._with_exit(machine, manager, exit):`` (see runtime/future.py), which
    calls that ``__exit__`` as Python would unless the machine is suspending. Re-entered in
    each resume function inside it: one native block per item, as in the source."""

    items: list[cst.WithItem]
    body: Block
    entered: tuple[str, str] | None = None


@dataclass(eq=False)
class Case:
    line: int
    pattern: cst.MatchPattern
    guard: cst.BaseExpression | None
    body: Block


@dataclass(eq=False)
class Match(Node):
    subject: cst.BaseExpression
    cases: list[Case]


@dataclass(eq=False)
class Return(Node):
    value: cst.BaseExpression | None


@dataclass(eq=False)
class Break(Node):
    pass


@dataclass(eq=False)
class Continue(Node):
    pass


# -- what resume functions are made of -----------------------------------------------------


@dataclass(eq=False)
class Resume(Node):
    """Where a resume function re-enters: poll the awaited future again (or raise the
    GeneratorExit of ``close()``), then go on as after the wait."""

    wait: Wait


@dataclass(eq=False)
class Reenter(Node):
    """The rest of an interrupted loop iteration, then the loop itself, still native —
    or, with ``cont``, a call of the loop's shared continuation instead of a copy of it
    (inside a re-entered try: a hand-off ``Wait`` to the state that calls it).

    ``go`` names a flag when the rest breaks out of the loop (then the loop is skipped)."""

    loop: Loop
    rest: Block
    go: str | None = None
    cont: TailCall | Wait | None = None


@dataclass(eq=False)
class TailCall(Node):
    """``return`` the shared function running the body's statements after statement
    ``index`` (a top-level statement that waits): resume functions end here instead of
    each repeating the rest of the body. A negative ``index`` names a loop's continuation:
    the loop again from its head, then what follows it (see ``reenter.Continuations``)."""

    index: int


@dataclass(eq=False)
class Unit:
    """One lowered coroutine: the body, every wait in order, the temporaries it made."""

    body: Block
    waits: list[Wait] = field(default_factory=list)
    temps: set[str] = field(default_factory=set)
    fins: list[Try] = field(default_factory=list)
    bound: set[str] = field(default_factory=set)  # names bound where libcst scopes miss them
    # id() of each wait and loop -> the steps down to it (reenter's, filled on first use)
    paths: dict[int, list] = field(default_factory=dict, repr=False)


# -- walking the IR --------------------------------------------------------------------------


def walk(block: Block) -> list[Node]:
    """Every node of ``block`` and of the blocks inside it, each before its children."""
    out: list[Node] = []
    _walk(block, out)
    return out


def _walk(block: Block, out: list[Node]) -> None:
    for node in block:
        out.append(node)
        for child in children(node):
            _walk(child, out)


def children(node: Node) -> list[Block]:
    kids = _CHILDREN.get(type(node))
    return kids(node) if kids is not None else []


_CHILDREN = {
    If: lambda n: [n.body, n.orelse],
    Loop: lambda n: [n.body, n.orelse],
    Try: lambda n: [n.body, *[h.body for h in n.handlers], n.orelse, n.finalbody],
    With: lambda n: [n.body],
    Match: lambda n: [c.body for c in n.cases],
    Reenter: lambda n: [n.rest, [n.cont] if n.cont is not None else [n.loop]],
}
