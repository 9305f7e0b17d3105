"""A hypothesis strategy generating small corofy programs for the differential tests.

Every program is a module with a ``main(n)`` coroutine and up to two sub-coroutines it may
wait on (``sub1`` may wait on ``sub2``, never the other way: the call depth is bounded).
Programs always terminate: ``while`` loops carry their own counter and upper bound, ``for``
loops run over short ranges and lists, and no recursion is generated. Values are ints (a
product is taken modulo 97 so loops cannot grow huge numbers). The leaf futures are the
helpers of ``reference.Run.namespace``: ``ready``, ``pending``, ``raising`` and ``setg``
(which sets the global ``G`` when it turns ready, so ``G * wait(setg(..))`` shows whether
the old ``G`` was kept).

Options are listed simplest first, so hypothesis shrinks a failure towards the smallest
program that still shows it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from typing import Any

from hypothesis import strategies as st

EXCEPTIONS = ("ValueError", "KeyError", "IndexError")
MAX_DEPTH = 3
MAX_BLOCK = 8
_BOOLEANS = st.booleans()


# The strategies a program draws from, each made once: a program takes hundreds of draws,
# and making a strategy anew each time cost about as much as drawing from it.
integers = functools.lru_cache(maxsize=None)(st.integers)
sampled_from = functools.lru_cache(maxsize=1024)(st.sampled_from)


@dataclass
class _Scope:
    """What a statement may refer to where it is generated."""

    names: list[str]
    subs: list[str]
    in_loop: bool = False
    handled: str | None = None  # the exception variable of the enclosing except, if any
    in_comprehension: bool = False  # a walrus there binds in the coroutine: not generated
    in_fstring: bool = False  # Python 3.11 f-string fields cannot hold quotes: no strings
    closures: bool = False  # peek() reads a, b, c late; poke(v) rebinds a with nonlocal
    in_star: bool = False  # inside an except* clause: no return, break or continue leaves it


@dataclass
class _Writer:
    draw: Any
    counter: int = 0
    budget: int = 30  # statements left in the whole program: keeps examples small

    def fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def choice(self, options: list[str]) -> str:
        return self.draw(sampled_from(tuple(options)))

    def flip(self) -> bool:
        return self.draw(_BOOLEANS)

    def small(self, low: int = 0, high: int = 3) -> int:
        return self.draw(integers(low, high))

    # ---- expressions ---------------------------------------------------------------

    def expr(self, scope: _Scope, depth: int) -> str:
        if depth <= 0:
            kind = self.choice(["literal", "name", "wait"])
        else:
            kind = self.choice(
                [
                    "literal",
                    "name",
                    "wait",
                    "binop",
                    "call",
                    "compare",
                    "chain",
                    "subscript",
                    "fstring",
                    "ifexp",
                    "boolop",
                    "unary",
                    "walrus",
                    "listcomp",
                    "closure",
                    "stands",
                ]
            )
        sub = depth - 1
        if kind == "stands":
            return self.evaluated_where_it_stands(scope, sub)
        if kind == "closure" and scope.closures:
            if self.flip():
                return "peek()"
            return f"poke({self.expr(scope, sub)})"
        if kind == "closure":
            kind = "name"
        if kind == "literal":
            return str(self.small(0, 5))
        if kind == "wait":
            return f"wait({self.future(scope, sub)})"
        if kind == "binop":
            op = self.choice(["+", "-", "*"])
            left, right = self.expr(scope, sub), self.expr(scope, sub)
            if op == "*":
                return f"({left} * {right} % 97)"
            return f"({left} {op} {right})"
        if kind == "call":
            args = [self.expr(scope, sub) for _ in range(self.small(1, 3))]
            return f"note({', '.join(args)})"
        if kind == "compare":
            op = self.choice(["<", "==", ">=", "!="])
            return f"({self.expr(scope, sub)} {op} {self.expr(scope, sub)})"
        if kind == "chain":
            a, b, c = (self.expr(scope, sub) for _ in range(3))
            return f"({a} <= {b} < {c})"
        if kind == "fstring" and scope.in_fstring:
            kind = "binop"
        if kind == "subscript":
            form = self.choice(["list", "tuple"] if scope.in_fstring else ["list", "tuple", "dict"])
            a, b = self.expr(scope, sub), self.expr(scope, sub)
            if form == "list":
                return f"[{a}, {b}, {self.expr(scope, sub)}][{self.expr(scope, sub)} % 3]"
            if form == "tuple":
                return f"({a}, {b})[{self.expr(scope, sub)} % 2]"
            return f"{{'k': {a}, 'j': {b}}}[{self.choice(['k', 'j'])!r}]"
        if kind == "fstring":
            inner = replace(scope, in_fstring=True)
            # a field may be self-documenting (f"{e=}"): its text is e as written
            fields = [self.expr(inner, sub) + self.choice(["", "="]) for _ in range(2)]
            return f"len(f'{{{fields[0]}}}:{{{fields[1]}}}')"
        if kind == "ifexp":
            a, b, c = (self.expr(scope, sub) for _ in range(3))
            return f"({a} if {b} else {c})"
        if kind == "boolop":
            op = self.choice(["and", "or"])
            return f"({self.expr(scope, sub)} {op} {self.expr(scope, sub)})"
        if kind == "unary":
            op = self.choice(["-", "not "])
            return f"({op}{self.expr(scope, sub)})"
        if kind == "walrus" and not scope.in_comprehension:
            target = self.choice([n for n in scope.names if n in ("a", "b", "c")])
            return f"({target} := {self.expr(scope, sub)})"
        if kind in ("name", "walrus"):  # a walrus in a comprehension: a name instead
            return self.choice(scope.names)
        # listcomp: its variable is its own; waits may sit in element, condition, iterable
        # (a set or dict comprehension's too, a dict's key before its value); lambdas made
        # in it read its variable late (each run of it has its own, across its waits)
        var = self.fresh("q")
        inner = replace(scope, names=[*scope.names, var], in_comprehension=True)
        elt, cond = self.expr(inner, sub), self.expr(inner, sub)
        source = self.expr(replace(scope, in_comprehension=True), sub)
        form = self.choice(["list", "set", "dict", "closures"])
        if form == "closures":  # lambdas made in it read its variable when called, after it
            made = f"[((lambda: {var}), {elt}) for {var} in range({source} % 3) if {cond}]"
            return f"sum(g() for g, _ in {made})"
        if form == "set":
            return f"sum({{{elt} for {var} in range({source} % 3) if {cond}}})"
        if form == "dict":
            key = self.expr(inner, sub)
            return f"sum({{{key}: {elt} for {var} in range({source} % 3) if {cond}}}.values())"
        return f"len([{elt} for {var} in range({source} % 3) if {cond}])"

    def evaluated_where_it_stands(self, scope: _Scope, depth: int) -> str:
        """What a lambda or generator expression evaluates where it stands (its defaults, its
        first iterable), or a call with a keyword before ``*args`` (the positional ones are
        evaluated first): waits may sit there."""
        no_walrus = replace(scope, in_comprehension=True)  # not in a comprehension iterable
        a, b = self.expr(no_walrus, depth), self.expr(no_walrus, depth)
        form = self.choice(["lambda", "genexp", "kwstar"])
        if form == "lambda":
            var = self.fresh("q")
            return f"(lambda {var}={a}, *, k={b}: note({var}, k))()"
        if form == "genexp":
            var = self.fresh("q")
            return f"sum({var} % 7 for {var} in [{a}, {b}])"
        return f"kwnote(k={a}, *[{b}])"

    def future(self, scope: _Scope, depth: int) -> str:
        # raising futures end most programs early: offer them less often
        kinds = ["ready", "pending", "setg", "ready", "pending", "raising"]
        if scope.subs:
            kinds.append("sub")
        kind = self.choice(kinds)
        if kind == "ready":
            return f"ready({self.expr(scope, depth)})"
        if kind == "pending":
            return f"pending({self.small(1, 2)}, {self.expr(scope, depth)})"
        if kind == "raising":
            # A StopIteration leaving the coroutine is a RuntimeError (PEP 479). Not in a
            # comprehension: the reference's helper generator converts it there, at its own
            # boundary, which an inline loop has not (a reading of SPEC 2.1 left open).
            raised = EXCEPTIONS if scope.in_comprehension else (*EXCEPTIONS, "StopIteration")
            exc = self.choice(list(raised))
            k = self.small(0, 1)
            return f"raising({exc}, {self.small(0, 9)}" + (f", k={k})" if k else ")")
        if kind == "setg":
            return (
                f"setg({self.expr(scope, depth)}, {self.expr(scope, depth)}, k={self.small(0, 1)})"
            )
        return f"{self.choice(scope.subs)}({self.expr(scope, depth)})"

    # ---- statements ----------------------------------------------------------------

    def block(self, scope: _Scope, depth: int, indent: int) -> list[str]:
        count = self.small(1, max(1, min(MAX_BLOCK, 4 - depth + 1)))
        out: list[str] = []
        for _ in range(count):
            if self.budget <= 0:
                break
            self.budget -= 1
            lines = self.statement(scope, depth, indent)
            out.extend(lines)
            if len(lines) == 1 and lines[0].split()[0] in ("return", "raise", "break", "continue"):
                break  # code after it would never run
        return out or [" " * indent + "pass"]

    def statement(self, scope: _Scope, depth: int, indent: int) -> list[str]:
        pad = " " * indent
        kinds = ["assign", "print", "wait", "augassign"]
        if not scope.in_star:
            kinds.append("return")
        if depth < MAX_DEPTH:
            kinds += ["if", "while", "for", "try", "with", "raise", "match", "assert"]
        if scope.in_loop:
            kinds += ["break", "continue"]
        if scope.handled:
            kinds.append("reraise")
        kinds.append("target")
        kinds.append("defclass")
        kind = self.choice(kinds)
        if kind == "target":
            return self.target_statement(scope, depth, indent)
        e = self.small(1, 2)  # expression depth
        if kind == "defclass":
            return self.def_or_class(scope, pad)
        if kind == "assign":
            return [f"{pad}{self.choice(['a', 'b', 'c', 'G'])} = {self.expr(scope, e)}"]
        if kind == "augassign":
            target = self.choice(["G", "a", "b", "c"])
            return [f"{pad}{target} {self.choice(['+=', '-='])} {self.expr(scope, e)}"]
        if kind == "print":
            args = [self.expr(scope, e) for _ in range(self.small(1, 2))]
            return [f"{pad}print({', '.join(args)})"]
        if kind == "wait":
            return [f"{pad}wait({self.future(scope, e - 1)})"]
        if kind == "return":
            return [f"{pad}return {self.expr(scope, e)}"]
        if kind == "break":
            return [f"{pad}break"]
        if kind == "continue":
            return [f"{pad}continue"]
        if kind == "reraise":
            return [f"{pad}raise"]
        if kind == "raise":
            exc = self.choice(list(EXCEPTIONS))
            cause = ""
            if self.flip():
                cause = f" from {scope.handled}" if scope.handled else " from None"
            return [f"{pad}raise {exc}({self.expr(scope, 1)}){cause}"]
        inner = indent + 4
        if kind == "assert":
            return [f"{pad}assert {self.expr(scope, 1)}, {self.expr(scope, 1)}"]
        if kind == "match":
            capture = self.fresh("m")
            capture_scope = replace(scope, names=[*scope.names, capture])
            lines = [
                f"{pad}match {self.expr(scope, e)}:",
                f"{pad}    case {self.small(0, 3)}:",
                *self.block(scope, depth + 1, inner + 4),
                f"{pad}    case int({capture}) if {self.expr(capture_scope, 1)}:",
                *self.block(capture_scope, depth + 1, inner + 4),
            ]
            if self.flip():
                lines += [f"{pad}    case _:", *self.block(scope, depth + 1, inner + 4)]
            return lines
        if kind == "if":
            lines = [f"{pad}if {self.expr(scope, e)}:", *self.block(scope, depth + 1, inner)]
            for _ in range(self.small(0, 1)):
                lines += [f"{pad}elif {self.expr(scope, e)}:", *self.block(scope, depth + 1, inner)]
            if self.flip():
                lines += [f"{pad}else:", *self.block(scope, depth + 1, inner)]
            return lines
        loop_scope = _Scope(scope.names, scope.subs, True, scope.handled, in_star=scope.in_star)
        if kind == "while":
            counter = self.fresh("w")
            lines = [
                f"{pad}{counter} = 0",
                f"{pad}while {counter} < {self.small(1, 3)} and {self.expr(scope, 1)}:",
                f"{pad}    {counter} += 1",
                *self.block(loop_scope, depth + 1, inner),
            ]
            if self.flip():
                lines += [f"{pad}else:", *self.block(scope, depth + 1, inner)]
            return lines
        if kind == "for":
            var = self.fresh("v")
            if self.flip():
                iterable = f"range({self.expr(scope, 1)} % 3)"
            else:
                iterable = f"[{self.expr(scope, 1)}, {self.expr(scope, 1)}]"
            body_scope = _Scope(
                [*scope.names, var], scope.subs, True, scope.handled, in_star=scope.in_star
            )
            lines = [f"{pad}for {var} in {iterable}:", *self.block(body_scope, depth + 1, inner)]
            if self.flip():
                lines += [f"{pad}else:", *self.block(scope, depth + 1, inner)]
            return lines
        if kind == "with":
            items = []
            for _ in range(self.small(1, 2)):
                tag = self.expr(scope, 1) if self.flip() else repr(self.fresh("cm"))
                items.append(f"cm({tag}, {self.flip()})")
            name = self.fresh("t")
            body_scope = _Scope(
                scope.names, scope.subs, scope.in_loop, scope.handled, in_star=scope.in_star
            )
            return [
                f"{pad}with {', '.join(items)} as {name}:",
                *self.block(body_scope, depth + 1, inner),
            ]
        # try
        lines = [f"{pad}try:", *self.block(scope, depth + 1, inner)]
        handlers = self.small(0, 2)
        # try/except*: its clauses see a group (printed by repr: its args hold exceptions)
        # and no return, break or continue may leave them (CPython's SyntaxError)
        star = handlers > 0 and self.small(0, 3) == 0
        for _ in range(handlers):
            caught = self.choice(["Exception", *EXCEPTIONS, "(ValueError, KeyError)"])
            if self.flip() and self.flip():  # a clause whose type is waited for
                polls = self.small(0, 2)
                caught = f"wait(pending({polls}, {caught}))" if polls else f"wait(ready({caught}))"
            var = self.fresh("e")
            if star:
                handler_scope = _Scope(scope.names, scope.subs, False, var, in_star=True)
                shown = f"repr({var})"
            else:
                handler_scope = _Scope(
                    scope.names, scope.subs, scope.in_loop, var, in_star=scope.in_star
                )
                shown = f"{var}.args"
            lines += [
                f"{pad}except{'*' if star else ''} {caught} as {var}:",
                f"{pad}    print('caught', type({var}).__name__, {shown})",
                *self.block(handler_scope, depth + 1, inner),
            ]
        if handlers and self.flip():
            lines += [f"{pad}else:", *self.block(scope, depth + 1, inner)]
        if not handlers or self.flip():
            lines += [f"{pad}finally:", *self.block(scope, depth + 1, inner)]
        if handlers and self.flip():
            # An except clause unbinds its name when it ends: reading it after raises.
            lines += [
                f"{pad}try:",
                f"{pad}    print('after', {var})",
                f"{pad}except NameError as {var}u:",
                f"{pad}    print(type({var}u).__name__)",
            ]
        return lines

    def def_or_class(self, scope: _Scope, pad: str) -> list[str]:
        """A def or class statement whose decorators, defaults or bases and keywords wait
        (they run where it stands), then a use of it."""
        one, two, three = (self.expr(scope, 1) for _ in range(3))
        name = self.fresh("K" if self.flip() else "h")
        if name.startswith("h"):
            return [
                f"{pad}@tag({one})",
                f"{pad}def {name}(p={two}, *, k={three}):",
                f"{pad}    return note(p, k)",
                f"{pad}print({name}())",
            ]
        return [
            f"{pad}@tag({one})",
            f"{pad}class {name}(Kw, k={two}, j={three}):",
            f"{pad}    pass",
        ]

    def coroutine(self, name: str, subs: list[str]) -> list[str]:
        closures = self.flip()
        scope = _Scope(["a", "b", "c", "G", "n"], subs, closures=closures)
        helpers = [
            "    def peek():",
            "        return a + b + c",
            "    def poke(v):",
            "        nonlocal a",
            "        a = v",
            "        return v",
        ]
        nested = self.nested_coroutine(scope) if self.flip() else []
        body = self.block(scope, 0, 4)
        return [
            "@coroutine",
            f"def {name}(n):",
            "    global G",
            "    a = n",
            "    b = 1",
            "    c = 2",
            *TARGETS_PREAMBLE,
            *(helpers if closures else []),
            *nested,
            *body,
            "    print('targets', d, s, o.__dict__)",
            f"    return ({name!r}, a, b, c)",
        ]


@st.composite
def programs(draw: Any) -> str:
    """Source of a module whose ``main(n)`` coroutine exercises SPEC §2.2's constructs."""
    writer = _Writer(draw)
    subs = ["sub1", "sub2"][: draw(integers(0, 2))]
    lines = ["from corofy import coroutine, wait", "", "G = 0", "", *NESTED_HEADER, ""]
    for index, name in enumerate(subs):
        lines += writer.coroutine(name, subs[index + 1 :]) + [""]
    lines += writer.coroutine("main", subs)
    if draw(_BOOLEANS):
        # Builtins the generated code calls, bound by the module (the program calls none).
        lines += ["", "iter = set = isinstance = issubclass = tuple = all = None"]
    return "\n".join(lines) + "\n"


