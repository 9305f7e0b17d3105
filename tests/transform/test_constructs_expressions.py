"""wait() inside expressions: SPEC §2.2's evaluation order, one behaviour per test.

Each test runs the program as generated machine and as generator reference (they must log
the same events), then pins the value Python itself gives.
"""

from reference import assert_same, outcome, printed, program, result


def leaves_created(events: list) -> list[int]:
    return [e[1] for e in events if e[0] == "new"]


def test_binary_operand_before_wait_keeps_its_old_value() -> None:
    src = program("""
        G = 2
        @coroutine
        def main():
            return G * wait(setg(10, 3))
        """)
    assert result(src) == 6


def test_subscript_assignment_evaluates_value_before_container_and_index() -> None:
    src = program("""
        @coroutine
        def main():
            d = {}
            note("container", d)[note("index")] = wait(ready(note("value")))
            return d
        """)
    events = assert_same(src)
    assert [e[2][0] for e in events if e[0] == "note"] == ["value", "container", "index"]
    assert outcome(events) == ("return", {"index": "value"})


def test_augmented_assignment_reads_target_before_wait() -> None:
    src = program("""
        G = 1
        @coroutine
        def main():
            global G
            G += wait(setg(100, 5))
            return G
        """)
    assert result(src) == 6


def test_augmented_attribute_assignment_reads_object_then_attribute_first() -> None:
    src = program("""
        class Box:
            x = 1
        box = Box()
        @coroutine
        def main():
            box.x += wait(ready(2))
            return box.x
        """)
    assert result(src) == 3


def test_call_arguments_evaluate_left_to_right_around_waits() -> None:
    src = program("""
        @coroutine
        def main():
            return note(note("a"), wait(ready("b")), note("c"), wait(pending(1, "d")))
        """)
    events = assert_same(src)
    assert [e[2] for e in events if e[0] == "note"] == [("a",), ("c",), ("a", "b", "c", "d")]


def test_callee_is_evaluated_before_arguments_and_may_be_awaited() -> None:
    src = program("""
        @coroutine
        def main():
            return wait(ready(note))(1, wait(ready(2)))
        """)
    assert result(src) == 2


def test_and_does_not_create_the_future_of_an_unevaluated_right_operand() -> None:
    src = program("""
        @coroutine
        def main():
            return wait(ready(0)) and wait(ready(1))
        """)
    events = assert_same(src)
    assert leaves_created(events) == [1]
    assert outcome(events) == ("return", 0)


def test_or_short_circuits_on_truthy_left_wait() -> None:
    src = program("""
        @coroutine
        def main():
            return wait(ready(5)) or wait(raising(ValueError))
        """)
    events = assert_same(src)
    assert leaves_created(events) == [1]
    assert outcome(events) == ("return", 5)


def test_or_waits_right_operand_when_left_is_falsy() -> None:
    src = program("""
        @coroutine
        def main():
            return 0 or wait(pending(1, 7))
        """)
    assert result(src) == 7


def test_conditional_expression_creates_only_the_chosen_branch() -> None:
    src = program("""
        @coroutine
        def main():
            return wait(ready("yes")) if wait(ready(False)) else wait(ready("no"))
        """)
    events = assert_same(src)
    assert leaves_created(events) == [1, 2]
    assert outcome(events) == ("return", "no")


def test_chained_comparison_evaluates_middle_once_and_short_circuits() -> None:
    src = program("""
        @coroutine
        def main():
            first = 1 < wait(ready(note(5))) < 9
            second = 9 < wait(ready(2)) < wait(raising(ValueError))
            return first, second
        """)
    events = assert_same(src)
    assert [e[2] for e in events if e[0] == "note"] == [(5,)]
    assert leaves_created(events) == [1, 2]
    assert outcome(events) == ("return", (True, False))


def test_walrus_binds_the_awaited_value() -> None:
    src = program("""
        @coroutine
        def main():
            if (x := wait(ready(4))) > 3:
                return x, (y := wait(pending(1, x + 1))) + y
        """)
    assert result(src) == (4, 10)


def test_fstring_interpolates_waits_in_order() -> None:
    src = program("""
        @coroutine
        def main():
            n = 3
            return f"{n}-{wait(ready(n * 2))!r}-{wait(pending(1, 'z')):>3}"
        """)
    assert result(src) == "3-6-  z"


def test_a_triple_quoted_fstring_over_lines_keeps_its_text_after_a_wait() -> None:
    # Python 3.12+ tokenizes an f-string as FSTRING_START ... FSTRING_END, not one STRING:
    # its second line was re-indented with the resume function, into the string's value.
    src = (
        "from corofy import coroutine, wait\n"
        "@coroutine\n"
        "def main():\n"
        "    x = wait(ready(1))\n"
        '    s = f"""a\n'
        "b{x}\n"
        '  {wait(ready(2))}"""\n'
        "    return s\n"
    )
    assert result(src) == "a\nb1\n  2"


def test_an_fstring_equals_field_prints_the_wait_as_written() -> None:
    # f"{expr=}" prints the text of expr as written, then its value: the wait spilled to
    # a temporary must not show.
    src = program("""
        @coroutine
        def main():
            d = {"a": 1}
            return (
                f"{wait(ready(5))=} {wait(pending(1, 'x'))=:>4} { wait(ready(d))['a'] = !s}",
                f'{wait(ready("q"))=}',
                rf"{wait(ready('r'))=}\\n{{",
                f\"\"\"{wait(ready(1))
                =}\"\"\",
            )
        """)
    assert result(src) == (
        "wait(ready(5))=5 wait(pending(1, 'x'))=   x  wait(ready(d))['a'] = 1",
        "wait(ready(\"q\"))='q'",
        "wait(ready('r'))='r'\\n{",
        "wait(ready(1))\n        =1",
    )


