"""Take waits out of expressions without changing Python's evaluation order.

Facts the spilling depends on (the Python reference, 3.11):

- Operands are evaluated left to right; a call evaluates its callee, then positional and
  keyword arguments in the order written; a subscript its value, then its index; a dict
  display each key before its value.
- An operand evaluated before a later ``wait`` keeps the value it had then: ``x * wait(f)``
  uses the old ``x`` even if ``f`` rebinds it. So every operand left of a wait is first
  stored in a temporary (constants excepted: they cannot change).
- ``and``/``or`` and ``a if c else b`` skip operands: a skipped ``wait`` must never create
  its future, so the operand after the test is lowered into an ``if``.
- In ``a < b < c`` the middle operand is evaluated once and ``c`` only if ``a < b``.
- A comprehension is a scope of its own: its loop variables are renamed to temporaries
  so they never leak into (or clobber) the coroutine's locals; a lambda or comprehension
  inside it that binds the name again (a parameter, a loop variable) keeps its own.
- Each run of a comprehension has its own frame, whose cells the closures made in that run
  share: a lambda made in it reads a variable's latest value in that run, not a later
  run's. A run that waits spans several resume functions, each with its own locals, so a
  variable that a lambda or generator expression in it reads lives in a ``Machine.Scope``
  made for the run (``_cs1.x``), kept on the machine across its waits like any temporary.
"""

from __future__ import annotations

import io
import tokenize
from collections.abc import Sequence

import libcst as cst

from corofy.transform.comprehensions import bound_names, clauses, read_late, rename
from corofy.transform.context import Context
from corofy.transform.fstring_equals import spelled_out
from corofy.transform.ir import Assign, Block, If, Loop, Raw

_CONSTANTS = (cst.Integer, cst.Float, cst.Imaginary, cst.SimpleString, cst.Ellipsis)


def out_of_brackets(t: cst.BaseExpression) -> cst.BaseExpression:
    """``t``, a piece of a bracketed expression (a comprehension's ``for`` target, a dict
    comprehension's value, an annotated target's index), to stand in a statement of its own
    (an assignment, a for loop, an expression statement): in parentheses when a line break
    in it is outside its own brackets, which only the brackets around it allowed
    (``[x for d\n [i] in xs]``, ``{k: f #\n (v) for ...}``)."""
    if isinstance(t, cst.Name) or t.lpar:
        return t
    text = cst.Module([]).code_for_node(t)
    if "\n" not in text and "\r" not in text:
        return t
    depth = 0  # in the parentheses put around it: 1 is its own top level
    plain = text.replace("\r\n", "\n").replace("\r", "\n")
    for tok in tokenize.generate_tokens(io.StringIO(f"({plain})").readline):
        if tok.type == tokenize.OP and tok.string in "([{":
            depth += 1
        elif tok.type == tokenize.OP and tok.string in ")]}":
            depth -= 1
        elif tok.type == tokenize.NL and depth == 1:
            return t.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return t


def _is_keyword(arg: cst.Arg) -> bool:
    return arg.keyword is not None or arg.star == "**"


def name(value: str) -> cst.Name:
    return cst.Name(value)


def equals(var: str, value: int) -> cst.Comparison:
    """``var == value``, built (parsing it costs more)."""
    return cst.Comparison(name(var), [cst.ComparisonTarget(cst.Equal(), cst.Integer(str(value)))])


def is_constant(node: cst.CSTNode | None) -> bool:
    if isinstance(node, _CONSTANTS):
        return True
    return isinstance(node, cst.Name) and node.value in ("None", "True", "False")


