"""What a nested scope evaluates where it stands is code of the coroutine, and may wait
(SPEC §2.2: ``wait`` anywhere it can appear): a nested def's decorators, defaults and
annotations, a lambda's defaults, a class's decorators, bases and keywords, and a generator
expression's first iterable. Each runs in CPython's order (decorators, positional defaults,
keyword-only defaults, then annotations: plain parameters before positional-only ones; a
call's positional arguments, ``*it`` included, before its keyword arguments). Their own
code still cannot suspend the coroutine (SPEC §2.3). Each program runs as state machines
and as its generator reference (they must log the same events), also closed while
suspended."""

from __future__ import annotations

import pytest
from reference import assert_same, program, result

from corofy.transform import CorofyError, transform_source

PROGRAMS = [
    pytest.param(
        """
        def noted(tag):
            note(tag)
            def d(fn):
                note("apply", tag)
                return fn
            return d
        def deco(tag):
            def d(fn):
                fn.tag = tag
                return fn
            return d
        @coroutine
        def main():
            @noted("first")
            @deco(wait(pending(1, "t")))
            def g():
                return 1
            return g.tag, g()
        """,
        ("t", 1),
        id="decorator_of_a_nested_def_waits_after_the_decorators_above_it",
    ),
    pytest.param(
        """
        @coroutine
        def main():
            x = 1
            def g(a=note("a", x), /, b=wait(pending(1, 5)), *, c=wait(ready(6)), d=note("d", x)):
                return a + b + c + d
            x = 100
            return g()
        """,
        13,
        id="defaults_of_a_nested_def_wait_in_order_and_keep_what_they_read",
    ),
    pytest.param(
        """
        @coroutine
        def main():
            def g(a: note("ann_a", 1) = 1, /, b: wait(pending(1, int)) = 2,
                  *r: wait(ready(str)), k: note("ann_k", 3) = 3) -> wait(pending(1, float)):
                return a + b + k
            return sorted(g.__annotations__.items(), key=str), g()
        """,
        (
            [("a", 1), ("b", int), ("k", 3), ("r", str), ("return", float)],
            6,
        ),
        id="annotations_of_a_nested_def_wait_in_cpythons_order",
    ),
    pytest.param(
        """
        def noted(tag):
            note(tag)
            def d(cls):
                note("apply", tag)
                return cls
            return d
        class Meta(type):
            def __new__(m, name, bases, ns, **kw):
                ns["kw"] = kw
                return super().__new__(m, name, bases, ns)
        @coroutine
        def main():
            x = wait(pending(1, 3))
            @noted("decorated")
            class K(*wait(pending(1, [object])), metaclass=wait(ready(Meta)), flag=wait(pending(1, 7))):
                attr = x * 2
            return K.kw, K.attr
        """,
        ({"flag": 7}, 6),
        id="decorators_bases_and_keywords_of_a_class_wait",
    ),
    pytest.param(
        """
        @coroutine
        def main():
            x = 1
            f = (lambda a, *, b=wait(pending(1, 2)), c=x: a + b + c)
            x = 100
            return f(wait(ready(3)))
        """,
        6,
        id="defaults_of_a_lambda_wait_where_the_lambda_stands",
    ),
    pytest.param(
        """
        @coroutine
        def main():
            n = 2
            g = (x * n for x in wait(pending(1, [1, 2, 3])))
            n = 10
            return sum(g)
        """,
        60,
        id="first_iterable_of_a_generator_expression_waits",
    ),
    pytest.param(
        """
        def f(*a, **k):
            return a, k
        @coroutine
        def main():
            return f(x=note("kw", wait(pending(1, 1))), *note("star", wait(pending(1, [2]))))
        """,
        ((2,), {"x": 1}),
        id="positional_arguments_of_a_call_wait_before_keyword_ones",
    ),
    pytest.param(
        """
        @coroutine
        def main():
            ys = [last := wait(pending(1, x)) for x in range(3)]
            zs = [[(inner := wait(ready(x * y))) for y in range(2)] for x in range(3)]
            return ys, last, zs, inner
        """,
        ([0, 1, 2], 2, [[0, 0], [0, 1], [0, 2]], 2),
        id="a_walrus_in_a_comprehension_that_waits_binds_in_the_coroutine",
    ),
    pytest.param(
        """
        def tag(v):
            return lambda f: f
        @coroutine
        def main():
            a = 1
            @coroutine
            def inner():
                nonlocal a
                a = wait(pending(1, 2))
            @tag((a := 5))
            def h(p=(a := a + 1)):
                return p
            wait(pending(1))
            return a, h()
        """,
        (6, 6),
        id="a_walrus_in_a_decorator_or_default_binds_a_local_kept_on_the_machine",
    ),
]


@pytest.mark.parametrize(("body", "expected"), PROGRAMS)
def test_evaluated_where_it_stands(body: str, expected: object) -> None:
    src = program(body)
    assert result(src) == expected
    for close_after in (1, 2):
        assert_same(src, close_after=close_after)


def test_decorators_run_before_the_defaults_that_wait() -> None:
    src = program("""
        def noted(tag):
            note(tag)
            def d(fn):
                note("apply " + tag)
                return fn
            return d
        @coroutine
        def main():
            @noted("d1")
            @noted("d2")
            def g(a=note("default", wait(pending(1, 1)))):
                return a
            return g()
        """)
    notes = [e[2][0] for e in assert_same(src) if e[0] == "note"]
    assert notes == ["d1", "d2", "default", "apply d2", "apply d1"]


def test_a_lazy_annotation_is_never_evaluated_so_its_wait_never_waits() -> None:
    src = "from __future__ import annotations\n" + program("""
        @coroutine
        def main():
            def g(a: wait(f) = 1) -> wait(f):
                return a
            return g.__annotations__, g()
        """)
    assert result(src) == ({"a": "wait(f)", "return": "wait(f)"}, 1)


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        ("h = lambda: wait(g())", "lambda"),
        ("h = lambda a=1: wait(a)", "lambda"),
        ("def h(a=1):\n        return wait(a)", "nested function"),
        ("class K:\n        x = wait(g())", "class body"),
        ("h = (x for x in y if wait(x))", "generator expression"),
        ("h = (wait(x) for x in y)", "generator expression"),
        ("h = (x for z in y for x in wait(z))", "generator expression"),
    ],
)
def test_the_own_code_of_a_nested_scope_still_cannot_wait(body: str, kind: str) -> None:
    source = f"from corofy import coroutine, wait\n@coroutine\ndef f(y):\n    {body}\n"
    with pytest.raises(CorofyError) as info:
        transform_source(source, "m.py")
    assert kind in info.value.message


def test_a_wait_in_a_default_of_a_top_level_coroutine_is_outside_any_coroutine() -> None:
    source = "from corofy import coroutine, wait\n@coroutine\ndef f(a=wait(g)):\n    return a\n"
    with pytest.raises(CorofyError) as info:
        transform_source(source, "m.py")
    assert (info.value.line, info.value.col) == (3, 9)
    assert "outside a @coroutine" in info.value.message


def test_a_wait_in_a_default_of_a_nested_coroutine_is_refused_with_its_own_message() -> None:
    source = program("""
        @coroutine
        def main():
            @coroutine
            def g(a=wait(pending(1, 5))):
                return a
            return wait(g())
        """)
    with pytest.raises(CorofyError) as info:
        transform_source(source, "m.py")
    assert "holds a nested @coroutine" in info.value.message
