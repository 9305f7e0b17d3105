"""Build the IR of each resume function: the rest of the body after a wait.

A resume function re-enters what encloses its wait (see ``emit.py`` for the facts this
relies on): the rest of the interrupted loop iteration and then the loop itself (a call of
the loop's shared continuation, see ``Continuations``; inside a ``try``, a hand-off to the
state that calls it), a ``try``
re-opened around the rest of its body, an ``except`` block re-entered by raising its
exception again, a waiting ``finally`` finished and the exit it interrupted carried out.
After the top-level statement holding the wait, it calls the shared tail of the body.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from corofy.transform.exits import finish_finally, raise_again, suspends
from corofy.transform.expressions import name
from corofy.transform.ir import (
    Block,
    Handler,
    If,
    Loop,
    Match,
    Node,
    Reenter,
    Resume,
    TailCall,
    Try,
    Unit,
    Wait,
    With,
    children,
)
from corofy.transform.loops import delegate_loops, hands_off, reentered


def _parts(n: Node) -> list[tuple[object, Block]]:
    if isinstance(n, If):
        return [("body", n.body), ("orelse", n.orelse)]
    if isinstance(n, Loop):
        return [("body", n.body), ("orelse", n.orelse)]
    if isinstance(n, Try):
        return [
            ("body", n.body),
            *[(("h", k), h.body) for k, h in enumerate(n.handlers)],
            ("orelse", n.orelse),
            ("final", n.finalbody),
        ]
    if isinstance(n, With):
        return [("body", n.body)]
    if isinstance(n, Match):
        return [(("case", k), c.body) for k, c in enumerate(n.cases)]
    return []


def _find(unit: Unit, target: Wait | Loop) -> list:
    """The steps from the body down to ``target``: (block, index, node, part) per level,
    part None at the target. Found for every wait and loop in one walk, kept on the unit."""
    if not unit.paths:
        _record(unit.body, [], unit.paths)
    return unit.paths[id(target)]


def _record(block: Block, above: list, paths: dict[int, list]) -> None:
    for i, n in enumerate(block):
        if isinstance(n, (Wait, Loop)):
            paths[id(n)] = [*above, (block, i, n, None)]
        for key, child in _parts(n):
            above.append((block, i, n, key))
            _record(child, above, paths)
            above.pop()


class Continuations:
    """The loops that resume functions continue by a call instead of a copy of the loop.

    A resume function that finishes an interrupted loop iteration then runs the loop again
    from its head. Written out, that repeats the loop's body in every state inside it (and,
    for nested loops, every enclosing loop's body too); instead each such loop gets one
    shared function — the loop from its head, then what follows it, re-entering what
    encloses it like a resume block — keyed by a negative TailCall index. Facts: the call
    is a ``return``, so it may not leave a ``try`` the resume function re-entered (its
    handlers and finally would run at the wrong time): a loop re-entered inside one keeps
    its copy once, in the function of a state of its own: a resume function there *hands
    off* to that state (``hand_off``), as a wait deferred to poll() leaves the try, instead
    of holding a copy of the loop (one per state inside the loop grew the output with the
    loop's size times its waits, issue 10).

    ``copies``: may the hot path keep its copy of a loop (``keeps_copy``)? ``copied`` says
    whether one was kept."""

    def __init__(self, unit: Unit, copies: bool = True, inline: frozenset[int] = frozenset()):
        self.unit = unit
        self.copies = copies
        self.copied = False
        self.inline = inline  # id() of the loops printed where they are entered (enter)
        self.entries: dict[int, int] = {}  # id(loop) -> the blocks handing it off (enter)
        self.ends: set[int] = set()  # id() of the loops an iteration's end hands off
        self.keys: dict[int, int] = {}  # id(loop) -> its key
        self.loops: dict[int, Loop] = {}  # key -> loop
        self.blocks: dict[int, Block] = {}  # key -> the continuation, once built
        self.handoffs: dict[int, Wait] = {}  # id(loop) -> the wait handing it to its state
        self.handed: list[tuple[Wait, Loop]] = []  # hand-offs whose state has no block yet
        self.next_state = len(unit.waits) + 1
        self.last_waits: dict[int, int] = {}  # id(loop) -> keeps_copy's wait (0: none)

    def call(self, loop: Loop) -> TailCall:
        key = self.keys.get(id(loop))
        if key is None:
            key = self.keys[id(loop)] = -1 - len(self.keys)
            self.loops[key] = loop
        return TailCall(loop.line, key)

    def hand_off(self, loop: Loop) -> Wait:
        """The wait a resume function inside a re-entered try ends an iteration of
        ``loop`` with: deferred to poll() (on runtime's Machine.NOW, ready at once), it
        leaves the try as a suspension does (its finally and with exits do not run), and
        its state's function calls the loop's continuation, which re-enters the try
        around the loop and runs the loop from its head. Python's own order is kept: the
        loop was going to run again from its head there, inside that try."""
        found = self.handoffs.get(id(loop))
        if found is None:
            found = self.handoffs[id(loop)] = Wait(
                loop.line,
                self.next_state,
                None,
                cst.Name("None"),
                f"the loop at line {loop.line} again, from its head",
                guarded=True,
                handoff=True,
            )
            self.next_state += 1
            self.handed.append((found, loop))
        return found

    def enter(self, loop: Loop, in_loop: bool = False) -> Wait | None:
        """The hand-off of a block entering ``loop`` from outside it inside a try (a start
        function, a tail, a resume function or continuation before it), or None where the
        loop is printed there instead: its only entry, when no iteration's end hands it
        off (each state inside it keeps its copy, ``keeps_copy``). Then the loop needs no
        state or continuation of its own, and the machine two functions fewer to compile
        and no detour through poll() on the way in (compile time, issue 10); the loop is
        printed twice either way. Not from inside another loop printed in the same
        function (``in_loop``): each run of the loop must start a frame of its own, as a
        call of its continuation does (the cells of a waiting comprehension's closures,
        Machine.Scope, are that frame's)."""
        if id(loop) in self.inline and not in_loop:
            return None
        self.entries[id(loop)] = self.entries.get(id(loop), 0) + (2 if in_loop else 1)
        return self.hand_off(loop)

    def entered_once(self) -> frozenset[int]:
        """The loops ``enter`` may print where they are entered, the blocks made again."""
        return frozenset(
            k for k, count in self.entries.items() if count == 1 and k not in self.ends
        )

    def keeps_copy(self, loop: Loop, target: object) -> bool:
        """Does the resume function of ``target`` run ``loop`` again by a copy of it
        instead of a hand-off? That of the last wait of the loop's own iteration (not in a
        nested loop) does: the steady state of a server loop ends its iteration there, and
        goes on to the loop's first wait with no detour through poll() (one copy per
        loop: the output stays linear). None does when ``copies`` is off: the machine
        was over its size budget with them (SPEC 2.4, see ``transform._machine``)."""
        if not self.copies:
            return False
        last = self.last_waits.get(id(loop))
        if last is None:
            last = self.last_waits[id(loop)] = _last_wait(loop.body)
        kept = isinstance(target, Wait) and target.id == last
        self.copied |= kept
        return kept

    def build(self) -> dict[int, Block]:
        """Every continuation asked for, and those they ask for in turn (outer loops)."""
        while len(self.blocks) < len(self.loops):
            for key, loop in list(self.loops.items()):
                if key not in self.blocks:
                    steps = _find(self.unit, loop)
                    block = _rest(steps, in_loop=False, top=True, conts=self)
                    self.blocks[key] = delegate_loops(block, self, own=loop)
        return self.blocks


def _last_wait(block: Block) -> int:
    """The id of the last wait in ``block`` outside nested loops (0: none)."""
    last = 0
    for n in block:
        if isinstance(n, Wait):
            last = max(last, n.id)
        elif not isinstance(n, Loop):
            for child in children(n):
                last = max(last, _last_wait(child))
    return last


@dataclass
class ResumeBlocks:
    """The IR of every function of one machine but the class's fixed methods."""

    blocks: dict[int, Block]  # state -> its function's block (0: the start)
    tails: dict[int, Block]  # statement index -> the tail after it; negative: a loop's continuation
    loops: dict[int, Loop]  # negative tail key -> the loop it continues
    copied: bool = False  # does a resume function hold a copy of a loop (keeps_copy)?


def resume_blocks(unit: Unit, copies: bool = True) -> ResumeBlocks:
    """The start block, each wait's resume block, the shared tails of the body and the
    loops' continuations; ``copies``: may the hot path keep a copy of a loop? Made again
    when a loop handed off from one place only can be printed there (``enter``)."""
    waits = len(unit.waits)
    made, conts = _resume_blocks(unit, copies, frozenset())
    once = conts.entered_once()
    if once:
        del unit.waits[waits:]  # the hand-offs' states, made again as needed
        made, _ = _resume_blocks(unit, copies, once)
    return made


def _resume_blocks(
    unit: Unit, copies: bool, inline: frozenset[int]
) -> tuple[ResumeBlocks, Continuations]:
    start, tails = segments(unit.body)
    conts = Continuations(unit, copies, inline)
    # The start block and the tails call a waiting loop's continuation too, rather than
    # hold a second copy of it: one call per entry into the loop, and the loop is compiled
    # once (compile time of generated code, issue 10).
    blocks: dict[int, Block] = {0: delegate_loops(start, conts)}
    tails = {k: delegate_loops(tail, conts) for k, tail in tails.items()}
    for wait in list(unit.waits):
        blocks[wait.id] = resume_block(unit, wait, conts)
    tails.update(conts.build())
    while conts.handed:  # each hand-off's state calls its loop's continuation
        handed, conts.handed = conts.handed, []
        for wait, loop in handed:
            unit.waits.append(wait)
            blocks[wait.id] = [conts.call(loop)]
        tails.update(conts.build())
    _skip_forwarders(blocks, tails)
    return ResumeBlocks(blocks, tails, conts.loops, conts.copied), conts


def _skip_forwarders(blocks: dict[int, Block], tails: dict[int, Block]) -> None:
    """A tail that only calls another (the body after a statement is just a waiting loop,
    run by its continuation) is left out: its callers call that one directly. A function
    fewer to compile, and a call fewer to run (issue 10)."""
    forward = {
        k: tail[0].index
        for k, tail in tails.items()
        if len(tail) == 1 and isinstance(tail[0], TailCall) and tail[0].index != k
    }
    if not forward:
        return

    def target(k: int) -> int:
        seen = {k}
        while k in forward and forward[k] not in seen:
            k = forward[k]
            seen.add(k)
        return k

    def retarget(block: Block) -> None:
        for n in block:
            if isinstance(n, TailCall):
                n.index = target(n.index)
            for child in children(n):
                retarget(child)

    for k in forward:
        if target(k) != k:
            del tails[k]
    for block in [*blocks.values(), *tails.values()]:
        retarget(block)


def resume_block(unit: Unit, wait: Wait, conts: Continuations | None = None) -> Block:
    """The rest of the function after ``wait``, re-entering what encloses it."""
    steps = _find(unit, wait)
    block = _rest(steps, in_loop=False, top=True, conts=conts)
    return delegate_loops(block, conts) if conts is not None else block


def segments(body: Block) -> tuple[Block, dict[int, Block]]:
    """The start block and the shared tails: the body cut after each top-level statement
    that waits, each piece ending in a call of the next."""
    cuts = [k for k, stmt in enumerate(body) if suspends([stmt]) and k + 1 < len(body)]
    bounds = [-1, *cuts]
    pieces: list[Block] = []
    for a, b in zip(bounds, [*cuts, len(body) - 1]):
        piece = list(body[a + 1 : b + 1])
        if b in cuts:
            piece.append(TailCall(body[b].line, b))
        pieces.append(piece)
    return pieces[0], dict(zip(cuts, pieces[1:]))


def _rest(
    steps: list,
    in_loop: bool,
    top: bool = False,
    conts: Continuations | None = None,
    in_try: bool = False,
) -> Block:
    block, i, node, part = steps[0]
    tail = block[i + 1 :]
    if top and tail:
        tail = [TailCall(node.line, i)]
    if part is None:  # the wait resumed, or (a continuation) the loop from its head
        return [Resume(node.line, node) if isinstance(node, Wait) else node, *tail]
    inner = _rest(
        steps[1:],
        in_loop or (isinstance(node, Loop) and part == "body"),
        conts=conts,
        in_try=in_try or isinstance(node, (Try, With)),  # a call would leave its exit
    )
    again = _reenter(node, part, inner, in_loop, conts, in_try, steps[-1][2])
    # The continuation runs what follows the loop: nothing comes back here (the Reenter may
    # be nested in the branch being re-entered here).
    if len(again) == 1 and hands_off(again[0]):
        return again
    return [*again, *tail]


def _reenter(
    node: Node,
    part: object,
    inner: Block,
    in_loop: bool,
    conts: Continuations | None = None,
    in_try: bool = False,
    target: object = None,
) -> Block:
    if isinstance(node, Loop):
        if part != "body":
            return inner
        if in_try and conts is not None:  # a call would leave the try
            if conts.keeps_copy(node, target):
                return reentered(node, inner, None)
            conts.ends.add(id(node))
            return [Reenter(node.line, node, inner, cont=conts.hand_off(node))]
        return reentered(node, inner, conts)
    if isinstance(node, Try):
        line = node.line
        if part == "body":
            return [
                Try(
                    line,
                    inner,
                    node.handlers,
                    node.orelse,
                    node.finalbody,
                    node.fin,
                    node.star,
                    node.saved,
                    node.unbinds,
                    node.rebinds,
                )
            ]
        if isinstance(part, tuple) and part[0] == "h":
            h = node.handlers[part[1]]
            assert h.name is not None  # a handler that waits keeps its exception (lower.py)
            save, again, restore = raise_again(h.line, h.name, node.saved, h.traceback)
            return [
                save,
                Try(
                    line,
                    [again],
                    [Handler(h.line, name("BaseException"), None, [restore, *inner])],
                    [],
                    node.finalbody,
                    node.fin,
                    saved=node.saved,
                ),
            ]
        if part == "orelse":
            if not node.finalbody:
                return inner
            return [Try(line, inner, [], [], node.finalbody, node.fin, saved=node.saved)]
        return finish_finally(node, inner, in_loop)  # part == "final"
    if isinstance(node, With) and node.entered is not None:
        return [With(node.line, node.items, inner, node.entered)]
    return inner  # if / match case: the rest of that branch is all there is
