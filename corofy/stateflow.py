"""Where a poll in each state of a machine can end, read from the coroutine's own source.

`corofy graph` draws these transitions. They are derived from the original function's syntax
tree, not from the transform's internals, so they follow Python's semantics whatever shape
the emitted code takes; the one thing taken from the transform is its list of states (each
wait's id, line and source text), which ties a `wait(...)` call here to its state number.

A poll resumes a state (the start, or the point just after a wait returned or raised) and
runs until one of:

- a `wait` whose future is **pending**: the machine stops in that wait's state;
- a `wait` whose future is **ready at once**: the machine goes on from that wait without
  stopping (a dotted edge: the poll continues with that state's edges);
- a `return`, or the end of the body: the machine is done (**return**);
- an exception leaving the function: the machine is done (**raises**).

Paths are qualified by how they got there: around a loop back to its head (**loop**), through
an `except` that caught an exception (**exception caught**), or through a `finally` run
because an exception is passing (**unwinding**). Nothing else is drawn: a `while True` body
has no edge to done but the exception's, and a state whose code is all inside a `try` whose
handler catches everything still has the handler's own ways out.

Facts the analysis relies on: any statement but `pass`/`break`/`continue`/`global`/
`nonlocal` may raise (a name lookup, an operator, a call), and resuming a wait may raise (the
future's exception is thrown at the wait); `and`/`or`, conditional expressions and chained
comparisons may skip their later operands; a comprehension is a loop; `return`, `break` and
`continue` run the `finally` blocks they leave; a `with` only swallows an exception when its
context manager is `suppress(...)` (contextlib's: no other is known statically, and drawing
a swallow for every `with` would draw edges that cannot happen).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

DONE = -1

_EXIT, _ESCAPE = 0, 1
_CAUGHT, _LOOP, _UNWIND = "caught", "loop", "unwind"

Open = list[tuple[int, str]]  # dangling ends: a node, and the tag of the edge that leaves it


@dataclass(frozen=True)
class Transition:
    src: int  # the state a poll resumes
    dst: int  # the state it stops in, or DONE
    kind: str  # "pending", "ready" (at once: goes on from dst), "return", "raise"
    caught: bool = False  # the path went through an except that caught an exception
    loop: bool = False  # the path went around a loop back to its head
    unwinding: bool = False  # the path went through a finally an exception was passing

    @property
    def label(self) -> str:
        words = [
            w
            for w, on in (
                ("loop", self.loop),
                ("exception caught", self.caught),
                ("unwinding", self.unwinding),
            )
            if on
        ]
        words.append(
            {
                "pending": "pending",
                "ready": "ready at once",
                "return": "return",
                "raise": "exception escapes",
            }[self.kind]
        )
        return ", ".join(words)


@dataclass
class _Loop:
    head: int
    breaks: Open = field(default_factory=list)


@dataclass
class _Finally:
    body: list[ast.stmt]
    loops: int  # how many loops enclosed the try: break/continue inside it run this finally
    exc: tuple[int, str]  # where an exception raised in the finally body goes
    outer: list[_Finally]  # the finally frames around this one


def _normal(text: str) -> str:
    return " ".join(text.split())


class _Builder:
    """Builds a control-flow graph whose only interesting nodes are waits, EXIT and ESCAPE."""

    def __init__(self, source: str, states: Sequence[Any]) -> None:
        self.source = source
        self.succ: list[list[tuple[int, str]]] = [[], []]  # _EXIT, _ESCAPE
        self.wait_of: dict[int, int] = {}
        self.exc: tuple[int, str] = (_ESCAPE, "")
        self.loops: list[_Loop] = []
        self.finals: list[_Finally] = []
        # (line, source) -> state ids in order; the same wait text twice on a line is matched
        # in evaluation order.
        self.by_key: dict[tuple[int, str], list[int]] = {}
        self.by_text: dict[str, list[int]] = {}
        for state in states:
            if state.id == 0:
                continue
            text = _normal(state.wait_source)
            self.by_key.setdefault((state.line, text), []).append(state.id)
            self.by_text.setdefault(text, []).append(state.id)
        self.wait_ids: dict[int, int] = {}  # id(ast.Call) -> state id
        self._has_wait: dict[int, bool] = {}

    # -- the graph -----------------------------------------------------------------------

    def node(self) -> int:
        self.succ.append([])
        return len(self.succ) - 1

    def link(self, opens: Open, target: int, tag: str = "") -> None:
        for n, t in opens:
            self.succ[n].append((target, tag or t))

    def point(self, opens: Open) -> int:
        n = self.node()
        self.link(opens, n)
        return n

    def may_raise(self, opens: Open) -> Open:
        if not opens:
            return opens
        n = self.point(opens)
        self.succ[n].append(self.exc)
        return [(n, "")]

    # -- waits ---------------------------------------------------------------------------

    def find_waits(self, fn: ast.AST) -> None:
        """Tie each wait(...) call to its state: by line and text, else by text, else by line.

        The last rule keeps the graph right if a transform names a wait by more than its
        call (the statement it is in, say): the outermost call on that line whose text it
        contains."""
        calls = [n for n in _walk_own(fn) if isinstance(n, ast.Call)]
        calls.sort(key=lambda c: (c.lineno, c.col_offset))
        texts = {id(c): _normal(ast.get_source_segment(self.source, c) or "") for c in calls}
        taken: set[int] = set()

        def take(call: ast.Call, state: int) -> None:
            self.wait_ids[id(call)] = state
            taken.add(state)

        for call in calls:
            text = texts[id(call)]
            ids = [i for i in self.by_key.get((call.lineno, text), ()) if i not in taken]
            ids = ids or [i for i in self.by_text.get(text, ()) if i not in taken]
            if ids:
                take(call, ids[0])
        for (line, text), ids in sorted(self.by_key.items()):
            for state in ids:
                if state in taken:
                    continue
                inside = [
                    c
                    for c in calls
                    if c.lineno == line
                    and id(c) not in self.wait_ids
                    and texts[id(c)]
                    and texts[id(c)] in text
                ]
                if inside:
                    take(max(inside, key=lambda c: len(texts[id(c)])), state)

    def has_wait(self, node: ast.AST) -> bool:
        known = self._has_wait.get(id(node))
        if known is None:
            known = id(node) in self.wait_ids or any(
                id(n) in self.wait_ids for n in _walk_own(node)
            )
            self._has_wait[id(node)] = known
        return known

    # -- expressions, in evaluation order ------------------------------------------------

    def expr(self, node: ast.AST | None, opens: Open) -> Open:
        if node is None or not opens or not self.has_wait(node):
            return opens
        if id(node) in self.wait_ids:
            assert isinstance(node, ast.Call)
            for arg in node.args:
                opens = self.expr(arg, opens)
            opens = self.may_raise(opens)  # making the future may raise before it is waited
            w = self.point(opens)
            self.wait_of[w] = self.wait_ids[id(node)]
            self.succ[w].append(self.exc)  # the future raised: thrown at the wait
            return [(w, "")]
        if isinstance(node, ast.BoolOp):
            opens = self.expr(node.values[0], opens)
            skipped: Open = []
            for value in node.values[1:]:
                skipped += opens
                opens = self.expr(value, opens)
            return skipped + opens
        if isinstance(node, ast.IfExp):
            opens = self.expr(node.test, opens)
            return self.expr(node.body, opens) + self.expr(node.orelse, opens)
        if isinstance(node, ast.Compare):
            opens = self.expr(node.left, opens)
            skipped = []
            for k, comparator in enumerate(node.comparators):
                if k:
                    skipped += opens
                opens = self.expr(comparator, opens)
            return skipped + opens
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                opens = self.expr(value if key is None else key, opens)
                if key is not None:
                    opens = self.expr(value, opens)
            return opens
        if isinstance(node, ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp):
            opens = self.expr(node.generators[0].iter, opens)
            return self.comprehension(node, 0, opens)
        for child in ast.iter_child_nodes(node):
            opens = self.expr(child, opens)
        return opens

    def comprehension(self, node: Any, k: int, opens: Open) -> Open:
        gen = node.generators[k]
        head = self.point(opens)
        self.succ[head].append(self.exc)  # next() of the iterator may raise
        body = self.expr(gen.target, [(head, "")])
        back: Open = []
        for cond in gen.ifs:
            body = self.expr(cond, body)
            back += body  # the condition was false: next item
        if k + 1 < len(node.generators):
            inner = self.expr(node.generators[k + 1].iter, body)
            body = self.comprehension(node, k + 1, inner)
        elif isinstance(node, ast.DictComp):
            body = self.expr(node.value, self.expr(node.key, body))
        else:
            body = self.expr(node.elt, body)
        self.link(back + body, head, _LOOP)
        return [(head, "")]

    def targets(self, target: ast.AST, opens: Open) -> Open:
        """A store target's own expressions (a[i], obj.attr, unpacking) in Python's order."""
        if isinstance(target, ast.Tuple | ast.List):
            for elt in target.elts:
                opens = self.targets(elt, opens)
            return opens
        if isinstance(target, ast.Starred):
            return self.targets(target.value, opens)
        if isinstance(target, ast.Subscript):
            return self.expr(target.slice, self.expr(target.value, opens))
        if isinstance(target, ast.Attribute):
            return self.expr(target.value, opens)
        return opens

    # -- statements ----------------------------------------------------------------------

    def stmts(self, body: Iterable[ast.stmt], opens: Open) -> Open:
        for stmt in body:
            if not opens:
                break  # unreachable: after return, raise, break or continue
            opens = self.stmt(stmt, opens)
        return opens

    def stmt(self, s: ast.stmt, opens: Open) -> Open:
        if isinstance(s, ast.Pass | ast.Global | ast.Nonlocal):
            return opens
        if isinstance(s, ast.Expr):
            return self.may_raise(self.expr(s.value, opens))
        if isinstance(s, ast.Assign):
            opens = self.expr(s.value, opens)
            for target in s.targets:
                opens = self.targets(target, opens)
            return self.may_raise(opens)
        if isinstance(s, ast.AugAssign):
            opens = self.targets(s.target, opens)
            return self.may_raise(self.expr(s.value, opens))
        if isinstance(s, ast.AnnAssign):
            opens = self.expr(s.value, opens)
            return self.may_raise(self.targets(s.target, opens))
        if isinstance(s, ast.Return):
            self.jump(self.may_raise(self.expr(s.value, opens)), "return")
            return []
        if isinstance(s, ast.Raise):
            opens = self.expr(s.cause, self.expr(s.exc, opens))
            self.link(opens, *self.exc)
            return []
        if isinstance(s, ast.Break | ast.Continue):
            self.jump(opens, "break" if isinstance(s, ast.Break) else "continue")
            return []
        if isinstance(s, ast.If):
            test = self.may_raise(self.expr(s.test, opens))
            return self.stmts(s.body, test) + self.stmts(s.orelse, test)
        if isinstance(s, ast.While):
            return self.while_(s, opens)
        if isinstance(s, ast.For | ast.AsyncFor):
            return self.for_(s, opens)
        if isinstance(s, ast.Try) or type(s).__name__ == "TryStar":
            return self.try_(s, opens)  # type: ignore[arg-type]
        if isinstance(s, ast.With | ast.AsyncWith):
            return self.with_(s, opens)
        if isinstance(s, ast.Match):
            return self.match(s, opens)
        if isinstance(s, ast.Delete):
            for target in s.targets:
                opens = self.targets(target, opens)
            return self.may_raise(opens)
        if isinstance(s, ast.Assert):
            return self.may_raise(self.expr(s.msg, self.expr(s.test, opens)))
        # def, class, import and the rest: their own expressions, then they may raise.
        for child in ast.iter_child_nodes(s):
            if isinstance(child, ast.expr):
                opens = self.expr(child, opens)
        return self.may_raise(opens)

    def jump(self, opens: Open, kind: str) -> None:
        """return/break/continue: through the finally blocks it leaves, to its target."""
        depth = len(self.loops)
        frames = self.finals if kind == "return" else [f for f in self.finals if f.loops >= depth]
        saved = self.exc, self.finals
        for frame in reversed(frames):
            self.exc, self.finals = frame.exc, frame.outer
            opens = self.stmts(frame.body, opens)
        self.exc, self.finals = saved
        if kind == "return":
            self.link(opens, _EXIT)
        elif kind == "break":
            self.loops[-1].breaks.extend(opens)
        else:
            self.link(opens, self.loops[-1].head, _LOOP)

    def while_(self, s: ast.While, opens: Open) -> Open:
        head = self.point(opens)
        test = self.may_raise(self.expr(s.test, [(head, "")]))
        loop = _Loop(head)
        self.loops.append(loop)
        self.link(self.stmts(s.body, test), head, _LOOP)
        self.loops.pop()
        forever = isinstance(s.test, ast.Constant) and bool(s.test.value)
        return ([] if forever else self.stmts(s.orelse, test)) + loop.breaks

    def for_(self, s: ast.For | ast.AsyncFor, opens: Open) -> Open:
        opens = self.may_raise(self.expr(s.iter, opens))
        head = self.point(opens)
        self.succ[head].append(self.exc)  # next() may raise
        body = self.targets(s.target, [(head, "")])
        loop = _Loop(head)
        self.loops.append(loop)
        self.link(self.stmts(s.body, body), head, _LOOP)
        self.loops.pop()
        return self.stmts(s.orelse, [(head, "")]) + loop.breaks

    def try_(self, s: ast.Try, opens: Open) -> Open:
        outer = self.exc
        frame = None
        unwind: tuple[int, str] | None = None
        if s.finalbody:
            # The finally run by an exception passing through: then the exception goes on.
            start = self.node()
            saved = self.exc
            end = self.stmts(s.finalbody, [(start, "")])
            self.exc = saved
            self.link(end, *outer)
            unwind = (start, _UNWIND)
            frame = _Finally(s.finalbody, len(self.loops), outer, self.finals)
        after_handlers = unwind or outer
        dispatch = self.node() if s.handlers else None
        self.exc = (dispatch, "") if dispatch is not None else after_handlers
        if frame is not None:
            self.finals = [*self.finals, frame]
        ends = self.stmts(s.body, opens)
        self.exc = after_handlers
        ends = self.stmts(s.orelse, ends)
        if dispatch is not None and type(s).__name__ == "TryStar":
            ends += self._star_clauses(s, dispatch, after_handlers)
        elif dispatch is not None:
            for handler in s.handlers:
                entry = self.node()
                self.succ[dispatch].append((entry, _CAUGHT))
                matched = self.may_raise(self.expr(handler.type, [(entry, "")]))
                ends += self.stmts(handler.body, matched)
            if not any(_catches_all(h) for h in s.handlers):
                self.succ[dispatch].append(after_handlers)
        self.exc = outer
        if frame is not None:
            self.finals = frame.outer
            return self.stmts(s.finalbody, ends)
        return ends

    def _star_clauses(self, s: ast.AST, dispatch: int, after: tuple[int, str]) -> Open:
        """except* clauses: every clause's type is evaluated in turn (it may raise, out of
        the try), its handler may run, and what a handler raises goes on to the next
        clause; after the last, what is left is raised or nothing is."""
        entry = self.node()
        self.succ[dispatch].append((entry, _CAUGHT))
        opens: Open = [(entry, "")]
        for handler in s.handlers:  # type: ignore[attr-defined]
            typed = self.may_raise(self.expr(handler.type, opens))
            collect = self.node()
            self.exc = (collect, _CAUGHT)
            done = self.stmts(handler.body, typed)
            self.exc = after
            opens = [*typed, *done, (collect, "")]
        last = self.point(opens)
        self.succ[last].append(after)
        return [(last, "")]

    def with_(self, s: ast.With | ast.AsyncWith, opens: Open) -> Open:
        for item in s.items:
            opens = self.may_raise(self.expr(item.context_expr, opens))
            opens = self.targets(item.optional_vars, opens) if item.optional_vars else opens
        if not any(_is_suppress(item.context_expr) for item in s.items):
            return self.may_raise(self.stmts(s.body, opens))  # __exit__ may raise too
        outer = self.exc
        swallow = self.node()
        self.succ[swallow].append(outer)  # an exception it does not suppress goes on
        self.exc = (swallow, _CAUGHT)
        ends = self.stmts(s.body, opens)
        self.exc = outer
        return ends + [(swallow, "")]

    def match(self, s: ast.Match, opens: Open) -> Open:
        opens = self.may_raise(self.expr(s.subject, opens))
        ends: Open = []
        for case in s.cases:
            tried = self.point(opens)
            self.succ[tried].append(self.exc)  # a pattern may raise (a class's __match_args__)
            matched = self.expr(case.guard, [(tried, "")])
            ends += self.stmts(case.body, matched)
            if case.guard is None and _irrefutable(case.pattern):
                return ends
            opens = [(tried, "")] + (matched if case.guard is not None else [])
        return ends + opens


def _walk_own(node: ast.AST) -> Iterable[ast.AST]:
    """The nodes of `node`'s own scope (not of functions, lambdas or classes inside it)."""
    stack = list(ast.iter_child_nodes(node))
    while stack:
        n = stack.pop()
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            # Only the parts evaluated in this scope: decorators, defaults, bases.
            if isinstance(n, ast.ClassDef):
                stack.extend([*n.decorator_list, *n.bases, *n.keywords])
            elif isinstance(n, ast.Lambda):
                stack.extend([*n.args.defaults, *(d for d in n.args.kw_defaults if d)])
            else:
                stack.extend(
                    [*n.decorator_list, *n.args.defaults, *(d for d in n.args.kw_defaults if d)]
                )
            continue
        yield n
        stack.extend(ast.iter_child_nodes(n))


