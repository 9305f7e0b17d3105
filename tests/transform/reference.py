"""The reference semantics of SPEC §2.1, and the leaf futures both sides are driven with.

A corofy program runs twice: once as the state machines ``transform_source`` generates, once
as the *reference* — the same source with every ``wait(e)`` replaced by ``(yield e)`` and
each ``@coroutine`` replaced by a decorator that wraps the generator in ``Reference``, a
``runtime.Future`` implementing the reference driver. Both runs get fresh leaf futures from
the same program text, and everything observable goes into one event log per run:

- ``("print", poll_no, args)`` and ``("note", poll_no, args)`` for user output;
- ``("new", leaf_id, poll_no)`` when a leaf future is created (short-circuit checks),
  ``("poll", leaf_id, poll_no, answer)`` for every leaf poll, ``("close", leaf_id, poll_no)``;
- ``("pending", poll_no)`` when the top-level future answers PENDING, then
  ``("return", value)`` or ``("raise", description)`` — type, args and the chain of
  ``__context__``/``__cause__`` — and ``("repoll", outcome)`` for polling it once more.

Facts the driver depends on:

- ``gen.throw(e)`` raises ``e`` *at the suspended yield*, so an enclosing ``try`` sees it and,
  inside an ``except`` block, Python sets ``e.__context__`` to the exception being handled —
  exactly what a state machine must reproduce.
- ``gen.close()`` raises ``GeneratorExit`` at the yield; a generator that yields again while
  closing makes ``close()`` raise ``RuntimeError`` (and stays suspended: its finalizer closes
  it again when it is dropped). Closing an unstarted or finished generator does nothing.
- ``Reference.close()`` closes the future waited on first, and what that raises is thrown at
  the yield instead of GeneratorExit: CPython's ``coroutine.close()`` does so with the
  coroutine it awaits (``gen_close`` throws what closing its delegate raised).
- ``yield from helper()`` forwards ``send``, ``throw`` and ``close`` to ``helper``, so a
  comprehension with waits can be lowered to a nested generator function (its own scope, as
  SPEC §2.1 asks) without changing what the driver sees.
"""

from __future__ import annotations

import ast
import functools
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from runtime import PENDING, Future, Ready

MARKER_MODULE = "corofy"
REFERENCE_DECORATOR = "__corofy_reference__"
# The builtin iter, for the helpers that lower a waiting comprehension: the program may
# bind the name iter (as it may bind list, set or dict: the helpers make displays).
REFERENCE_ITER = "__corofy_iter__"


# ---------------------------------------------------------------------------------------
# The reference driver
# ---------------------------------------------------------------------------------------


class Reference(Future):
    """A generator driven as SPEC §2.1 says: the definition of a correct state machine."""

    __slots__ = ("_awaiting", "_finished", "_gen", "_started")

    def __init__(self, gen: Any) -> None:
        self._gen = gen
        self._awaiting: Any = None
        self._started = False
        self._finished = False

    def poll(self, waker: Any) -> Any:
        if self._finished:
            raise RuntimeError("reference coroutine polled after it finished")
        to_send: Any = None
        to_throw: BaseException | None = None
        while True:
            if self._started:
                try:
                    answer = self._awaiting.poll(waker)
                except BaseException as exc:
                    to_throw = exc
                else:
                    if answer is PENDING:
                        return PENDING
                    to_send = answer.value
            self._started = True
            try:
                if to_throw is not None:
                    thrown, to_throw = to_throw, None
                    self._awaiting = self._gen.throw(thrown)
                else:
                    self._awaiting = self._gen.send(to_send)
            except StopIteration as stop:
                self._finish()
                return Ready(stop.value)
            except BaseException:
                self._finish()
                raise

    def close(self) -> None:
        # Closing the future waited on comes first; if that raises, its exception is raised
        # at the yield instead of GeneratorExit, as coroutine.close() does with the coroutine
        # it awaits (CPython's gen_close). The yield drops that future first: no local here
        # keeps it, so a nested one that ignored GeneratorExit is finalized at once (its
        # generator's finalizer closes it again), as CPython pops the awaited coroutine.
        thrown: BaseException | None = None
        if not self._finished:
            awaiting, self._awaiting = self._awaiting, None
            close = getattr(awaiting, "close", None)
            del awaiting
            if close is not None:
                try:
                    close()
                except BaseException as error:
                    thrown = error
                del close
        self._finished = True
        gen = self._gen
        if thrown is None:
            try:
                gen.close()
            except RuntimeError:
                if gen.gi_frame is not None:
                    # It yielded while closing: it stays suspended, and its finalizer
                    # closes it again when it is dropped. This frame, kept by the error's
                    # traceback, must not keep it alive (C's gen_close keeps nothing).
                    del self, gen
                raise
            return
        try:
            gen.throw(thrown)
        except (GeneratorExit, StopIteration):
            return
        finally:
            del thrown
        del self, gen  # suspended again: as above
        raise RuntimeError("generator ignored GeneratorExit")

    def _finish(self) -> None:
        self._finished = True
        self._awaiting = None


