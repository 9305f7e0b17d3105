"""Unit tests of the transform's parts: marker resolution, lowering, storage analysis, emit."""

from __future__ import annotations

import textwrap

import libcst as cst
import pytest

from corofy.transform import CorofyError, find, liveness, lower, transform_source
from corofy.transform.context import Context
from corofy.transform.ir import Assign, If, Loop, Raw, Wait, With
from corofy.transform.reenter import resume_blocks
from corofy.transform.uses import UseTable
from runtime import PENDING, Ready


def scan(source: str) -> find.Scan:
    return find.scan(cst.parse_module(textwrap.dedent(source)), "t.py")


def lowered(source: str):
    s = scan(source)
    ctx = Context(s, s.coroutines[0])
    unit, _decls, _doc = lower.lower(ctx)
    return s, ctx, unit


def storage(source: str) -> liveness.Storage:
    s, _ctx, unit = lowered(source)
    co = s.coroutines[0]
    captured, refs = co.scope.captured, co.scope.nested_refs
    params = [p.name.value for p in co.node.params.params]
    names = co.scope.locals | unit.bound
    return liveness.place_locals(
        unit, resume_blocks(unit), params, names, captured, refs, UseTable()
    )


def code(module: cst.Module, node: cst.CSTNode) -> str:
    return module.code_for_node(node)


# -- markers ------------------------------------------------------------------------------


def test_markers_are_found_by_binding_whatever_the_import_spelling() -> None:
    s = scan("""
        import corofy as c
        from corofy import wait as w

        @c.coroutine
        def f(x):
            return w(x) + c.wait(x)
        """)
    assert [co.node.name.value for co in s.coroutines] == ["f"]
    assert len(s.coroutines[0].waits) == 2


def test_a_wait_bound_to_something_else_is_an_ordinary_call() -> None:
    s = scan("""
        from corofy import coroutine

        def wait(x):
            return x

        @coroutine
        def f(x):
            return wait(x)
        """)
    assert s.coroutines[0].waits == []


def test_marker_rebinding_is_refused_at_the_rebinding() -> None:
    with pytest.raises(CorofyError) as info:
        scan("""
            from corofy import coroutine, wait
            wait = print
            """)
    assert (info.value.line, info.value.col) == (3, 1)


# -- lowering -----------------------------------------------------------------------------


def test_assignment_from_a_wait_becomes_one_wait_statement() -> None:
    _, ctx, unit = lowered("""
        from corofy import coroutine, wait

        @coroutine
        def f(a, i, g):
            a[i] = wait(g)
        """)
    [w] = unit.body
    assert isinstance(w, Wait) and code(ctx.module, w.target) == "a[i]"


def test_operands_left_of_a_wait_are_frozen_in_order() -> None:
    _, ctx, unit = lowered("""
        from corofy import coroutine, wait

        @coroutine
        def f(x, g):
            return x.y * wait(g) + x
        """)
    kinds = [type(n).__name__ for n in unit.body]
    assert kinds == ["Assign", "Wait", "Return"]
    assert code(ctx.module, unit.body[0].value) == "x.y"
    assert code(ctx.module, unit.body[2].value) == "_t1 * _t2 + x"


def test_short_circuit_puts_the_right_wait_under_an_if() -> None:
    _, _ctx, unit = lowered("""
        from corofy import coroutine, wait

        @coroutine
        def f(a, g):
            return a or wait(g)
        """)
    assign, branch, _ret = unit.body
    assert isinstance(assign, Assign) and isinstance(branch, If)
    assert isinstance(branch.body[0], Wait)


def test_for_loop_that_waits_iterates_an_explicit_iterator() -> None:
    _, ctx, unit = lowered("""
        from corofy import coroutine, wait

        @coroutine
        def f(xs):
            for x in xs:
                wait(x)
        """)
    make_iter, loop = unit.body
    assert code(ctx.module, make_iter.value) == "iter(xs)"
    assert isinstance(loop, Loop) and code(ctx.module, loop.iter) == make_iter.name


