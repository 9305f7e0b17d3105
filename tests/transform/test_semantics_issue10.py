"""Programs whose generated state machine disagreed with the generator reference of SPEC
§2.1 (issue 10's "Semantics" list), each a class of bug pinned by one representative."""

from __future__ import annotations

import textwrap

import pytest
from reference import assert_same, outcome, program, result

UNBOUND = "cannot access local variable {!r} where it is not associated with a value"
FREE = "cannot access free variable {!r} where it is not associated with a value in enclosing scope"


def test_a_local_read_unbound_before_its_only_binding_after_a_wait_is_unbound_local() -> None:
    # The start function read v0 without binding it (its binding went to a tail after the
    # wait): a global lookup, NameError.
    src = program("""
        @coroutine
        def main():
            v0 += wait(ready(1))
        """)
    assert result(src)[1][:2] == ("UnboundLocalError", (UNBOUND.format("v0"),))


def test_a_closure_reading_a_still_unbound_captured_local_raises_name_error() -> None:
    src = program("""
        @coroutine
        def main():
            f = lambda: y
            def g():
                return y
            wait(pending(1))
            for h in (f, g):
                try:
                    h()
                except NameError as e:
                    print(type(e).__name__, str(e))
            y = 1
            wait(pending(1))
            return f() + g()
        """)
    events = assert_same(src)
    printed = [e[2] for e in events if e[0] == "print"]
    assert printed == [("NameError", FREE.format("y"))] * 2
    assert outcome(events) == ("return", 2)


def test_a_dict_comprehension_evaluates_each_key_before_its_value() -> None:
    src = program("""
        @coroutine
        def main():
            return {note("k", wait(ready(k))): note("v", k) for k in range(2)}
        """)
    events = assert_same(src)
    assert [e[2][0] for e in events if e[0] == "note"] == ["k", "v", "k", "v"]


def test_a_match_guard_reads_the_capture_just_bound_when_it_lives_on_the_machine() -> None:
    src = program("""
        @coroutine
        def main():
            x = 0
            wait(pending(1))
            peek = lambda: x
            match (1, 2):
                case (x, y) if x == 1 and peek() == 1:
                    wait(pending(1))
                    return "a", x, peek()
                case _:
                    return "b", x
        """)
    assert result(src) == ("a", 1, 1)


def test_a_capture_bound_before_a_failed_guard_stays_bound() -> None:
    src = program("""
        @coroutine
        def main():
            x = 0
            peek = lambda: x
            match 5:
                case x if x > 10:
                    pass
                case _:
                    pass
            wait(pending(1))
            return x, peek()
        """)
    assert result(src) == (5, 5)


# A continue in finally that cancels a break after the try body suspended: with its twin in
# test_constructs_exceptions.py (test_break_or_continue_in_finally_overrides_the_exit_in_flight).


def test_a_return_cancelled_by_an_inner_finally_does_not_return_from_a_waiting_outer_one() -> None:
    # The return recorded itself in every waiting finally around it up front; the outer
    # one, reached later by normal flow, then carried out the cancelled return.
    for first in ("", "wait(pending(1))"):
        src = program(f"""
            @coroutine
            def main():
                x = "none"
                try:
                    for i in range(2):
                        try:
                            {first}
                            return "inner"
                        finally:
                            wait(pending(1))
                            break
                    x = "after"
                finally:
                    wait(pending(1))
                return x
            """)
        assert result(src) == "after"


def test_an_exception_raised_in_a_handler_of_a_try_with_a_waiting_finally_keeps_its_context() -> (
    None
):
    # Raising the pending exception again after the finally's wait set its __context__ to
    # the outer handler's exception.
    for wait_first in ("", "wait(pending(1))"):
        src = program(f"""
            @coroutine
            def main():
                try:
                    raise KeyError("outer")
                except KeyError:
                    try:
                        {wait_first}
                        raise ValueError("x")
                    except ValueError:
                        raise TypeError("inner")
                    finally:
                        wait(pending(1))
            """)
        kind, description = result(src)[0], result(src)[1]
        assert kind == "raised" and description[0] == "TypeError"
        assert description[3][:2] == ("ValueError", ("x",))
        assert description[3][3][:2] == ("KeyError", ("outer",))


def test_a_name_a_waiting_handler_unbound_is_unbound_in_the_statements_after_its_try() -> None:
    # The rest after the try was a tail function taking e as an argument: the call read e,
    # unbound by the end of the handler, outside the user's try around the read.
    src = program("""
        @coroutine
        def main():
            try:
                raise KeyError()
            except KeyError as e:
                wait(pending(1))
            try:
                e
            except NameError as g:
                return str(g)
        """)
    assert result(src) == UNBOUND.format("e")


