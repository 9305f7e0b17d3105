"""Lower a coroutine's statements to the IR of ``ir.py``: control flow made explicit.

What changes shape here (the rest is kept as the user wrote it):

- every ``wait`` becomes a ``Wait`` statement, its operands spilled (``expressions.py``);
- a ``for`` whose body waits iterates an explicit ``iter()`` kept in a temporary, so the
  iterator outlives a suspension (and ``break`` does not close it, as in Python);
- a ``while`` whose condition waits becomes ``while True`` with the test inside;
- a ``with`` that waits becomes the try/except/finally of PEP 343, calling ``__enter__``
  and ``__exit__`` explicitly, so ``__exit__`` sees (and may suppress) the exception;
- an ``except ... as name`` whose body waits keeps the exception in a temporary, so a
  resume function can raise it again to be "inside" that handler (bare ``raise``,
  ``sys.exc_info()`` and ``__context__`` after the wait depend on it);
- a ``try`` whose ``finally`` waits records the pending completion (see ``emit.py``).
"""

from __future__ import annotations

import libcst as cst

from corofy.transform import stands
from corofy.transform.context import Context
from corofy.transform.except_star import lower_try_star
from corofy.transform.exits import Exit
from corofy.transform.expressions import Spill, equals, name, out_of_brackets
from corofy.transform.ir import (
    Assign,
    Block,
    Break,
    Case,
    Continue,
    Gen,
    Handler,
    If,
    Loop,
    Match,
    Raw,
    Return,
    Try,
    Unit,
    With,
)
from corofy.transform.uses import pattern_names, uses


def _not(test: cst.BaseExpression) -> cst.BaseExpression:
    if not isinstance(test, cst.Name) and not test.lpar:
        test = test.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return cst.UnaryOperation(operator=cst.Not(), expression=test)


