"""A @coroutine nested in another coroutine, in a def or class inside one, or in a plain
function or method (SPEC §2.2): closures read and write the enclosing variables, late
binding, recursion, decorators, methods and super(). Each program runs as machine and as
generator reference (they must log the same events), with ready, pending and raising
futures, and closed while suspended."""

import inspect

import pytest
from reference import assert_same, load, outcome, printed, program, result

from runtime._line_table import line_table

# Programs whose whole check is their value: `result` runs each as state machines and as its
# generator reference (SPEC §2.1), fails unless both log the same events, and returns the value.
NESTED_PROGRAMS = [
    pytest.param(
        """
        @coroutine
        def main():
            def helper():
                return lambda: 0
            class K:
                def m(self):
                    pass
            wait(pending(1))
            @coroutine
            def inner():
                return wait(ready(helper))
            h = wait(inner())
            return h.__qualname__, h().__qualname__, K.__qualname__, K.m.__qualname__
        """,
        (
            "main.<locals>.helper",
            "main.<locals>.helper.<locals>.<lambda>",
            "main.<locals>.K",
            "main.<locals>.K.m",
        ),
        id="functions_and_classes_a_coroutine_defines_have_the_qualnames_python_gives",
    ),
    pytest.param(
        """
        @coroutine
        def main():
            x = 1
            @coroutine
            def add(f):
                nonlocal x
                x += wait(f)
                return x
            y = wait(add(pending(1, 5)))
            z = wait(add(ready(2)))
            return x, y, z
        """,
        (8, 6, 8),
        id="nested_coroutine_reads_and_rebinds_a_local_of_the_enclosing_coroutine",
    ),
    pytest.param(
        """
        @coroutine
        def main():
            x = "first"
            @coroutine
            def show():
                wait(pending(1))
                return x
            fut = show()
            x = wait(pending(2, "second"))
            return wait(fut)
        """,
        "second",
        id="nested_coroutine_sees_the_enclosing_local_as_it_is_when_it_runs",
    ),
    pytest.param(
        """
        @coroutine
        def main():
            seen = []
            @coroutine
            def log(v):
                seen.append(wait(pending(1, v)))
                return len(seen)
            a = wait(log(1))
            wait(pending(1))
            b = wait(log(2))
            return seen, a, b
        """,
        ([1, 2], 1, 2),
        id="enclosing_coroutine_sees_what_the_nested_one_wrote_across_its_own_waits",
    ),
    pytest.param(
        """
        @coroutine
        def main():
            @coroutine
            def fact(n):
                if n <= 1:
                    return 1
                return n * wait(fact(n - wait(pending(1, 1))))
            return wait(fact(wait(ready(5))))
        """,
        120,
        id="nested_coroutine_calls_itself_recursively",
    ),
    pytest.param(
        """
        @coroutine
        def main():
            x = 1
            @coroutine
            def mid():
                y = 2
                @coroutine
                def inner():
                    nonlocal x, y
                    x += wait(pending(1, 10))
                    y += 1
                    return x + y
                r = wait(inner())
                return r, y
            return wait(mid()), x
        """,
        ((14, 3), 11),
        id="coroutines_nested_three_deep_write_both_enclosing_locals",
    ),
    pytest.param(
        """
        @coroutine
        def main():
            total = 1
            def factory(step):
                @coroutine
                def inner(f):
                    nonlocal total
                    total += step + wait(f)
                    return total
                return inner
            a = wait(factory(10)(pending(1, 1)))
            return a, total
        """,
        (12, 12),
        id="nested_coroutine_inside_a_plain_def_of_a_coroutine",
    ),
    pytest.param(
        """
        @coroutine
        def main():
            x = 0
            @coroutine
            def inner():
                nonlocal x
                return (x := wait(pending(1, 5))) + 1
            return wait(inner()), x
        """,
        (6, 5),
        id="nested_coroutine_walrus_rebinds_the_enclosing_local",
    ),
    pytest.param(
        """
        @coroutine
        def main():
            x = 1
            @coroutine
            def inner(x):
                y = wait(pending(1, x))
                g = lambda: x + y
                return g()
            return wait(inner(5)), x
        """,
        (10, 1),
        id="nested_coroutine_parameter_shadows_the_enclosing_local",
    ),
    pytest.param(
        """
        @coroutine
        def main():
            makers = []
            for i in range(3):
                @coroutine
                def get(k=i):
                    wait(pending(1))
                    return k, i
                makers.append(get)
            return [wait(m()) for m in makers]
        """,
        [(0, 2), (1, 2), (2, 2)],
        id="nested_coroutines_made_in_a_loop_bind_late_and_keep_defaults",
    ),
    pytest.param(
        """
        class Base:
            def val(self):
                return 1
        @coroutine
        def main():
            x = wait(ready(3))
            class K(Base):
                @coroutine
                def m(self, f):
                    v = wait(f)
                    return super().val() + v + x
                def plain(self):
                    return super().val() * 10
                @staticmethod
                @coroutine
                def s(v):
                    return wait(pending(1, v))
                @classmethod
                @coroutine
                def c(cls, v):
                    return cls.__name__, wait(ready(v))
            k = K()
            return wait(k.m(pending(1, 4))), k.plain(), wait(K.s(1)), wait(K.c(2))
        """,
        (8, 10, 1, ("K", 2)),
        id="nested_coroutine_methods_of_a_class_in_a_coroutine_use_super",
    ),
    pytest.param(
        """
        class Base:
            def val(self):
                return 1
        def make():
            y = 5
            class K(Base):
                @coroutine
                def m(self, f):
                    nonlocal y
                    y += wait(f)
                    return super().val() + y
            return K
        @coroutine
        def main():
            K = make()
            return wait(K().m(pending(1, 4))), wait(K().m(ready(1)))
        """,
        (10, 11),
        id="coroutine_method_of_a_class_defined_in_a_function_rebinds_its_variable",
    ),
    pytest.param(
        """
        class C:
            def __init__(self):
                self.v = 3
            @coroutine
            def m(self, f):
                @coroutine
                def inner(g):
                    return self.v + wait(g)
                return wait(inner(f))
        @coroutine
        def main():
            return wait(C().m(pending(1, 4)))
        """,
        7,
        id="nested_coroutine_in_a_coroutine_method_reads_self",
    ),
    pytest.param(
        """
        @coroutine
        def main():
            x = 0
            try:
                with cm("a"):
                    @coroutine
                    def inner():
                        nonlocal x
                        x = wait(pending(1, 7))
                    wait(inner())
            finally:
                print("finally", x)
            return x
        """,
        7,
        id="nested_coroutine_defined_inside_with_and_try_of_the_enclosing_one",
    ),
    # (3.13 strips a docstring's indentation when compiling: compare its words)
    pytest.param(
        '''
        @coroutine
        def main():
            @coroutine
            def inner():
                """A docstring
                over lines."""
                s = """multi
        line"""
                wait(pending(1))
                return s, inner.__doc__.split()
            return wait(inner())
        ''',
        ("multi\nline", ["A", "docstring", "over", "lines."]),
        id="nested_coroutine_keeps_its_docstring_and_multiline_strings",
    ),
    pytest.param(
        """
        @coroutine
        def main():
            _m = 1
            @coroutine
            def inner():
                _m_ = 2
                return _m + _m_ + wait(pending(1, 3))
            return wait(inner())
        """,
        6,
        id="generated_names_do_not_shadow_the_enclosing_machine",
    ),
    pytest.param(
        """
        class Base:
            def hello(self):
                return "base"
        class C(Base):
            def hello(self):
                return "c"
            @coroutine
            def m(self):
                wait(pending(1))
                class D(Base):
                    def hello(self):
                        return "d+" + super().hello() + __class__.__name__
                return D().hello(), super().hello()
        @coroutine
        def main():
            return wait(C().m())
        """,
        ("d+baseD", "base"),
        id="zero_argument_super_in_a_class_defined_inside_a_coroutine_method",
    ),
    pytest.param(
        """
        class Base:
            def hello(self):
                return "base"
        class C(Base):
            def hello(self):
                return "c"
            def m(self):
                def make():
                    @coroutine
                    def inner(obj, f):
                        v = wait(f)
                        return super().hello() + str(v), __class__.__name__
                    return inner
                return make()(self, pending(1, 1))
        @coroutine
        def main():
            return wait(C().m())
        """,
        ("base1", "C"),
        id="zero_argument_super_in_a_coroutine_nested_in_a_plain_method",
    ),
    pytest.param(
        """
        @coroutine
        def main():
            @coroutine
            def inner(g, k=(z := 5)):
                return wait(g) + k
            r = wait(inner(pending(1, 1)))
            return r, z
        """,
        (6, 5),
        id="walrus_in_a_nested_coroutines_default_binds_in_the_enclosing_coroutine",
    ),
    pytest.param(
        """
        @coroutine
        def main():
            a, b, c = 1, 2, 3
            @coroutine
            def inner(v):
                nonlocal a, b
                def h():
                    nonlocal c
                    return 10
                b = v + wait(ready(b)) + h()
                return b
            def f():
                @coroutine
                def deeper():
                    nonlocal a
                    return wait(ready(4))
                return deeper()
            return wait(inner(a)), wait(f()), b
        """,
        (13, 4, 13),
        id="nonlocal_naming_an_enclosing_coroutines_local_no_nested_scope_uses",
    ),
]