def test_a_name_deleted_in_a_waiting_finally_is_unbound_after_its_try() -> None:
    src = program("""
        @coroutine
        def main(n):
            x = n
            try:
                wait(pending(1))
            finally:
                del x
            try:
                print(x)
            except NameError as g:
                return str(g)
        """)
    assert result(src, args=(1,)) == UNBOUND.format("x")


def test_a_with_around_a_waiting_loop_exits_once_when_the_rest_raises() -> None:
    # The resume function re-entered the with and called the loop's shared continuation
    # from inside it; the continuation re-entered the with too: two __exit__ calls.
    src = program("""
        @coroutine
        def main():
            with cm('a', False):
                for x in [1, 2]:
                    wait(pending(1, x))
                raise IndexError(2)
        """)
    events = assert_same(src)
    assert [e[:2] for e in events if e[0] == "exit"] == [("exit", "a")]


def test_a_suspension_inside_nested_waiting_withs_runs_no_exit_and_close_runs_each_once() -> None:
    src = program("""
        @coroutine
        def main():
            with cm('a', False), cm('b', True):
                wait(pending(1))
                with cm('c', False):
                    wait(pending(1))
                    raise KeyError(3)
            return 'suppressed by b'
        """)
    assert result(src) == "suppressed by b"
    closed = assert_same(src, close_after=2)
    assert [e[:2] for e in closed if e[0] == "exit"] == [
        ("exit", "c"),
        ("exit", "b"),
        ("exit", "a"),
    ]


def test_a_waiting_named_handler_binds_its_name_for_the_body_and_unbinds_it_after() -> None:
    # Printed as Python's own `except E as e` (no try/finally of its own), entered and
    # re-entered after each wait: e is the exception throughout, and unbound after.
    src = program("""
        @coroutine
        def main():
            if True:  # one statement: the read of e below is in the last wait's function
                try:
                    raise KeyError('k')
                except KeyError as e:
                    wait(pending(1))
                    print(e.args)
                    wait(pending(1))
                    print(type(e).__name__)
                    try:
                        raise ValueError('inner')
                    except ValueError as f:
                        wait(pending(1))
                        print(f.args, e.args)
                try:
                    e
                except NameError as gone:
                    return str(gone)
        """)
    assert result(src) == UNBOUND.format("e")


def test_a_waiting_handler_that_rebinds_or_deletes_its_name_keeps_what_the_body_did() -> None:
    src = program("""
        @coroutine
        def main():
            try:
                raise KeyError('k')
            except KeyError as e:
                e = 'rebound'
                wait(pending(1))
                print(e)
            try:
                raise KeyError('k')
            except KeyError as d:
                del d
                wait(pending(1))
                try:
                    d
                except NameError as gone:
                    print(str(gone))
            return 'ok'
        """)
    assert result(src) == "ok"
    assert [e[2] for e in assert_same(src) if e[0] == "print"][:1] == [("rebound",)]


def test_a_waiting_named_handler_re_raises_and_chains_as_python_does() -> None:
    src = program("""
        @coroutine
        def main():
            try:
                try:
                    raise KeyError('first')
                except KeyError as e:
                    wait(pending(1))
                    raise ValueError('second')
            except ValueError as v:
                wait(pending(1))
                return (repr(v), repr(v.__context__))
        """)
    assert result(src) == ("ValueError('second')", "KeyError('first')")


def test_a_waiting_with_on_what_is_no_context_manager_raises_pythons_type_error() -> None:
    # The with's start (runtime Future._with_enter) looks __enter__ and __exit__ up on the
    # type as Python does, __exit__ before __enter__ is called.
    src = program("""
        class OnlyEnter:
            def __enter__(self):
                print('entered')

        @coroutine
        def main():
            for manager in (3, OnlyEnter()):
                try:
                    with manager:
                        wait(pending(1))
                except TypeError as e:
                    print(str(e))
            with cm('a', False) as a, cm('b', False) as b:
                wait(pending(1))
                return (a, b)
        """)
    events = assert_same(src)
    assert next(e[2][0] for e in events if e[0] == "print").startswith("'int' object")


def test_a_waiting_loop_handed_off_inside_a_with_and_try_exits_and_finishes_once() -> None:
    # A waiting loop inside a try/with is entered and run again by a hand-off to its own
    # state (a wait on Machine.NOW deferred to poll()): leaving the try and with that way
    # must run no finally and no __exit__; the state re-enters both around the loop.
    src = program("""
        @coroutine
        def main():
            out = []
            with cm('a', False):
                try:
                    n = 0
                    while n < 3:
                        n += wait(pending(1, 1))
                        try:
                            out.append(wait(pending(1, n)))
                        except KeyError:
                            out.append('k')
                        if n == 2:
                            continue
                        out.append(n)
                    else:
                        out.append('else')
                finally:
                    out.append('finally')
            return out
        """)
    assert result(src) == [1, 1, 2, 3, 3, "else", "finally"]
    events = assert_same(src)
    assert [e[:2] for e in events if e[0] == "exit"] == [("exit", "a")]
    for polls in range(1, 7):  # closed at each wait in turn: finally and exit once each
        closed = assert_same(src, close_after=polls)
        assert [e[:2] for e in closed if e[0] == "exit"] == [("exit", "a")]


