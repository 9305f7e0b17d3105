"""wait() with exceptions: try/except/else/finally, raise, chaining, with, close(), finished.

Facts these tests pin down (Python's, so the reference shows them too):
- a ``finally`` that returns, breaks or continues discards the exception or return in flight;
- inside ``except``, a newly raised exception gets the handled one as ``__context__``, and
  a bare ``raise`` or ``sys.exc_info()`` still sees the handled one after a suspension;
- ``close()`` raises ``GeneratorExit`` at the suspension point after closing the awaited
  future, so ``finally`` and ``__exit__`` run; closing an unstarted coroutine runs nothing.
"""

import gc
import re
import sys
import textwrap

import pytest
from reference import (
    RecordingWaker,
    Run,
    assert_same,
    execute,
    load,
    outcome,
    printed,
    program,
    result,
)


def raised(events: list) -> tuple:
    kind, description = outcome(events)
    assert kind == "raise", events
    return description


def test_exception_from_inner_poll_is_caught_at_the_wait() -> None:
    src = program("""
        @coroutine
        def main():
            try:
                wait(raising(ValueError, "bad", k=1))
                return "not reached"
            except ValueError as e:
                return "caught", e.args
        """)
    assert result(src) == ("caught", ("bad",))


def test_try_else_and_finally_with_waits_in_every_clause() -> None:
    src = program("""
        @coroutine
        def main(fail):
            try:
                print("try", wait(ready(1)))
                if fail:
                    wait(raising(KeyError, "k"))
            except KeyError:
                print("except", wait(pending(1, 2)))
            else:
                print("else", wait(pending(1, 3)))
            finally:
                print("finally", wait(ready(4)))
            return "done"
        """)
    assert printed(assert_same(src, args=(True,))) == [("try", 1), ("except", 2), ("finally", 4)]
    assert printed(assert_same(src, args=(False,))) == [("try", 1), ("else", 3), ("finally", 4)]


def test_unhandled_exception_propagates_after_finally_waits() -> None:
    src = program("""
        @coroutine
        def main():
            try:
                wait(raising(IndexError, 3))
            except KeyError:
                return "wrong handler"
            finally:
                print("cleanup", wait(pending(1, "x")))
        """)
    events = assert_same(src)
    assert printed(events) == [("cleanup", "x")]
    assert raised(events)[:2] == ("IndexError", (3,))


def test_raise_from_sets_cause_and_suppresses_context() -> None:
    src = program("""
        @coroutine
        def main():
            try:
                wait(raising(KeyError, "inner"))
            except KeyError as e:
                raise ValueError(wait(ready("outer"))) from e
        """)
    name, args, cause, context, suppress = raised(assert_same(src))
    assert (name, args, suppress) == ("ValueError", ("outer",), True)
    assert cause[:2] == ("KeyError", ("inner",)) and context[:2] == ("KeyError", ("inner",))


def test_raise_from_none_hides_context() -> None:
    src = program("""
        @coroutine
        def main():
            try:
                wait(raising(KeyError, 1))
            except KeyError:
                raise ValueError(2) from wait(ready(None))
        """)
    name, args, cause, context, suppress = raised(assert_same(src))
    assert (name, args, cause, suppress, context[0]) == ("ValueError", (2,), None, True, "KeyError")


def test_exception_raised_in_except_after_wait_chains_context() -> None:
    src = program("""
        @coroutine
        def main():
            try:
                raise KeyError("first")
            except KeyError:
                wait(pending(1, None))
                wait(raising(ValueError, "second"))
        """)
    name, args, cause, context, suppress = raised(assert_same(src))
    assert (name, args, cause, suppress) == ("ValueError", ("second",), None, False)
    assert context[:2] == ("KeyError", ("first",))


def test_bare_raise_after_wait_in_except_reraises_the_handled_exception() -> None:
    src = program("""
        @coroutine
        def main():
            try:
                wait(raising(KeyError, "original"))
            except KeyError:
                wait(pending(2, None))
                raise
        """)
    assert raised(assert_same(src))[:2] == ("KeyError", ("original",))