@pytest.mark.parametrize(("source", "expected"), NESTED_PROGRAMS)
def test_nested_program_returns_what_its_generator_reference_returns(
    source: str, expected: object
) -> None:
    assert result(program(source)) == expected


def test_decorators_above_a_nested_coroutine_apply_to_the_generated_function() -> None:
    src = program("""
        import functools
        def tag(fn):
            @functools.wraps(fn)
            def wrapper(*a):
                print("called", fn.__name__, fn.__qualname__)
                return fn(*a)
            return wrapper
        @coroutine
        def main():
            base = wait(ready(10))
            @tag
            @coroutine
            def add(k, d=base):
                \"\"\"Adds.\"\"\"
                return d + wait(pending(1, k))
            return wait(add(1)), add.__name__, add.__qualname__, add.__doc__
        """)
    events = assert_same(src)
    assert printed(events) == [("called", "add", "main.<locals>.add")]
    assert outcome(events) == ("return", (11, "add", "main.<locals>.add", "Adds."))


def test_nested_coroutine_keeps_its_signature() -> None:
    src = program("""
        @coroutine
        def main():
            @coroutine
            def inner(a, /, b: int = 2, *args, c, **kw) -> str:
                return wait(ready(str(a)))
            return inner
        """)
    from runtime import Ready

    ns = load(src, "machine")
    fut = ns["main"]()
    inner = fut.poll(None)
    assert isinstance(inner, Ready)
    assert str(inspect.signature(inner.value)).startswith("(a, /, b: int = 2, *args, c, **kw)")