def reference_coroutine(genfn: Callable[..., Any]) -> Callable[..., Reference]:
    """Stand-in for ``@coroutine`` in the reference: calling returns a lazy ``Reference``."""

    @functools.wraps(genfn)
    def start(*args: Any, **kwargs: Any) -> Reference:
        return Reference(genfn(*args, **kwargs))

    return start


# ---------------------------------------------------------------------------------------
# From corofy source to the reference source
# ---------------------------------------------------------------------------------------


@dataclass
class _Markers:
    coroutine: set[str] = field(default_factory=set)
    wait: set[str] = field(default_factory=set)
    modules: set[str] = field(default_factory=set)
    lazy_annotations: bool = False  # from __future__ import annotations: never evaluated

    def is_marker(self, node: ast.expr, which: str) -> bool:
        if isinstance(node, ast.Name):
            return node.id in getattr(self, which)
        return (
            isinstance(node, ast.Attribute)
            and node.attr == which
            and isinstance(node.value, ast.Name)
            and node.value.id in self.modules
        )


def _collect_markers(tree: ast.Module) -> _Markers:
    """Module-level bindings of the markers; the generated programs never shadow them."""
    markers = _Markers()
    markers.lazy_annotations = any(
        isinstance(node, ast.ImportFrom)
        and node.module == "__future__"
        and any(a.name == "annotations" for a in node.names)
        for node in tree.body
    )
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == MARKER_MODULE and not node.level:
            for alias in node.names:
                if alias.name in ("coroutine", "wait"):
                    getattr(markers, alias.name).add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == MARKER_MODULE:
                    markers.modules.add(alias.asname or alias.name)
    return markers


def _contains_wait(node: ast.AST, markers: _Markers) -> bool:
    return any(
        isinstance(sub, ast.Call) and markers.is_marker(sub.func, "wait") for sub in ast.walk(node)
    )


def _walrus_targets(node: ast.AST) -> set[str]:
    """Names a walrus binds in comprehension ``node`` (not in a lambda inside it)."""
    found: set[str] = set()
    todo = [node]
    while todo:
        sub = todo.pop()
        if isinstance(sub, ast.NamedExpr) and isinstance(sub.target, ast.Name):
            found.add(sub.target.id)
        if not isinstance(sub, ast.Lambda):
            todo.extend(ast.iter_child_nodes(sub))
    return found