class Lower:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.declarations: list[cst.CSTNode] = []  # global / nonlocal statements

    def has(self, node: cst.CSTNode | None) -> bool:
        return node is not None and id(node) in self.ctx.has_wait

    def block(self, stmts) -> Block:
        out: Block = []
        for stmt in stmts:
            self.stmt(stmt, out)
        return out

    def stmt(self, s: cst.CSTNode, out: Block) -> None:
        line = self.ctx.line(s)
        if isinstance(s, cst.BaseSmallStatement):  # of a body on its header's line: `if x: y`
            self.small(s, line, out)
            return
        if isinstance(s, cst.SimpleStatementLine):
            comments = tuple(ll.comment.value for ll in s.leading_lines if ll.comment)
            for i, small in enumerate(s.body):
                self.small(small, line, out, comments if i == 0 else ())
            return
        method = getattr(self, "_" + type(s).__name__, None)
        if method is not None:
            method(s, line, out)
        elif self.has(s):
            self.ctx.refuse(s, f"wait() inside {type(s).__name__} is not supported")
        else:
            out.append(Raw(line, s))

    # -- simple statements ---------------------------------------------------------------
    def small(self, s: cst.BaseSmallStatement, line: int, out: Block, comments=()) -> None:
        spill = Spill(self.ctx, line)
        if isinstance(s, (cst.Global, cst.Nonlocal)):
            # Printed alone at the top of each function: without its `;` (and a backslash
            # continuation after it: `global G ; \`).
            self.declarations.append(s.with_changes(semicolon=cst.MaybeSentinel.DEFAULT))
        elif isinstance(s, (cst.Import, cst.ImportFrom)) and id(s) in self.ctx.marker_imports:
            # A marker import in the body: the generated code never imports corofy.
            kept = self.ctx.marker_imports[id(s)]
            if kept is not None:
                out.append(Raw(line, cst.parse_statement(kept).body[0], comments))
        elif isinstance(s, cst.Return):
            out.append(Return(line, spill.expr(s.value, out) if s.value is not None else None))
        elif isinstance(s, cst.Break):
            out.append(Break(line))
        elif isinstance(s, cst.Continue):
            out.append(Continue(line))
        elif not self.has(s):
            out.append(Raw(line, s, comments))
        elif isinstance(s, cst.Expr):
            if id(s.value) in self.ctx.wait_calls:
                spill.wait(s.value, out, None)  # type: ignore[arg-type]
            else:
                out.append(Raw(line, s.with_changes(value=spill.expr(s.value, out)), comments))
        elif isinstance(s, cst.Assign):
            self._assign(s, line, out, spill, comments)
        elif isinstance(s, cst.AnnAssign):
            self._annassign(s, line, out, spill, comments)
        elif isinstance(s, cst.AugAssign):
            self._augassign(s, line, out, spill)
        elif isinstance(s, cst.Raise):
            exc, cause = spill.ordered([s.exc, s.cause.item if s.cause else None], out)
            new = s if exc is s.exc else s.with_changes(exc=exc)
            if s.cause is not None and cause is not s.cause.item:
                new = new.with_changes(cause=s.cause.with_changes(item=cause))
            out.append(Raw(line, new, comments))
        elif isinstance(s, cst.Assert):
            self._assert(s, line, out, spill)
        elif isinstance(s, cst.Del):
            # `del a, b` deletes a, then b, each target evaluated just before.
            self._delete(s.target, line, out, spill, comments)
        else:
            self.ctx.refuse(s, f"wait() inside {type(s).__name__} is not supported")

    # -- assignment targets ----------------------------------------------------------------
    # Python's order for ``t1 = t2 = value``: the value first, then each target left to
    # right; for an unpacking target ``a, b[i] = value``, the value is unpacked at once and
    # each item stored in order; a subscript target evaluates its object, then its index,
    # then stores; an attribute target its object, then stores. A wait inside a target is
    # evaluated at that point of the order, so a target holding one is stored by a
    # statement of its own after the stores before it.

    def _target(self, t: cst.BaseExpression, out: Block, spill: Spill) -> cst.BaseExpression:
        return spill.target(t, out)

    def _store(
        self, t: cst.BaseExpression, value: cst.BaseExpression, line: int, out: Block, comments=()
    ) -> None:
        Spill(self.ctx, line).store(t, value, out, comments)

    def _delete(self, t: cst.BaseExpression, line: int, out: Block, spill: Spill, comments) -> None:
        # `del a, b` deletes a, then b, each target evaluated just before.
        if self.has(t) and isinstance(t, (cst.Tuple, cst.List)):
            for el in t.elements:
                self._delete(el.value, line, out, spill, comments)
                comments = ()
        else:
            out.append(Raw(line, cst.Del(target=self._target(t, out, spill)), comments))

    def _assign(self, s: cst.Assign, line: int, out: Block, spill: Spill, comments) -> None:
        targets_wait = any(self.has(t.target) for t in s.targets)
        if len(s.targets) == 1 and not targets_wait and id(s.value) in self.ctx.wait_calls:
            spill.wait(s.value, out, s.targets[0].target)  # type: ignore[arg-type]
            return
        value = spill.expr(s.value, out)
        if not targets_wait:
            out.append(Raw(line, s.with_changes(value=value), comments))
            return
        value = spill.freeze(value, out)
        # The targets before the first that waits are stored together, as written.
        first = next(k for k, t in enumerate(s.targets) if self.has(t.target))
        if first:
            out.append(Raw(line, s.with_changes(targets=s.targets[:first], value=value), comments))
            comments = ()
        for t in s.targets[first:]:
            self._store(t.target, value, line, out, comments)
            comments = ()

    def _annassign(self, s: cst.AnnAssign, line: int, out: Block, spill: Spill, comments) -> None:
        # In a function an annotation is never evaluated; a target that is not a plain name
        # is evaluated (its object and index) even without a value, but not stored.
        if not self.has(s.target):
            if id(s.value) in self.ctx.wait_calls:
                spill.wait(s.value, out, s.target)  # type: ignore[arg-type]
            else:
                out.append(Raw(line, s.with_changes(value=spill.expr(s.value, out)), comments))
        elif s.value is None:
            t = self._target(s.target, out, spill)
            parts = (
                [t.value]
                if isinstance(t, cst.Attribute)
                else [
                    t.value,
                    *(
                        x
                        for el in t.slice
                        for x in (
                            (el.slice.value,)
                            if isinstance(el.slice, cst.Index)
                            else (el.slice.lower, el.slice.upper, el.slice.step)
                        )
                        if x is not None
                    ),
                ]
            )
            for part in parts:
                if not isinstance(part, cst.Name) or part.value not in self.ctx.unit.temps:
                    out.append(Raw(line, cst.Expr(out_of_brackets(part)), comments))
                    comments = ()
        else:
            value = spill.freeze(spill.expr(s.value, out), out)
            self._store(s.target, value, line, out, comments)

    def _augassign(self, s: cst.AugAssign, line: int, out: Block, spill: Spill) -> None:
        # Python reads the target (and evaluates its parts) before the value.
        t = s.target
        if isinstance(t, cst.Name):
            store: cst.BaseAssignTargetExpression = t
            current = spill.freeze(t, out)
        elif isinstance(t, cst.Attribute):
            obj = spill.freeze(spill.expr(t.value, out), out)
            store = t.with_changes(value=obj)
            current = spill.freeze(store, out)
        elif isinstance(t, cst.Subscript):
            # The object, then each index or slice bound, once: read and written with them.
            def part(e: cst.BaseExpression | None) -> cst.BaseExpression | None:
                return None if e is None else spill.freeze(spill.expr(e, out), out)

            obj = part(t.value)
            elements = []
            for el in t.slice:
                sl = el.slice
                if isinstance(sl, cst.Index):
                    sl = sl.with_changes(value=part(sl.value))
                else:
                    sl = sl.with_changes(
                        lower=part(sl.lower), upper=part(sl.upper), step=part(sl.step)
                    )
                elements.append(el.with_changes(slice=sl))
            store = t.with_changes(value=obj, slice=elements)
            current = spill.freeze(store, out)
        else:
            self.ctx.refuse(s, "wait() in this augmented assignment is not supported")
        value = spill.expr(s.value, out)
        out.append(Raw(line, cst.AugAssign(target=current, operator=s.operator, value=value)))
        out.append(Raw(line, cst.Assign(targets=[cst.AssignTarget(store)], value=current)))

    def _assert(self, s: cst.Assert, line: int, out: Block, spill: Spill) -> None:
        # `assert t, m` is `if __debug__: if not t: raise AssertionError(m)`; m is lazy.
        body: Block = []
        test = spill.expr(s.test, body)
        fail: Block = []
        args = [cst.Arg(spill.expr(s.msg, fail))] if s.msg is not None else []
        fail.append(Raw(line, cst.Raise(exc=cst.Call(name("AssertionError"), args=args))))
        body.append(If(line, _not(test), fail, []))
        out.append(If(line, name("__debug__"), body, []))

    # -- compound statements ---------------------------------------------------------------
    def _If(self, s: cst.If, line: int, out: Block) -> None:
        test = Spill(self.ctx, line).expr(s.test, out)
        body = self.block(s.body.body)
        orelse: Block = []
        if isinstance(s.orelse, cst.If):
            self._If(s.orelse, self.ctx.line(s.orelse), orelse)
        elif s.orelse is not None:
            orelse = self.block(s.orelse.body.body)
        out.append(If(line, test, body, orelse))

    def _While(self, s: cst.While, line: int, out: Block) -> None:
        orelse = self.block(s.orelse.body.body) if s.orelse else []
        if not self.has(s.test):
            out.append(Loop(line, s.test, None, None, self.block(s.body.body), orelse))
            return
        body: Block = []
        test = Spill(self.ctx, line).expr(s.test, body)
        leave: Block = [Break(line)]
        flag = None
        if orelse:
            flag = self.ctx.temp("_el")
            out.append(Gen(line, f"{flag} = False", writes=frozenset({flag})))
            leave.insert(0, Gen(line, f"{flag} = True", writes=frozenset({flag})))
        body.append(If(line, _not(test), leave, []))
        body.extend(self.block(s.body.body))
        out.append(Loop(line, None, None, None, body, []))
        if flag:
            out.append(If(line, name(flag), orelse, []))

    def _For(self, s: cst.For, line: int, out: Block) -> None:
        iterable = Spill(self.ctx, line).expr(s.iter, out)
        target = s.target
        body: Block = []
        if self.has(target):
            # Each item goes to a temporary; the target (and its waits) is evaluated and
            # stored first thing in the body, after next() as Python does.
            temp = self.ctx.temp("_u")
            self._store(target, name(temp), line, body)
            target = name(temp)
        body.extend(self.block(s.body.body))
        orelse = self.block(s.orelse.body.body) if s.orelse else []
        if self.has(s.body) or self.has(s.target):
            # The iterator lives across waits: keep it in a temporary (iter() as for does).
            it = self.ctx.temp("_it")
            out.append(
                Assign(line, it, cst.Call(name(self.ctx.builtin("iter")), args=[cst.Arg(iterable)]))
            )
            iterable = name(it)
        out.append(Loop(line, None, target, iterable, body, orelse))

    def _FunctionDef(self, s: cst.FunctionDef, line: int, out: Block) -> None:
        out.append(Raw(line, stands.def_statement(self.ctx, s, line, out) if self.has(s) else s))

    def _ClassDef(self, s: cst.ClassDef, line: int, out: Block) -> None:
        out.append(Raw(line, stands.class_statement(self.ctx, s, line, out) if self.has(s) else s))

    def _Try(self, s, line: int, out: Block) -> None:
        body = self.block(s.body.body)
        handlers = []
        # From the first except clause whose type waits, the clauses are matched by code:
        # Python evaluates a clause's type only when the ones above it did not match.
        waiting = next((k for k, h in enumerate(s.handlers) if self.has(h.type)), len(s.handlers))
        for h in s.handlers[:waiting]:
            hname = h.name.name.value if h.name is not None else None
            hline = self.ctx.line(h)
            self.ctx.guard += 1
            if self.has(h.body):
                # Keep the exception in a temporary a resume function can raise again.
                exc = self.ctx.temp("_e")
                # A bare except is except BaseException (it needs a type to name it).
                kind = h.type if h.type is not None else name("BaseException")
                handlers.append(Handler(hline, kind, exc, self._handler_body(h, exc)))
            else:
                handlers.append(Handler(hline, h.type, hname, self.block(h.body.body)))
            self.ctx.guard -= 1
        if waiting < len(s.handlers):
            handlers.append(self._matched(s.handlers[waiting:]))
        orelse = self.block(s.orelse.body.body) if s.orelse else []
        self._try_rest(s, line, out, body, handlers, orelse, isinstance(s, cst.TryStar))

    def _TryStar(self, s: cst.TryStar, line: int, out: Block) -> None:
        if not any(self.has(h) for h in s.handlers):
            # Waits in the body, else or finally only: the except* clauses stay native
            # (a resume function re-opens the try around the rest of its body).
            self._Try(s, line, out)
            return
        tried, _ = lower_try_star(self, s, line)
        if s.finalbody is None:
            out.extend(tried)
        else:  # the finally around it all, as around the native try and its clauses
            self._try_rest(s, line, out, tried, [], [], False)

    def _try_rest(
        self, s, line: int, out: Block, body: Block, handlers, orelse, star: bool
    ) -> None:
        """The try node of ``s`` from its lowered body, handlers and else: its finally."""
        self.ctx.guard += 1
        finalbody = self.block(s.finalbody.body.body) if s.finalbody else []
        self.ctx.guard -= 1
        fin = None
        if s.finalbody is not None and self.has(s.finalbody):
            fin = (self.ctx.temp("_pk"), self.ctx.temp("_pv"))
            out.append(
                Gen(line, f"{fin[0]} = {Exit.NONE:d}\n{fin[1]} = None", writes=frozenset(fin))
            )
            # Every exit records itself in the pending kind; one that a finally inside
            # cancelled (a return there overridden by a break) must not outlive it: the
            # try's normal ends clear it.
            for block in [orelse or body] + [h.body for h in handlers]:
                block.append(Gen(line, f"{fin[0]} = {Exit.NONE:d}", writes=frozenset({fin[0]})))
        node = Try(
            line,
            body,
            handlers,
            orelse,
            finalbody,
            fin,
            star,
            self.ctx.temp("_ctx") if self.has(s) else None,
        )
        if fin:
            self.ctx.unit.fins.append(node)
        out.append(node)

    def _handler_body(self, h: cst.ExceptHandler, exc: str) -> Block:
        """``h``'s body for an exception held in temporary ``exc``: its ``as`` name bound
        from it first, and unbound when the body ends, however it ends, as Python does."""
        hline = self.ctx.line(h)
        body = self.block(h.body.body)
        if h.name is None:
            return body
        # As Python compiles ``except E as N``: N = exc; try: body; finally: N = None; del N
        # (so N is unbound after the handler however it ends).
        hname = h.name.name.value
        _, writes, dels, maybe = uses(h.body)
        rebound = writes | dels | maybe
        unbind: Block = [
            Raw(hline, cst.Assign([cst.AssignTarget(name(hname))], name("None"))),
            Raw(hline, cst.Del(name(hname))),
        ]
        return [
            Raw(hline, cst.Assign([cst.AssignTarget(name(hname))], name(exc))),
            Try(hline, body, [], [], unbind, unbinds=hname, rebinds=hname in rebound),
        ]

    def _matched(self, clauses) -> Handler:
        """``except`` clauses from one whose type waits, as one ``except BaseException``
        that evaluates each type in turn, checks it as Python does and tests the caught
        exception against it; none matching, the exception goes on (bare ``raise``)."""
        first = self.ctx.line(clauses[0])
        b = self.ctx.builtin
        exc = self.ctx.temp("_e")
        self.ctx.guard += 1
        chain: Block = []
        block = chain
        for h in clauses:
            hline = self.ctx.line(h)
            matched = self._handler_body(h, exc)
            if h.type is None:  # a bare except: the last clause, it takes anything
                block.extend(matched)
                break
            kind = self.ctx.temp("_k")
            block.append(Assign(hline, kind, Spill(self.ctx, hline).expr(h.type, block)))
            block.append(
                Gen(
                    hline,
                    "\n".join(
                        [
                            f"if not ({b('isinstance')}({kind}, {b('type')}) and {b('issubclass')}({kind}, BaseException) or {b('isinstance')}({kind}, {b('tuple')})",
                            f"        and {b('all')}({b('isinstance')}(_c, {b('type')}) and {b('issubclass')}(_c, BaseException) for _c in {kind})):",
                            "    raise TypeError('catching classes that do not inherit from BaseException is not allowed')",
                        ]
                    ),
                    reads=frozenset({kind}),
                )
            )
            unmatched: Block = []
            test = cst.Call(name(b("isinstance")), [cst.Arg(name(exc)), cst.Arg(name(kind))])
            block.append(If(hline, test, matched, unmatched))
            block = unmatched
        else:
            block.append(Gen(first, "raise", ends=True))
        self.ctx.guard -= 1
        return Handler(first, name("BaseException"), exc, chain)

    def _With(self, s: cst.With, line: int, out: Block) -> None:
        if not self.has(s):
            out.append(With(line, list(s.items), self.block(s.body.body)))
        else:
            self._with_items(list(s.items), s.body.body, line, out)

    def _with_items(self, items: list[cst.WithItem], body_stmts, line: int, out: Block) -> None:
        # PEP 343's __enter__ spelled out, so the body can suspend between __enter__ and
        # __exit__; the body then runs in a native `with` that calls that __exit__ (see
        # ir.With.entered), in the function that entered it and in each that re-enters it.
        item = items[0]
        spill = Spill(self.ctx, line)
        manager = spill.expr(item.item, out)
        mgr, exit_, value = (self.ctx.temp(b) for b in ("_cm", "_exit", "_as"))
        out.append(Assign(line, mgr, manager))
        # Future._with_enter (runtime/future.py) looks __enter__ and __exit__ up on the
        # type as Python does (its TypeError if either is missing), then calls __enter__.
        out.append(
            Gen(
                line,
                f"{exit_}, {value} = {self.ctx.future}._with_enter({mgr})",
                reads=frozenset({mgr}),
                writes=frozenset({exit_, value}),
            )
        )
        inner: Block = []
        if item.asname is not None:
            self._store(item.asname.name, name(value), line, inner)
        if len(items) > 1:
            self._with_items(items[1:], body_stmts, line, inner)
        else:
            inner.extend(self.block(body_stmts))
        out.append(With(line, [], inner, entered=(mgr, exit_)))

    def _Match(self, s: cst.Match, line: int, out: Block) -> None:
        spill = Spill(self.ctx, line)
        subject = spill.expr(s.subject, out)
        for c in s.cases:
            self.ctx.unit.bound |= pattern_names(c.pattern)
            if self.has(c.pattern):
                self.ctx.refuse(c.pattern, "wait() inside a case pattern is not supported")
        if not any(self.has(c.guard) for c in s.cases):
            cases = [
                Case(self.ctx.line(c), c.pattern, c.guard, self.block(c.body.body)) for c in s.cases
            ]
            out.append(Match(line, subject, cases))
            return
        # A guard that waits: match first (binding the captures, as Python does even when
        # the guard then fails), note which case matched, evaluate the guard outside the
        # match, and go on matching the later cases if it is false. Bodies run after.
        subject = spill.freeze(subject, out)
        which = self.ctx.temp("_case")
        out.append(Gen(line, f"{which} = 0", writes=frozenset({which})))
        self._match_from(list(enumerate(s.cases, 1)), subject, which, line, out)
        chain: Block = []
        for index, c in reversed(list(enumerate(s.cases, 1))):
            chain = [If(self.ctx.line(c), equals(which, index), self.block(c.body.body), chain)]
        out.extend(chain)

    def _match_from(self, cases, subject, which: str, line: int, out: Block) -> None:
        head: list[Case] = []
        for k, (index, c) in enumerate(cases):
            mark = [Gen(line, f"{which} = {index}", writes=frozenset({which}))]
            if not self.has(c.guard):
                head.append(Case(self.ctx.line(c), c.pattern, c.guard, mark))
                continue
            head.append(Case(self.ctx.line(c), c.pattern, None, mark))
            out.append(Match(line, subject, head))
            guard: Block = []
            test = Spill(self.ctx, self.ctx.line(c)).expr(c.guard, guard)
            failed: Block = [Gen(line, f"{which} = 0", writes=frozenset({which}))]
            guard.append(If(line, _not(test), failed, []))
            out.append(If(line, equals(which, index), guard, []))
            rest = cases[k + 1 :]
            if rest:
                later: Block = []
                self._match_from(rest, subject, which, line, later)
                out.append(If(line, equals(which, 0), later, []))
            return
        out.append(Match(line, subject, head))