def test_exc_info_after_wait_in_except_names_the_handled_exception() -> None:
    src = program("""
        import sys
        @coroutine
        def main():
            try:
                raise KeyError("handled")
            except KeyError:
                wait(pending(1, None))
                typ, value, tb = sys.exc_info()
                inside = (typ.__name__, value.args)
            outside = sys.exc_info()
            return inside, outside
        """)
    assert result(src) == (("KeyError", ("handled",)), (None, None, None))


def test_nested_handlers_restore_the_outer_handled_exception() -> None:
    src = program("""
        import sys
        @coroutine
        def main():
            try:
                raise KeyError("outer")
            except KeyError:
                try:
                    wait(raising(ValueError, "inner"))
                except ValueError:
                    wait(ready(None))
                wait(pending(1, None))
                return sys.exc_info()[1].args
        """)
    assert result(src) == ("outer",)


def test_finally_return_overrides_the_return_value() -> None:
    src = program("""
        @coroutine
        def main():
            try:
                return wait(ready("try"))
            finally:
                return wait(pending(1, "finally"))
        """)
    assert result(src) == "finally"


def test_finally_return_discards_the_exception() -> None:
    src = program("""
        @coroutine
        def main():
            try:
                wait(raising(ValueError, 1))
            finally:
                wait(ready(None))
                return "swallowed"
        """)
    assert result(src) == "swallowed"


def test_exception_in_finally_replaces_the_one_in_flight_and_chains_it() -> None:
    src = program("""
        @coroutine
        def main():
            try:
                wait(raising(ValueError, 1))
            finally:
                wait(raising(KeyError, 2))
        """)
    name, args, cause, context, suppress = raised(assert_same(src))
    assert (name, args, cause, suppress) == ("KeyError", (2,), None, False)
    assert context[:2] == ("ValueError", (1,))


def test_return_in_try_runs_finally_with_waits_before_returning() -> None:
    src = program("""
        @coroutine
        def main():
            try:
                return "value"
            finally:
                print("finally", wait(pending(1, 1)))
        """)
    events = assert_same(src)
    assert printed(events) == [("finally", 1)]
    assert outcome(events) == ("return", "value")


@pytest.mark.parametrize(
    "source",
    [
        pytest.param(
            """
            @coroutine
            def main():
                seen = []
                for i in range(3):
                    try:
                        if i == 0:
                            wait(raising(ValueError, i))
                        return "returned"
                    finally:
                        seen.append(wait(ready(i)))
                        if i < 2:
                            continue
                        break
                return seen
            """,
            id="over_a_raise_and_a_return",
        ),
        # issue 10: the break was carried out after the try body had suspended
        pytest.param(
            """
            @coroutine
            def main():
                r = []
                for i in range(3):
                    try:
                        wait(pending(1))
                        r.append(i)
                        break
                    finally:
                        continue
                return r
            """,
            id="a_continue_over_a_break_after_the_try_body_suspended",
        ),
    ],
)
def test_break_or_continue_in_finally_overrides_the_exit_in_flight(source: str) -> None:
    assert result(program(source)) == [0, 1, 2]


def test_break_through_finally_runs_it() -> None:
    src = program("""
        @coroutine
        def main():
            while True:
                try:
                    break
                finally:
                    print("finally", wait(ready(1)))
            return "after"
        """)
    events = assert_same(src)
    assert printed(events) == [("finally", 1)]
    assert outcome(events) == ("return", "after")


def test_with_exit_gets_the_exception_and_can_suppress_it() -> None:
    src = program("""
        @coroutine
        def main():
            with cm("quiet", True) as tag:
                wait(raising(ValueError, tag))
            with cm("loud") as tag:
                wait(raising(KeyError, tag))
        """)
    events = assert_same(src)
    exits = [e for e in events if e[0] == "exit"]
    assert [(e[1], e[3][0]) for e in exits] == [("quiet", "ValueError"), ("loud", "KeyError")]
    assert raised(events)[:2] == ("KeyError", ("loud",))


