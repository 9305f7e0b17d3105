"""What corofy refuses (SPEC §2.3): ``path:line:col: error: message``, 1-based like CPython
and ruff, and CPython's own message and position for syntax errors.

Positions are those of the offending node's first character: line and column both count
from 1, and the column counts characters (not UTF-8 bytes), as ruff and CPython's
``SyntaxError.offset`` does for parser errors. (CPython's compiler-stage errors, such as
"'yield' outside function", count UTF-8 bytes instead: ``x = "ééé" + (yield)`` reports
offset 17 where the character column is 14. corofy follows ruff and the parser.) The cases
marked "by hand" were counted against the source text.
"""

from __future__ import annotations

import re
import textwrap

import pytest

PATH = "pkg/mod.py"
HEADER = "from corofy import coroutine, wait\n"


def refusal(source: str, path: str = PATH):
    from corofy.transform import CorofyError, transform_source

    with pytest.raises(CorofyError) as info:
        transform_source(source, path)
    return info.value


def check(source: str, line: int, col: int | None = None) -> str:
    """Refused at ``line`` (and ``col``): str() and the attributes agree; return the message."""
    error = refusal(source)
    text = str(error)
    match = re.fullmatch(r"(.+?):(\d+):(\d+): error: (.+)", text, re.DOTALL)
    assert match, f"not a path:line:col: error: message: {text!r}"
    assert match.group(1) == PATH == error.filename
    assert int(match.group(2)) == line == error.line, text
    if col is not None:
        assert int(match.group(3)) == col == error.col, text
    assert match.group(4) == error.message and error.message.strip()
    return error.message


def src(body: str) -> str:
    return HEADER + textwrap.dedent(body)


# Line 1 is the marker import; the program bodies below start on line 2.


def test_yield_inside_coroutine_is_refused_at_the_yield() -> None:
    # by hand: line 4 is "    x = yield 1", the yield starts at column 9
    check(src("@coroutine\ndef f():\n    x = yield 1\n"), 4, 9)


def test_yield_from_inside_coroutine_is_refused() -> None:
    check(src("@coroutine\ndef f():\n    yield from g()\n"), 4, 5)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("    x = yield 1\n", "yield inside a @coroutine: "),
        ("    yield from g()\n", "yield from inside a @coroutine: "),
        ("    return await g()\n", "await inside a @coroutine: "),
    ],
    ids=["yield", "yield-from", "await"],
)
def test_a_suspension_other_than_wait_is_refused_saying_what_to_write_instead(
    body: str, says: str
) -> None:
    message = refusal(src("@coroutine\ndef f():\n" + body)).message
    assert message.startswith(says), message
    construct = says.removesuffix(" inside a @coroutine: ")
    assert f"use wait(x) instead of {construct} x" in message, message


def test_await_inside_coroutine_is_refused() -> None:
    check(src("@coroutine\ndef f():\n    return await g()\n"), 4, 12)


def test_async_for_inside_coroutine_is_refused() -> None:
    check(src("@coroutine\ndef f():\n    async for x in g():\n        pass\n"), 4, 5)


def test_async_with_inside_coroutine_is_refused() -> None:
    check(src("@coroutine\ndef f():\n    async with g():\n        pass\n"), 4, 5)


def test_coroutine_on_async_def_is_refused() -> None:
    error = refusal(src("@coroutine\nasync def f():\n    pass\n"))
    assert error.line in (2, 3)


def test_coroutine_on_a_generator_is_refused() -> None:
    error = refusal(src("@coroutine\ndef f():\n    wait(g())\n    yield 1\n"))
    assert error.line in (2, 3, 5)


def test_wait_outside_any_coroutine_is_refused_at_the_call() -> None:
    check(src("def f():\n    return 1 + wait(g())\n"), 3, 16)


def test_wait_at_module_level_is_refused() -> None:
    check(src("x = wait(g())\n"), 2, 5)


def test_wait_in_default_argument_of_a_coroutine_is_refused() -> None:
    # a default is evaluated when the def runs, outside the coroutine
    check(src("@coroutine\ndef f(x=wait(g())):\n    pass\n"), 3, 9)


def test_wait_inside_lambda_within_coroutine_is_refused() -> None:
    check(src("@coroutine\ndef f():\n    h = lambda: wait(g())\n"), 4, 17)


def test_wait_inside_nested_def_within_coroutine_is_refused() -> None:
    check(src("@coroutine\ndef f():\n    def h():\n        return wait(g())\n"), 5, 16)


def test_wait_inside_class_within_coroutine_is_refused() -> None:
    check(src("@coroutine\ndef f():\n    class C:\n        x = wait(g())\n"), 5, 13)


def test_wait_inside_generator_expression_within_coroutine_is_refused() -> None:
    check(src("@coroutine\ndef f():\n    return sum(wait(x) for x in g())\n"), 4, 16)


@pytest.mark.parametrize(
    "call, col",
    [("wait()", 5), ("wait(a, b)", 5), ("wait(x=a)", 5), ("wait(*a)", 5), ("wait(a, x=b)", 5)],
)
def test_wait_without_exactly_one_positional_argument_is_refused(call: str, col: int) -> None:
    check(src(f"@coroutine\ndef f(a, b):\n    {call}\n"), 4, col)