def test_exception_from_a_nested_coroutine_reaches_the_enclosing_handler() -> None:
    src = program("""
        @coroutine
        def main():
            @coroutine
            def inner():
                try:
                    wait(raising(KeyError, "k", k=1))
                finally:
                    print("inner finally")
            try:
                wait(inner())
            except KeyError as e:
                return "caught", e.args
        """)
    events = assert_same(src)
    assert printed(events) == ["inner finally"]
    assert outcome(events) == ("return", ("caught", ("k",)))


@pytest.mark.parametrize("close_after", [1, 2])
def test_closing_the_enclosing_coroutine_closes_the_nested_one_it_waits_on(close_after) -> None:
    src = program("""
        @coroutine
        def main():
            state = "running"
            @coroutine
            def inner():
                try:
                    wait(pending(5))
                finally:
                    print("inner finally", state)
            try:
                wait(inner())
            finally:
                state = "closing"
                print("outer finally")
        """)
    events = assert_same(src, close_after=close_after)
    assert printed(events) == [("inner finally", "running"), "outer finally"]
    assert events[-1] == ("closed",)


def test_nested_coroutine_output_is_idempotent_and_names_its_lines() -> None:
    from corofy.transform import transform

    src = program("""
        @coroutine
        def main():
            x = 1
            @coroutine
            def inner():
                nonlocal x
                x += wait(pending(1, 2))
            wait(inner())
            return x
        """)
    out = transform(src, "prog.py")
    assert transform(out.code, "prog.py").code == out.code
    assert [m.qualname for m in out.machines] == ["main", "main.<locals>.inner"]
    inner = out.machines[1]
    # by hand: line 7 is "    def inner():", line 9 "        x += wait(pending(1, 2))"
    assert [(s.name, s.line) for s in inner.states] == [("start", 7), ("s1_line9", 9)]
    ns: dict = {}
    exec(compile(out.code, "prog.py", "exec"), ns)
    lines = out.code.split("\n")
    stores = [k for k, text in enumerate(lines, 1) if text.strip() == "_m.x = _t1"]
    assert stores and all(line_table(ns["__corofy_lines__"])[k] == 9 for k in stores)


def test_nested_coroutine_reading_an_unbound_enclosing_local_raises_name_error() -> None:
    src = program("""
        @coroutine
        def main():
            @coroutine
            def inner():
                return x
            try:
                wait(inner())
            except NameError as e:
                print(type(e).__name__, e.args)
            x = wait(pending(1, 2))
            return wait(inner())
        """)
    events = assert_same(src)
    message = (
        "cannot access free variable 'x' where it is not associated with a value in enclosing scope"
    )
    assert printed(events) == [("NameError", (message,))]
    assert outcome(events) == ("return", 2)


def test_nested_coroutine_in_a_loop_with_waits_is_generated_once() -> None:
    from corofy.transform import transform_source

    src = program("""
        @coroutine
        def main():
            total = 0
            for v in [1, 2]:
                total += wait(pending(1, v))
                total += wait(ready(v))
                total += wait(pending(2, v))
                @coroutine
                def inner(g, step=total):
                    nonlocal total
                    total += wait(g) + step
                    return total
                total += wait(inner(pending(1, v)))
            return total
        """)
    # every resume function re-entering the loop runs the def: one copy of its code
    assert transform_source(src, "prog.py").count("class inner_machine") == 1
    # by hand: total 3; inner makes it 3 + 1 + 3 = 7 and returns 7, but += read 3 first:
    # 10. Then 16; inner returns 16 + 2 + 16 = 34; 16 + 34 = 50.
    assert result(src) == 50