class _WaitToYield(ast.NodeTransformer):
    """Rewrites one coroutine body: ``wait(e)`` -> ``(yield e)``; comprehensions with waits
    -> ``(yield from helper(iter(first_iterable)))`` with the helper defined in this body."""

    def __init__(self, markers: _Markers, counter: itertools.count) -> None:
        self.markers = markers
        self.counter = counter
        self.helpers: list[ast.stmt] = []
        self.walrus: set[str] = set()  # bound by a walrus in a comprehension made a helper
        self.globals: set[str] = set()  # declared global by the function lowered

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        if self.markers.is_marker(node.func, "wait") and len(node.args) == 1:
            return ast.Yield(value=node.args[0])
        return node

    # Nested scopes: a wait in their own code is a refusal, never part of the reference;
    # what they evaluate where they stand (a def's decorators, defaults and annotations, a
    # lambda's defaults, a class's decorators, bases and keywords, a generator expression's
    # first iterable) is code of this body.
    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        node.decorator_list = [self.visit(d) for d in node.decorator_list]
        self._arguments(node.args, annotations=not self.markers.lazy_annotations)
        if node.returns is not None and not self.markers.lazy_annotations:
            node.returns = self.visit(node.returns)
        return node

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_Lambda(self, node: ast.Lambda) -> ast.AST:
        self._arguments(node.args, annotations=False)
        return node

    def _arguments(self, args: ast.arguments, annotations: bool) -> None:
        args.defaults = [self.visit(d) for d in args.defaults]
        args.kw_defaults = [d if d is None else self.visit(d) for d in args.kw_defaults]
        if annotations:
            every = [*args.posonlyargs, *args.args, args.vararg, *args.kwonlyargs, args.kwarg]
            for arg in every:
                if arg is not None and arg.annotation is not None:
                    arg.annotation = self.visit(arg.annotation)

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        node.decorator_list = [self.visit(d) for d in node.decorator_list]
        node.bases = [self.visit(b) for b in node.bases]
        node.keywords = [self.visit(k) for k in node.keywords]
        return node

    def visit_GeneratorExp(self, node: ast.GeneratorExp) -> ast.AST:
        node.generators[0].iter = self.visit(node.generators[0].iter)
        return node

    def visit_ListComp(self, node: ast.ListComp) -> ast.AST:
        return self._comprehension(node, "list", [node.elt])

    def visit_SetComp(self, node: ast.SetComp) -> ast.AST:
        return self._comprehension(node, "set", [node.elt])

    def visit_DictComp(self, node: ast.DictComp) -> ast.AST:
        return self._comprehension(node, "dict", [node.key, node.value])

    def _comprehension(self, node: Any, kind: str, results: list[ast.expr]) -> ast.AST:
        if not _contains_wait(node, self.markers):
            return node
        first_iter = self.visit(node.generators[0].iter)  # evaluated in the enclosing scope
        name = f"__corofy_comp_{next(self.counter)}"
        acc = ast.Name("__acc", ast.Load())
        if kind == "dict":
            # Python evaluates a dict comprehension's key before its value.
            innermost: list[ast.stmt] = [
                ast.Assign([ast.Name("__key", ast.Store())], results[0]),
                ast.Assign(
                    [ast.Subscript(acc, ast.Name("__key", ast.Load()), ast.Store())],
                    results[1],
                ),
            ]
        else:
            method = "append" if kind == "list" else "add"
            innermost = [
                ast.Expr(ast.Call(ast.Attribute(acc, method, ast.Load()), [results[0]], []))
            ]
        body = innermost
        for index, gen in reversed(list(enumerate(node.generators))):
            for cond in reversed(gen.ifs):
                body = [ast.If(cond, body, [])]
            iterable = ast.Name("__iterator", ast.Load()) if index == 0 else gen.iter
            body = [ast.For(gen.target, iterable, body, [])]
        # Displays, as the comprehension makes, whatever the program binds list or set to.
        empty = {
            "list": ast.List([], ast.Load()),
            "set": ast.Set([ast.Starred(ast.Tuple([], ast.Load()), ast.Load())]),
            "dict": ast.Dict([], []),
        }[kind]
        # A walrus in a comprehension binds in the function around it (PEP 572): so in the
        # coroutine, not in the helper.
        bound = sorted(_walrus_targets(node))
        self.walrus.update(bound)
        outer = [n for n in bound if n not in self.globals]
        declared: list[ast.stmt] = [ast.Nonlocal(outer)] if outer else []
        if len(outer) < len(bound):
            declared.append(ast.Global([n for n in bound if n in self.globals]))
        helper_body: list[ast.stmt] = [
            *declared,
            ast.Assign([ast.Name("__acc", ast.Store())], empty),
            *body,
            ast.Return(ast.Name("__acc", ast.Load())),
        ]
        helper = ast.FunctionDef(
            name=name,
            args=ast.arguments([], [ast.arg("__iterator")], None, [], [], None, []),
            body=helper_body,
            decorator_list=[],
            returns=None,
            type_comment=None,
        )
        _lower_body(helper, self.markers, self.counter)
        self.helpers.append(helper)
        call = ast.Call(
            ast.Name(name, ast.Load()),
            [ast.Call(ast.Name(REFERENCE_ITER, ast.Load()), [first_iter], [])],
            [],
        )
        return ast.YieldFrom(call)