def test_with_that_waits_enters_explicitly_and_keeps_its_exit_for_a_native_with() -> None:
    _, _ctx, unit = lowered("""
        from corofy import coroutine, wait

        @coroutine
        def f(cm, g):
            with cm as c:
                wait(g)
        """)
    entered = unit.body[-1]
    assert isinstance(entered, With) and entered.entered == ("_cm1", "_exit1")
    assert unit.body[-2].text == "_exit1, _as1 = _Future._with_enter(_cm1)"


def test_comprehension_variables_are_renamed_so_they_do_not_leak() -> None:
    _, ctx, unit = lowered("""
        from corofy import coroutine, wait

        @coroutine
        def f(xs):
            return [wait(x) for x in xs]
        """)
    loop = next(n for n in unit.body if isinstance(n, Loop))
    assert code(ctx.module, loop.target).startswith("_c")
    appended = [n for n in loop.body if isinstance(n, Raw)]
    assert "x" not in code(ctx.module, appended[0].stmt).replace("_t", "")


# -- analysis -----------------------------------------------------------------------------


def test_only_values_living_across_a_wait_are_stored() -> None:
    st = storage("""
        from corofy import coroutine, wait

        @coroutine
        def f(g, h):
            before = 1
            used_after = 2
            wait(g)
            after = used_after + 1
            wait(h)
            return after
        """)
    assert st.needed[1] == {"h", "used_after"}
    assert st.needed[2] == {"after"}
    assert not st.cold


def test_captured_and_maybe_unbound_locals_live_on_the_machine() -> None:
    st = storage("""
        from corofy import coroutine, wait

        @coroutine
        def f(flag, g):
            seen = []
            hook = lambda: seen
            if flag:
                maybe = 1
            wait(g)
            return maybe, hook
        """)
    assert st.cold == {"seen", "maybe"}


# -- emitted code ---------------------------------------------------------------------------


class Later:
    def __init__(self, value, pending=1):
        self.value, self.pending = value, pending

    def poll(self, waker):
        if self.pending:
            self.pending -= 1
            return PENDING
        return Ready(self.value)


def run(source: str, name: str, *args):
    ns: dict = {}
    exec(compile(transform_source(textwrap.dedent(source)), "t.py", "exec", dont_inherit=True), ns)
    machine = ns[name](*args)
    polls = 0
    while True:
        polls += 1
        answer = machine.poll(None)
        if answer is not PENDING:
            return answer.value, polls


def test_a_suspension_does_not_run_finally_blocks() -> None:
    log: list = []
    value = run(
        """
        from corofy import coroutine, wait

        @coroutine
        def f(log, g):
            try:
                return wait(g)
            finally:
                log.append("finally")
        """,
        "f",
        log,
        Later(3, pending=2),
    )
    assert value == (3, 3) and log == ["finally"]


def test_re_entered_loop_finishes_the_iteration_then_loops_again() -> None:
    source = textwrap.dedent("""
        from corofy import coroutine, wait

        @coroutine
        def f(n, later):
            out = []
            for i in range(n):
                if i == 1:
                    continue
                out.append(wait(later(i)))
                if i == 3:
                    break
            else:
                out.append("else")
            return out
        """)
    assert run(source, "f", 5, Later) == ([0, 2, 3], 4)
    assert run(source, "f", 3, Later) == ([0, 2, "else"], 3)


def test_a_ready_future_never_leaves_the_poll() -> None:
    source = textwrap.dedent("""
        from corofy import coroutine, wait

        @coroutine
        def f(n, later):
            total = 0
            for i in range(n):
                total += wait(later(i, 0))
            return total
        """)
    assert run(source, "f", 100, Later) == (4950, 1)