def test_code_after_a_with_whose_body_always_raises_runs_when_exit_suppresses() -> None:
    # Found by the differential test: the locals were thought dead after such a with, so
    # the rest of the body, after a wait, was handed none of them.
    src = program("""
        @coroutine
        def main(n):
            a = n
            c = 2
            wait(pending(1, None))
            with cm("quiet", True):
                raise IndexError(0)
            b = wait(pending(1, c))
            return a, b, c
        """)
    assert result(src, args=(7,)) == (7, 2, 2)


def test_with_items_wait_in_order_and_exit_in_reverse() -> None:
    src = program("""
        @coroutine
        def main():
            with cm(wait(ready("a"))) as a, cm(wait(pending(1, "b"))) as b:
                print(a, b, wait(ready("body")))
            return "ok"
        """)
    events = assert_same(src)
    order = [(e[0], e[1]) for e in events if e[0] in ("enter", "exit", "print")]
    assert order == [("enter", "a"), ("enter", "b"), ("print", 2), ("exit", "b"), ("exit", "a")]


def test_with_exit_runs_on_return_and_break() -> None:
    src = program("""
        @coroutine
        def main():
            for i in range(2):
                with cm(i):
                    wait(ready(i))
                    break
            with cm("ret"):
                return wait(pending(1, "r"))
        """)
    events = assert_same(src)
    assert [(e[1], e[3]) for e in events if e[0] == "exit"] == [(0, None), ("ret", None)]
    assert outcome(events) == ("return", "r")


def test_exception_from_enter_is_not_seen_by_exit() -> None:
    src = program("""
        class Bad:
            def __enter__(self):
                raise KeyError("enter")
            def __exit__(self, *exc):
                print("exit called")
        @coroutine
        def main():
            with cm("outer"), Bad():
                wait(ready(1))
        """)
    events = assert_same(src)
    assert printed(events) == []
    assert raised(events)[0] == "KeyError"


def test_unbound_local_raises_unbound_local_error() -> None:
    src = program("""
        @coroutine
        def main(flag):
            if flag:
                x = wait(ready(1))
            wait(ready(2))
            return x
        """)
    assert result(src, args=(True,)) == 1
    assert raised(assert_same(src, args=(False,)))[0] == "UnboundLocalError"


def test_polling_a_finished_coroutine_raises_runtime_error() -> None:
    src = program("""
        @coroutine
        def main():
            return wait(ready(1))
        """)
    assert assert_same(src)[-1] == ("repoll", "RuntimeError")


def test_polling_a_failed_coroutine_raises_runtime_error() -> None:
    src = program("""
        @coroutine
        def main():
            wait(raising(ValueError))
        """)
    assert assert_same(src)[-1] == ("repoll", "RuntimeError")


def test_calling_runs_nothing_until_first_poll() -> None:
    src = program("""
        @coroutine
        def main():
            print("body")
            return 1
        """)
    events = assert_same(src)
    assert events[:2] == [("called",), ("print", 1, ("body",))]


def test_close_closes_awaited_future_first_then_runs_finally_and_exit() -> None:
    src = program("""
        @coroutine
        def main():
            with cm("ctx"):
                try:
                    wait(pending(9, None))
                finally:
                    print("finally")
        """)
    events = assert_same(src, close_after=2)
    tail = [e[0] for e in events[events.index(("pending", 2)) + 1 :]]
    assert tail == ["close", "print", "exit", "closed"]
    assert [e[3][0] for e in events if e[0] == "exit"] == ["GeneratorExit"]


def test_close_reaches_the_innermost_awaited_coroutine() -> None:
    src = program("""
        @coroutine
        def inner():
            try:
                wait(pending(9, None))
            finally:
                print("inner finally")
        @coroutine
        def main():
            try:
                wait(inner())
            finally:
                print("outer finally")
        """)
    events = assert_same(src, close_after=1)
    assert printed(events) == ["inner finally", "outer finally"]
    assert [e[0] for e in events][-4:] == ["close", "print", "print", "closed"]


