"""wait() in try/except* (SPEC 2.2: try with waits in any clause), against the reference.

Facts these tests pin down (Python's, so the generator reference shows them too):
- a naked exception is wrapped in ``ExceptionGroup("", (e,))`` for matching; each handler
  gets its part of the group (``except* E as eg``, ``sys.exc_info()``, a bare ``raise``),
  also after a wait inside it;
- what the handlers raise and the unhandled rest leave together: a bare ``raise`` of a part
  keeps the group's shape, a new exception (``raise eg`` too) is grouped with the rest in
  ``ExceptionGroup("", [...])``; each clause's type is evaluated in order, even when
  nothing is left to match, with the last handled part as the handled exception;
- ``close()`` at a wait inside a handler raises ``GeneratorExit`` there, and the handler's
  exception is grouped with the rest like any other;
- ``break``, ``continue`` and ``return`` in an except* clause are CPython's SyntaxError.
"""

from __future__ import annotations

import pytest
from reference import assert_same, machine_code, outcome, printed, program

GROUPS = [
    "ValueError(1)",
    "TypeError(2)",
    "KeyError(3)",
    'ExceptionGroup("g", [ValueError(1), TypeError(2)])',
    'ExceptionGroup("g", [ValueError(1), TypeError(2), KeyError(3)])',
    'ExceptionGroup("g", [ExceptionGroup("h", [ValueError(1), KeyError(5)]), TypeError(2)])',
    'BaseExceptionGroup("b", [ValueError(1), KeyboardInterrupt()])',
]


def raised(events: list) -> tuple:
    kind, description = outcome(events)
    assert kind == "raise", events
    return description


HANDLERS_WAIT = program("""
    import sys

    @coroutine
    def main(orig, mode):
        try:
            if orig:
                wait(pending(1, None))
                raise eval(orig)
            print("body done")
        except* ValueError as eg:
            print("h1", repr(eg), sys.exc_info()[1] is eg, wait(pending(1, "v")))
            print("after", repr(sys.exc_info()[1]))
            if mode == 1:
                raise
            if mode == 2:
                raise eg
            if mode == 3:
                raise KeyError("k")
            if mode == 4:
                wait(raising(OSError, "o", k=1))
        except* TypeError:
            wait(pending(1, 2))
            print("h2", repr(sys.exc_info()[1]))
            if mode == 5:
                raise
            if mode == 6:
                raise RuntimeError("r")
        else:
            print("else", wait(pending(1, 3)))
        finally:
            print("finally", wait(pending(1, 4)), repr(sys.exc_info()[1]))
        return 5
    """)


@pytest.mark.parametrize("orig", [None, *GROUPS])
@pytest.mark.parametrize("mode", range(7))
def test_except_star_handlers_that_wait_match_split_and_reraise_as_python_does(orig, mode) -> None:
    assert_same(HANDLERS_WAIT, args=(orig, mode))


@pytest.mark.parametrize("orig", GROUPS[:1] + GROUPS[3:5])
@pytest.mark.parametrize("close_after", [1, 2, 3, 4])
def test_except_star_close_at_a_wait_inside_a_handler_as_generator_close(orig, close_after) -> None:
    assert_same(HANDLERS_WAIT, args=(orig, 0), close_after=close_after)


def test_except_star_bare_raise_after_a_wait_keeps_the_groups_shape() -> None:
    events = assert_same(HANDLERS_WAIT, args=(GROUPS[4], 1))
    name, args, *_ = raised(events)
    assert (name, args) == ("ExceptionGroup", ("g", "[ValueError(1), KeyError(3)]"))


def test_except_star_raise_eg_after_a_wait_is_a_new_exception_grouped_with_the_rest() -> None:
    events = assert_same(HANDLERS_WAIT, args=(GROUPS[4], 2))
    name, args, *_ = raised(events)
    assert (name, args[0]) == ("ExceptionGroup", "")
    assert args[1] == "[ExceptionGroup('g', [ValueError(1)]), ExceptionGroup('g', [KeyError(3)])]"


def test_except_star_wraps_a_naked_exception_thrown_at_a_wait() -> None:
    src = program("""
        import sys

        @coroutine
        def main():
            try:
                wait(raising(ValueError, "naked", k=1))
            except* ValueError as eg:
                wait(pending(1, None))
                print(repr(eg), sys.exc_info()[1] is eg)
                raise
        """)
    events = assert_same(src)
    assert printed(events) == [("ExceptionGroup('', (ValueError('naked'),))", True)]
    assert raised(events)[:2] == ("ExceptionGroup", ("", "(ValueError('naked'),)"))


def test_except_star_exception_raised_after_a_wait_chains_onto_its_part() -> None:
    src = program("""
        @coroutine
        def main():
            try:
                raise ExceptionGroup("g", [ValueError(1), TypeError(2)])
            except* ValueError:
                wait(pending(1, None))
                raise KeyError("new")
        """)
    name, args, _cause, context, _suppress, parts = raised(assert_same(src))
    assert (name, args[0], context) == ("ExceptionGroup", "", None)
    new, rest = parts
    assert new[:2] == ("KeyError", ("new",)) and new[3][:2] == (
        "ExceptionGroup",
        ("g", "[ValueError(1)]"),
    )
    assert rest[:2] == ("ExceptionGroup", ("g", "[TypeError(2)]"))