def test_the_header_text_cut_from_the_source_is_what_libcst_prints() -> None:
    # The header quotes each def as written; for a def at column 0 it is cut from the source
    # rather than printed, which must give the same text.
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    paths = [
        *(root / "samples").glob("*.py"),
        *(root / "tests/transform/golden/inputs").glob("*.py"),
    ]
    sources = [path.read_text() for path in paths]
    compared = 0
    for source in [*sources, sources[0].replace("\n", "\r\n")]:
        s = find.scan(cst.parse_module(source), "t.py")
        for co in s.coroutines:
            text = Context(s, co).source_text
            printed = s.module.code_for_node(co.node.with_changes(leading_lines=[]))
            assert text.rstrip("\n") == printed.rstrip("\n"), co.qualname
            compared += 1
    assert compared >= 15


COLD_EVERYWHERE = """
from corofy import coroutine, wait

@coroutine
def main(flag, ready):
    if flag:
        x = 1
    wait(ready(0))
    print(x, (x), ( x ), x.real, f"{x!r:>{x}}", dict(x=x), [x for _ in range(1)], {x: x})
    y = x + 1; x = y; del y
    f = lambda q=x: x + q
    z = [x for x in range(3)]
    g = x if x else -x
    def inner(x=x):
        return x
    class K:
        attr = x
    try:
        wait(ready(x))
    except ValueError as x:
        pass
    if (w := x) or [w for _ in range(1) if (v := x)]:
        pass
    return x, inner(), f(), z, g, K.attr, w
"""


def test_cold_names_cut_from_the_source_read_as_the_rename_walk_prints_them(monkeypatch) -> None:
    # Render.code replaces cold locals in the source text instead of walking the node with
    # Rename where it can: the output must be what the walk gives, byte for byte.
    from pathlib import Path

    from corofy.transform import statements

    root = Path(__file__).resolve().parents[2]
    sources = [
        COLD_EVERYWHERE,
        *(p.read_text() for p in (root / "samples").glob("*.py")),
        *(p.read_text() for p in (root / "tests/transform/golden/inputs").glob("*.py")),
    ]
    spliced_calls = []

    def counting(r, node, text):
        found = real_spliced(r, node, text)
        spliced_calls.append(found is not None)
        return found

    real_spliced = statements.spliced
    monkeypatch.setattr(statements, "spliced", counting)
    fast = [transform_source(source, "t.py") for source in sources]
    monkeypatch.setattr(statements, "spliced", lambda r, node, text: None)
    walked = [transform_source(source, "t.py") for source in sources]
    assert fast == walked
    assert sum(spliced_calls) >= 10 and not all(spliced_calls)


PRIVATE_IN_METHOD = """
from corofy import coroutine, wait

__glob = 1

@coroutine
def top(ready):
    __v = __glob
    wait(ready(0))
    return __v, __glob

class _Holder:
    __cls_attr = 2

    @coroutine
    def method(self, ready, __p=__cls_attr):
        __x = self.__cls_attr + __p
        wait(ready(0))
        print(__x, self.__cls_attr, self.__dict__, [__x for __y in range(1)], __x.real)
        __z = __x; print(__z, __p, lambda __q=__x: __q + __z)
        class __Inner:
            __deep = __x
        print(super().__init__, __class__, __Inner._Inner__deep, __glob)
        def helper(__a=__x):
            return __a + __z
        try:
            wait(ready(__x))
        except ValueError as __e:
            print(__e)
        global __glob2
        return __x, __z, helper(), self.__cls_attr

class ___:
    @coroutine
    def odd(self, ready):
        __a = 1
        wait(ready(0))
        return __a
"""