def test_an_fstring_equals_field_prints_renamed_names_as_written() -> None:
    # A comprehension's variable renamed, a private name mangled, a local kept on the
    # machine: the text stays as written.
    src = program("""
        class C:
            def __init__(self):
                self.__p = 3
            @coroutine
            def m(self):
                __q = 4
                wait(pending(1))
                return f"{self.__p=} {__q=}"
        @coroutine
        def main():
            v = 1
            w = [f"{p=}" for p in range(2) if wait(ready(p)) is not None]
            wait(pending(1))
            return w, wait(C().m()), f"{v=}", (lambda: f"{v + 1 = }")()
        """)
    assert result(src) == (["p=0", "p=1"], "self.__p=3 __q=4", "v=1", "v + 1 = 2")


def test_literals_hold_waits_left_to_right() -> None:
    src = program("""
        @coroutine
        def main():
            a = [1, wait(ready(2)), *wait(ready([3, 4]))]
            t = (wait(ready(5)),)
            s = {wait(ready(6)), 7}
            d = {wait(ready("k")): wait(ready("v")), **wait(ready({"m": 8}))}
            return a, t, s, d
        """)
    assert result(src) == ([1, 2, 3, 4], (5,), {6, 7}, {"k": "v", "m": 8})


def test_unpacking_assignment_from_wait() -> None:
    src = program("""
        @coroutine
        def main():
            a, (b, *rest) = wait(ready((1, [2, 3, 4])))
            first, second = wait(ready(b)), wait(ready(a))
            return a, b, rest, first, second
        """)
    assert result(src) == (1, 2, [3, 4], 2, 1)


def test_attribute_and_subscript_of_a_wait() -> None:
    src = program("""
        @coroutine
        def main():
            return wait(ready("abc")).upper(), wait(ready([10, 20]))[wait(ready(1))]
        """)
    assert result(src) == ("ABC", 20)


def test_del_with_wait_in_subscript() -> None:
    src = program("""
        @coroutine
        def main():
            d = {"a": 1, "b": 2}
            del d[wait(ready("a"))]
            x = wait(ready(1))
            del x
            try:
                return x
            except UnboundLocalError:
                return d
        """)
    assert result(src) == {"b": 2}


def test_assert_waits_for_its_message_only_when_failing() -> None:
    src = program("""
        @coroutine
        def main():
            assert wait(ready(True)), wait(ready("never"))
            assert wait(ready(0)), wait(pending(1, "boom"))
        """)
    events = assert_same(src)
    assert leaves_created(events) == [1, 2, 3]
    assert outcome(events)[1][:2] == ("AssertionError", ("boom",))


def test_return_and_raise_with_wait() -> None:
    src = program("""
        @coroutine
        def main():
            try:
                raise wait(ready(ValueError("v")))
            except ValueError as e:
                return wait(ready(e.args))
        """)
    assert result(src) == ("v",)


def test_wait_as_statement_discards_value_but_runs_effects() -> None:
    src = program("""
        G = 0
        @coroutine
        def main():
            wait(setg(9, "ignored", k=2))
            print(G)
        """)
    events = assert_same(src)
    assert printed(events) == [9]
    assert outcome(events) == ("return", None)


def test_nested_waits_create_inner_future_first() -> None:
    src = program("""
        @coroutine
        def main():
            return wait(pending(1, wait(pending(2, 3)) + 1))
        """)
    events = assert_same(src)
    assert leaves_created(events) == [1, 2]
    assert outcome(events) == ("return", 4)


def test_wait_on_another_coroutine() -> None:
    src = program("""
        @coroutine
        def double(x):
            return 2 * wait(pending(1, x))
        @coroutine
        def main():
            return wait(double(wait(double(3))))
        """)
    assert result(src) == 12


def test_unary_and_boolean_not_of_waits() -> None:
    src = program("""
        @coroutine
        def main():
            return -wait(ready(3)), not wait(ready(0)), ~wait(ready(1))
        """)
    assert result(src) == (-3, True, -2)


def test_starred_call_arguments_and_keywords_with_waits() -> None:
    src = program("""
        def f(*args, **kwargs):
            return args, kwargs
        @coroutine
        def main():
            return f(*wait(ready([1, 2])), wait(ready(3)), k=wait(ready(4)), **wait(ready({"z": 5})))
        """)
    assert result(src) == ((1, 2, 3), {"k": 4, "z": 5})


def test_del_of_several_targets_with_waits_deletes_left_to_right() -> None:
    src = program("""
        @coroutine
        def main():
            d = {1: 1, 2: 2, 3: 3}
            del d[wait(ready(1))], d[wait(pending(1, 2))]
            return d
        """)
    assert result(src) == {3: 3}


def test_a_walrus_that_may_not_run_leaves_the_local_as_it_was() -> None:
    # Found by the differential test: a walrus in a short-circuited operand counted as an
    # assignment for sure, so the code after the wait did not receive the old value.
    src = program("""
        @coroutine
        def main(n):
            a = b = c = d = e = n
            wait(ready(0))
            x = n or (a := 10)
            y = (b := 20) if not n else n
            z = n < 0 < (c := 30)
            w = [(d := 40) for _ in range(n - 1)]
            assert n, (e := 50)
            return a, b, c, d, e, x, y, z, w
        """)
    for n in (1, 2):
        assert_same(src, args=(n,))
    assert result(src, args=(1,)) == (1, 1, 1, 1, 1, 1, 1, False, [])