def _closed_as_cpython_coroutines(body: str) -> list:
    """What CPython prints when it closes ``main`` of ``body`` (async defs awaiting
    ``Pending()``, suspended at its first await): what corofy's close() must match."""
    out: list = []

    class Pending:
        def __await__(self):
            yield self

    class Cm:
        def __init__(self, tag):
            self.tag = tag

        def __enter__(self):
            return self

        def __exit__(self, typ, exc, tb):
            out.append(("exit", self.tag, typ.__name__ if typ else None))

    ns = {"Pending": Pending, "cm": Cm, "print": lambda *a: out.append(a[0] if len(a) == 1 else a)}
    exec(textwrap.dedent(body), ns)
    main = ns["main"]()
    main.send(None)
    try:
        main.close()
    except BaseException as exc:
        out.append(("close-raised", type(exc).__name__, exc.args))
    else:
        out.append("closed")
    return out


def _as_async(src: str) -> str:
    """``src`` written with async def and await, waiting on ``Pending()`` for ``pending(5)``."""
    src = re.sub(r"^[ \t]*@coroutine\n", "", src, flags=re.M).replace("def ", "async def ")
    return re.sub(r"wait\((inner\(\)|pending\(5\))\)", r"await \1", src).replace(
        "pending(5)", "Pending()"
    )


def _closed_as_machine(src: str) -> list:
    events = assert_same(src, close_after=1)
    shown = []
    for event in events:
        if event[0] == "print":
            shown.append(event[2][0] if len(event[2]) == 1 else event[2])
        elif event[0] == "exit":
            shown.append(("exit", event[1], event[3] and event[3][0]))
        elif event[0] == "close-raised":
            shown.append(("close-raised", event[1][0], event[1][1]))
        elif event[0] == "closed":
            shown.append("closed")
    return shown


def test_close_raises_what_closing_the_awaited_coroutine_raised_at_the_wait() -> None:
    # inner's finally raises while closed: the error is raised at main's wait in place of
    # GeneratorExit (main catches it and returns: a clean close), as CPython's
    # coroutine.close() throws what closing the awaited coroutine raised.
    src = program("""
        @coroutine
        def inner():
            try:
                wait(pending(5))
            finally:
                raise ValueError("from inner's finally")
        @coroutine
        def main():
            try:
                wait(inner())
            except ValueError as e:
                print("main caught", e.args, type(e.__context__).__name__)
                return 1
            finally:
                print("main finally")
        """)
    expected = [
        ("main caught", ("from inner's finally",), "GeneratorExit"),
        "main finally",
        "closed",
    ]
    assert _closed_as_machine(src) == expected
    assert _closed_as_cpython_coroutines(_as_async(src)) == expected


def test_close_of_a_coroutine_waiting_on_one_that_ignores_generator_exit() -> None:
    # inner waits again while closed: RuntimeError at main's wait, so main's with exit sees
    # it during close() (not GeneratorExit when main is finalized later), and inner, dropped
    # there, is finalized at once (closed again: its finally runs) before that exit, as
    # CPython's coroutines do (differential seed 5009, its outer coroutines never closed).
    src = program("""
        @coroutine
        def main():
            @coroutine
            def inner():
                try:
                    wait(pending(5))
                except GeneratorExit:
                    print("inner ignores GeneratorExit")
                try:
                    wait(pending(5))
                finally:
                    print("inner closed again")
            with cm("main"):
                wait(inner())
        """)
    expected = [
        "inner ignores GeneratorExit",
        "inner closed again",
        ("exit", "main", "RuntimeError"),
        ("close-raised", "RuntimeError", ("generator ignored GeneratorExit",)),
    ]
    assert _closed_as_machine(src) == expected
    assert _closed_as_cpython_coroutines(_as_async(src)) == [
        *expected[:-1],
        ("close-raised", "RuntimeError", ("coroutine ignored GeneratorExit",)),
    ]