class Spill:
    """Lowers one expression: statements evaluating its waits go to ``out``; what is left
    is an equivalent expression without waits."""

    def __init__(self, ctx: Context, line: int) -> None:
        self.ctx = ctx
        self.line = line

    def has(self, node: cst.CSTNode | None) -> bool:
        return node is not None and id(node) in self.ctx.has_wait

    def freeze(self, value: cst.BaseExpression, out: Block) -> cst.BaseExpression:
        if is_constant(value):
            return value
        temp = self.ctx.temp("_t")
        out.append(Assign(self.line, temp, value))
        return name(temp)

    def wait(self, call: cst.Call, out: Block, target: cst.BaseExpression | None) -> None:
        future = self.expr(call.args[0].value, out)
        out.append(self.ctx.new_wait(self.line, target, future, call))

    def expr(self, e: cst.BaseExpression, out: Block) -> cst.BaseExpression:
        if not self.has(e):
            return e
        if id(e) in self.ctx.wait_calls:
            temp = self.ctx.temp("_t")
            self.wait(e, out, name(temp))  # type: ignore[arg-type]
            return name(temp)
        method = getattr(self, "_" + type(e).__name__, None)
        if method is None:
            self.ctx.refuse(e, f"wait() inside {type(e).__name__} is not supported here")
        return method(e, out)

    def ordered(self, items: Sequence[cst.BaseExpression | None], out: Block) -> list:
        """Evaluate ``items`` in order; freeze each one that a later wait could outlive."""
        last = max((i for i, item in enumerate(items) if self.has(item)), default=-1)
        done: list = []
        for i, item in enumerate(items):
            if item is None:
                done.append(None)
                continue
            value = self.expr(item, out)
            if i < last:
                value = self.freeze(value, out)
            done.append(value)
        return done

    # -- assignment targets (see lower.py) -------------------------------------------------
    def target(self, t: cst.BaseExpression, out: Block) -> cst.BaseExpression:
        """A subscript or attribute target with its waits evaluated (into ``out``): what is
        left evaluates no wait, and what it evaluated before a wait is kept."""
        if not self.has(t):
            return t
        if isinstance(t, cst.Subscript):
            return self._Subscript(t, out)
        if isinstance(t, cst.Attribute):
            return t.with_changes(value=self.expr(t.value, out))
        self.ctx.refuse(t, "wait() inside this target is not supported")

    def store(
        self,
        t: cst.BaseExpression,
        value: cst.BaseExpression,
        out: Block,
        comments: tuple[str, ...] = (),
    ) -> None:
        """``t = value`` in Python's order, where ``value`` is already evaluated (a name or
        a constant): each wait inside ``t`` waits when Python would evaluate it."""
        if not self.has(t):
            target = out_of_brackets(t)
            out.append(Raw(self.line, cst.Assign([cst.AssignTarget(target)], value), comments))
        elif isinstance(t, (cst.Tuple, cst.List)):
            # Unpack at once; the items from the first target that waits on go to
            # temporaries, stored into their targets one by one afterwards.
            first = next(k for k, el in enumerate(t.elements) if self.has(el.value))
            later: list[tuple[cst.BaseExpression, str]] = []
            elements = list(t.elements[:first])
            for el in t.elements[first:]:
                temp = self.ctx.temp("_u")
                later.append((el.value, temp))
                elements.append(el.with_changes(value=name(temp)))
            out.append(
                Raw(
                    self.line,
                    cst.Assign(
                        [cst.AssignTarget(out_of_brackets(t.with_changes(elements=elements)))],
                        value,
                    ),
                    comments,
                )
            )
            for target, temp in later:
                self.store(target, name(temp), out)
        else:
            store = out_of_brackets(self.target(t, out))
            out.append(Raw(self.line, cst.Assign([cst.AssignTarget(store)], value), comments))

    # -- one method per expression type that can hold a wait ------------------------------
    def _BinaryOperation(self, e: cst.BinaryOperation, out: Block) -> cst.BaseExpression:
        left, right = self.ordered([e.left, e.right], out)
        return e.with_changes(left=left, right=right)

    def _UnaryOperation(self, e: cst.UnaryOperation, out: Block) -> cst.BaseExpression:
        return e.with_changes(expression=self.expr(e.expression, out))

    def _Attribute(self, e: cst.Attribute, out: Block) -> cst.BaseExpression:
        return e.with_changes(value=self.expr(e.value, out))

    def _NamedExpr(self, e: cst.NamedExpr, out: Block) -> cst.BaseExpression:
        return e.with_changes(value=self.expr(e.value, out))

    def _StarredElement(self, e: cst.StarredElement, out: Block) -> cst.BaseElement:
        return e.with_changes(value=self.expr(e.value, out))

    def _Call(self, e: cst.Call, out: Block) -> cst.BaseExpression:
        # CPython evaluates the positional arguments (``*it`` too) before the keyword ones
        # (``**kw`` too), wherever they are written: ``f(x=a(), *b())`` calls b() first.
        order = sorted(range(len(e.args)), key=lambda k: _is_keyword(e.args[k]))
        values = self.ordered([e.func] + [e.args[k].value for k in order], out)
        new = dict(zip(order, values[1:]))
        args = [a.with_changes(value=new[k]) for k, a in enumerate(e.args)]
        return e.with_changes(func=values[0], args=args)

    def _Lambda(self, e: cst.Lambda, out: Block) -> cst.BaseExpression:
        # Its defaults are evaluated where the lambda stands (its body waits never: refused).
        p = e.params
        params = [*p.posonly_params, *p.params, *p.kwonly_params]
        values = dict(zip(map(id, params), self.ordered([q.default for q in params], out)))

        def new(qs):
            return [q.with_changes(default=values[id(q)]) for q in qs]

        return e.with_changes(
            params=p.with_changes(
                posonly_params=new(p.posonly_params),
                params=new(p.params),
                kwonly_params=new(p.kwonly_params),
            )
        )

    def _GeneratorExp(self, e: cst.GeneratorExp, out: Block) -> cst.BaseExpression:
        # Only its first iterable is evaluated where it stands (the rest waits never: refused).
        return e.with_changes(for_in=e.for_in.with_changes(iter=self.expr(e.for_in.iter, out)))

    def _Subscript(self, e: cst.Subscript, out: Block) -> cst.BaseExpression:
        items: list = [e.value]
        for element in e.slice:
            s = element.slice
            if isinstance(s, cst.Index):
                items.append(s.value)
            else:
                items.extend([s.lower, s.upper, s.step])
        values = iter(self.ordered(items, out))
        value = next(values)
        elements = []
        for element in e.slice:
            s = element.slice
            if isinstance(s, cst.Index):
                s = s.with_changes(value=next(values))
            else:
                s = s.with_changes(lower=next(values), upper=next(values), step=next(values))
            elements.append(element.with_changes(slice=s))
        return e.with_changes(value=value, slice=elements)

    def _elements(self, e, out: Block) -> cst.BaseExpression:
        values = self.ordered([el.value for el in e.elements], out)
        return e.with_changes(
            elements=[el.with_changes(value=v) for el, v in zip(e.elements, values)]
        )

    _Tuple = _List = _Set = _elements

    def _Dict(self, e: cst.Dict, out: Block) -> cst.BaseExpression:
        items: list = []
        for el in e.elements:
            if isinstance(el, cst.DictElement):
                items.extend([el.key, el.value])
            else:
                items.append(el.value)
        values = iter(self.ordered(items, out))
        elements = []
        for el in e.elements:
            if isinstance(el, cst.DictElement):
                elements.append(el.with_changes(key=next(values), value=next(values)))
            else:
                elements.append(el.with_changes(value=next(values)))
        return e.with_changes(elements=elements)

    def _FormattedString(self, e: cst.FormattedString, out: Block) -> cst.BaseExpression:
        return self._strings([e], out)[0]

    def _ConcatenatedString(self, e: cst.ConcatenatedString, out: Block) -> cst.BaseExpression:
        # ``f"{a}" f"{wait(b)}"`` is one string: its replacement fields are evaluated left
        # to right across the parts, and each part stays a string literal.
        strings: list[cst.BaseString] = []
        _flatten(e, strings)
        new = iter(self._strings(strings, out))
        return _rebuild(e, new)

    def _strings(self, strings: list, out: Block) -> list:
        """The f-strings among ``strings`` with the waits of their fields spilled, in the
        order Python evaluates them: each field's expression, then the fields of its format
        spec (``f"{x:{width}}"``)."""
        fields: list[cst.BaseExpression] = []
        for string in strings:
            if isinstance(string, cst.FormattedString):
                _fields(string.parts, fields)
        values = iter(self.ordered(fields, out))
        return [
            spelled_out(
                string,
                string.with_changes(parts=_refill(string.parts, values)),
                self.ctx.positions,
            )
            if isinstance(string, cst.FormattedString)
            else string
            for string in strings
        ]

    def _BooleanOperation(self, e: cst.BooleanOperation, out: Block) -> cst.BaseExpression:
        if not self.has(e.right):
            return e.with_changes(left=self.expr(e.left, out))
        result = self.ctx.temp("_t")
        out.append(Assign(self.line, result, self.expr(e.left, out)))
        body: Block = []
        body.append(Assign(self.line, result, self.expr(e.right, body)))
        test: cst.BaseExpression = name(result)
        if isinstance(e.operator, cst.Or):
            test = cst.UnaryOperation(operator=cst.Not(), expression=test)
        out.append(If(self.line, test, body, []))
        return name(result)

    def _IfExp(self, e: cst.IfExp, out: Block) -> cst.BaseExpression:
        test = self.expr(e.test, out)
        if not (self.has(e.body) or self.has(e.orelse)):
            return e.with_changes(test=test)
        result = self.ctx.temp("_t")
        body: Block = []
        body.append(Assign(self.line, result, self.expr(e.body, body)))
        orelse: Block = []
        orelse.append(Assign(self.line, result, self.expr(e.orelse, orelse)))
        out.append(If(self.line, test, body, orelse))
        return name(result)

    def _Comparison(self, e: cst.Comparison, out: Block) -> cst.BaseExpression:
        if len(e.comparisons) == 1:
            left, right = self.ordered([e.left, e.comparisons[0].comparator], out)
            return e.with_changes(
                left=left, comparisons=[e.comparisons[0].with_changes(comparator=right)]
            )
        result = self.ctx.temp("_t")
        current = self.freeze(self.expr(e.left, out), out)
        block = out
        for i, target in enumerate(e.comparisons):
            comparator = self.expr(target.comparator, block)
            if i < len(e.comparisons) - 1:
                comparator = self.freeze(comparator, block)
            block.append(
                Assign(
                    self.line,
                    result,
                    cst.Comparison(
                        left=current,
                        comparisons=[
                            cst.ComparisonTarget(operator=target.operator, comparator=comparator)
                        ],
                    ),
                )
            )
            if i < len(e.comparisons) - 1:
                inner: Block = []
                block.append(If(self.line, name(result), inner, []))
                block = inner
            current = comparator
        return name(result)

    # -- comprehensions: an explicit loop in a scope of its own ----------------------------
    def _comprehension(self, e, out: Block, kind: str) -> cst.BaseExpression:
        # Its variables are renamed to temporaries; those a lambda or generator expression
        # in it reads (when called or iterated: late) live in a Scope made for this run,
        # the cells of Python's comprehension frame, so that closures made before and
        # after a wait of the run share them and those of another run do not.
        late = read_late(e)
        scope = self.ctx.temp("_cs") if late else ""
        renames: dict[str, cst.BaseExpression] = {}
        for clause in clauses(e.for_in):
            for bound in (n.value for n in bound_names(clause.target)):
                if bound not in renames:
                    renames[bound] = (
                        cst.Attribute(name(scope), name(bound))
                        if bound in late
                        else name(self.ctx.temp("_c"))
                    )
        if scope:
            made = cst.Call(cst.Attribute(name(self.ctx.machine), name("Scope")))
            out.append(Assign(self.line, scope, made))
        result = self.ctx.temp("_t")
        first = True
        empty = {
            "list": cst.List([]),
            "set": cst.Call(name(self.ctx.builtin("set"))),
            "dict": cst.Dict([]),
        }[kind]
        out.append(Assign(self.line, result, empty))
        block = out
        for clause in clauses(e.for_in):
            iterable = clause.iter if first else rename(clause.iter, renames, self.ctx)
            iterable = self.expr(iterable, block)
            first = False
            body: Block = []
            # An explicit iterator, so a wait inside the loop does not restart it.
            it = self.ctx.temp("_it")
            block.append(
                Assign(
                    self.line,
                    it,
                    cst.Call(name(self.ctx.builtin("iter")), args=[cst.Arg(iterable)]),
                )
            )
            target = rename(clause.target, renames, self.ctx)
            if self.has(target):  # stored first thing in the body, after next()
                temp = self.ctx.temp("_u")
                self.store(target, name(temp), body)
                target = name(temp)
            target = out_of_brackets(target)
            block.append(Loop(self.line, None, target, name(it), body, []))
            block = body
            for cond in clause.ifs:
                test = self.expr(rename(cond.test, renames, self.ctx), block)
                inner: Block = []
                block.append(If(self.line, test, inner, []))
                block = inner
        if kind == "dict":
            key = self.expr(rename(e.key, renames, self.ctx), block)
            # Python evaluates the key first; `d[k] = v` evaluates v first: keep the key.
            key = self.freeze(key, block)
            value = self.expr(rename(e.value, renames, self.ctx), block)
            stmt = cst.Assign(
                targets=[
                    cst.AssignTarget(
                        cst.Subscript(
                            value=name(result), slice=[cst.SubscriptElement(cst.Index(key))]
                        )
                    )
                ],
                value=out_of_brackets(value),
            )
        else:
            element = self.expr(rename(e.elt, renames, self.ctx), block)
            method = "append" if kind == "list" else "add"
            stmt = cst.Expr(
                cst.Call(func=cst.Attribute(name(result), name(method)), args=[cst.Arg(element)])
            )
        block.append(Raw(self.line, stmt))
        return name(result)

    def _ListComp(self, e, out):
        return self._comprehension(e, out, "list")

    def _SetComp(self, e, out):
        return self._comprehension(e, out, "set")

    def _DictComp(self, e, out):
        return self._comprehension(e, out, "dict")


def _fields(parts, into: list) -> None:
    for p in parts:
        if isinstance(p, cst.FormattedStringExpression):
            into.append(p.expression)
            if p.format_spec:
                _fields(p.format_spec, into)


def _refill(parts, values) -> list:
    done = []
    for p in parts:
        if isinstance(p, cst.FormattedStringExpression):
            p = p.with_changes(expression=next(values))
            if p.format_spec:
                p = p.with_changes(format_spec=_refill(p.format_spec, values))
        done.append(p)
    return done


def _flatten(e: cst.BaseExpression, into: list) -> None:
    if isinstance(e, cst.ConcatenatedString):
        _flatten(e.left, into)
        _flatten(e.right, into)
    else:
        into.append(e)


def _rebuild(e: cst.BaseExpression, strings):
    if isinstance(e, cst.ConcatenatedString):
        left = _rebuild(e.left, strings)
        return e.with_changes(left=left, right=_rebuild(e.right, strings))
    return next(strings)