def test_rebinding_wait_by_assignment_is_refused() -> None:
    check(src("wait = print\n"), 2, 1)


def test_rebinding_coroutine_inside_a_coroutine_is_refused() -> None:
    check(src("@coroutine\ndef f():\n    coroutine = 1\n"), 4, 5)


def test_rebinding_wait_as_a_parameter_is_refused() -> None:
    error = refusal(src("@coroutine\ndef f(wait):\n    return 1\n"))
    assert error.line == 3


def test_rebinding_a_marker_by_def_is_refused() -> None:
    error = refusal(src("def wait(x):\n    return x\n"))
    assert error.line == 2


def test_column_counts_characters_not_bytes() -> None:
    # by hand: 'x = "ééé" + wait(g())' — wait starts at the 13th character (byte 16)
    check(src('x = "ééé" + wait(g())\n'), 2, 13)


def test_refusal_inside_a_method_reports_its_own_line() -> None:
    source = src("""
        class C:
            @coroutine
            def m(self):
                yield 2
        """)
    # lines: 1 import, 2 blank (dedent keeps the leading newline), 3 class, 4 deco, 5 def, 6 yield
    check(source, 6, 9)


def test_error_names_the_path_it_was_given() -> None:
    error = refusal(src("x = wait(g())\n"), path="some/other.py")
    assert str(error).startswith("some/other.py:2:5: error: ")


@pytest.mark.parametrize(
    "source",
    [
        "def f(:\n    pass\n",
        "x = (1,\n",
        "if True:\npass\n",
        "  x = 1\n",
        "x = = 2\n",
        "f(**x, *y)\n",
        'x = "ééé" + = 2\n',  # the parser's offset counts characters: 13, not byte 16
    ],
)
def test_syntax_error_carries_cpythons_message_and_position(source: str) -> None:
    with pytest.raises(SyntaxError) as info:
        compile(source, PATH, "exec", dont_inherit=True)
    expected = info.value
    error = refusal(source)
    assert (error.line, error.col, error.message) == (
        expected.lineno,
        expected.offset,
        expected.msg,
    )
    assert str(error) == f"{PATH}:{expected.lineno}:{expected.offset}: error: {expected.msg}"


def test_syntax_error_inside_a_coroutine_is_reported_as_cpython_does() -> None:
    source = src("@coroutine\ndef f():\n    x = wait(g()\n")
    with pytest.raises(SyntaxError) as info:
        compile(source, PATH, "exec", dont_inherit=True)
    error = refusal(source)
    assert (error.line, error.col) == (info.value.lineno, info.value.offset)


def test_accepted_source_without_coroutines_is_kept_byte_for_byte() -> None:
    from corofy.transform import transform_source

    source = "import os\n\n\ndef f( a ,b ):  # odd spacing kept\n    return a+b\n"
    assert transform_source(source, PATH) == source


# Markers used other than as a decorator or a call: the generated code imports no corofy,
# so accepting these would write a module that fails with NameError (silently wrong code).


def test_coroutine_on_a_class_is_refused() -> None:
    check(src("@coroutine\nclass C:\n    pass\n"), 2)


def test_marker_read_as_a_value_at_module_level_is_refused() -> None:
    check(src("x = coroutine\n"), 2, 5)


def test_wait_read_as_a_value_inside_a_coroutine_is_refused() -> None:
    check(src("@coroutine\ndef f():\n    return wait\n"), 4, 12)


def test_rebinding_wait_by_import_inside_a_coroutine_is_refused() -> None:
    check(src("@coroutine\ndef f():\n    import wait\n"), 4)


def test_private_attribute_in_a_coroutine_outside_any_class_is_refused() -> None:
    # by hand: line 4 is "    return wait(obj.__x)"; the attribute starts at column 17
    message = check(src("@coroutine\ndef f(obj):\n    return wait(obj.__x)\n"), 4, 17)
    assert "'__x'" in message and "mangle" in message


def test_private_local_of_a_coroutine_outside_any_class_is_fine() -> None:
    from corofy.transform import transform_source

    transform_source(src("@coroutine\ndef f(x):\n    __y = wait(x)\n    return __y\n"), PATH)


def test_zero_argument_super_in_a_function_nested_in_a_coroutine_method_is_refused() -> None:
    source = src("""
        class C:
            @coroutine
            def m(self):
                wait(self.f)
                def g(x):
                    return super().hello()
                return g(self)
        """)
    # by hand: line 8 is "            return super().hello()"; super starts at column 20
    assert "super(Class, obj)" in check(source, 8, 20)


def test_zero_argument_super_in_a_coroutine_nested_in_a_coroutine_method_is_refused() -> None:
    source = src("""
        class C:
            @coroutine
            def m(self):
                @coroutine
                def inner(obj):
                    return wait(super().f)
                return wait(inner(self))
        """)
    # by hand: line 8 is "            return wait(super().f)"; super starts at column 25;
    # the nested machine is defined in C's machine, whose class __class__ would name
    check(source, 8, 25)