def test_close_raises_what_closing_the_awaited_future_raised_at_the_wait() -> None:
    src = program("""
        class Stuck(Leaf):
            def close(self):
                super().close()
                raise OSError("cannot close")
        @coroutine
        def main():
            with cm("main"):
                try:
                    wait(Stuck(run, pending=5))
                finally:
                    print("finally")
        """)
    events = assert_same(src, close_after=1)
    tail = [e[0] for e in events[events.index(("pending", 1)) + 1 :]]
    assert tail == ["close", "print", "exit", "close-raised"]
    assert [e[3][:2] for e in events if e[0] == "exit"] == [("OSError", ("cannot close",))]
    assert outcome(events)[1][:2] == ("OSError", ("cannot close",))


@pytest.mark.parametrize("side", ["machine", "reference"])
def test_a_coroutine_that_ignored_close_is_finalized_when_dropped_though_its_error_lives(
    side,
) -> None:
    # The RuntimeError close() raised must not keep the coroutine alive (CPython's does
    # not): dropping it closes it again at once, and that finalization runs its finally.
    src = program("""
        @coroutine
        def main():
            try:
                wait(pending(5))
            except GeneratorExit:
                pass
            try:
                wait(pending(5))
            finally:
                print("closed again")
        """)
    run = Run()
    future = load(src, side, run)["main"]()
    future.poll(RecordingWaker())
    with pytest.raises(RuntimeError, match="ignored GeneratorExit") as error:
        future.close()
    gc.disable()
    try:
        run.log("drop")
        del future
        run.log("dropped")
    finally:
        gc.enable()
    assert error.value is not None
    assert [e[0] for e in run.events][-3:] == ["drop", "print", "dropped"]


@pytest.mark.parametrize("side", ["machine", "reference"])
def test_a_coroutine_that_ignored_close_in_a_waiting_except_clause_is_finalized_when_dropped(
    side,
) -> None:
    # The except clause's wait keeps the GeneratorExit on the machine; its traceback's
    # frame leads back (f_back) to the frame that resumed the machine to close it, which
    # must not hold the machine (differential seed 7006: finalized at GC time, after the
    # enclosing coroutine's close() had raised).
    src = program("""
        @coroutine
        def main():
            try:
                wait(pending(5))
            except wait(ready(ValueError)):
                pass
            finally:
                print("closed again")
        """)
    run = Run()
    future = load(src, side, run)["main"]()
    future.poll(RecordingWaker())
    gc.disable()
    try:
        with pytest.raises(RuntimeError, match="ignored GeneratorExit"):
            future.close()
        run.log("drop")
        del future
        run.log("dropped")
    finally:
        gc.enable()
    assert [e[0] for e in run.events][-3:] == ["drop", "print", "dropped"]


@pytest.mark.parametrize("side", ["machine", "reference"])
def test_a_coroutine_ignoring_generator_exit_when_finalized_is_reported_unraisable(
    side, monkeypatch
) -> None:
    src = program("""
        @coroutine
        def main():
            while True:
                try:
                    wait(pending(5))
                except GeneratorExit:
                    pass
        """)
    reported: list = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: reported.append(u.exc_value))
    future = load(src, side)["main"]()
    future.poll(RecordingWaker())
    gc.disable()
    try:
        del future
    finally:
        gc.enable()
    assert [(type(e), e.args) for e in reported] == [
        (RuntimeError, ("generator ignored GeneratorExit",))
    ]


def test_close_on_an_unstarted_coroutine_runs_nothing() -> None:
    src = program("""
        @coroutine
        def main():
            try:
                wait(ready(1))
            finally:
                print("finally")
        """)
    assert assert_same(src, close_after=0) == [("called",), ("closed",)]


def test_close_on_a_finished_coroutine_does_nothing() -> None:
    src = program("""
        @coroutine
        def main():
            try:
                return wait(ready(1))
            finally:
                print("finally")
        """)
    events = assert_same(src, close_after=5)
    assert printed(events) == ["finally"]
    assert events[-3:] == [("return", 1), ("repoll", "RuntimeError"), ("closed",)]


def test_close_when_except_catches_generator_exit_and_returns() -> None:
    src = program("""
        @coroutine
        def main():
            try:
                wait(pending(3, None))
            except GeneratorExit:
                print("exiting")
                return "ignored value"
        """)
    events = assert_same(src, close_after=1)
    assert printed(events) == ["exiting"]
    assert events[-1] == ("closed",)


