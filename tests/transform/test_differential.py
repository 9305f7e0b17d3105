"""Generated programs behave as their generator reference (SPEC §2.1), event for event."""

import ast
import sys

import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st
from programs import programs
from reference import assert_same

from corofy.transform import transform_source

# Twice the profile's count each (ci: 80): plain programs are the cheapest examples of the
# harness's 1,000 a run (test_differential_layouts.py has the rest).
PLAIN = settings(max_examples=2 * settings.default.max_examples)


@pytest.mark.timeout(600)  # pytest's 120 s default is for one example, not 80
@PLAIN
@given(source=programs(), n=st.integers(0, 3))
def test_generated_program_matches_reference_when_run_to_completion(source: str, n: int) -> None:
    note(source)
    assert_same(source, args=(n,))


@pytest.mark.timeout(600)
@PLAIN
@given(source=programs(), n=st.integers(0, 3), polls=st.integers(0, 6))
def test_generated_program_matches_reference_when_closed_after_some_polls(
    source: str, n: int, polls: int
) -> None:
    note(source)
    assert_same(source, args=(n,), close_after=polls)


# Each example transforms twice; a handful shows nondeterminism (set or dict order leaking).
@settings(max_examples=6)
@given(source=programs())
def test_generated_code_is_deterministic_and_imports_only_runtime(source: str) -> None:
    note(source)
    code = transform_source(source, "prog.py")
    assert transform_source(source, "prog.py") == code
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            roots = {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            roots = {(node.module or "").split(".")[0]}
        else:
            continue
        assert roots <= {"runtime", "__future__"} | set(sys.stdlib_module_names), roots


IDEMPOTENCE = """
from corofy import coroutine, wait

@coroutine
def main(n):
    total = 0
    for i in range(wait(ready(n))):
        try:
            total += wait(pending(1, i))
        except ValueError:
            continue
        finally:
            print(total)
    return total
"""


def test_transforming_generated_code_changes_nothing() -> None:
    # One modest program: re-parsing generated code is the slow part of the transform.
    code = transform_source(IDEMPOTENCE, "prog.py")
    assert code != IDEMPOTENCE
    assert transform_source(code, "prog.py") == code
