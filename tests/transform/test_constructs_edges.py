"""Corners of SPEC §2.2 the program generator does not reach: wait() in unusual positions,
assignment forms, and exceptions crossing sub-coroutines."""

from reference import assert_same, outcome, printed, program, result


def test_wait_in_except_clause_type_works_or_is_refused_at_the_wait() -> None:
    # Not in SPEC §2.2's list: supporting it or refusing it (§2.3) are both allowed;
    # a crash or wrong handler is not.
    from corofy.transform import CorofyError, transform_source

    src = program("""
        @coroutine
        def main():
            try:
                wait(raising(KeyError, 1))
            except wait(ready(ValueError)):
                return "value"
            except wait(pending(1, KeyError)) as e:
                return "key", e.args
        """)
    try:
        transform_source(src, "prog.py")
    except CorofyError as error:
        assert (error.line, error.col) == (7, 12), str(error)
        return
    events = assert_same(src)
    assert outcome(events) == ("return", ("key", (1,)))
    assert [e[1] for e in events if e[0] == "new"] == [1, 2, 3]


def test_wait_in_slice_bounds() -> None:
    src = program("""
        @coroutine
        def main():
            xs = list(range(10))
            return xs[wait(ready(2)) : wait(pending(1, 8)) : wait(ready(3))]
        """)
    assert result(src) == [2, 5]


def test_augmented_subscript_reads_container_and_key_before_the_wait() -> None:
    src = program("""
        class Loud(dict):
            def __getitem__(self, key):
                note("get", key)
                return super().__getitem__(key)
            def __setitem__(self, key, value):
                note("set", key, value)
                super().__setitem__(key, value)
        @coroutine
        def main():
            d = Loud(k=1)
            d[wait(ready("k"))] += wait(ready(note("value", 10)))
            return dict(d)
        """)
    events = assert_same(src)
    assert [e[2] for e in events if e[0] == "note"] == [
        ("get", "k"),
        ("value", 10),
        ("set", "k", 11),
    ]
    assert outcome(events) == ("return", {"k": 11})


def test_chained_and_annotated_assignment_from_wait() -> None:
    src = program("""
        @coroutine
        def main():
            a = b = wait(ready([1]))
            c: int = wait(pending(1, 3))
            a.append(2)
            return a, b, c, a is b
        """)
    assert result(src) == ([1, 2], [1, 2], 3, True)


def test_attribute_assignment_from_wait_evaluates_value_first() -> None:
    src = program("""
        class Box:
            pass
        @coroutine
        def main():
            box = Box()
            (note("target") and box).x = wait(ready(note("value", 5)))
            return box.x
        """)
    events = assert_same(src)
    assert [e[2][0] for e in events if e[0] == "note"] == ["value", "target"]
    assert outcome(events) == ("return", 5)


def test_comprehension_with_wait_in_a_later_iterable_and_two_loops() -> None:
    src = program("""
        @coroutine
        def main():
            return [(x, y) for x in range(2) for y in wait(ready([x * 10, x * 10 + 1]))]
        """)
    assert result(src) == [(0, 0), (0, 1), (1, 10), (1, 11)]


def test_exception_from_sub_coroutine_keeps_type_args_and_context() -> None:
    src = program("""
        @coroutine
        def inner():
            try:
                wait(raising(KeyError, "inner"))
            except KeyError:
                wait(pending(1, None))
                raise ValueError("from inner")
        @coroutine
        def main():
            try:
                wait(inner())
            except ValueError as e:
                return e.args, type(e.__context__).__name__
        """)
    assert result(src) == (("from inner",), "KeyError")


def test_exception_in_exit_replaces_the_body_exception() -> None:
    src = program("""
        class Angry:
            def __enter__(self):
                return self
            def __exit__(self, *exc):
                raise KeyError("exit")
        @coroutine
        def main():
            with Angry():
                wait(raising(ValueError, "body"))
        """)
    kind, (name, args, cause, context, suppress) = outcome(assert_same(src))
    assert (kind, name, args, cause, suppress) == ("raise", "KeyError", ("exit",), None, False)
    assert context[:2] == ("ValueError", ("body",))