def test_close_when_finally_waits_again_raises_runtime_error() -> None:
    src = program("""
        @coroutine
        def main():
            try:
                wait(pending(3, None))
            finally:
                wait(ready(None))
        """)
    assert outcome(assert_same(src, close_after=1))[1][0] == "RuntimeError"


def test_close_when_finally_raises_propagates_that_exception() -> None:
    src = program("""
        @coroutine
        def main():
            try:
                wait(pending(3, None))
            finally:
                raise KeyError("from finally")
        """)
    kind, (name, args, *_rest) = outcome(assert_same(src, close_after=1))
    assert (kind, name, args) == ("close-raised", "KeyError", ("from finally",))


def test_reference_and_machine_agree_on_exception_args_of_leaf() -> None:
    src = program("""
        @coroutine
        def main():
            return wait(raising(OSError, 2, "No such file"))
        """)
    name, args, *_ = raised(assert_same(src))
    assert (name, args) == ("FileNotFoundError", (2, "No such file"))
    assert execute(src, "reference")[-1] == ("repoll", "RuntimeError")


def test_close_suppressed_by_exit_then_returning_is_a_clean_close() -> None:
    src = program("""
        @coroutine
        def main():
            with cm("s", True):
                wait(pending(5, None))
            print("after with")
            return 1
        """)
    events = assert_same(src, close_after=1)
    assert printed(events) == ["after with"]
    assert events[-1] == ("closed",)


def test_close_suppressed_by_exit_then_waiting_again_raises_runtime_error() -> None:
    src = program("""
        @coroutine
        def main():
            with cm("s", True):
                wait(pending(5, None))
            wait(ready(2))
        """)
    kind, (name, *_rest) = outcome(assert_same(src, close_after=1))
    assert (kind, name) == ("close-raised", "RuntimeError")


def test_close_when_generator_exit_is_replaced_by_another_exception() -> None:
    src = program("""
        @coroutine
        def main():
            try:
                wait(pending(5, None))
            except GeneratorExit:
                raise ValueError("instead")
        """)
    kind, (name, args, cause, context, suppress) = outcome(assert_same(src, close_after=1))
    assert (kind, name, args, cause, suppress) == (
        "close-raised",
        "ValueError",
        ("instead",),
        None,
        False,
    )
    assert context[0] == "GeneratorExit"


def test_close_with_continue_in_finally_keeps_looping_and_raises_runtime_error() -> None:
    src = program("""
        @coroutine
        def main():
            for i in range(3):
                try:
                    wait(pending(5, None))
                finally:
                    print("f", i)
                    continue
        """)
    events = assert_same(src, close_after=1)
    assert printed(events) == [("f", 0)]
    assert outcome(events)[1][0] == "RuntimeError"


EXCEPT_TYPES_WAIT = """
    @coroutine
    def main(n, close_types=False):
        try:
            print("body", n)
            if n == 1:
                raise KeyError("k")
            if n == 2:
                raise ValueError("v")
            if n == 3:
                raise OSError("o")
            if n == 4:
                raise LookupError("l")
            return "no exception"
        except TypeError:
            return "type error"
        except wait(pending(1, KeyError)) as e:
            print("key", e.args, sys.exc_info()[0].__name__)
            print("after a wait in the handler", wait(ready(5)), sys.exc_info()[0].__name__)
            return "key"
        except (wait(ready(ValueError)), wait(pending(2, ArithmeticError))) as e:
            print("value or arithmetic", type(e).__name__)
            raise
        except IndexError if n > 10 else OSError:
            print("os")
        except wait(pending(1, 42)):
            return "never: 42 is no exception class"
        finally:
            print("finally", n)
        print("after try", n)
        return "end"
    """


