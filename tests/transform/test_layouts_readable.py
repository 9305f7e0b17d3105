"""Layouts CPython accepts that libcst cannot read, or reads as other text (readable.py).

A line holding only a backslash, indentation with a tab after spaces, ``except E \\`` with its
``:`` on the next line: each file transforms through a layout libcst reads, its coroutines
behave as their generator reference, its other code stays byte for byte, and the generated
comments and refusals name the source's own lines and columns.
"""

from __future__ import annotations

import re

import pytest
from reference import result

from corofy.transform import CorofyError, transform_source
from runtime._line_table import line_table

HEADER = "from corofy import coroutine, wait\n"
BREAK = re.compile(r"\r\n|\r|\n")


@pytest.mark.parametrize(
    ("source", "n", "expected"),
    [
        ("\\\n@coroutine\ndef main(n):\n    return wait(ready(n))\n", 2, 2),
        ("@coroutine\ndef main(n):\n    n = 1\n    \\\nreturn wait(ready(n))\n", 2, 1),
        ("@coroutine\ndef main(n):\n    \\\nn = wait(ready(n))\n    return n\n", 2, 2),
        # The backslash's indentation decides: the return is the if's, not the def's.
        (
            "@coroutine\ndef main(n):\n    if n:\n        \\\nreturn wait(ready(n))\n    return 0\n",
            0,
            0,
        ),
        # Two of them, the first at column 0: the statement's own indentation counts.
        ("@coroutine\ndef main(n):\n\\\n\\\n    return wait(ready(n))\n", 3, 3),
        # libcst reads the wait into the nested def (a refusal): only the layout decides.
        (
            "@coroutine\ndef main(n):\n    def poke(v):\n        return v\n"
            "    \\\na = wait(ready(n))\n    return poke(a)\n",
            4,
            4,
        ),
    ],
    ids=[
        "module-level",
        "in-body",
        "first-in-body",
        "deeper-than-the-line",
        "column-0-twice",
        "after-a-nested-def",
    ],
)
def test_a_line_holding_only_a_backslash_before_a_statement_transforms_and_runs(
    source: str, n: int, expected: int
) -> None:
    src = HEADER + source
    compile(src, "prog.py", "exec")
    assert result(src, args=(n,)) == expected


def test_a_line_holding_only_a_backslash_outside_coroutines_stays_as_written() -> None:
    before = "x = 1\n\\\ny = 2\nif x:\n    \\\nz = 3\n"
    after = "def after():\n    if x:\n        pass\n        \\\nreturn 4\n"
    src = (
        HEADER
        + before
        + ("@coroutine\ndef main(n):\n    return wait(ready(n + x + y + z + after()))\n")
        + after
    )
    out = transform_source(src, "prog.py")
    assert before in out and after in out
    assert result(src, args=(1,)) == 11


# A tab, then spaces: CPython counts the tab to column 8 (so 12 in all, deeper than 4);
# libcst's tokenizer finds "no matching outer block for dedent".
TAB_THEN_SPACES = (
    "def g(x):\n    if x:\n\t    y = 2\n\t    if y:\n\t        return y\n    return 3\n"
)


def test_indentation_with_a_tab_then_spaces_transforms_and_runs() -> None:
    src = HEADER + (
        "@coroutine\n"
        "def main(n):\n"
        "    if n:\n"
        "\t    x = wait(ready(n))\n"
        "\t    if x > 1:\n"
        "\t        return g(x) + x\n"
        "    return 0\n" + TAB_THEN_SPACES
    )
    compile(src, "prog.py", "exec")
    out = transform_source(src, "prog.py")
    assert TAB_THEN_SPACES in out
    assert [result(src, args=(n,)) for n in (0, 1, 2)] == [0, 0, 4]


