"""Definite assignment over a resume function's IR, as CPython's compiler reasons it.

``Flow`` walks a block once, tracking the names surely assigned at each point (None: the
point is unreachable), and notes the reads of locals that may be unassigned there (the
block's exposed reads), what is assigned at each wait and before each tail call, and every
name the block may bind or unbind. ``liveness`` builds on it.

Facts it follows: an ``except E as x`` clause unbinds ``x`` at its end; ``__exit__`` may
swallow an exception raised anywhere in a ``with`` body; a ``finally`` runs after any part
of its ``try``; only a ``del`` (or the end of an ``except ... as``) can make a name less
assigned at the end of a loop iteration than at its start.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import libcst as cst

from corofy.transform.ir import (
    Assign,
    Block,
    Break,
    Continue,
    Gen,
    If,
    Loop,
    Match,
    Node,
    Raw,
    Reenter,
    Resume,
    Return,
    TailCall,
    Try,
    Wait,
    With,
)
from corofy.transform.uses import UseTable, pattern_names


def _meet(values: Iterable) -> frozenset[str] | None:
    result = None
    for v in values:
        if v is None:
            continue
        result = v if result is None else result & v
    return result


@dataclass
class Flow:
    """One pass of definite assignment over a block, noting exposed reads and the
    assignments in force at each wait. A set of names is what is surely assigned at a
    point; None means the point is unreachable (every name counts as assigned there)."""

    locals: frozenset[str]
    uses: UseTable
    exposed: set[str] = field(default_factory=set)
    at_wait: dict[int, frozenset[str] | None] = field(default_factory=dict)
    loops: list[tuple[list, list]] = field(default_factory=list)
    heads: dict[int, frozenset[str] | None] = field(default_factory=dict)  # id(loop) -> at its head
    # What is surely assigned wherever a wait suspends (it stores what its state needs:
    # reads) or a tail is called (it reads its arguments); see ``Summary``.
    before_wait: dict[int, frozenset[str]] = field(default_factory=dict)
    before_tail: dict[int, frozenset[str]] = field(default_factory=dict)
    bound: set[str] = field(default_factory=set)  # every name reachable code may (un)bind
    # The ``as`` names of the except clauses being walked, each with the number of loops
    # open around its clause: a break or continue to one of those loops leaves the clause,
    # which unbinds the name.
    handled: list[tuple[str, int]] = field(default_factory=list)

    # The passes run over every statement of every resume function: they avoid making
    # sets (and generators) where nothing changes, which also spares the cyclic garbage
    # collector most of its runs over the whole libcst tree.
    def read(self, names: Iterable[str], da) -> None:
        if da is not None and not names <= da:
            for n in names:
                if n not in da and n in self.locals:
                    self.exposed.add(n)

    def expr(self, e: cst.CSTNode | None, da) -> None:
        if e is not None and da is not None:
            reads, writes, dels, maybe = self.uses.of(e)
            self.read(reads, da)
            if writes or dels or maybe:  # a walrus
                self.bound.update(writes, dels, maybe)

    def target(self, t: cst.CSTNode | None, da):
        if t is None or da is None:
            return da
        if type(t) is cst.Name:
            bound = t.value
            self.bound.add(bound)
            return da | {bound} if bound in self.locals and bound not in da else da
        v = self.uses.target(t)
        self.read(v.reads, da)
        self.bound.update(v.writes)
        return da | (v.writes & self.locals)

    def block(self, block: Block, da):
        for node in block:
            da = _FLOW[type(node)](self, node, da)
        return da

    def node(self, n: Node, da):
        return _FLOW[type(n)](self, n, da)

    def _raw(self, n: Raw, da):
        reads, writes, dels, maybe = self.uses.of(n.stmt)
        self.read(reads, da)
        if da is None:
            return None
        self.bound.update(maybe)
        if writes:
            self.bound.update(writes)
            if not writes <= da:
                da = da | (writes & self.locals)
        if dels:
            self.bound.update(dels)
            if not dels.isdisjoint(da):
                da = da - dels
        return None if type(n.stmt) is cst.Raise else da

    def _gen(self, n: Gen, da):
        self.read(n.reads, da)
        if da is None:
            return None
        self.bound.update(n.writes, n.dels)
        if n.ends:
            return None
        if not n.writes <= da:
            da = da | n.writes
        return da - n.dels if n.dels else da

    def _assign(self, n: Assign, da):
        self.expr(n.value, da)
        if da is None:
            return None
        self.bound.add(n.name)
        return da if n.name in da else da | {n.name}

    def _wait(self, n: Wait, da):
        self.expr(n.future, da)
        self.at_wait[n.id] = da
        _note(self.before_wait, n.id, da)
        return self.target(n.target, da)

    def _resume(self, n: Resume, da):
        return self.target(n.wait.target, da)

    def _if(self, n: If, da):
        self.expr(n.test, da)
        return _meet([self.block(n.body, da), self.block(n.orelse, da)])

    def _reenter(self, n: Reenter, da):
        self.loops.append(([], []))
        end = self.block(n.rest, da)
        breaks, conts = self.loops.pop()
        entry = _meet([end, *conts]) if (end is not None or conts) else None
        after = self.node(n.cont, entry) if n.cont is not None else self.loop(n.loop, entry)
        return _meet([after, *breaks])

    def _try(self, n: Try, da):
        if da is not None:  # the handlers' names, and a waiting finally's pending exit
            self.bound.update(h.name for h in n.handlers if h.name)
            self.bound.update(n.fin or ())
        end = self.block(n.body, da)
        in_body, in_rest = self.uses.deleted_in(n)
        inside = None if da is None else da - in_body
        ends = [self.block(n.orelse, end)]
        for h in n.handlers:
            self.expr(h.type, inside)
            hin = inside if inside is None or not h.name else inside | {h.name}
            if h.name:
                self.handled.append((h.name, len(self.loops)))
            hend = self.block(h.body, hin)
            if h.name:
                self.handled.pop()
            ends.append(hend if hend is None or not h.name else hend - {h.name})
        after = _meet(ends)
        if n.finalbody:
            fin_in = None
            if inside is not None:
                fin_in = inside - in_rest
            fin_end = self.block(n.finalbody, fin_in)
            if after is not None and fin_end is not None:
                # What the finally deletes is unbound after it (the unbinding of an
                # ``except ... as`` name that a waiting handler's body is lowered into).
                after = (after - self.uses.deleted_by_finally(n)) | fin_end
            else:
                after = None
        return after

    def _with(self, n: With, da):
        if n.entered is not None:
            self.read(frozenset(n.entered), da)
        for item in n.items:
            self.expr(item.item, da)
            if item.asname is not None:
                da = self.target(item.asname.name, da)
        end = self.block(n.body, da)
        # __exit__ may swallow an exception raised anywhere in the body: the code after
        # the with is reachable even when the body always raises, with only what was
        # assigned before the body surely assigned.
        return _meet([end, None if da is None else da - self.uses.deleted_in(n)[0]])

    def _match(self, n: Match, da):
        self.expr(n.subject, da)
        ends = [da]
        for case in n.cases:
            captured = pattern_names(case.pattern)
            if da is not None:
                self.bound.update(captured)
            cin = None if da is None else da | (captured & self.locals)
            self.expr(case.guard, cin)
            ends.append(self.block(case.body, cin))
        return _meet(ends)

    def _return(self, n: Return, da):
        self.expr(n.value, da)
        return None

    def _tail_call(self, n: TailCall, da):
        _note(self.before_tail, n.index, da)
        return None

    def _break(self, n: Break, da):
        self.loops[-1][0].append(self._leaving(da))
        return None

    def _continue(self, n: Continue, da):
        self.loops[-1][1].append(self._leaving(da))
        return None

    def _leaving(self, da):
        """``da`` less the names of the except clauses a jump to the innermost loop leaves."""
        if da is None or not self.handled:
            return da
        left = {name for name, loops in self.handled if loops >= len(self.loops)}
        return da - left if left else da

    def loop(self, n: Loop, da):
        self.expr(n.test if n.test is not None else n.iter, da)
        head = da
        # Only a del (or the end of an except ... as) can make a name less assigned at the
        # end of an iteration than at its start: without one the first head is the answer.
        again = bool(self.uses.deleted_in(n)[0])
        for _ in range(20):
            self.loops.append(([], []))
            end = self.block(n.body, self.target(n.target, head))
            breaks, conts = self.loops.pop()
            if not again:
                break
            new_head = _meet([da, end, *conts]) if da is not None else None
            if new_head == head:
                break
            head = new_head
        self.heads[id(n)] = head
        endless = n.test is None and n.iter is None
        normal = None if endless else self.block(n.orelse, head)
        return _meet([normal, *breaks])


def _note(table: dict[int, frozenset[str]], key: int, da: frozenset[str] | None) -> None:
    if da is not None:  # a point reached more than once: what is assigned at every visit
        old = table.get(key)
        table[key] = da if old is None else old & da


_FLOW = {
    Raw: Flow._raw,
    Gen: Flow._gen,
    Assign: Flow._assign,
    Wait: Flow._wait,
    Resume: Flow._resume,
    If: Flow._if,
    Loop: Flow.loop,
    Reenter: Flow._reenter,
    Try: Flow._try,
    With: Flow._with,
    Match: Flow._match,
    Return: Flow._return,
    TailCall: Flow._tail_call,
    Break: Flow._break,
    Continue: Flow._continue,
}