def _lower_body(func: ast.FunctionDef, markers: _Markers, counter: itertools.count) -> None:
    lowering = _WaitToYield(markers, counter)
    declared_global = {n for s in ast.walk(func) if isinstance(s, ast.Global) for n in s.names}
    lowering.globals = declared_global
    body = [lowering.visit(stmt) for stmt in func.body]
    docstring: list[ast.stmt] = []
    first = body[0] if body else None
    if isinstance(first, ast.Expr) and isinstance(getattr(first.value, "value", None), str):
        docstring = [body.pop(0)]
    # A coroutine without waits is still lazy: the dead yield makes G a generator function.
    # Its dead assignments make the walrus targets of its comprehension helpers its locals
    # (the helpers declare them nonlocal), unless it declares them global.
    dead: list[ast.stmt] = [
        ast.Assign([ast.Name(n, ast.Store())], ast.Constant(None))
        for n in sorted(lowering.walrus - declared_global)
    ]
    never = ast.If(ast.Constant(False), [*dead, ast.Expr(ast.Yield(None))], [])
    func.body = docstring + lowering.helpers + body + [never]


class _ToReference(ast.NodeTransformer):
    def __init__(self, markers: _Markers) -> None:
        self.markers = markers
        self.counter = itertools.count()

    def visit_ImportFrom(self, node: ast.ImportFrom) -> ast.AST:
        if node.module != MARKER_MODULE or node.level:
            return node
        kept = [a for a in node.names if a.name not in ("coroutine", "wait")]
        if not kept:
            return ast.Pass()
        node.names = kept
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        self.generic_visit(node)
        decorators = node.decorator_list
        if not any(self.markers.is_marker(d, "coroutine") for d in decorators):
            return node
        node.decorator_list = [
            (
                ast.Name(REFERENCE_DECORATOR, ast.Load())
                if self.markers.is_marker(d, "coroutine")
                else d
            )
            for d in decorators
        ]
        _lower_body(node, self.markers, self.counter)
        return node


def reference_source(source: str) -> str:
    """The reference program of SPEC §2.1 for corofy ``source``, as Python source."""
    tree = ast.parse(source)
    tree = _ToReference(_collect_markers(tree)).visit(tree)
    return ast.unparse(ast.fix_missing_locations(tree))


# ---------------------------------------------------------------------------------------
# Leaf futures and the event log
# ---------------------------------------------------------------------------------------


class RecordingWaker:
    """The outer loop re-polls anyway; wakes are only counted.

    Each top-level poll gets a new waker numbered after it: a future must be polled with
    the waker of the current poll (SPEC §3: it keeps the most recent one), so a leaf
    polled with an older one logs ``("stale-waker", ...)`` — the reference never does.
    """

    def __init__(self, number: Any = 0) -> None:
        self.number = number
        self.wakes = 0

    def wake(self) -> None:
        self.wakes += 1


class Leaf(Future):
    """A future answering PENDING ``pending`` times, then ``Ready(value)`` or raising.

    Every poll and close goes to the run's event log; ``effect`` runs when it turns ready
    (how a future changes a variable the coroutine already read).
    """

    def __init__(
        self,
        run: Run,
        value: Any = None,
        pending: int = 0,
        error: Callable[[], BaseException] | None = None,
        effect: Callable[[], None] | None = None,
    ) -> None:
        self.run = run
        self.id = run.new_leaf_id()
        self.value = value
        self.pending = pending
        self.error = error
        self.effect = effect
        self.polls = 0
        run.log("new", self.id, run.poll_no)

    def poll(self, waker: Any) -> Any:
        self.polls += 1
        if getattr(waker, "number", self.run.poll_no) != self.run.poll_no:
            self.run.log("stale-waker", self.id, self.run.poll_no, waker.number)
        if self.polls <= self.pending:
            self.run.log("poll", self.id, self.run.poll_no, "pending")
            waker.wake()
            return PENDING
        if self.error is not None:
            self.run.log("poll", self.id, self.run.poll_no, "raise")
            raise self.error()
        self.run.log("poll", self.id, self.run.poll_no, "ready")
        if self.effect is not None:
            self.effect()
        return Ready(self.value)

    def close(self) -> None:
        self.run.log("close", self.id, self.run.poll_no)


