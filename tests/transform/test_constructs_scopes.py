"""Names and functions: global/nonlocal, closures both ways, methods, decorators, signatures,
recursion, and recognising the markers by binding (SPEC §2, §2.2)."""

import inspect
import sys

import pytest
from reference import assert_same, load, outcome, program, result

import runtime


def test_global_is_read_and_written_across_waits() -> None:
    src = program("""
        counter = 10
        @coroutine
        def main():
            global counter
            counter += wait(ready(1))
            wait(pending(1, None))
            counter = counter * 2
            return counter
        """)
    assert result(src) == 22


def test_coroutine_nested_in_function_reads_and_rebinds_enclosing_variables() -> None:
    src = program("""
        def make():
            count = 0
            @coroutine
            def bump(step):
                nonlocal count
                count += wait(ready(step))
                wait(pending(1, None))
                return count
            def get():
                return count
            return bump, get
        @coroutine
        def main():
            bump, get = make()
            first = wait(bump(2))
            second = wait(bump(3))
            return first, second, get()
        """)
    assert result(src) == (2, 5, 5)


def test_lambda_in_coroutine_sees_current_value_of_a_local() -> None:
    src = program("""
        @coroutine
        def main():
            x = 1
            f = lambda: x
            x = wait(ready(2))
            seen = f()
            wait(pending(1, None))
            x = 3
            return seen, f()
        """)
    assert result(src) == (2, 3)


def test_nested_def_in_coroutine_rebinds_local_with_nonlocal() -> None:
    src = program("""
        @coroutine
        def main():
            x = wait(ready(1))
            def set_x(value):
                nonlocal x
                x = value
            set_x(5)
            wait(pending(1, None))
            after_wait = x
            set_x(wait(ready(7)))
            return after_wait, x
        """)
    assert result(src) == (5, 7)


def test_closures_made_in_a_loop_share_the_loop_variable() -> None:
    src = program("""
        @coroutine
        def main():
            fs = []
            for i in range(3):
                fs.append(lambda: i)
                wait(ready(i))
            return [f() for f in fs]
        """)
    assert result(src) == [2, 2, 2]


def test_parameter_captured_by_closure_across_a_wait() -> None:
    src = program("""
        @coroutine
        def main(n):
            get = lambda: n
            n = wait(ready(n + 1))
            return get()
        """)
    assert result(src, args=(1,)) == 2


METHODS = """
class Base:
    @coroutine
    def greet(self, x):
        return "base", wait(ready(x))

class Child(Base):
    factor = 3

    @coroutine
    def greet(self, x):
        wait(pending(1, None))
        parent = wait(super().greet(x))
        return "child", self.factor, parent

    @classmethod
    @coroutine
    def make(cls, v):
        return cls.__name__, wait(ready(v)) * cls.factor

    @staticmethod
    @coroutine
    def twice(v):
        return 2 * wait(ready(v))

@coroutine
def main():
    c = Child()
    return wait(c.greet(1)), wait(Child.make(2)), wait(c.twice(3)), wait(Child.twice(4))
"""


def test_methods_classmethods_staticmethods_and_zero_argument_super() -> None:
    assert result(program(METHODS)) == (("child", 3, ("base", 1)), ("Child", 6), 6, 8)


def test_method_qualname_is_kept() -> None:
    machine = load(program(METHODS), "machine")
    assert machine["Child"].greet.__qualname__ == "Child.greet"
    assert machine["Child"].__dict__["make"].__func__.__qualname__ == "Child.make"


def test_other_decorators_above_coroutine_apply_to_the_generated_function() -> None:
    src = program("""
        import functools
        def traced(fn):
            @functools.wraps(fn)
            def wrapper(*args):
                note("traced", fn.__name__, args)
                return fn(*args)
            return wrapper
        @traced
        @coroutine
        def work(x):
            return wait(ready(x + 1))
        @coroutine
        def main():
            return wait(work(1)), work.__name__
        """)
    events = assert_same(src)
    assert [e[2] for e in events if e[0] == "note"] == [("traced", "work", (1,))]
    assert outcome(events) == ("return", (2, "work"))


SIGNATURE = '''
@coroutine
def every(a: int, b: "str" = "b", /, c: float = 1.5, *args: int, d, e: bool = True, **kw: object) -> list:
    """Every parameter form."""
    return [a, b, c, args, d, e, kw, wait(ready("end"))]

def outer():
    @coroutine
    def inner(x=1):
        return wait(ready(x))
    return inner

@coroutine
def main():
    return wait(every(1, "B", 2.5, 3, 4, d="D", z=0)), wait(every(0, d=None)), wait(outer()())
'''


def test_every_parameter_form_binds_as_in_python() -> None:
    assert result(program(SIGNATURE)) == (
        [1, "B", 2.5, (3, 4), "D", True, {"z": 0}, "end"],
        [0, "b", 1.5, (), None, True, {}, "end"],
        1,
    )


def test_generated_function_keeps_signature_name_qualname_doc_and_annotations() -> None:
    # The return annotation T says what a call returns: runtime.Future[T] (SPEC §2.4).
    machine = load(program(SIGNATURE), "machine")
    every = machine["every"]
    assert str(inspect.signature(every)) == (
        "(a: int, b: 'str' = 'b', /, c: float = 1.5, *args: int, d, e: bool = True, "
        "**kw: object) -> runtime.future.Future[list]"
    )
    assert (every.__name__, every.__qualname__, every.__doc__) == (
        "every",
        "every",
        "Every parameter form.",
    )
    assert every.__annotations__ == {
        "a": int,
        "b": "str",
        "c": float,
        "args": int,
        "e": bool,
        "kw": object,
        "return": runtime.Future[list],
    }
    assert machine["outer"]().__qualname__ == "outer.<locals>.inner"