def test_a_coroutine_method_in_a_tab_indented_class_keeps_the_class_indentation() -> None:
    # The layout libcst reads is indented with spaces; the generated method goes back into
    # a class indented with a tab, so it must be indented with that tab, or CPython's
    # TabError check refuses the class. (The lone backslash makes libcst misread the file.)
    src = HEADER + (
        "class K:\n"
        "\tbase = 10\n"
        "\t@coroutine\n"
        "\tdef m(self, n):\n"
        "\t\tif n:\n"
        "\t\t\treturn wait(ready(n)) + self.base\n"
        "\t\treturn self.base\n"
        "\tdef plain(self):\n"
        "\t\t\\\nreturn self.base + 1\n"
        "@coroutine\n"
        "def main(n):\n"
        "    return wait(K().m(n)) + K().plain()\n"
    )
    compile(src, "prog.py", "exec")
    assert result(src, args=(2,)) == 23


def test_except_with_its_colon_after_a_backslash_continuation_transforms_and_runs() -> None:
    # libcst prints `except KeyError \` + newline + `:` back as `except KeyError:`.
    plain = "def plain():\n    try:\n        pass\n    except OSError \\\n    :\n        pass\n"
    src = (
        HEADER
        + (
            "@coroutine\n"
            "def main(n):\n"
            "    try:\n"
            "        {}[wait(ready(n))]\n"
            "    except KeyError \\\n"
            ":\n"
            "        return 'caught', wait(ready(n))\n"
        )
        + plain
    )
    compile(src, "prog.py", "exec")
    out = transform_source(src, "prog.py")
    assert plain in out
    assert result(src, args=(5,)) == ("caught", 5)


@pytest.mark.parametrize(
    "pattern",
    [
        "{'k': v, ** #c\n              rest}",
        "{'k': v, **\n              rest}",
        "{'k': v, **\n\n              # a comment line\n              rest}",
        "{'k': v, ** \\\n  # after a backslash\n              rest}",
        "({'k': v, **  # c\n  rest})",
        "{'k': v, ** #c\n rest} if {**\n rest} == rest",
        "[{'k': v, ** #c\n  rest}, *_] | {'k': v, **\n  rest}",
    ],
    ids=[
        "comment",
        "bare-break",
        "blank-and-comment-lines",
        "backslash-then-comment-line",
        "in-parentheses",
        "and-in-the-guard",
        "in-a-sequence-and-an-or",
    ],
)
@pytest.mark.parametrize("line_end", ["\n", "\r\n", "\r"], ids=["lf", "crlf", "cr"])
def test_a_line_break_after_the_double_star_of_a_mapping_pattern(
    pattern: str, line_end: str
) -> None:
    # libcst reads `**` + line break + name in a mapping pattern as `**name`, dropping the
    # comment and the break (SPEC 2.2: any layout CPython accepts): the case transforms,
    # and the file outside the coroutine stays as written.
    plain = f"def plain(m):\n    match m:\n        case {pattern}:\n            return rest\n"
    src = (
        HEADER
        + (
            "@coroutine\n"
            "def main(m):\n"
            "    match wait(ready(m)):\n"
            f"        case {pattern}:\n"
            "            return wait(ready(sorted(rest))), v\n"
            "    return 'no match'\n"
        )
        + plain
    )
    src = src.replace("\n", line_end)
    compile(src, "prog.py", "exec")
    out = transform_source(src, "prog.py")
    assert plain.replace("\n", line_end) in out
    assert result(src, args=({"k": 1, "b": 2, "a": 3},)) == (["a", "b"], 1)
    assert result(src, args=([1],)) == "no match"


@pytest.mark.parametrize(
    "comprehension",
    [
        "[a async #c\n      for a in b]",
        "{a: 1 async\n  for a in b}",
        "[a for c in b async  # c\n  for a in c]",
    ],
    ids=["list-comment", "dict-break", "second-for-comment"],
)
def test_a_line_break_after_async_in_an_async_comprehension_of_the_file(
    comprehension: str,
) -> None:
    # libcst fails on it with an AttributeError (corofy said "internal error"): the file
    # transforms, the async def stays as written.
    plain = f"async def g(b):\n    return {comprehension}\n"
    src = HEADER + plain + "@coroutine\ndef main(n):\n    return wait(ready(n))\n"
    compile(src, "prog.py", "exec")
    out = transform_source(src, "prog.py")
    assert plain in out
    assert result(src, args=(3,)) == 3


