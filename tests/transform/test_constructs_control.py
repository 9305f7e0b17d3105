"""wait() in control flow: if/while/for (with else), break/continue, match, comprehensions."""

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