def test_calling_with_wrong_arguments_fails_at_the_call_as_python_does() -> None:
    machine = load(program(SIGNATURE), "machine")
    try:
        machine["every"](1)
    except TypeError as e:
        assert "missing 1 required keyword-only argument: 'd'" in str(e)
    else:
        raise AssertionError("calling without a required argument must raise TypeError")


def test_recursion_through_wait() -> None:
    src = program("""
        @coroutine
        def fact(n):
            if n <= 1:
                return wait(ready(1))
            return n * wait(fact(n - 1))
        @coroutine
        def main():
            return wait(fact(6))
        """)
    assert result(src) == 720


def test_markers_recognised_through_aliases() -> None:
    src = """
from corofy import coroutine as co, wait as w

@co
def main():
    return w(pending(1, 3)) + w(ready(4))
"""
    assert result(src) == 7


def test_markers_recognised_through_corofy_module() -> None:
    src = """
import corofy

@corofy.coroutine
def main():
    return corofy.wait(ready(5))
"""
    assert result(src) == 5


def test_a_wait_that_is_not_corofys_is_an_ordinary_call() -> None:
    src = """
import corofy

def wait(x):
    return ("plain", x)

@corofy.coroutine
def main():
    return wait(1), corofy.wait(pending(1, 2))
"""
    assert result(src) == (("plain", 1), 2)


def test_coroutine_returned_future_is_a_runtime_future() -> None:
    import runtime

    src = program("""
        @coroutine
        def main():
            return wait(ready(1))
        """)
    machine = load(src, "machine")
    fut = machine["main"]()
    assert isinstance(fut, runtime.Future)
    assert not inspect.isgenerator(fut)


def test_explicit_dunder_class_in_a_method_coroutine() -> None:
    # __class__ is the cell zero-argument super() reads; user code may name it directly.
    src = program("""
        class C:
            @coroutine
            def m(self):
                wait(ready(None))
                return __class__.__name__
        @coroutine
        def main():
            return wait(C().m())
        """)
    assert result(src) == "C"


def test_user_global_named_like_a_generated_class_is_kept() -> None:
    src = program("""
        main_machine = "user's"
        @coroutine
        def main():
            return wait(ready(main_machine))
        """)
    assert result(src) == "user's"


def test_redefining_a_coroutine_leaves_the_first_definition_intact() -> None:
    src = program("""
        @coroutine
        def f():
            return wait(ready("first"))
        first = f
        @coroutine
        def f():
            return wait(ready("second"))
        @coroutine
        def main():
            return wait(first()), wait(f())
        """)
    assert result(src) == ("first", "second")


def test_coroutine_nested_in_a_method_uses_that_class_private_names() -> None:
    src = program("""
        class Box:
            __secret = "s"

            def __init__(self):
                self.__count = 1

            def make(self):
                @coroutine
                def inner(step):
                    self.__count += wait(ready(step))
                    wait(pending(1, None))
                    return self.__secret, self.__count
                return inner

        @coroutine
        def main():
            return wait(Box().make()(2))
        """)
    assert result(src) == ("s", 3)


def test_private_names_of_the_method_own_class_work_across_waits() -> None:
    src = program("""
        class Box:
            def __init__(self):
                self.__items = []

            @coroutine
            def add(self, value):
                __local = wait(ready(value))
                self.__items.append(__local)
                wait(pending(1, None))
                return list(self.__items), __local

        @coroutine
        def main():
            return wait(Box().add(5))
        """)
    assert result(src) == ([5], 5)


@pytest.mark.skipif(sys.version_info < (3, 12), reason="type statements are Python 3.12+")
def test_a_type_alias_statement_binds_a_local_that_lives_across_a_wait() -> None:
    # `type Pair = ...` binds Pair in the coroutine: kept across the wait like any local
    # (it was not seen as a binding: NameError after the wait). Its value is lazy.
    src = program("""
        @coroutine
        def main():
            type Pair = tuple[int, Later]
            v = wait(pending(1, 2))
            Later = str
            return Pair.__name__, Pair.__value__ == tuple[int, str], v
        """)
    assert result(src) == ("Pair", True, 2)


def test_builtins_the_generated_code_calls_may_be_bound_by_the_program() -> None:
    # Waiting loops and comprehensions call iter(), a set comprehension set(), a waiting
    # except clause's type check isinstance, type, tuple...; a program binding those names
    # (a local `type = ...`, a global `set = ...`) broke them: "'dict' object has no
    # attribute 'add'". The reference makes displays too (SPEC 2.1: the comprehension as a
    # loop in its own scope, not a call of whatever `set` is).
    src = program("""
        set = dict
        iter = list
        __helper = 5
        globals = None
        @coroutine
        def main():
            type = "tp"
            isinstance = tuple = all = issubclass = 0
            x = [wait(ready(q)) for q in range(2)]
            y = {wait(ready(q)) for q in range(2)}
            out = []
            for i in range(2):
                out.append(wait(pending(1, i)))
            try:
                wait(raising(KeyError, 1))
            except (wait(ready(ValueError)), KeyError) as e:
                out.append(e.args)
            return x, y, out, type, __helper
        """)
    assert result(src) == ([0, 1], {0, 1}, [0, 1, (1,)], "tp", 5)