def test_a_line_break_after_async_in_a_coroutine_is_refused_as_async_for_is() -> None:
    # Refused with corofy's message where the same comprehension on one line is, not
    # with CPython's "outside of an asynchronous function".
    def refusal(comprehension: str) -> CorofyError:
        src = (
            HEADER
            + f"@coroutine\ndef main(b):\n    x = wait(ready(b))\n    return {comprehension}\n"
        )
        with pytest.raises(CorofyError) as info:
            transform_source(src, "prog.py")
        return info.value

    one_line = refusal("[a async for a in b]")
    broken = refusal("[a async  # c\n  for a in b]")
    assert "async comprehension inside a @coroutine" in one_line.message
    assert (broken.line, broken.col, broken.message) == (
        one_line.line,
        one_line.col,
        one_line.message,
    )


def test_wait_comments_and_the_line_map_name_the_source_lines() -> None:
    # Each line keeps its number in the layout libcst reads: the state comments and the
    # generated -> original line map say the source's lines.
    src = HEADER + (
        "x = 1\n"
        "\\\n"
        "@coroutine\n"
        "def main(n):\n"
        "    if n:\n"
        "    \ta = wait(ready(n))\n"
        "    \\\n"
        "return wait(ready(n + 1))\n"
    )
    out = transform_source(src, "prog.py")
    assert "# wait(ready(n)): state 1, line 7" in out
    assert "# wait(ready(n + 1)): state 2, line 9" in out
    namespace: dict = {}
    exec(compile(out, "prog.py", "exec", dont_inherit=True), namespace)
    lines = line_table(namespace["__corofy_lines__"])
    assert lines is not None and {7, 9} <= set(lines.values())


def test_lone_carriage_return_line_ends_in_such_a_layout() -> None:
    # libcst prints such a file back without its last line end: that is no misreading.
    src = (HEADER + "\\\n@coroutine\ndef main(n):\n    return wait(ready(n))\n").replace("\n", "\r")
    assert result(src, args=(2,)) == 2


@pytest.mark.parametrize(
    "rest",
    ["def g():\n    if x:\n\t    y = 2\n    z = 3\n", "x = 1\n\\\ny = 2\n"],
    ids=["tab-then-spaces", "lone-backslash"],
)
def test_a_file_without_coroutines_in_such_a_layout_loses_only_its_marker_import(
    rest: str,
) -> None:
    src = HEADER + rest
    compile(src, "prog.py", "exec")
    out = transform_source(src, "prog.py")
    assert rest in out and "corofy import" not in out
    compile(out, "prog.py", "exec")


def test_a_refusal_in_such_a_file_points_at_the_source_line_and_column() -> None:
    src = HEADER + "@coroutine\ndef main(n):\n    if n:\n\t    x = yield n\n    \\\nreturn n\n"
    compile(src, "prog.py", "exec")
    with pytest.raises(CorofyError) as info:
        transform_source(src, "prog.py")
    assert (info.value.line, info.value.col) == (5, 10)  # the yield, counted in the source
    assert "yield" in info.value.message


def test_a_global_declaration_continued_after_its_semicolon() -> None:
    # The declaration is printed again at the top of each generated function: with its
    # `; \` it joined the next generated line (a class holding a nested coroutine).
    src = HEADER + (
        "G = 0\n"
        "@coroutine\n"
        "def main(n):\n"
        "    global G ; \\\n"
        " G = n\n"
        "    class K:\n"
        "        @staticmethod\n"
        "        @coroutine\n"
        "        def inner(v):\n"
        "            return wait(ready(v)) + G\n"
        "    return wait(K.inner(n))\n"
    )
    assert result(src, args=(2,)) == 4