def test_a_waiting_loop_handed_off_inside_a_handler_keeps_the_handled_exception() -> None:
    src = program("""
        import sys

        @coroutine
        def main():
            try:
                raise KeyError(1)
            except KeyError as e:
                for k in range(2):
                    wait(pending(1, k))
                    print(sys.exc_info()[1] is e)
                raise ValueError(2)
        """)
    assert result(src)[0] == "raised"


def test_close_swallowed_in_a_loop_inside_a_try_goes_on_through_its_hand_off() -> None:
    # close() at a wait whose handler swallows GeneratorExit: the iteration ends, and the
    # hand-off to the state that runs the loop again is no suspension: the loop's test
    # ends it and the finally runs, as the generator does (not "ignored GeneratorExit").
    src = program("""
        @coroutine
        def main():
            n = 0
            try:
                while n < 2:
                    try:
                        if n == 0:
                            wait(pending(1, n))
                        else:
                            wait(pending(1, 7))
                    except BaseException:
                        n = 5
                    note(n)
            finally:
                note('finally')
            return n
        """)
    closed = assert_same(src, close_after=1)
    assert closed[-1] == ("closed",)


def test_the_code_after_a_wait_that_follows_a_loop_never_entered_in_a_try_runs() -> None:
    # The loop holds a waiting loop (a comprehension's), so it is printed with that loop
    # handed off; the wait after it was taken for that hand-off and all that followed it
    # in the try was dropped: the machine skipped `b = 0`.
    src = program("""
        @coroutine
        def main(n):
            a = n
            b = 1
            try:
                w1 = 0
                while w1 < 1 and 0:
                    w1 += 1
                    a = len([0 for q2 in range(0 % 3) if wait(ready(0))])
                    a = 0
                wait(ready(0))
                b = 0
            finally:
                a = 0
            return ('main', a, b)
        """)
    assert result(src, args=(0,)) == ("main", 0, 0)


# What precedes a wait in the same block, printed changed (a waiting loop in it handed off
# or called): each must leave what follows the wait in place, whether the loop is entered
# or not and however it ends.
_BEFORE_A_WAIT = {
    "a loop holding a waiting loop, not entered": """
        for i in range(n):
            for j in range(2):
                note('in', wait(pending(1, j)))
        """,
    "a loop holding a waiting loop, entered": """
        for i in range(2):
            note('mid', wait(ready(i)))
            for j in range(2):
                note('in', wait(pending(1, j)))
        """,
    "a waiting loop in an if not taken": """
        if n:
            for i in range(2):
                note('in', wait(pending(1, i)))
        """,
    "a waiting loop in an if, left by break": """
        if not n:
            for i in range(3):
                note('in', wait(pending(1, i)))
                if i == 1:
                    break
            else:
                note('else')
        """,
    "a waiting loop in a match case, ended by an exception caught": """
        match n:
            case 0:
                try:
                    while True:
                        note('in', wait(pending(1)))
                        raise KeyError(n)
                except KeyError:
                    note('caught')
        """,
}
_AROUND = {
    "try/finally": "try:\n{body}finally:\n    note('finally')\n",
    "try/except": "try:\n{body}except ValueError:\n    note('except')\n",
    "with": "with cm('a'):\n{body}",
    "try in a loop": (
        "for k in range(2):\n    try:\n{body}    finally:\n        note('finally', k)\n"
    ),
}


@pytest.mark.parametrize("around", list(_AROUND))
@pytest.mark.parametrize("before", list(_BEFORE_A_WAIT))
def test_what_follows_a_wait_after_a_changed_waiting_loop_in_a_try_runs(
    before: str, around: str
) -> None:
    body = textwrap.dedent(_BEFORE_A_WAIT[before]) + textwrap.dedent("""
        wait(ready(0))
        note('after')
        b = wait(pending(1, 2))
        note('after', b)
        """)
    depth = 8 if around == "try in a loop" else 4
    body = textwrap.indent(body, " " * depth)
    src = program(
        "@coroutine\ndef main(n):\n    b = 1\n"
        + textwrap.indent(_AROUND[around].format(body=body), "    ")
        + "    return b\n"
    )
    for n in (0, 1):  # each branch and loop entered one way, skipped the other
        events = assert_same(src, args=(n,))
        assert outcome(events) == ("return", 2)
        assert ("after", 2) in [e[2] for e in events if e[0] == "note"]
        for polls in range(1, 5):
            assert_same(src, args=(n,), close_after=polls)
