"""Which locals live across a wait, and which may be unbound there.

A resume function keeps the coroutine's locals as Python locals while it runs, loads those
it needs when it starts, and stores them on the machine only when it suspends. Facts:

- A local is *needed* at wait ``j`` when the resume function for ``j`` may read it before
  assigning it (the upward-exposed reads of that function: liveness on entry).
- A suspension stores only what may have changed since the resume function loaded it:
  a local loaded on entry (or passed to a shared tail by callers that had not changed it)
  and bound nowhere in the function still equals its slot (``Storage.unchanged``).
- Storing ``self.x = x`` at a suspension is itself a read of ``x``: it fails when ``x`` is
  unbound. So a needed local must be *definitely assigned* at the wait (on every path from
  the start, as CPython's compiler reasons). Locals that are needed somewhere without
  being definitely assigned there, and locals a nested function, lambda, class or
  generator expression captures (late binding: they must see later assignments), live on
  the machine instead — "cold" locals, read and written as ``self.x`` everywhere; an unset
  slot then raises ``UnboundLocalError`` as Python does.
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
    Unit,
    Wait,
    With,
    walk,
)
from corofy.transform.reenter import resume_blocks
from corofy.transform.scopes import children_of


class _Uses:
    """Names a statement or expression reads, binds and deletes (reads may over-count).
    A walrus in a part that may not run (the right operand of ``and``/``or``, a branch of
    ``x if c else y``, a later comparison in a chain, an assert's message, a comprehension
    beyond its first iterable) binds only maybe: ``maybe_writes``, not ``writes``.

    A plain walk over node fields (``scopes.children_of``), not a libcst visitor: this runs
    on every statement of every resume block, and libcst's visitor dispatch was most of
    its cost."""

    def __init__(self) -> None:
        self.reads: set[str] = set()
        self.writes: set[str] = set()
        self.dels: set[str] = set()
        self.maybe_writes: set[str] = set()
        self.nested = 0  # inside a nested def/class/lambda: its bindings are its own
        self.maybe = 0  # inside a part that may not run

    def _maybe(self, node: cst.CSTNode) -> None:
        self.maybe += 1
        self.visit(node)
        self.maybe -= 1

    def visit(self, node: cst.CSTNode) -> None:
        handler = _HANDLERS.get(type(node))
        if handler is None or handler(self, node):
            for child in children_of(node):
                self.visit(child)

    def visit_Name(self, node: cst.Name) -> bool:
        self.reads.add(node.value)
        return False

    def store(self, t: cst.CSTNode) -> None:
        if isinstance(t, cst.Name):
            (self.reads if self.nested else self.maybe_writes if self.maybe else self.writes).add(
                t.value
            )
        elif isinstance(t, (cst.Tuple, cst.List)):
            for el in t.elements:
                self.store(el.value)
        elif isinstance(t, cst.StarredElement):
            self.store(t.value)
        else:
            self.visit(t)

    def visit_Assign(self, node: cst.Assign) -> bool:
        self.visit(node.value)
        for t in node.targets:
            self.store(t.target)
        return False

    def visit_AugAssign(self, node: cst.AugAssign) -> bool:
        self.visit(node.target)
        self.visit(node.value)
        self.store(node.target)
        return False

    def visit_AnnAssign(self, node: cst.AnnAssign) -> bool:
        if node.value is not None:
            self.visit(node.value)
            self.store(node.target)
        return False

    def visit_NamedExpr(self, node: cst.NamedExpr) -> bool:
        self.visit(node.value)
        self.store(node.target)
        return False

    def visit_Del(self, node: cst.Del) -> bool:
        self._delete(node.target)
        return False

    def _delete(self, t: cst.CSTNode) -> None:
        if isinstance(t, cst.Name):
            self.reads.add(t.value)  # del needs the name bound: a use, for liveness
            if not self.nested:
                self.dels.add(t.value)
        elif isinstance(t, (cst.Tuple, cst.List)):
            for el in t.elements:
                self._delete(el.value)
        else:
            self.visit(t)

    def visit_Import(self, node: cst.Import) -> bool:
        for alias in node.names:
            self.store(cst.Name(alias.evaluated_alias or alias.evaluated_name.split(".")[0]))
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        if not isinstance(node.names, cst.ImportStar):
            for alias in node.names:
                self.store(cst.Name(alias.evaluated_alias or alias.evaluated_name))
        return False

    def _nested_body(self, body: cst.CSTNode) -> None:
        self.nested += 1
        self.visit(body)
        self.nested -= 1

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        for part in (*node.decorators, node.params):
            self.visit(part)
        self._nested_body(node.body)
        self.store(node.name)
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        for part in (*node.decorators, *node.bases, *node.keywords):
            self.visit(part)
        self._nested_body(node.body)
        self.store(node.name)
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        self._nested_body(node.params)
        self._nested_body(node.body)
        return False

    def visit_BooleanOperation(self, node: cst.BooleanOperation) -> bool:
        self.visit(node.left)
        self._maybe(node.right)
        return False

    def visit_IfExp(self, node: cst.IfExp) -> bool:
        self.visit(node.test)
        self._maybe(node.body)
        self._maybe(node.orelse)
        return False

    def visit_Comparison(self, node: cst.Comparison) -> bool:
        self.visit(node.left)
        for k, target in enumerate(node.comparisons):
            (self._maybe if k else self.visit)(target.comparator)
        return False

    def visit_Assert(self, node: cst.Assert) -> bool:
        self.visit(node.test)
        if node.msg is not None:
            self._maybe(node.msg)
        return False

    def _comprehension(
        self, node: cst.ListComp | cst.SetComp | cst.DictComp | cst.GeneratorExp
    ) -> bool:
        first = node.for_in
        self.visit(first.iter)  # evaluated at once; the rest runs once per item, maybe never
        self.maybe += 1
        for child in children_of(node):
            for part in children_of(first, "iter") if child is first else (child,):
                self.visit(part)
        self.maybe -= 1
        return False

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _comprehension

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        self.visit(node.value)
        return False

    def visit_Arg(self, node: cst.Arg) -> bool:
        self.visit(node.value)
        return False

    def visit_Call(self, node: cst.Call) -> bool:
        # Zero-argument super() reads the first parameter (and __class__) implicitly.
        if (
            isinstance(node.func, cst.Name)
            and node.func.value == "super"
            and not node.args
            and SUPER_SELF
        ):
            self.reads.add(SUPER_SELF[0])
        return True


_HANDLERS = {
    getattr(cst, name[len("visit_") :]): method
    for name, method in vars(_Uses).items()
    if name.startswith("visit_")
}


SUPER_SELF: list[str] = []  # the first parameter of the method being transformed, if any


_EMPTY: frozenset[str] = frozenset()


def _frozen(names: set[str]) -> frozenset[str]:
    return frozenset(names) if names else _EMPTY


_Found = tuple[frozenset[str], frozenset[str], frozenset[str], frozenset[str]]
_cache: dict[
    int, tuple[frozenset[str], frozenset[str], frozenset[str], frozenset[str], cst.CSTNode]
] = {}


def uses(node: cst.CSTNode | None) -> _Found:
    """What ``node`` reads, surely binds, deletes, and maybe binds (see ``_Uses``)."""
    if node is None:
        return _EMPTY, _EMPTY, _EMPTY, _EMPTY
    found = _cache.get(id(node))
    if found is None or found[4] is not node:
        v = _Uses()
        v.visit(node)
        found = (
            _frozen(v.reads),
            _frozen(v.writes),
            _frozen(v.dels),
            _frozen(v.maybe_writes),
            node,
        )
        _cache[id(node)] = found
    return found[0], found[1], found[2], found[3]


def clear_cache() -> None:
    _cache.clear()
    _deleted.clear()
    SUPER_SELF.clear()


def _meet(values: Iterable) -> frozenset[str] | None:
    result = None
    for v in values:
        if v is None:
            continue
        result = v if result is None else result & v
    return result


def pattern_names(pattern: cst.CSTNode) -> set[str]:
    found: set[str] = set()

    class _V(cst.CSTVisitor):
        def visit_MatchAs(self, node: cst.MatchAs) -> None:
            if node.name is not None:
                found.add(node.name.value)

        def visit_MatchStar(self, node: cst.MatchStar) -> None:
            if node.name is not None:
                found.add(node.name.value)

        def visit_MatchMapping(self, node: cst.MatchMapping) -> None:
            if node.rest is not None:
                found.add(node.rest.value)

    pattern.visit(_V())
    return found


_deleted: dict[int, tuple[Node, frozenset[str], frozenset[str]]] = {}


def _deleted_in(n: Try | With | Loop) -> tuple[frozenset[str], frozenset[str]]:
    """What ``n``'s body may delete, and (a try) its handlers and else: the same for every
    Flow run over it, so computed once per node."""
    found = _deleted.get(id(n))
    if found is None or found[0] is not n:
        rest: set[str] = set()
        if isinstance(n, Try):
            rest = deleted([*(x for h in n.handlers for x in h.body), *n.orelse])
        found = _deleted[id(n)] = (n, frozenset(deleted(n.body)), frozenset(rest))
    return found[1], found[2]


def deleted(block: Block) -> set[str]:
    out: set[str] = set()
    for node in walk(block):
        if isinstance(node, Raw):
            out |= uses(node.stmt)[2]
        elif isinstance(node, Gen):
            out |= node.dels
        elif isinstance(node, Try):
            out |= {h.name for h in node.handlers if h.name}
    return out


@dataclass
class Flow:
    """One pass of definite assignment over a block, noting exposed reads and the
    assignments in force at each wait. A set of names is what is surely assigned at a
    point; None means the point is unreachable (every name counts as assigned there)."""

    locals: frozenset[str]
    exposed: set[str] = field(default_factory=set)
    at_wait: dict[int, frozenset[str] | None] = field(default_factory=dict)
    loops: list[tuple[list, list]] = field(default_factory=list)
    heads: dict[int, frozenset[str] | None] = field(default_factory=dict)  # id(loop) -> at its head
    # What is surely assigned wherever a wait suspends (it stores what its state needs:
    # reads) or a tail is called (it reads its arguments); see ``Summary``.
    before_wait: dict[int, frozenset[str]] = field(default_factory=dict)
    before_tail: dict[int, frozenset[str]] = field(default_factory=dict)
    bound: set[str] = field(default_factory=set)  # every name reachable code may (un)bind

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
            reads, writes, dels, maybe = uses(e)
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
        v = _Uses()
        v.store(t)
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
        reads, writes, dels, maybe = uses(n.stmt)
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
        in_body, in_rest = _deleted_in(n)
        inside = None if da is None else da - in_body
        ends = [self.block(n.orelse, end)]
        for h in n.handlers:
            self.expr(h.type, inside)
            hin = inside if inside is None or not h.name else inside | {h.name}
            hend = self.block(h.body, hin)
            ends.append(hend if hend is None or not h.name else hend - {h.name})
        after = _meet(ends)
        if n.finalbody:
            fin_in = None
            if inside is not None:
                fin_in = inside - in_rest
            fin_end = self.block(n.finalbody, fin_in)
            after = None if after is None or fin_end is None else after | fin_end
        return after

    def _with(self, n: With, da):
        for item in n.items:
            self.expr(item.item, da)
            if item.asname is not None:
                da = self.target(item.asname.name, da)
        end = self.block(n.body, da)
        # __exit__ may swallow an exception raised anywhere in the body: the code after
        # the with is reachable even when the body always raises, with only what was
        # assigned before the body surely assigned.
        return _meet([end, None if da is None else da - _deleted_in(n)[0]])

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
        self.loops[-1][0].append(da)
        return None

    def _continue(self, n: Continue, da):
        self.loops[-1][1].append(da)
        return None

    def loop(self, n: Loop, da):
        self.expr(n.test if n.test is not None else n.iter, da)
        head = da
        # Only a del (or the end of an except ... as) can make a name less assigned at the
        # end of an iteration than at its start: without one the first head is the answer.
        again = bool(_deleted_in(n)[0])
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


@dataclass
class Summary:
    """A block's exposed reads as a function of what states and tails need: one Flow pass
    finds the reads of its own code and what is assigned before each suspension and tail
    call; a local read there and not surely assigned is exposed too."""

    own: frozenset[str]
    before_wait: dict[int, frozenset[str]]
    before_tail: dict[int, frozenset[str]]
    bound: set[str]  # what the block may bind or unbind (``Storage.unchanged``)

    @staticmethod
    def of(block: Block, locals_: frozenset[str]) -> Summary:
        flow = Flow(locals_)
        flow.block(block, frozenset())
        return Summary(frozenset(flow.exposed), flow.before_wait, flow.before_tail, flow.bound)

    def exposed(
        self, needed: dict[int, frozenset[str]], args: dict[int, frozenset[str]]
    ) -> frozenset[str]:
        found = set(self.own)
        for j, da in self.before_wait.items():
            found |= needed[j] - da
        for k, da in self.before_tail.items():
            found |= args[k] - da
        return frozenset(found)


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


@dataclass
class Storage:
    """Where each local lives: ``cold`` on the machine; the rest in resume-function locals,
    loaded (``needed[j]``) when state ``j`` resumes and stored when it suspends."""

    locals: frozenset[str]
    cold: frozenset[str]
    needed: dict[int, frozenset[str]]  # state -> hot locals loaded on resume / stored at suspend
    tail_args: dict[int, frozenset[str]]  # statement index -> hot locals its tail receives
    nested_refs: dict[int, str]  # id(Name) in a nested scope -> the coroutine local it names
    # ("state", j) or ("tail", k) -> the hot locals that function never changes and that
    # equal their slots throughout it: its suspensions need not store them
    unchanged: dict[tuple[str, int], frozenset[str]] = field(default_factory=dict)


def _unchanged(
    summaries: dict[tuple[str, int], Summary],
    needed: dict[int, frozenset[str]],
    args: dict[int, frozenset[str]],
) -> dict[tuple[str, int], frozenset[str]]:
    """``Storage.unchanged``: a state's function loads ``needed[j]`` from the slots; a tail
    receives its arguments from its callers, equal to the slots where every caller had
    them unchanged. A function keeps what it loads or receives unchanged unless it binds it."""
    bound = {key: summary.bound for key, summary in summaries.items()}
    callers: dict[int, list[tuple[str, int]]] = {k: [] for k in args}
    for key, summary in summaries.items():
        for k in summary.before_tail:
            callers[k].append(key)
    entry = {
        key: (needed if key[0] == "state" else args).get(key[1], frozenset()) for key in summaries
    }
    changed = True
    while changed:  # entries only shrink: this ends
        changed = False
        for k in args:
            narrowed = entry["tail", k]
            for caller in callers[k]:
                narrowed = narrowed & (entry[caller] - bound[caller])
            if narrowed != entry["tail", k]:
                entry["tail", k], changed = narrowed, True
    return {key: frozenset(entry[key] - bound[key]) for key in summaries}


@dataclass
class Plan:
    storage: Storage
    blocks: dict[int, Block] = field(default_factory=dict)
    tails: dict[int, Block] = field(default_factory=dict)
    loops: dict[int, Loop] = field(default_factory=dict)  # negative tail key -> its loop


def plan(
    unit: Unit,
    params: list[str],
    local_names: set[str],
    captured: set[str],
    nested_refs: dict[int, str],
) -> Plan:
    """Decide where each local lives (see ``analyse.py``) and build the resume blocks."""
    locals_ = frozenset(local_names | unit.temps)
    resume = resume_blocks(unit)
    blocks, tails, loops = resume.blocks, resume.tails, resume.loops
    start_block = blocks[0]
    needed: dict[int, frozenset[str]] = {w.id: frozenset() for w in unit.waits}
    args: dict[int, frozenset[str]] = {k: frozenset() for k in tails}
    # Stores and tail calls are reads: iterate to the fixpoint. Each block is walked once
    # (``Summary``); when an entry grows only the blocks holding that wait or tail call
    # are summed up again.
    entries = [
        *((needed, w.id, blocks[w.id]) for w in unit.waits),
        *((args, k, tails[k]) for k in tails),
    ]
    summaries = [Summary.of(block, locals_) for _, _, block in entries]
    readers: dict[tuple[int, int], list[int]] = {}
    for e, summary in enumerate(summaries):
        for j in summary.before_wait:
            readers.setdefault((id(needed), j), []).append(e)
        for k in summary.before_tail:
            readers.setdefault((id(args), k), []).append(e)
    pending = list(range(len(entries)))[::-1]  # later code first: earlier blocks read its entries
    queued = set(pending)
    while pending:
        e = pending.pop(0)
        queued.discard(e)
        table, key, _ = entries[e]
        found = summaries[e].exposed(needed, args)
        if not found <= table[key]:
            table[key] = found | table[key]
            for r in readers.get((id(table), key), ()):
                if r not in queued:
                    queued.add(r)
                    pending.append(r)
    start = Summary.of(start_block, locals_)
    start_exposed = start.exposed(needed, args)
    start_needed = start_exposed & frozenset(params)
    whole = Flow(locals_)
    da = frozenset(params)
    cold = set(captured & locals_)
    # A local the start function may read unbound but never binds itself (its binding is in
    # a tail, after a wait): there the name would be a global, NameError instead of
    # UnboundLocalError. On the machine, an unset slot raises UnboundLocalError.
    cold |= (start_exposed - frozenset(params) - start.bound) & locals_ - unit.temps
    for k, stmt in enumerate(unit.body):
        da = whole.node(stmt, da)
        if k in args and da is not None:
            cold |= args[k] - da  # a tail receives only what is surely bound
    for key, loop in loops.items():
        # A loop's continuation is called where an iteration ended: at its head.
        head = whole.heads.get(id(loop))
        if head is not None:
            cold |= args[key] - head
    for wait in unit.waits:
        at = whole.at_wait.get(wait.id)
        if at is None:
            continue
        cold |= needed[wait.id] - at
    hot_needed = {j: frozenset(v - cold) for j, v in needed.items()}
    hot_needed[0] = frozenset(start_needed - cold)
    hot_args = {k: frozenset(v - cold) for k, v in args.items()}
    by_function = {
        ("state" if table is needed else "tail", key): summary
        for (table, key, _), summary in zip(entries, summaries)
    }
    by_function["state", 0] = start
    storage = Storage(
        locals_,
        frozenset(cold),
        hot_needed,
        hot_args,
        nested_refs,
        _unchanged(by_function, hot_needed, hot_args),
    )
    return Plan(storage, blocks, tails, loops)
