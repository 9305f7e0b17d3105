"""Generated programs behave as their generator reference (SPEC §2.1), event for event."""

from hypothesis import given, note
from hypothesis import strategies as st
from programs import programs
from reference import assert_same


@given(source=programs(), n=st.integers(0, 3))
def test_generated_program_matches_reference_when_run_to_completion(source: str, n: int) -> None:
    note(source)
    assert_same(source, args=(n,))


@given(source=programs(), n=st.integers(0, 3), polls=st.integers(0, 6))
def test_generated_program_matches_reference_when_closed_after_some_polls(
    source: str, n: int, polls: int
) -> None:
    note(source)
    assert_same(source, args=(n,), close_after=polls)