class LoggingContext:
    """A context manager logging enter/exit (with the exception it saw); may suppress."""

    def __init__(self, run: Run, tag: Any, suppress: bool = False) -> None:
        self.run, self.tag, self.suppress = run, tag, suppress

    def __enter__(self) -> Any:
        self.run.log("enter", self.tag, self.run.poll_no)
        return self.tag

    def __exit__(self, typ: object, exc: BaseException | None, tb: object) -> bool:
        self.run.log("exit", self.tag, self.run.poll_no, describe(exc) if exc else None)
        return self.suppress


class LoggingIterator:
    """An iterator logging each ``next`` and whether anyone closes it."""

    def __init__(self, run: Run, items: Any) -> None:
        self.run = run
        self.items = list(items)
        self.index = 0

    def __iter__(self) -> LoggingIterator:
        return self

    def __next__(self) -> Any:
        self.run.log("next", self.index, self.run.poll_no)
        if self.index >= len(self.items):
            raise StopIteration
        self.index += 1
        return self.items[self.index - 1]

    def close(self) -> None:
        self.run.log("iterator-closed", self.run.poll_no)


def describe(exc: BaseException | None, depth: int = 0) -> Any:
    """An exception as comparable data: type, args and its ``__cause__``/``__context__``."""
    if exc is None:
        return None
    if depth > 6:
        return (type(exc).__name__, "...")
    args = tuple(
        a if isinstance(a, (int, str, float, bool, type(None))) else repr(a) for a in exc.args
    )
    described = (
        type(exc).__name__,
        args,
        describe(exc.__cause__, depth + 1),
        describe(exc.__context__, depth + 1),
        exc.__suppress_context__,
    )
    if isinstance(exc, BaseExceptionGroup):  # each part's own chain too (except*)
        return (*described, tuple(describe(e, depth + 1) for e in exc.exceptions))
    return described


class Run:
    """One execution of a program: its event log and the helpers its source can call."""

    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []
        self.poll_no: Any = 0
        self._ids = itertools.count(1)

    def log(self, *event: Any) -> None:
        self.events.append(event)

    def new_leaf_id(self) -> int:
        return next(self._ids)

    def namespace(self, name: str = "prog") -> dict[str, Any]:
        """The module globals a program runs in; its source calls these helpers."""
        ns: dict[str, Any] = {"__name__": name}

        def _print(*args: Any, **kwargs: Any) -> None:
            self.log("print", self.poll_no, args)

        def note(*args: Any) -> Any:
            self.log("note", self.poll_no, args)
            return args[-1] if args else None

        def ready(value: Any = None) -> Leaf:
            return Leaf(self, value)

        def pending(k: int, value: Any = None) -> Leaf:
            return Leaf(self, value, pending=k)

        def raising(exc_type: type[BaseException], *args: Any, k: int = 0) -> Leaf:
            return Leaf(self, pending=k, error=lambda: exc_type(*args))

        def setg(new: Any, value: Any = None, k: int = 0, name: str = "G") -> Leaf:
            """Ready with ``value`` after ``k`` pendings; sets global ``name`` first."""
            return Leaf(self, value, pending=k, effect=lambda: ns.__setitem__(name, new))

        def cm(tag: Any, suppress: bool = False) -> LoggingContext:
            return LoggingContext(self, tag, suppress)

        def logiter(items: Any) -> LoggingIterator:
            return LoggingIterator(self, items)

        ns.update(
            print=_print,
            note=note,
            ready=ready,
            pending=pending,
            raising=raising,
            setg=setg,
            cm=cm,
            logiter=logiter,
            Leaf=Leaf,
            run=self,
        )
        return ns


# ---------------------------------------------------------------------------------------
# Driving a program and comparing both sides
# ---------------------------------------------------------------------------------------

MAX_POLLS = 2000


