"""A wait written over several lines is quoted on one line in the generated comments."""

from __future__ import annotations

from corofy.transform import transform_source

SOURCE = """
from corofy import coroutine, wait


@coroutine
def main(g, fs):
    answers = wait(
        g(
            [f for f in fs]
        )
    )
    return answers
"""


def test_a_multiline_wait_with_brackets_generates_code_that_compiles() -> None:
    code = transform_source(SOURCE, "multi.py")
    compile(code, "multi.py", "exec")
    assert "# wait( g( [f for f in fs] ) ): state 1, line 7" in code
