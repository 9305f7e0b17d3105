"""Any layout CPython accepts (SPEC §2.2's layout bullet): code written over several lines,
bodies on their header's line, line ends other than \\n, files libcst cannot read. Each
program runs against the generator reference (reference.py) unless it is about the text."""

from __future__ import annotations

import re

import pytest
from reference import assert_same, outcome, program, result

from corofy.transform import transform_source
from runtime._line_table import line_table

HEADER = "from corofy import coroutine, wait\n"
BREAK = re.compile(r"\r\n|\r|\n")


def code_lines(output: str) -> list[str]:
    """The output's lines that are code (comments dropped)."""
    return [line for line in BREAK.split(output) if not line.lstrip().startswith("#")]


def test_a_wait_written_over_several_lines_keeps_its_newlines_out_of_comments() -> None:
    # 13.7% of real coroutines: `return wait(g(\n x))` put a line of the call into the
    # one-line comment naming the state, and the rest of it outside.
    src = HEADER + (
        "def g(x):\n"
        "    return ready(x)\n"
        "@coroutine\n"
        "def main(x=1):\n"
        "    y = (\n"
        "        wait(pending(1, x))\n"
        "    )\n"
        "    return wait(g(\n"
        "        y + 1))\n"
    )
    assert result(src) == 2


def test_a_triple_quoted_argument_of_a_wait_keeps_its_text() -> None:
    src = HEADER + (
        '@coroutine\ndef main():\n    r = wait(pending(1, """\n SELECT \'x\'\n"""))\n    return r\n'
    )
    assert result(src) == "\n SELECT 'x'\n"


def test_a_continuation_line_indented_less_than_its_statement() -> None:
    src = HEADER + (
        "def h(a, b):\n"
        "    return pending(1, a + b)\n"
        "@coroutine\n"
        "def main():\n"
        "    try:\n"
        "        x = wait(h(1,\n"
        "    2))\n"
        "    finally:\n"
        "        print('f')\n"
        "    return x\n"
    )
    assert result(src) == 3


def test_a_chained_comparison_over_several_lines_spilled_into_pieces() -> None:
    # Each piece of the chain is taken out of the brackets that held its line breaks.
    src = HEADER + (
        "@coroutine\n"
        "def main(b=1, c=1):\n"
        "    x = (wait(pending(1, 1))\n"
        "         == b\n"
        "         == c)\n"
        "    y = g(b\n"
        "          + 1, wait(ready(2)))\n"
        "    return x, y\n"
        "def g(*a):\n"
        "    return a\n"
    )
    assert result(src) == (True, (2, 2))


def test_pieces_taken_out_of_brackets_keep_their_line_breaks_in_parentheses() -> None:
    # A dict comprehension's value becomes `_t[k] = value` and an annotated target's index
    # an expression statement: a line break (after a comment) that only the brackets
    # around them allowed gave "unexpected indent" in the generated code.
    src = HEADER + (
        "@coroutine\n"
        "def main():\n"
        "    c = {x: note #\n"
        "         ('v', wait(ready(x)))\n"
        "         for x in range(2)}\n"
        "    d = {}\n"
        "    d[wait(ready(1)) #c\n"
        "      + note(1)]: int\n"
        "    return c, d\n"
    )
    assert result(src) == ({0: 0, 1: 1}, {})


def test_a_docstring_joined_by_a_semicolon_to_the_statements_after_it() -> None:
    # `"doc"; return wait(f)` on the body's first line: the whole line was taken for the
    # docstring (kept in the wrapper), so the machine ran an empty body and returned None.
    src = HEADER + (
        "@coroutine\ndef main():\n    'doc'; x = wait(pending(1, 2)); return x, main.__doc__\n"
    )
    assert result(src) == (2, "doc")


def test_continuation_lines_inside_the_class_map_to_their_own_lines() -> None:
    # A multi-line expression in a generated `if`/`while` header counts as all its lines:
    # the generated -> original line map stays right after it.
    src = HEADER + (
        "@coroutine\n"
        "def main(a=1):\n"
        "    while (a and\n"
        "           a < 3):\n"
        "        a += wait(ready(1))\n"
        "    raise ValueError(a)\n"
    )
    out = transform_source(src, "prog.py")
    namespace: dict = {}
    exec(compile(out, "prog.py", "exec"), namespace)
    lines = line_table(namespace["__corofy_lines__"])
    generated = BREAK.split(out)
    raising = [k for k, text in enumerate(generated, 1) if text.strip() == "raise ValueError(a)"]
    assert raising and {lines.get(k) for k in raising} == {7}
    assert outcome(assert_same(src))[0] == "raise"


def test_bodies_on_their_headers_line_lower_like_indented_ones() -> None:
    # Were refused ("wait() inside Return is not supported") or printed a `break` outside
    # its loop.
    src = program("""
        @coroutine
        def f(x): "doc"; return wait(ready(x))
        @coroutine
        def main():
            r = []
            i = 0
            while True:
                i += 1
                if i > 4: break
                if i == 2: continue
                r.append(wait(pending(1, i)))
            try: z = wait(pending(1, 5))
            finally: print("f")
            while i < 7: i += wait(ready(1))
            if r: y = wait(ready(i))
            if z: return wait(f(r)), y, z, f.__doc__
        """)
    assert result(src) == ([1, 3, 4], 7, 5, "doc")