# ---- wait() in assignment targets, and coroutines nested in coroutines -------------------
# (SPEC §2.2's last constructs: kept apart from the layouts so the two merge easily.)

# Each coroutine has containers to store into: d holds ints (read back by augmented
# assignments), s anything (starred and with targets), o attributes.
TARGETS_PREAMBLE = ["    d = [0, 0, 0]", "    s = {}", "    o = Obj()"]

NESTED_HEADER = [
    "class Obj:",
    "    pass",
    "",
    "class Kw:",
    "    def __init_subclass__(cls, **kw):",
    "        note('subclass', *kw.values())",
    "",
    "def tag(v):",
    "    note('tag', v)",
    "    return lambda f: f",
    "",
    "def kwnote(*args, **kw):",
    "    return note(*args, *kw.values())",
    "",
    "def traced(f):",
    "    def call(*args):",
    "        print('call', f.__qualname__)",
    "        return f(*args)",
    "    return call",
]


def _target_statement(self: _Writer, scope: _Scope, depth: int, indent: int) -> list[str]:
    """A store whose target waits: subscript, attribute chain, unpacking (starred too),
    augmented, chained, annotated, for and with targets, del."""
    pad = " " * indent
    e = self.small(1, 2)

    def index() -> str:
        key = f"wait({self.future(scope, e - 1)})" if self.flip() else self.expr(scope, e)
        return f"{key} % 3"

    kind = self.choice(
        [
            "subscript",
            "attribute",
            "unpack",
            "augmented",
            "chained",
            "annotated",
            "starred",
            "for",
            "with",
            "comprehension",
            "del",
        ]
    )
    if kind == "comprehension":  # no walrus in its target or iterable (a SyntaxError)
        inner = replace(scope, in_comprehension=True)
        key = f"wait({self.future(inner, e - 1)})" if self.flip() else self.expr(inner, e)
        items = f"[{self.expr(inner, e)}, {self.expr(inner, 1)}]"
        return [f"{pad}print([d[:] for d[{key} % 3] in {items}])"]
    value = self.expr(scope, e)
    if kind == "subscript":
        return [f"{pad}d[{index()}] = {value}"]
    if kind == "attribute":
        if self.flip():
            return [f"{pad}wait(ready(o)).x = {value}"]
        return [f"{pad}o.p = s", f"{pad}o.p[{index()}] = {value}"]
    if kind == "unpack":
        first = self.choice(["a", "b", "c"])
        return [f"{pad}{first}, d[{index()}] = {value}, {self.expr(scope, e)}"]
    if kind == "augmented":
        return [f"{pad}d[{index()}] {self.choice(['+=', '-='])} {value}"]
    if kind == "chained":
        first = self.choice(["a", "b", "c"])
        return [f"{pad}{first} = d[{index()}] = d[{index()}] = {value}"]
    if kind == "annotated":
        if self.flip():  # no value: the target's parts are evaluated, nothing is stored
            return [f"{pad}d[{index()}]: int"]
        return [f"{pad}d[{index()}]: int = {value}"]
    if kind == "starred":
        items = f"[{value}, {self.expr(scope, e)}, {self.expr(scope, 1)}]"
        return [f"{pad}{self.choice(['a', 'b', 'c'])}, *s[{index()}] = {items}"]
    if kind == "for":
        loop_scope = _Scope(scope.names, scope.subs, True, scope.handled, in_star=scope.in_star)
        return [
            f"{pad}for d[{index()}] in [{value}, {self.expr(scope, 1)}]:",
            *self.block(loop_scope, depth + 1, indent + 4),
        ]
    if kind == "with":
        body_scope = _Scope(
            scope.names, scope.subs, scope.in_loop, scope.handled, in_star=scope.in_star
        )
        return [
            f"{pad}with cm({value}, {self.flip()}) as s[{index()}]:",
            *self.block(body_scope, depth + 1, indent + 4),
        ]
    return [
        f"{pad}try:",
        f"{pad}    del s[{index()}]",
        f"{pad}except KeyError:",
        f"{pad}    print('no key')",
    ]