def test_except_star_types_are_evaluated_in_order_with_the_last_part_handled() -> None:
    src = program("""
        import sys

        def kind(k):
            print("type", k.__name__, repr(sys.exc_info()[1]))
            return k

        @coroutine
        def main():
            try:
                raise ExceptionGroup("g", [ValueError(1), TypeError(2)])
            except* wait(pending(1, kind(ValueError))):
                print("h1")
            except* kind(TypeError):
                print("h2", wait(ready(2)))
            except* wait(ready(kind(KeyError))):
                print("h3")
            return "done"
        """)
    events = assert_same(src)
    assert printed(events)[-2:] == [
        ("h2", 2),
        ("type", "KeyError", "ExceptionGroup('g', [TypeError(2)])"),
    ]


@pytest.mark.parametrize("bad", ["42", "ExceptionGroup", "(ValueError, ExceptionGroup)"])
def test_except_star_bad_type_raises_typeerror_chained_to_the_last_part(bad) -> None:
    src = program(f"""
        @coroutine
        def main():
            try:
                raise ExceptionGroup("g", [ValueError(1), TypeError(2)])
            except* ValueError:
                wait(pending(1, None))
            except* wait(ready({bad})):
                pass
        """)
    name, _args, _cause, context, *_ = raised(assert_same(src))
    assert name == "TypeError" and context[:2] == ("ExceptionGroup", ("g", "[ValueError(1)]"))


def test_except_star_nested_in_a_waiting_except_star_handler() -> None:
    src = program("""
        import sys

        @coroutine
        def main():
            try:
                raise ExceptionGroup("outer", [ValueError(1), OSError(2)])
            except* ValueError as outer:
                try:
                    wait(raising(TypeError, "inner", k=1))
                except* TypeError as inner:
                    print(repr(inner), repr(wait(ready(sys.exc_info()[1]))))
                    raise
                finally:
                    print("inner finally", repr(sys.exc_info()[1]), repr(outer))
        """)
    assert_same(src)


def test_except_star_without_a_wait_in_a_coroutine_stays_native() -> None:
    src = program("""
        @coroutine
        def main():
            x = wait(ready(1))
            try:
                raise ExceptionGroup("g", [ValueError(x), TypeError(2)])
            except* ValueError as eg:
                print(repr(eg))
            except* TypeError:
                print("t")
            return x
        """)
    code = machine_code(src)
    assert "except* ValueError as eg:" in code and "_star_match" not in code
    assert printed(assert_same(src)) == ["ExceptionGroup('g', [ValueError(1)])", "t"]


def test_except_star_with_waits_only_in_body_else_finally_keeps_native_clauses() -> None:
    src = program("""
        @coroutine
        def main(xs):
            out = []
            for x in xs:
                try:
                    if wait(pending(1, x)) == 2:
                        break
                    if x == 1:
                        continue
                    raise ExceptionGroup("g", [ValueError(x)])
                except* ValueError as eg:
                    out.append(repr(eg))
                else:
                    out.append(wait(ready("else")))
                finally:
                    out.append(wait(pending(1, "finally")))
            return out
        """)
    assert "except* ValueError as eg:" in machine_code(src)
    for xs in ([0, 1, 2, 3], [1, 0]):
        assert_same(src, args=(xs,))


def test_except_star_with_a_wait_inside_a_loop_and_a_return_through_finally() -> None:
    src = program("""
        @coroutine
        def main(n):
            for i in range(n):
                try:
                    if i == 2:
                        return wait(pending(1, "early"))
                    raise ExceptionGroup("g", [ValueError(i), KeyError(i)])
                except* ValueError:
                    print("v", i, wait(pending(1, i)))
                except* KeyError as eg:
                    print("k", repr(eg))
                finally:
                    print("finally", i, wait(ready(i)))
            return "late"
        """)
    assert assert_same(src, args=(3,))[-2] == ("return", "early")
    assert_same(src, args=(2,))


@pytest.mark.parametrize("jump", ["break", "continue", "return"])
def test_except_star_jump_in_a_waiting_handler_is_cpythons_syntax_error(jump) -> None:
    from corofy.transform import CorofyError, transform_source

    src = program(f"""
        @coroutine
        def main(xs):
            for x in xs:
                try:
                    wait(x)
                except* ValueError:
                    wait(x)
                    {jump}
        """)
    with pytest.raises(SyntaxError) as expected:
        compile(src, "prog.py", "exec", dont_inherit=True)
    with pytest.raises(CorofyError) as error:
        transform_source(src, "prog.py")
    assert (error.value.line, error.value.message) == (expected.value.lineno, expected.value.msg)


def _bound(source: str) -> int:
    """SPEC 2.4's bound for a module holding one coroutine after the marker import."""
    lines = source.count("\n") - 1
    return 4 * lines + 45 * source.count("wait(") + 100


SIZE_SHAPES = {
    # each clause's handler waits: the clauses after a wait are not copied into its state
    "waiting_clauses": lambda n: "".join(
        f"    except* {'ValueError' if k == n - 1 else 'KeyError'}:\n"
        f"        x = wait(pending(1, {k}))\n"
        for k in range(n)
    ),
    # waits in the body: its states do not copy the clauses
    "waiting_body": lambda n: "    except* ValueError:\n        x = wait(pending(1, -1))\n",
}


@pytest.mark.parametrize("shape", sorted(SIZE_SHAPES))
def test_except_star_output_stays_within_the_size_bound(shape) -> None:
    n = 40
    body = (
        "".join(f"        x = wait(pending(1, {k}))\n" for k in range(n))
        if shape == "waiting_body"
        else "        x = 0\n"
    )
    src = program(
        "@coroutine\ndef main():\n    try:\n"
        + body
        + "        raise ValueError(x)\n"
        + SIZE_SHAPES[shape](n)
        + "    return x\n"
    )
    assert machine_code(src).count("\n") <= _bound(src)
    assert outcome(assert_same(src)) == ("return", n - 1 if shape == "waiting_clauses" else -1)