def test_private_names_in_a_method_cut_from_the_source_read_as_the_rename_walk_prints_them(
    monkeypatch,
) -> None:
    # In a method, Render.code mangles private names (and renames cold locals) in the
    # source text where it can instead of walking the node with Rename: the output must be
    # what the walk gives, byte for byte; super, __class__, a class inside and a private
    # global outside any class still take the walk.
    from corofy.transform import statements

    calls: list[tuple[bool, str]] = []

    def counting(naming, node, text):
        found = real_spliced(naming, node, text)
        calls.append((found is not None, text))
        return found

    real_spliced = statements.spliced
    monkeypatch.setattr(statements, "spliced", counting)
    fast = transform_source(PRIVATE_IN_METHOD, "t.py")
    monkeypatch.setattr(statements, "spliced", lambda naming, node, text: None)
    walked = transform_source(PRIVATE_IN_METHOD, "t.py")
    assert fast == walked
    assert "_Holder__x = self._Holder__cls_attr + _Holder__p" in fast
    cut = [text for found, text in calls if found]
    assert any("self.__cls_attr" in text for text in cut), cut
    walks = [text for found, text in calls if not found]
    assert any("super()" in text for text in walks) and any("class __Inner" in t for t in walks)
    compile(fast, "t.py", "exec")


def test_the_transform_leaves_the_garbage_collector_alone(monkeypatch) -> None:
    # The collector's state is the whole interpreter's: a library call must not change it,
    # and the untransformed @coroutine runs the transform on whatever thread imports a module.
    # (It once froze the heap while reading the parsed tree; 3.12.1 starts with objects frozen.)
    import gc

    def refused(*args: object) -> None:
        raise AssertionError("the transform changed the garbage collector's state")

    for name in ("freeze", "unfreeze", "disable", "enable", "set_threshold", "collect"):
        monkeypatch.setattr(gc, name, refused)
    source = "from corofy import coroutine, wait\n\n@coroutine\ndef f(x):\n    return wait(x)\n"
    frozen, enabled = gc.get_freeze_count(), gc.isenabled()
    assert "class f" in transform_source(source)
    assert (gc.get_freeze_count(), gc.isenabled()) == (frozen, enabled)


def test_the_transform_benchmark_runs_and_reports_its_ratios() -> None:
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    run = subprocess.run(
        [
            sys.executable,
            str(root / "benchmarks" / "bench_transform.py"),
            "--functions",
            "3",
            "--repeat",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "ratio libcst/corofy:" in run.stdout


def test_nodes_put_together_without_libcst_print_as_libcst_prints_them(monkeypatch) -> None:
    # printing.printed prints the plain nodes lowering makes; on every node the transform
    # prints (samples, goldens, the benchmark's coroutine, COLD_EVERYWHERE), it must give
    # libcst's own text or None.
    import sys
    from pathlib import Path

    from corofy.transform.printing import printed

    root = Path(__file__).resolve().parents[2]
    sys.path.insert(0, str(root / "benchmarks"))
    try:
        from bench_transform import build
    finally:
        sys.path.remove(str(root / "benchmarks"))
    sources = [
        COLD_EVERYWHERE,
        build(2),
        *(p.read_text() for p in (root / "samples").glob("*.py")),
        *(p.read_text() for p in (root / "tests/transform/golden/inputs").glob("*.py")),
    ]
    seen = {"fast": 0, "libcst": 0}
    text_of = Context.text_of

    def checked(self, node):
        found = printed(node, self.positions.text)
        if found is not None:
            assert found == self.module.code_for_node(node), type(node).__name__
        seen["fast" if found is not None else "libcst"] += 1
        return text_of(self, node)

    monkeypatch.setattr(Context, "text_of", checked)
    for source in sources:
        transform_source(source, "t.py")
    assert seen["fast"] > 200 and seen["libcst"] > 5, seen

    def alone(node):
        return printed(node, lambda child: None)

    call = cst.parse_expression("f(a,b , c)")
    assert alone(call) == "f(a,b , c)"
    for source in ("f(*a)", "f(k=1)", "(f)(a)", "f( a)", "f(a )", "not(a)", "[ ]", "a . b", "x[1]"):
        node = cst.parse_expression(source)
        assert alone(node) in (None, cst.Module([]).code_for_node(node)), source