def _nested_coroutine(self: _Writer, scope: _Scope) -> list[str]:
    """A @coroutine ``inner(v)`` defined in the coroutine (directly, in a class, or made by
    a plain def), reading and rebinding its a, b, c through nonlocal; the statements after
    it may wait on it. It waits on the subs the coroutine may wait on, never on itself."""
    body_scope = _Scope([*scope.names, "v"], list(scope.subs))
    budget, self.budget = self.budget, min(self.budget, 8)  # leave statements for the rest
    body = self.block(body_scope, 1, 4)
    self.budget = budget - (min(budget, 8) - self.budget)
    traced = ["@traced"] if self.flip() else []
    inner = [
        *traced,
        "@coroutine",
        "def inner(v):",
        "    global G",
        "    nonlocal a, b, c",
        *body,
        "    return (v, a, b, c)",
    ]
    form = self.choice(["direct", "class", "factory"])
    if form == "direct":
        lines = inner
    elif form == "class":
        lines = [
            "class K:",
            *("    " + line for line in ["@staticmethod", *inner]),
            "inner = K.inner",
        ]
    else:
        lines = [
            "def make():",
            *("    " + line for line in inner),
            "    return inner",
            "inner = make()",
        ]
    scope.subs = [*scope.subs, "inner"]
    return ["    " + line for line in lines]


_Writer.target_statement = _target_statement  # type: ignore[attr-defined]
_Writer.nested_coroutine = _nested_coroutine  # type: ignore[attr-defined]
