"""wait() in control flow: if/while/for (with else), break/continue, match, comprehensions."""

import textwrap

import pytest
from reference import assert_same, outcome, printed, program, result


def test_if_elif_else_conditions_wait_in_order() -> None:
    src = program("""
        @coroutine
        def main(n):
            if wait(ready(n == 0)):
                return "zero"
            elif wait(pending(1, n == 1)):
                return "one"
            else:
                return wait(ready("many"))
        """)
    assert [result(src, args=(n,)) for n in range(3)] == ["zero", "one", "many"]


def test_while_condition_and_body_wait_each_iteration() -> None:
    src = program("""
        @coroutine
        def main():
            i = 0
            total = 0
            while wait(ready(i < 3)):
                total += wait(pending(1, i))
                i += 1
            else:
                total += 100
            return total
        """)
    assert result(src) == 103


def test_while_else_is_skipped_after_break() -> None:
    src = program("""
        @coroutine
        def main():
            i = 0
            while True:
                i += wait(ready(1))
                if i == 2:
                    break
            else:
                return "else"
            return i
        """)
    assert result(src) == 2


def test_for_iterable_is_awaited_once_and_body_waits() -> None:
    src = program("""
        @coroutine
        def main():
            out = []
            for x in wait(pending(1, [1, 2, 3])):
                if x == 2:
                    continue
                out.append(wait(ready(x * 10)))
            return out
        """)
    events = assert_same(src)
    assert outcome(events) == ("return", [10, 30])
    assert next(e for e in events if e[0] == "new") == ("new", 1, 1)


def test_for_else_runs_without_break_and_not_with_break() -> None:
    src = program("""
        @coroutine
        def main(stop):
            for x in range(3):
                wait(ready(x))
                if x == stop:
                    break
            else:
                return "exhausted"
            return x
        """)
    assert result(src, args=(1,)) == 1
    assert result(src, args=(7,)) == "exhausted"


def test_for_iterator_lives_across_waits_and_break_does_not_close_it() -> None:
    src = program("""
        @coroutine
        def main():
            it = logiter([1, 2, 3])
            for x in it:
                wait(pending(1, x))
                if x == 2:
                    break
            return x, next(it)
        """)
    events = assert_same(src)
    assert outcome(events) == ("return", (2, 3))
    assert not [e for e in events if e[0] == "iterator-closed"]
    assert [e[1] for e in events if e[0] == "next"] == [0, 1, 2]


def test_for_over_generator_keeps_its_frame_alive_after_break() -> None:
    src = program("""
        def numbers():
            yield 1
            yield 2
            yield 3
        @coroutine
        def main():
            gen = numbers()
            for x in gen:
                wait(ready(x))
                break
            return gen.gi_frame is not None, next(gen)
        """)
    assert result(src) == (True, 2)


def test_nested_loops_break_and_continue_target_the_innermost() -> None:
    src = program("""
        @coroutine
        def main():
            pairs = []
            for i in range(3):
                j = 0
                while True:
                    j += 1
                    if wait(ready(j)) > i:
                        break
                    if j % 2:
                        continue
                    pairs.append((i, j))
            return pairs
        """)
    assert result(src) == [(2, 2)]


def test_loop_variable_keeps_last_value_after_loop() -> None:
    src = program("""
        @coroutine
        def main():
            for x in [wait(ready(4)), 5]:
                pass
            return x
        """)
    assert result(src) == 5


def test_match_subject_guard_and_body_wait() -> None:
    src = program("""
        @coroutine
        def main(value):
            match wait(ready(value)):
                case [a, b] if wait(pending(1, a < b)):
                    return "ascending", wait(ready(a + b))
                case [a, b]:
                    return "pair", a, b
                case {"k": v}:
                    return "mapping", wait(ready(v))
                case int(n) if n > wait(ready(10)):
                    return "big"
                case _:
                    return "other"
        """)
    assert result(src, args=([1, 2],)) == ("ascending", 3)
    assert result(src, args=([2, 1],)) == ("pair", 2, 1)
    assert result(src, args=({"k": 7},)) == ("mapping", 7)
    assert result(src, args=(11,)) == "big"
    assert result(src, args=(3,)) == "other"