def _catches_all(handler: ast.ExceptHandler) -> bool:
    t = handler.type
    return t is None or (isinstance(t, ast.Name) and t.id == "BaseException")


def _is_suppress(expr: ast.expr) -> bool:
    func = expr.func if isinstance(expr, ast.Call) else None
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    return name == "suppress"


def _irrefutable(pattern: ast.pattern) -> bool:
    if isinstance(pattern, ast.MatchAs):
        return pattern.pattern is None or _irrefutable(pattern.pattern)
    if isinstance(pattern, ast.MatchOr):
        return any(_irrefutable(p) for p in pattern.patterns)
    return False


def find_function(tree: ast.Module, line: int, name: str) -> ast.FunctionDef | None:
    """The function defined at `line` (its `def` line) named `name`."""
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == name and node.lineno == line:
            return node
    return None


def transitions(source: str, machine: Any) -> list[Transition]:
    """Every way a poll in each state of `machine` (a MachineInfo) can end."""
    tree = ast.parse(source)
    fn = find_function(tree, machine.line, machine.name)
    if fn is None:
        raise LookupError(f"no def {machine.name} at line {machine.line}")
    b = _Builder(source, machine.states)
    b.find_waits(fn)
    start = b.node()
    b.link(b.stmts(fn.body, [(start, "")]), _EXIT)

    starts: dict[int, list[tuple[int, str]]] = {0: list(b.succ[start])}
    for node, state in b.wait_of.items():
        starts.setdefault(state, []).extend(b.succ[node])
    found: dict[Transition, None] = {}
    for state in sorted(starts):
        seen: set[tuple[int, bool, bool, bool]] = set()
        stack = [(n, tag == _CAUGHT, tag == _LOOP, tag == _UNWIND) for n, tag in starts[state]]
        while stack:
            item = stack.pop()
            if item in seen:
                continue
            seen.add(item)
            n, caught, loop, unwinding = item
            if n in b.wait_of:
                for kind in ("pending", "ready"):
                    found[Transition(state, b.wait_of[n], kind, caught, loop, unwinding)] = None
                continue
            if n == _EXIT:
                found[Transition(state, DONE, "return", caught, loop, unwinding)] = None
                continue
            if n == _ESCAPE:
                found[Transition(state, DONE, "raise")] = None
                continue
            for m, tag in b.succ[n]:
                stack.append(
                    (m, caught or tag == _CAUGHT, loop or tag == _LOOP, unwinding or tag == _UNWIND)
                )
    # A way that is there with and without going around a loop is drawn once, plain: "loop"
    # marks the ways only a loop leads to.
    plain = {(t.src, t.dst, t.kind, t.caught, t.unwinding) for t in found if not t.loop}
    kept = [
        t for t in found if not (t.loop and (t.src, t.dst, t.kind, t.caught, t.unwinding) in plain)
    ]
    return sorted(kept, key=lambda t: (t.src, t.dst == DONE, t.dst, t.kind, t.label))