def test_a_stub_on_its_def_line_is_a_coroutine_too() -> None:
    # `def f(x): ...` (@overload stubs, Protocols) crashed libcst's printer.
    src = program("""
        from typing import overload
        @overload
        @coroutine
        def f(x: int) -> int: ...
        @coroutine
        def f(x): return wait(ready(x))
        @coroutine
        def main(): return wait(f(3))
        """)
    assert result(src) == 3


@pytest.mark.parametrize("newline", ["\r\n", "\r"], ids=["crlf", "lone-cr"])
def test_output_keeps_the_line_ends_of_its_input(newline: str) -> None:
    src = program('''
        import os
        @coroutine
        def main(x=1):
            """doc\rstring"""
            y = [1,
                 2]
            z = wait(pending(1, (3,
                4)))
            if x: return wait(ready(y)), z, main.__doc__
        import sys
        ''').replace("\n", newline)
    out = transform_source(src, "prog.py")
    assert set(BREAK.findall(out)) == {newline}
    code = code_lines(out)
    assert "import os" in code and "import sys" in code and "@coroutine" not in code
    assert not any("from corofy" in line for line in code)
    assert result(src) == ([1, 2], (3, 4), "doc\nstring")


def test_a_lone_carriage_return_in_a_docstring_does_not_shift_the_splice() -> None:
    # The splice counted lines at \n only while libcst counts \r too: the output kept
    # @coroutine and the marker import and dropped the import after the coroutine.
    src = (
        HEADER
        + '@coroutine\ndef main():\n    """a\rb"""\n    return wait(ready(1))\nimport os\nimport sys\n'
    )
    out = transform_source(src, "prog.py")
    code = code_lines(out)
    assert "import os" in code and "import sys" in code
    assert "@coroutine" not in code and HEADER.strip() not in code
    assert result(src) == 1


def test_a_backslash_continuation_before_a_semicolon() -> None:
    # The first statement's text kept its `\`, joining the next generated line to it.
    src = HEADER + (
        "@coroutine\n"
        "def main(n):\n"
        "    n = 1 \\\n"
        " ; print(0)\n"
        "    x = wait(ready(n)) \\\n"
        "        ; y = n \\\n"
        "  ; print(y)\n"
        "    return x, y\n"
    )
    assert result(src, args=(3,)) == (1, 1)


@pytest.mark.parametrize("newline", ["\r\n", "\r"], ids=["crlf", "lone-cr"])
def test_nested_coroutines_in_a_file_with_other_line_ends(newline: str) -> None:
    # The enclosing statement's text was split at \n only: a nested coroutine's placeholder
    # line was never found in a lone-CR file (NameError at run time).
    src = program("""
        @coroutine
        def main(n):
            a = n
            class K:
                @staticmethod
                @coroutine
                def inner(v):
                    nonlocal a
                    a = 0
                    return (v, a)
            @coroutine
            def inner2(v):
                return wait(ready(v))
            return ('main', a, wait(K.inner(1)), wait(inner2(2)), a)
        """).replace("\n", newline)
    assert result(src, args=(3,)) == ("main", 3, (1, 0), 2, 0)


def test_a_nested_def_after_a_blank_line_and_a_comment_maps_to_its_own_lines() -> None:
    # The blank line above it was dropped from the printed text but still counted: every
    # line of the def mapped one line too high.
    src = HEADER + (
        "@coroutine\n"
        "def main(n):\n"
        "    a = n\n"
        "\n"
        "    # comment\n"
        "    def helper():\n"
        "        raise ValueError(a)\n"
        "    x = wait(n)\n"
        "    return helper()\n"
    )
    out = transform_source(src, "prog.py")
    namespace: dict = {}
    exec(compile(out, "prog.py", "exec"), namespace)
    lines = line_table(namespace["__corofy_lines__"])
    found = {
        text.strip(): lines.get(k)
        for k, text in enumerate(BREAK.split(out), 1)
        if not text.lstrip().startswith("#") or text.strip() == "# comment"
    }
    assert found["# comment"] == 6 and found["def helper():"] == 7
    assert (
        lines.get(
            next(
                k
                for k, t in enumerate(BREAK.split(out), 1)
                if t.strip().startswith("raise ValueError(")
            )
        )
        == 8
    )


@pytest.mark.parametrize(
    "source",
    [
        pytest.param(
            "\f\n@coroutine\ndef main():\n\f    x = wait(pending(1, 2))\n    \f\n\f    return x\n",
            id="first_body_line",
        ),
        pytest.param(
            "class A:\n\f    @coroutine\n\f    def m(self):\n\f        x = wait(pending(1, 2))\n"
            "\f        if x:\n\f\f            x += wait(ready(1))\n\f        return x\n"
            "@coroutine\ndef main():\n    return wait(A().m())\n",
            id="method",
        ),
    ],
)
def test_a_form_feed_before_the_indentation_is_not_repeated_per_level(source: str) -> None:
    # CPython counts the indentation after a form feed at a line's start; libcst's indent
    # unit kept it ("\f    "), and the generated code repeated it on each level, where each
    # one undid the indentation before it: output that does not compile.
    src = HEADER + source
    compile(src, "prog.py", "exec")
    assert outcome(assert_same(src))[0] == "return"