def test_list_comprehension_with_waits_in_element_condition_and_iterable() -> None:
    src = program("""
        @coroutine
        def main():
            return [wait(ready(x * 2)) for x in wait(ready(range(5))) if wait(pending(1, x % 2))]
        """)
    assert result(src) == [2, 6]


def test_set_and_dict_comprehensions_with_waits() -> None:
    src = program("""
        @coroutine
        def main():
            s = {wait(ready(x % 2)) for x in range(4)}
            d = {wait(ready(k)): wait(pending(1, k * k)) for k in range(3)}
            return s, d
        """)
    assert result(src) == ({0, 1}, {0: 0, 1: 1, 2: 4})


def test_comprehension_variables_do_not_leak() -> None:
    src = program("""
        @coroutine
        def main():
            x = "kept"
            ys = [wait(ready(x)) for x in range(2)]
            zs = [wait(ready(z)) for z in range(2)]
            try:
                z
            except NameError as e:
                return x, ys, zs, type(e).__name__
        """)
    assert result(src) == ("kept", [0, 1], [0, 1], "NameError")


def test_nested_comprehension_with_waits_sees_outer_variable() -> None:
    src = program("""
        @coroutine
        def main():
            return [[wait(ready(i * j)) for j in range(i)] for i in range(3)]
        """)
    assert result(src) == [[], [0], [0, 2]]


def test_comprehension_reads_coroutine_locals_set_before_it() -> None:
    src = program("""
        @coroutine
        def main():
            base = wait(ready(10))
            return [base + wait(ready(i)) for i in range(2)]
        """)
    assert result(src) == [10, 11]


def test_lambdas_made_in_a_waiting_comprehension_see_its_variable_across_a_suspension() -> None:
    # One run of a comprehension is one scope: every lambda made in it reads the variable's
    # latest value in that run, made before or after a wait suspended the run.
    src = program("""
        @coroutine
        def main():
            gs = [(lambda: (x, y)) for x in range(2) for y in range(wait(pending(1, 2)))]
            hs = [(lambda: x) for x in range(3) if wait(pending(1, True))]
            ks = {x: (lambda: x) for x in range(2) if wait(pending(1, True))}
            return [g() for g in gs], [h() for h in hs], [k() for k in ks.values()]
        """)
    assert result(src) == ([(1, 1)] * 4, [2, 2, 2], [1, 1])


def test_each_run_of_a_waiting_comprehension_has_its_own_variable_for_its_lambdas() -> None:
    # Run again (a loop), the comprehension is a new scope: lambdas of an earlier run keep
    # reading that run's variable, whether the run suspended (pending) or not (ready).
    for leaf in ("pending(1, True)", "ready(True)"):
        src = program(f"""
            @coroutine
            def main():
                fs = []
                for k in range(2):
                    fs += [(lambda: x) for x in range(k, k + 2) if wait({leaf})]
                return [f() for f in fs]
            """)
        assert result(src) == [1, 1, 2, 2]


# A waiting comprehension run again: each run's lambdas read x late, its last value in that
# run, and k late too, its last value (k is a coroutine local, or an outer comprehension's).
EACH_RUN_ITS_OWN = [1, 1, 2, 2, 3, 3]
RUN_AGAIN = {
    "while": """
        k = 0
        while k < 3:
            fs += COMP
            k += 1
        k = 2
        """,
    "try in a loop": """
        for k in range(3):
            try:
                fs += COMP
            finally:
                note(k)
        """,
    "with in a loop": """
        for k in range(3):
            with cm(k):
                fs += COMP
        """,
    "match in a loop": """
        for k in range(3):
            match k:
                case 1:
                    fs += COMP
                case _:
                    fs += COMP
        """,
    "inside a comprehension": """
        fs += [f for k in range(3) for f in COMP]
        """,
}