def drive(run: Run, fut: Any, close_after: int | None = None) -> None:
    """Poll ``fut`` until done, logging every answer, then poll it once more.

    With ``close_after``, ``close()`` it after that many polls instead — or, when it finished
    sooner, after the extra poll (closing a finished coroutine must do nothing).
    """
    for number in itertools.count(1):
        if close_after is not None and number > close_after:
            _close(run, fut)
            return
        if number > MAX_POLLS:
            raise AssertionError(f"future still pending after {MAX_POLLS} polls")
        run.poll_no = number
        waker = RecordingWaker(number)
        try:
            answer = fut.poll(waker)
        except BaseException as exc:
            run.log("raise", describe(exc))
            break
        if answer is PENDING:
            run.log("pending", number)
            continue
        if isinstance(answer, Ready):
            run.log("return", answer.value)
            break
        raise AssertionError(f"poll answered {answer!r}, neither Ready nor PENDING")
    run.poll_no = "after"
    try:
        fut.poll(RecordingWaker("after"))
    except BaseException as exc:
        run.log("repoll", type(exc).__name__)
    else:
        run.log("repoll", "no error")
    if close_after is not None:
        _close(run, fut)


def _close(run: Run, fut: Any) -> None:
    run.poll_no = "close"
    try:
        fut.close()
    except BaseException as exc:
        run.log("close-raised", describe(exc))
    else:
        run.log("closed")


def machine_code(source: str, filename: str = "prog.py") -> str:
    from corofy.transform import transform_source

    return transform_source(source, filename)


def load(
    source: str, side: str, run: Run | None = None, filename: str = "prog.py"
) -> dict[str, Any]:
    """Execute ``source`` as ``side`` ("machine" or "reference"); return its module globals."""
    run = run or Run()
    ns = run.namespace()
    if side == "machine":
        code = machine_code(source, filename)
    elif side == "reference":
        code = reference_source(source)
        ns[REFERENCE_DECORATOR] = reference_coroutine
        ns[REFERENCE_ITER] = iter
    else:
        raise ValueError(side)
    # dont_inherit: this module's `from __future__ import annotations` must not leak in.
    exec(compile(code, filename, "exec", dont_inherit=True), ns)
    return ns


def execute(
    source: str,
    side: str,
    entry: str = "main",
    args: tuple[Any, ...] = (),
    close_after: int | None = None,
) -> list[tuple[Any, ...]]:
    """Run ``entry(*args)`` of ``source`` on one side; return the event log."""
    run = Run()
    ns = load(source, side, run)
    target: Any = ns
    for part in entry.split("."):
        target = target[part] if isinstance(target, dict) else getattr(target, part)
    fut = target(*args)
    run.log("called")
    drive(run, fut, close_after)
    # Only events up to here are compared: anything a finalizer logs later is at a time
    # the garbage collector picks.
    return list(run.events)


def assert_same(
    source: str,
    entry: str = "main",
    args: tuple[Any, ...] = (),
    close_after: int | None = None,
) -> list[tuple[Any, ...]]:
    """Run both sides; fail showing the program and both logs when they differ."""
    expected = execute(source, "reference", entry, args, close_after)
    actual = execute(source, "machine", entry, args, close_after)
    if actual != expected:
        lines = ["machine and reference differ", "--- program ---", source, "--- events ---"]
        for i in range(max(len(actual), len(expected))):
            a = actual[i] if i < len(actual) else "<none>"
            e = expected[i] if i < len(expected) else "<none>"
            mark = "  " if a == e else "!!"
            lines.append(f"{mark} machine={a!r}\n   reference={e!r}")
        raise AssertionError("\n".join(lines))
    return expected


def outcome(events: list[tuple[Any, ...]]) -> tuple[Any, ...]:
    """The final ``return``/``raise``/``closed`` event of a log."""
    for event in reversed(events):
        if event[0] in ("return", "raise", "closed", "close-raised"):
            return event
    raise AssertionError(f"no outcome in {events!r}")


def printed(events: list[tuple[Any, ...]]) -> list[Any]:
    """What the program printed, each print's arguments as one tuple (or one value)."""
    out = []
    for event in events:
        if event[0] == "print":
            args = event[2]
            out.append(args[0] if len(args) == 1 else args)
    return out


def program(body: str) -> str:
    """``body`` (indented freely) as a module importing the markers the usual way."""
    import textwrap

    return "from corofy import coroutine, wait\n" + textwrap.dedent(body)


def result(source: str, entry: str = "main", args: tuple[Any, ...] = ()) -> Any:
    """Run both sides (they must agree); return the value, or the raised exception's description."""
    kind, *rest = outcome(assert_same(source, entry, args))
    return rest[0] if kind == "return" else ("raised", *rest)