@pytest.mark.parametrize(
    ("comprehension", "expected"),
    [
        ("[d[:] for d\n        [wait(ready(0))] in [n, n + 1]]", [[1, 0], [2, 0]]),
        ("[wait(ready(d[:])) for d\n        [1] in [n, n + 1]]", [[0, 1], [0, 2]]),
    ],
    ids=["the-target-waits", "the-element-waits"],
)
def test_a_comprehension_target_written_over_two_lines_in_a_waiting_comprehension(
    comprehension: str, expected: list
) -> None:
    # The comprehension becomes a loop: its target, stored by a statement of its own or
    # the loop's, has a line break that only the brackets allowed: it is parenthesised.
    src = HEADER + f"@coroutine\ndef main(n):\n    d = [0, 0]\n    return {comprehension}\n"
    assert result(src, args=(1,)) == expected


@pytest.mark.parametrize(
    "coroutine",
    [
        "@coroutine\ndef main(n):\n    a = n\n\\\n    return wait(ready(a))\n",
        "@coroutine\ndef main(n):\n    if n:\n\t    n = wait(ready(n))\n    return n\n",
        "@coroutine\ndef main(n):\n    try:\n        {}[n]\n    except KeyError \\\n    :\n"
        "        return wait(ready(n))\n",
    ],
    ids=["lone-backslash", "tab-then-spaces", "except-colon-after-backslash"],
)
def test_the_header_comment_quotes_the_coroutine_as_the_source_writes_it(
    coroutine: str,
) -> None:
    src = HEADER + coroutine
    compile(src, "prog.py", "exec")
    out = transform_source(src, "prog.py")
    quoted = [f"#     {line}".rstrip() for line in coroutine.splitlines()]
    header = out.splitlines()
    start = header.index(quoted[0])
    assert header[start : start + len(quoted)] == quoted
    assert result(src, args=(2,)) == 2


def test_the_header_comment_of_a_method_quotes_its_source_lines_dedented() -> None:
    src = HEADER + (
        "class K:\n"
        "    @coroutine\n"
        "    def m(self, n):\n"
        "        if n:\n"
        "    \t    n = wait(ready(n))\n"
        "        \\\n"
        "return n\n"
    )
    compile(src, "prog.py", "exec")
    out = transform_source(src, "prog.py")
    expected = [
        "    #     @coroutine",
        "    #     def m(self, n):",
        "    #         if n:",
        "    #     \t    n = wait(ready(n))",
        "    #         \\",
        "    #     return n",
    ]
    lines = out.splitlines()
    start = lines.index(expected[0])
    assert lines[start : start + len(expected)] == expected


def test_a_lone_backslash_layout_is_parsed_by_libcst_once(monkeypatch) -> None:
    # libcst never reads such a line as written: the transform goes to the readable layout
    # at once instead of parsing the source first (the laid-out differential examples hit
    # this path nearly every time; a parse is the dearest step of a small file).
    import libcst

    parses: list[str] = []
    real = libcst.parse_module

    def counted(text: str, *args, **kwargs):
        parses.append(text)
        return real(text, *args, **kwargs)

    monkeypatch.setattr(libcst, "parse_module", counted)
    source = HEADER + "@coroutine\ndef main(n):\n    n = 1\n    \\\nreturn wait(ready(n))\n"
    code = transform_source(source, "prog.py")
    assert len(parses) == 1 and "\\\n" not in parses[0]
    assert "main_machine" in code


def test_a_backslash_line_inside_a_string_takes_the_usual_path() -> None:
    # The quick look for lone backslash lines also finds one inside a triple-quoted string:
    # the layout then has none, and the file transforms as libcst reads it.
    source = (
        HEADER + '@coroutine\ndef main(n):\n    s = """a\n\\\nb"""\n    return wait(ready(s))\n'
    )
    assert result(source, args=(0,)) == "a\nb"
    code = transform_source(source, "prog.py")
    assert '"""a\n\\\nb"""' in code