def test_continue_in_except_after_wait_and_return_in_with_in_finally() -> None:
    src = program("""
        @coroutine
        def main():
            seen = []
            for i in range(3):
                try:
                    wait(raising(ValueError, i))
                except ValueError as e:
                    seen.append(wait(ready(e.args[0])))
                    continue
                finally:
                    seen.append("f")
            try:
                return "body"
            finally:
                with cm("last"):
                    seen.append(wait(pending(1, "w")))
                    return seen
        """)
    assert result(src) == [0, "f", 1, "f", 2, "f", "w"]


def test_return_inside_with_inside_try_finally_runs_exit_then_finally() -> None:
    src = program("""
        @coroutine
        def main():
            try:
                with cm("ctx"):
                    return wait(ready("value"))
            finally:
                print("finally", wait(pending(1, 0)))
        """)
    events = assert_same(src)
    order = [e[0] for e in events if e[0] in ("exit", "print")]
    assert order == ["exit", "print"]
    assert outcome(events) == ("return", "value")


def test_nested_generator_function_in_coroutine_sees_its_locals() -> None:
    src = program("""
        @coroutine
        def main():
            base = wait(ready(10))
            def gen():
                yield base
                yield base + 1
            items = list(gen())
            base = wait(ready(20))
            return items, list(gen())
        """)
    assert result(src) == ([10, 11], [20, 21])


def test_class_defined_in_coroutine_reads_its_locals() -> None:
    src = program("""
        @coroutine
        def main():
            size = wait(ready(3))
            class Sized:
                n = size
                def twice(self):
                    return size * 2
            wait(pending(1, None))
            return Sized.n, Sized().twice()
        """)
    assert result(src) == (3, 6)


def test_star_arguments_to_print_with_waits() -> None:
    src = program("""
        @coroutine
        def main():
            print(*[wait(ready(i)) for i in range(3)], wait(ready("end")))
        """)
    assert printed(assert_same(src)) == [(0, 1, 2, "end")]


def test_while_else_with_waits_in_condition_and_else() -> None:
    src = program("""
        @coroutine
        def main():
            n = 0
            while n < wait(ready(2)):
                n += 1
            else:
                n += wait(pending(1, 100))
            return n
        """)
    assert result(src) == 102


def test_close_while_waiting_inside_a_comprehension() -> None:
    src = program("""
        @coroutine
        def main():
            try:
                return [wait(pending(2, i)) for i in range(3)]
            finally:
                print("finally")
        """)
    events = assert_same(src, close_after=3)
    assert printed(events) == ["finally"]
    assert events[-1] == ("closed",)


def test_close_does_not_close_a_for_loops_iterator() -> None:
    src = program("""
        @coroutine
        def main():
            for x in logiter([1, 2]):
                wait(pending(3, x))
        """)
    events = assert_same(src, close_after=2)
    assert not [e for e in events if e[0] == "iterator-closed"]
    assert events[-1] == ("closed",)


def test_many_waits_in_a_loop_do_not_grow_the_stack() -> None:
    src = program("""
        @coroutine
        def main():
            total = 0
            for i in range(3000):
                total += wait(ready(1))
            return total
        """)
    assert result(src) == 3000


def test_deep_chain_of_sub_coroutines() -> None:
    src = program("""
        @coroutine
        def down(n):
            if n == 0:
                return wait(pending(1, 0))
            return 1 + wait(down(n - 1))
        @coroutine
        def main():
            return wait(down(100))
        """)
    assert result(src) == 100


def test_sub_coroutine_does_not_see_the_exception_its_caller_is_handling() -> None:
    # The reference polls the inner future from the driver, outside the caller's frame, so
    # neither sys.exc_info() nor a new exception's __context__ in the callee sees it.
    src = program("""
        import sys
        @coroutine
        def inner():
            wait(pending(1, None))
            seen = sys.exc_info()[0]
            try:
                wait(raising(ValueError, 1))
            except ValueError as e:
                return seen, e.__context__
        @coroutine
        def main():
            try:
                raise KeyError(6)
            except KeyError:
                try:
                    wait(raising(IndexError, 0))
                finally:
                    return wait(inner())
        """)
    assert result(src) == (None, None)
