"""The untransformed `@coroutine` (corofy.decorator), with the stand-in transform injected.

These pin down the decorator's own plumbing — finding the source, keeping line numbers,
closures, methods, errors at original positions. The same behaviour with the real transform
is covered end to end in tests/debug/test_three_paths.py.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
import textwrap
import traceback

import cli_fake_transform
import pytest

import runtime
from corofy import decorator


class Now(runtime.Future):
    def __init__(self, value):
        self.value = value

    def poll(self, waker):
        return runtime.Ready(self.value)


class Later(runtime.Future):
    def poll(self, waker):
        return runtime.PENDING


def drive(machine):
    """Poll a machine whose leaves are all ready (no waker needed)."""
    answer = machine.poll(None)
    assert answer is not runtime.PENDING
    return answer.value


@pytest.fixture
def load(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "corofy.transform", cli_fake_transform)
    loaded = []

    def load(source: str, name: str = "user_mod"):
        path = tmp_path / f"{name}.py"
        path.write_text(textwrap.dedent(source))
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        loaded.append(name)
        spec.loader.exec_module(module)
        module.Now = Now
        return module

    yield load
    for name in loaded:
        sys.modules.pop(name, None)


def test_decorated_function_runs_with_no_build_step(load):
    mod = load("""
        from corofy import coroutine, wait

        @coroutine
        def double(fut):
            value = wait(fut)
            return value * 2
    """)
    assert drive(mod.double(Now(21))) == 42
    assert mod.double.__qualname__ == "double" and mod.double.__module__ == "user_mod"
    assert "double" not in [k for k in vars(mod) if k.startswith("_")], "nothing leaks into globals"
    assert not [k for k in vars(mod) if "machine" in k or "corofy_" in k]


def test_closures_read_and_write_the_enclosing_variables(load):
    mod = load("""
        from corofy import coroutine, wait

        def make():
            count = 10

            @coroutine
            def bump(fut):
                nonlocal count
                count += wait(fut)
                return count

            def current():
                return count

            return bump, current
    """)
    bump, current = mod.make()
    assert drive(bump(Now(5))) == 15
    assert current() == 15, "the write reached the enclosing function's own variable"
    assert drive(bump(Now(1))) == 16


def test_methods_keep_their_qualname_and_decorators_above_apply(load):
    mod = load("""
        import corofy
        from corofy import coroutine as co, wait as w

        class Service:
            factor = 3

            @co
            def scaled(self, fut):
                return w(fut) * self.factor

            @classmethod
            @co
            def built(cls, fut):
                return cls.factor + w(fut)
    """)
    assert mod.Service.scaled.__qualname__ == "Service.scaled"
    assert drive(mod.Service().scaled(Now(2))) == 6
    assert drive(mod.Service.built(Now(1))) == 4


def test_multiline_strings_inside_an_indented_coroutine_are_unchanged(load):
    mod = load('''
        from corofy import coroutine, wait

        class K:
            @coroutine
            def text(self, fut):
                wait(fut)
                return """a
          b
        c"""
    ''')
    assert drive(mod.K().text(Now(None))) == "a\n  b\nc"


def test_traceback_names_the_original_file_line_and_source(load):
    mod = load("""
        from corofy import coroutine, wait


        @coroutine
        def divide(fut):
            value = wait(fut)
            return 10 // value
    """)
    with pytest.raises(ZeroDivisionError) as info:
        drive(mod.divide(Now(0)))
    text = "".join(traceback.format_exception(info.value))
    assert f'File "{mod.__file__}", line 8, in _gen_divide' in text
    assert "    return 10 // value\n" in text


def test_machine_states_carry_original_lines(load):
    mod = load("""
        from corofy import coroutine, wait
        import runtime

        class Later(runtime.Future):
            def poll(self, waker):
                return runtime.PENDING

        @coroutine
        def stuck(fut):
            wait(fut)
    """)
    machine = mod.stuck(mod.Later())
    assert machine.poll(None) is runtime.PENDING
    assert type(machine)._corofy_states_[machine._state] == ("wait_line_11", 11)


def test_a_function_on_the_first_lines_still_gets_original_lines(load):
    mod = load("from corofy import coroutine, wait\n@coroutine\ndef f(fut):\n    wait(fut)\n")
    machine = mod.f(Later())
    assert machine.poll(None) is runtime.PENDING
    assert type(machine)._corofy_states_[machine._state] == ("wait_line_4", 4)


def test_refusals_are_reported_at_the_original_line_and_column(load, tmp_path):
    with pytest.raises(Exception) as info:
        load("""
            from corofy import coroutine, wait

            class Deep:
                @coroutine
                def bad(self):
                    x = "SYNTAX ERROR"
        """)
    path = tmp_path / "user_mod.py"
    line = path.read_text().splitlines()[6]
    col = line.index("SYNTAX ERROR") + 1
    assert str(info.value) == f"{path}:7:{col}: error: invalid syntax"


def test_decorators_below_coroutine_are_refused_with_advice(load):
    with pytest.raises(Exception, match="put other decorators above @coroutine"):
        load("""
            import functools
            from corofy import coroutine, wait

            @coroutine
            @functools.lru_cache
            def f():
                pass
        """)


def test_classmethod_below_coroutine_is_refused_with_advice():
    with pytest.raises(TypeError, match="put @classmethod above @coroutine"):
        decorator.coroutine(classmethod(lambda cls: None))


def test_function_without_source_gets_a_clear_error():
    namespace = {"coroutine": decorator.coroutine}
    with pytest.raises(RuntimeError, match="corofy command"):
        exec("@coroutine\ndef f():\n    pass\n", namespace)


def test_wait_outside_a_transformed_coroutine_raises_a_clear_runtime_error():
    with pytest.raises(RuntimeError, match="outside a transformed coroutine"):
        decorator.wait(Now(1))


def test_the_decorator_is_importable_from_corofy():
    import corofy

    assert corofy.coroutine is decorator.coroutine and corofy.wait is decorator.wait
    assert inspect.signature(decorator.coroutine).parameters.keys() == {"fn"}


def test_markers_imported_inside_the_enclosing_function_are_recognised(load):
    mod = load("""
        def make():
            from corofy import coroutine, wait

            @coroutine
            def inner(fut):
                return wait(fut) + 1

            return inner
    """)
    assert drive(mod.make()(Now(1))) == 2


# -- methods with the real transform: super(), __class__, private names ------------------
# The stand-in transform does not lower super(), so these run the real one: they pin down
# that the decorator presents a method to it inside its class, as the command line does.


class Twice(runtime.Future):
    """PENDING on the first poll, then ready: the machine must suspend and resume."""

    def __init__(self, value):
        self.value, self.polls = value, 0

    def poll(self, waker):
        self.polls += 1
        return runtime.Ready(self.value) if self.polls > 1 else runtime.PENDING


def drive_through(machine, limit=50):
    """Poll until ready (each inner future is ready on a later poll); bounded, never hangs."""
    for _ in range(limit):
        answer = machine.poll(None)
        if answer is not runtime.PENDING:
            return answer.value
    raise AssertionError(f"still pending after {limit} polls")


@pytest.fixture
def load_real(tmp_path):
    loaded = []

    def load(source: str, name: str = "user_methods"):
        path = tmp_path / f"{name}.py"
        path.write_text(textwrap.dedent(source))
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        loaded.append(name)
        module.Twice = Twice
        spec.loader.exec_module(module)
        return module

    yield load
    for name in loaded:
        sys.modules.pop(name, None)


def test_instance_method_zero_argument_super_reaches_the_base_coroutine(load_real):
    mod = load_real("""
        from corofy import coroutine, wait

        class Base:
            @coroutine
            def go(self, x):
                wait(Twice(None))
                return x + 1

        class A(Base):
            @coroutine
            def go(self, x):
                y = wait(super().go(x))
                wait(Twice(None))
                return y * 2, super().go
    """)
    value, bound = drive_through(mod.A().go(1))
    assert value == 4
    assert bound.__func__ is mod.Base.go, "super() after a wait still starts above A"
    assert mod.A.go.__qualname__ == "A.go"


def test_classmethod_zero_argument_super_keeps_the_calling_class(load_real):
    mod = load_real("""
        from corofy import coroutine, wait

        class Base:
            @classmethod
            @coroutine
            def make(cls, v):
                wait(Twice(None))
                return cls, v

        class Sub(Base):
            @classmethod
            @coroutine
            def make(cls, v):
                got = wait(super().make(v + 1))
                return got, cls
    """)
    assert drive_through(mod.Sub.make(1)) == ((mod.Sub, 2), mod.Sub)


def test_explicit_dunder_class_is_the_defining_class_not_the_instance_type(load_real):
    mod = load_real("""
        from corofy import coroutine, wait

        class Owner:
            @coroutine
            def which(self):
                before = __class__
                wait(Twice(None))
                return before, __class__, type(self)

        class Child(Owner):
            pass
    """)
    assert drive_through(mod.Child().which()) == (mod.Owner, mod.Owner, mod.Child)


def test_super_chain_of_three_classes_runs_each_level_once_in_order(load_real):
    mod = load_real("""
        from corofy import coroutine, wait

        def build(log):
            class A:
                @coroutine
                def go(self, x):
                    log.append(("A", wait(Twice(x))))
                    return [x]

            class B(A):
                @coroutine
                def go(self, x):
                    log.append(("B", x))
                    return wait(super().go(x + 1)) + [x]

            class C(B):
                @coroutine
                def go(self, x):
                    log.append(("C", x))
                    got = wait(super().go(x + 1))
                    return got + [x, __class__.__name__]

            return C

        log = []
        C = build(log)
    """)
    assert drive_through(mod.C().go(1)) == [3, 2, 1, "C"]
    assert mod.log == [("C", 1), ("B", 2), ("A", 3)]
    assert mod.C.go.__qualname__ == "build.<locals>.C.go"


def test_private_names_in_a_method_are_mangled_with_its_own_class(load_real):
    mod = load_real("""
        from corofy import coroutine, wait

        class Vault:
            __secret = 7

            @coroutine
            def open(self):
                wait(Twice(None))
                return self.__secret, self._Vault__secret
    """)
    assert drive_through(mod.Vault().open()) == (7, 7)


def test_a_failure_after_super_names_the_original_line(load_real):
    mod = load_real("""
        from corofy import coroutine, wait

        class Base:
            @coroutine
            def go(self):
                return wait(Twice(0))

        class A(Base):
            @coroutine
            def go(self):
                zero = wait(super().go())
                return 1 // zero
    """)
    with pytest.raises(ZeroDivisionError) as info:
        drive_through(mod.A().go())
    last = traceback.extract_tb(info.value.__traceback__)[-1]
    assert (last.filename, last.lineno, last.line) == (mod.__file__, 13, "return 1 // zero")


def test_defaults_are_the_originals_evaluated_once_in_the_class_body(load_real):
    mod = load_real("""
        from corofy import coroutine, wait

        made = []

        def make_default():
            made.append(1)
            return [len(made)]

        class Limits:
            LIMIT = 3

            @coroutine
            def go(self, x=LIMIT, y=make_default(), *, z: int = LIMIT + 1):
                wait(Twice(None))
                return x, y, z
    """)
    assert mod.made == [1], "a default expression runs once, as the def runs"
    assert str(inspect.signature(mod.Limits.go)) == "(self, x=3, y=[1], *, z: int = 4)"
    x, y, z = drive_through(mod.Limits().go())
    assert (x, z) == (3, 4) and y is mod.Limits.go.__defaults__[1]


def test_postponed_annotations_naming_the_class_itself_stay_strings(load_real):
    mod = load_real("""
        from __future__ import annotations

        from corofy import coroutine, wait

        class Node:
            @coroutine
            def link(self, other: Node) -> Node:
                wait(Twice(None))
                return other
    """)
    node = mod.Node()
    assert drive_through(mod.Node().link(node)) is node
    assert mod.Node.link.__annotations__ == {"other": "Node", "return": "Node"}


# Layouts CPython accepts that inspect's block finder or a plain re-indent would misread:
# the lines after a lone backslash are still the function's, a tab after spaces counts to
# the next multiple of 8, `except E \` may put its `:` on the next line.
@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            "@coroutine\ndef main(n):\n    a = n\n\\\n    a += wait(Twice(n))\n    return a\n",
            6,
        ),
        (
            "@coroutine\ndef main(n):\n    a = n\n    \\\na += wait(Twice(n))\n    return a\n",
            6,
        ),
        (
            "@coroutine\ndef main(n):\n    if n:\n\t    n = wait(Twice(n))\n"
            "\t    n += 1\n    return n\n",
            4,
        ),
        (
            "@coroutine\ndef main(n):\n    try:\n        {}[n]\n    except KeyError \\\n    :\n"
            "        return wait(Twice(n)) + 1\n",
            4,
        ),
        (
            "class K:\n\t@coroutine\n\tdef m(self, n):\n\\\n\t\tn = wait(Twice(n))\n"
            "\t\treturn n + 4\n@coroutine\ndef main(n):\n    return wait(K().m(n))\n",
            7,
        ),
        (
            "def make():\n  class K:\n    @coroutine\n    def m(self, n):\n      if n:\n"
            "    \t  n = wait(Twice(n))\n      return n + 3\n  return K\n"
            "@coroutine\ndef main(n):\n    return wait(make()().m(n))\n",
            6,
        ),
    ],
    ids=[
        "lone-backslash-at-column-0",
        "lone-backslash-indented",
        "tab-then-spaces",
        "except-colon-after-backslash",
        "tab-indented-method-lone-backslash",
        "tab-in-a-method-of-a-class-in-a-function",
    ],
)
def test_layouts_libcst_cannot_read_run_with_no_build_step(load_real, source, expected):
    compile(source, "layout.py", "exec")
    mod = load_real("from corofy import coroutine, wait\n" + source, "user_layouts")
    assert drive_through(mod.main(3)) == expected


def test_builtins_the_generated_code_calls_may_be_bound_by_the_module(load_real):
    # A set comprehension that waits starts from set(), a waiting loop calls iter(): the
    # module binds both names, after the def too (the build-free transform sees only the
    # function, so it names every such builtin its own way).
    mod = load_real("""
        from corofy import coroutine, wait

        @coroutine
        def main():
            out = []
            for i in range(2):
                out.append(wait(Twice(i)))
            return {wait(Twice(q)) for q in range(2)}, out

        set = dict
        iter = list
        """)
    assert drive_through(mod.main()) == ({0, 1}, [0, 1])