def _is_docstring(s: cst.BaseSmallStatement) -> bool:
    return isinstance(s, cst.Expr) and isinstance(
        s.value, (cst.SimpleString, cst.ConcatenatedString)
    )


def lower(ctx: Context) -> tuple[Unit, list[cst.CSTNode], cst.CSTNode | None]:
    """The IR of ``ctx.coroutine``'s body, its global/nonlocal statements, its docstring."""
    suite = ctx.coroutine.node.body
    body = list(suite.body)  # statements, or small statements (`def f(): return wait(x)`)
    docstring = None
    first = body[0] if body else None
    if isinstance(first, cst.SimpleStatementLine):
        if len(first.body) > 1 and _is_docstring(first.body[0]):
            body[0:1] = first.body  # `"""doc"""; x = wait(f)`: the docstring alone
        first = first.body[0]
    if isinstance(first, cst.Expr) and isinstance(
        first.value, (cst.SimpleString, cst.ConcatenatedString)
    ):
        docstring = body.pop(0)
        if isinstance(docstring, cst.Expr):
            docstring = cst.SimpleStatementLine(
                [docstring.with_changes(semicolon=cst.MaybeSentinel.DEFAULT)]
            )
    lowering = Lower(ctx)
    ctx.unit.body = lowering.block(body)
    return ctx.unit, lowering.declarations, docstring
