"""The reference driver itself does what SPEC §2.1 says; the differential tests lean on it."""

import inspect

import pytest
from hypothesis import given
from programs import programs
from reference import execute, load, outcome, printed, reference_source

from runtime import Future

SRC = """
from corofy import coroutine, wait

@coroutine
def main():
    print("started")
    x = wait(pending(2, 5))
    return x + 1
"""


def test_reference_call_runs_nothing_until_polled() -> None:
    events = execute(SRC, "reference")
    assert events[0] == ("called",)
    assert events[1] == ("print", 1, ("started",))


def test_reference_polls_inner_future_in_the_poll_that_reached_it_and_pends_only_with_it() -> None:
    events = execute(SRC, "reference")
    assert events[2:] == [
        ("new", 1, 1),
        ("poll", 1, 1, "pending"),
        ("pending", 1),
        ("poll", 1, 2, "pending"),
        ("pending", 2),
        ("poll", 1, 3, "ready"),
        ("return", 6),
        ("repoll", "RuntimeError"),
    ]


def test_reference_throws_a_failing_poll_into_the_coroutine_at_its_wait() -> None:
    src = """
from corofy import coroutine, wait

@coroutine
def main():
    try:
        wait(raising(ValueError, 1))
    except ValueError as e:
        try:
            wait(raising(KeyError, 2, k=1))
        except KeyError as inner:
            raise IndexError(3) from inner
"""
    kind, (name, args, cause, context, suppress) = outcome(execute(src, "reference"))
    assert (kind, name, args, suppress) == ("raise", "IndexError", (3,), True)
    assert cause[0] == "KeyError" and cause[3][0] == "ValueError"
    assert context[:2] == ("KeyError", (2,))


def test_reference_close_closes_the_awaited_future_then_runs_finally() -> None:
    src = """
from corofy import coroutine, wait

@coroutine
def main():
    try:
        wait(pending(5, 1))
    finally:
        print("finally")
"""
    events = execute(src, "reference", close_after=2)
    assert events[-3:] == [("close", 1, "close"), ("print", "close", ("finally",)), ("closed",)]


def test_reference_comprehension_with_waits_runs_in_its_own_scope() -> None:
    src = """
from corofy import coroutine, wait

@coroutine
def main():
    i = "outer"
    squares = [wait(ready(i * i)) for i in range(wait(ready(3))) if wait(ready(i != 1))]
    keys = {wait(ready(k)): wait(ready(-k)) for k in (1, 2)}
    return squares, keys, i
"""
    assert outcome(execute(src, "reference")) == ("return", ([0, 4], {1: -1, 2: -2}, "outer"))


def test_reference_keeps_metadata_of_the_decorated_function() -> None:
    src = '''
from corofy import coroutine as co, wait as w

@co
def main(a: int, /, b=2, *args, c, **kw) -> int:
    """Doc."""
    return w(ready(a))
'''
    main = load(src, "reference")["main"]
    assert str(inspect.signature(main)) == "(a: int, /, b=2, *args, c, **kw) -> int"
    assert (main.__name__, main.__doc__) == ("main", "Doc.")


def test_reference_recognises_corofy_module_markers_and_leaves_other_waits_alone() -> None:
    src = """
import corofy

def wait(x):
    return x * 10

@corofy.coroutine
def main():
    return wait(corofy.wait(ready(2)))
"""
    assert "yield ready(2)" in reference_source(src)
    assert outcome(execute(src, "reference")) == ("return", 20)


def test_reference_coroutine_without_wait_is_still_lazy() -> None:
    src = """
from corofy import coroutine

@coroutine
def main():
    print("body")
    return 1
"""
    events = execute(src, "reference")
    assert events[:2] == [("called",), ("print", 1, ("body",))]
    assert printed(events) == ["body"]


@pytest.mark.parametrize("n", [0, 2])
@given(source=programs())
def test_generated_programs_terminate_under_the_reference(source: str, n: int) -> None:
    assert outcome(execute(source, "reference", args=(n,)))[0] in ("return", "raise")


def test_leaf_polled_with_an_older_waker_is_logged() -> None:
    from reference import Run, drive

    class KeepsFirstWaker(Future):
        def __init__(self, inner: Future) -> None:
            self.inner, self.waker = inner, None

        def poll(self, waker):
            self.waker = self.waker or waker
            return self.inner.poll(self.waker)

    run = Run()
    leaf = run.namespace()["pending"](2, "v")
    drive(run, KeepsFirstWaker(leaf))
    assert [e for e in run.events if e[0] == "stale-waker"] == [
        ("stale-waker", 1, 2, 1),
        ("stale-waker", 1, 3, 1),
        ("stale-waker", 1, "after", 1),
    ]