def test_waits_in_except_clause_types_are_evaluated_only_when_reached() -> None:
    # Python evaluates a clause's type only if the clauses above did not match, checks it is
    # an exception class (or tuple of them) and matches the exception against it.
    src = "import sys\n" + program(EXCEPT_TYPES_WAIT)
    for n in range(5):
        assert_same(src, args=(n,))
    assert result(src, args=(1,)) == "key"
    assert raised(execute(src, "machine", "main", (2,), None))[0] == "ValueError"
    assert raised(execute(src, "machine", "main", (4,), None))[:2] == (
        "TypeError",
        ("catching classes that do not inherit from BaseException is not allowed",),
    )


def test_waits_in_except_clause_types_closed_and_failing() -> None:
    src = program("""
        @coroutine
        def main(n):
            try:
                raise KeyError("k")
            except IndexError:
                return "index"
            except wait(raising(RuntimeError, "type lookup failed", k=n)):
                return "matched"
            except:
                print("bare except sees", sys.exc_info()[0].__name__)
                return "bare"
        """)
    src = "import sys\n" + src
    for n in range(3):
        assert_same(src, args=(n,))
        assert_same(src, args=(n,), close_after=1)
    src_bare = program("""
        @coroutine
        def main():
            try:
                raise KeyError("k")
            except wait(pending(2, IndexError)):
                return "index"
            except:
                return "bare"
        """)
    assert_same(src_bare)
    assert_same(src_bare, close_after=1)
    assert result(src_bare) == "bare"


def test_the_as_name_is_unbound_however_a_waiting_handler_ends() -> None:
    # Python compiles "except E as e" with a finally that unbinds e: after a handler that
    # raised (here after a wait inside it), e is unbound, also for an outer handler.
    src = program("""
        @coroutine
        def main(n):
            try:
                try:
                    raise KeyError("k")
                except KeyError as e:
                    wait(pending(1, None))
                    if n:
                        raise ValueError("v")
                except wait(ready(OSError)) as e:
                    pass
            except ValueError:
                print("outer handler")
            return e
        """)
    for n in (0, 1):
        assert_same(src, args=(n,))
        assert_same(src, args=(n,), close_after=1)
    assert raised(execute(src, "machine", "main", (1,), None))[0] == "UnboundLocalError"


def test_except_as_name_kept_on_the_machine_is_unbound_after_a_handler_without_waits() -> None:
    # The try body waits, the handler does not: N is read after the try (in another
    # function of the machine), so it lives on the machine; Python unbinds N when the
    # clause ends (by falling through, continue or break), so the read raises. Both when
    # the wait raised at once (the handler runs where the loop runs: a continue or break
    # there leaves N unbound, not passed on) and after a suspension (the slot unbound).
    src = program("""
        @coroutine
        def main():
            out = []
            e = 1
            for i in range(3):
                try:
                    wait(raising(KeyError, i, k=i % 2))
                except KeyError as e:
                    out.append(e.args)
                    if i < 2:
                        continue
                    break
            try:
                out.append(e)
            except UnboundLocalError:
                out.append("unbound")
            return out
        """)
    assert result(src) == [(0,), (1,), (2,), "unbound"]


@pytest.mark.parametrize(
    "body",
    [
        "wait(pending(1, 0))\n    raise StopIteration(3)",
        "wait(raising(StopIteration, 4, k=1))",
        "return next(iter([]))",
    ],
    ids=["raised_after_a_wait", "from_the_waited_future", "raised_before_any_wait"],
)
def test_a_stop_iteration_leaving_the_coroutine_becomes_runtime_error(body: str) -> None:
    # As one leaving a generator (PEP 479): the generator reference raises
    # RuntimeError('generator raised StopIteration') from it; the machine let it through.
    src = program("@coroutine\ndef main():\n    " + body + "\n")
    kind, described = outcome(assert_same(src))
    assert kind == "raise" and described[:2] == (
        "RuntimeError",
        ("generator raised StopIteration",),
    )
    assert described[2][0] == "StopIteration"  # its __cause__


def test_a_stop_iteration_raised_while_closing_becomes_runtime_error() -> None:
    src = program("""
        @coroutine
        def main():
            try:
                wait(pending(3, 0))
            finally:
                raise StopIteration(2)
        """)
    kind, described = outcome(assert_same(src, close_after=1))
    assert kind == "close-raised" and described[0] == "RuntimeError"
