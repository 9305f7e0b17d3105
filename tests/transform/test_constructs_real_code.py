"""Constructs real async code uses that broke the transform (issue 10), each run against the
generator reference (reference.py), and the refusals that must say what to write instead."""

from __future__ import annotations

import pytest
from reference import program, result

from corofy.transform import CorofyError, transform_source


def test_a_bare_except_whose_handler_waits() -> None:
    # Printed `except as _e1:`.
    src = program("""
        import sys
        @coroutine
        def main():
            try:
                wait(raising(KeyError, 1, k=1))
            except:
                x = wait(pending(1, 5))
                return x, sys.exc_info()[0].__name__
        """)
    assert result(src) == (5, "KeyError")


def test_a_marker_import_inside_the_coroutine_body_is_dropped() -> None:
    src = program("""
        @coroutine
        def main():
            from corofy import wait as w, coroutine
            import corofy
            return w(pending(1, 2)), corofy.wait(ready(3))
        """)
    out = transform_source(src, "prog.py")
    assert not any(
        line.strip().startswith(("from corofy", "import corofy")) for line in out.splitlines()
    )
    assert result(src) == (2, 3)


def test_implicitly_concatenated_f_strings_with_a_wait() -> None:
    # Spilling one part of the concatenation made it a Name: AttributeError in libcst.
    src = program("""
        @coroutine
        def main():
            a, b = "x", ready("y")
            return f"{a}" "-" f"{wait(b)}{a!r:>5}" f"{wait(pending(1, 'z'))}"
        """)
    assert result(src) == "x-y  'x'z"


def test_a_walrus_as_the_future_of_a_wait() -> None:
    # `_f = x := f` is no statement.
    src = program("""
        @coroutine
        def main():
            f = pending(1, 3)
            wait(x := f)
            return wait(y := ready(4))
        """)
    assert result(src) == 4


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("    await x\n", "use wait(x) instead of await x"),
        ("    async with x:\n        pass\n", "instead of async with"),
        ("    async for y in x:\n        pass\n", "instead of async for"),
        ("    return [y async for y in x]\n", "instead of async for"),
    ],
    ids=["await", "async-with", "async-for", "async-comprehension"],
)
def test_async_syntax_in_a_coroutine_gets_corofys_message(body: str, says: str) -> None:
    # CPython's "'await' outside async function" says nothing of what to write instead.
    src = "from corofy import coroutine, wait\n@coroutine\ndef f(x):\n" + body
    with pytest.raises(CorofyError) as info:
        transform_source(src, "prog.py")
    assert says in info.value.message
    assert info.value.line == 4


def test_async_syntax_outside_any_coroutine_keeps_cpythons_message() -> None:
    src = "from corofy import coroutine, wait\ndef f(x):\n    await x\n"
    with pytest.raises(CorofyError) as info:
        transform_source(src, "prog.py")
    assert info.value.message == "'await' outside async function"


def test_super_and_private_names_in_a_class_defined_inside_a_coroutine_method() -> None:
    # That super() and __class__ belong to the nested class (were refused); its private
    # names are mangled for it, not for the method's class.
    src = program("""
        class Base:
            def hello(self):
                return "base"
        class A:
            __secret = 7
            @coroutine
            def m(self, x):
                y = wait(pending(1, x))
                class B(Base):
                    __own = 3
                    def hello(self):
                        return super().hello() + str(y) + str(self.__own) + str(B.__own)
                    def cls(self):
                        return __class__.__name__
                return B().hello(), B().cls(), self.__secret
        @coroutine
        def main():
            return wait(A().m(5))
        """)
    assert result(src) == ("base533", "B", 7)


def test_a_private_module_global_in_a_coroutine_outside_any_class() -> None:
    # Python does not mangle __helper outside a class; the generated class would have.
    src = program("""
        __helper = lambda v: v * 2
        __count = 0
        @coroutine
        def main():
            global __count
            __count += 1
            y = wait(pending(1, __helper(3)))
            f = lambda: __helper(y)
            __count += wait(ready(1))
            return y, f(), __count
        """)
    assert result(src) == (6, 12, 2)


def test_an_unbound_private_module_global_read_or_deleted_raises_name_error() -> None:
    # Read, deleted or augmented while unbound, it raised the namespace's KeyError.
    src = program("""
        @coroutine
        def main():
            global __gone
            seen = []
            for attempt in ("read", "del", "augment"):
                try:
                    wait(ready(0))
                    if attempt == "read":
                        seen.append(__gone)
                    elif attempt == "del":
                        del __gone
                    else:
                        __gone += wait(ready(1))
                except NameError as e:
                    seen.append((attempt, str(e), e.name))
            __gone = wait(ready(5))
            seen.append(__gone)
            del __gone
            return seen
        """)
    assert result(src) == [
        ("read", "name '__gone' is not defined", "__gone"),
        ("del", "name '__gone' is not defined", "__gone"),
        ("augment", "name '__gone' is not defined", "__gone"),
        5,
    ]


def test_private_module_globals_bound_by_every_kind_of_target() -> None:
    src = program("""
        @coroutine
        def main():
            global __t
            seen = []
            for __t in [wait(ready(1)), 2]:
                seen.append(__t)
            a, (__t, *b) = 0, (wait(ready(3)), 4)
            seen.append(__t)
            with cm("m") as __t:
                seen.append(__t)
            __t = wait(ready(6))
            seen.append(__t)
            __t = [0]
            __t[0] = wait(ready(7))
            seen.append(__t)
            return seen
        """)
    assert result(src) == [1, 2, 3, "m", 6, [7]]


def test_a_wait_in_an_f_string_format_spec_runs_after_the_fields_expression() -> None:
    # Was refused; §2.2 lists f-strings without exception.
    src = program("""
        @coroutine
        def main():
            x = 3.14159
            return (f"[{note('x', x):{note('w', wait(pending(1, 8)))}.{wait(ready(2))}f}]"
                    f"{wait(ready('!'))}")
        """)
    assert result(src) == "[    3.14]!"