@pytest.mark.parametrize("leaf", ["ready(True)", "pending(k % 2, True)"])
@pytest.mark.parametrize("shape", RUN_AGAIN, ids=RUN_AGAIN)
def test_lambdas_of_a_waiting_comprehension_run_again_read_their_own_run(shape, leaf) -> None:
    comp = f"[(lambda: (x, k)) for x in range(k, k + 2) if wait({leaf})]"
    body = textwrap.indent(textwrap.dedent(RUN_AGAIN[shape]).replace("COMP", comp), "    ")
    src = program(
        "@coroutine\ndef main():\n    fs = []\n" + body + "    return [f() for f in fs]\n"
    )
    assert result(src) == [(x, 2) for x in EACH_RUN_ITS_OWN]


def test_generator_expression_in_a_waiting_comprehension_reads_its_variable_late() -> None:
    src = program("""
        @coroutine
        def main():
            gens = [(x + q for q in range(1)) for x in range(wait(pending(1, 3)))]
            nested = [[(lambda: (x, y)) for y in range(wait(pending(1, 2)))] for x in range(2)]
            return [list(g) for g in gens], [[f() for f in fs] for fs in nested]
        """)
    assert result(src) == ([[2], [2], [2]], [[(1, 1), (1, 1)], [(1, 1), (1, 1)]])


def test_lambda_parameter_named_like_a_waiting_comprehension_variable_shadows_it() -> None:
    src = program("""
        @coroutine
        def main():
            fs = [(lambda x, k=x: (x, k)) for x in range(wait(pending(1, 2)))]
            gs = [(lambda: [x for x in "ab"]) for x in range(wait(ready(1)))]
            return [f(x=7) for f in fs], [g() for g in gs]
        """)
    assert result(src) == ([(7, 0), (7, 1)], [["a", "b"]])


def test_lambda_in_a_waiting_comprehension_reading_a_variable_bound_later_raises() -> None:
    # Called before the second for binds y, the lambda reads a free variable with no value.
    src = program("""
        @coroutine
        def main():
            return [y for x in range(1) if (lambda: y)() for y in range(wait(ready(2)))]
        """)
    assert result(src) == (
        "raised",
        (
            "NameError",
            (
                "cannot access free variable 'y' where it is not associated with a value"
                " in enclosing scope",
            ),
            None,
            None,
            False,
        ),
    )


def test_self_documenting_fstring_in_a_lambda_of_a_waiting_comprehension() -> None:
    src = program("""
        @coroutine
        def main():
            fs = [(lambda: f"{x=}") for x in range(2) if wait(pending(1, True))]
            return [f() for f in fs]
        """)
    assert result(src) == ["x=1", "x=1"]


def test_generated_loop_prints_in_order() -> None:
    src = program("""
        @coroutine
        def main():
            for i in range(2):
                print("before", i)
                wait(pending(1, None))
                print("after", i)
        """)
    events = assert_same(src)
    assert printed(events) == [("before", 0), ("after", 0), ("before", 1), ("after", 1)]


def test_leaving_a_waiting_loop_inside_a_branch_goes_on_after_the_branch() -> None:
    # Found by the differential test: the state inside the loop continues the loop by a
    # call, but when the loop ends there (its condition, or a break) what follows the
    # if/elif it ends must run.
    src = program("""
        @coroutine
        def main(n):
            a = n
            if n > 5:
                a = 0
            elif n < 3:
                w = 0
                while w < 5 and wait(pending(1, w < 2)):
                    w += 1
                    a += 10
            else:
                for x in range(3):
                    a += 100
                    if wait(pending(1, x)) == 1:
                        break
            return ("main", a)
        """)
    for n in (0, 1, 4, 6):
        assert_same(src, args=(n,))
    assert [result(src, args=(n,)) for n in (1, 4)] == [("main", 21), ("main", 204)]
