"""Corner cases of the lowering, each run against the generator reference (SPEC §2.1).

Every program runs on both sides with the harness of ``reference.py`` (event for event),
to completion and closed after one and two polls.
"""

from __future__ import annotations

import pytest
from reference import assert_same, program

CASES = {
    "del_cold_unbound": """
@coroutine
def main(n):
    if n:
        x = 1
    wait(pending(1))
    del x
    return 1
""",
    "while_else_wait_cond": """
@coroutine
def main(n):
    i = 0
    while wait(pending(1, i < n)):
        i += 1
        if i == 2:
            break
    else:
        print("else", i)
    return i
""",
    "finally_return_overrides": """
@coroutine
def main(n):
    for i in range(3):
        try:
            if i == n:
                return "body"
            wait(pending(1))
            continue
        finally:
            wait(pending(1))
            if i == 1:
                return "finally"
    return "end"
""",
    "finally_break_overrides_exception": """
@coroutine
def main(n):
    while True:
        try:
            wait(raising(KeyError, 1, k=1))
        finally:
            wait(pending(1))
            break
    return "broke"
""",
    "closures_loop": """
@coroutine
def main(n):
    fs = []
    for i in range(3):
        fs.append(lambda: i)
        wait(pending(1))
    return [f() for f in fs]
""",
    "walrus_cold": """
@coroutine
def main(n):
    g = lambda: y
    if (y := wait(pending(1, 5))) > 2:
        return g(), y
""",
    "exc_info_after_wait": """
import sys
@coroutine
def main(n):
    try:
        raise KeyError("a")
    except KeyError:
        wait(pending(1))
        print(repr(sys.exc_info()[1]))
        try:
            raise
        except KeyError as e:
            return repr(e)
""",
    "assert_msg": """
@coroutine
def main(n):
    assert n, wait(pending(1, "msg"))
    return 1
""",
    "fstring": """
@coroutine
def main(n):
    return f"{n}-{wait(pending(1, 'x'))!r:>5}-{n+1}"
""",
    "star_args": """
@coroutine
def main(n):
    def f(*a, **k): return a, k
    return f(*[n], wait(pending(1, 2)), k=wait(ready(3)), **{'z': wait(ready(4))})
""",
    "exit_suppress": """
@coroutine
def main(n):
    with cm("a", True):
        wait(raising(ValueError, 1, k=1))
    with cm("b"), cm("c", True):
        raise KeyError(wait(pending(1, "k")))
    return "ok"
""",
    "nested_coroutine_in_function": """
def outer():
    count = 0
    @coroutine
    def inner():
        nonlocal count
        count += wait(pending(1, 5))
        return count
    return inner
@coroutine
def main(n):
    f = outer()
    return wait(f()), wait(f())
""",
    "unbound_read": """
@coroutine
def main(n):
    if n:
        z = 1
    wait(pending(1))
    return z
""",
    "try_in_except_raise_context": """
@coroutine
def main(n):
    try:
        try:
            raise KeyError(1)
        except KeyError:
            wait(pending(1))
            raise ValueError(2)
    except ValueError as e:
        wait(pending(1))
        raise TypeError(3) from e
""",
    "match_body": """
@coroutine
def main(n):
    match wait(ready([n, 2])):
        case [0, x]:
            return wait(pending(1, x))
        case [a, *rest] if a > wait(ready(1)):
            return rest
        case _:
            return "other"
""",
    "dict_comp_nested": """
@coroutine
def main(n):
    return {k: [wait(pending(1, k * j)) for j in range(2)] for k in range(wait(ready(3))) if k != n}
""",
    "aug_subscript": """
@coroutine
def main(n):
    d = {"a": 1}
    d["a"] += wait(setg(0, 5, name="d")) if False else wait(pending(1, 5))
    return d
""",
    "class_in_coroutine": """
@coroutine
def main(n):
    v = wait(pending(1, 3))
    class K:
        attr = v
        def get(self): return v
    v = 4
    return K.attr, K().get()
""",
    "return_in_with_in_loop": """
@coroutine
def main(n):
    for i in range(3):
        with cm(i):
            if i == n:
                return wait(pending(1, i))
            wait(pending(1))
    return -1
""",
    "generator_exit_finally_close": """
@coroutine
def main(n):
    try:
        wait(pending(5))
    except GeneratorExit:
        print("ge")
        raise
    finally:
        print("fin")
""",
    "classmethod_static_mangle": """
class Base:
    def hello(self): return "base"
class C(Base):
    __secret = 7
    def __init__(self): self.__v = 3
    @classmethod
    @coroutine
    def make(cls, x):
        return cls.__name__, wait(ready(x)), cls.__secret
    @staticmethod
    @coroutine
    def twice(x):
        return wait(pending(1, x)) * 2
    @coroutine
    def get(self):
        __local = wait(pending(1, 1))
        return self.__v + __local + wait(ready(1)), super().hello(), __class__.__name__
@coroutine
def main(n):
    return wait(C.make(n)), wait(C.twice(n)), wait(C().get())
""",
    "empty_and_doc": """
@coroutine
def nothing():
    "doc only"
@coroutine
def main(n):
    return wait(nothing()), nothing.__doc__
""",
    "generator_nested_ok": """
@coroutine
def main(n):
    def gen():
        yield 1
        yield 2
    xs = list(gen())
    return xs, wait(ready(n))
""",
    "recursion": """
@coroutine
def fact(n):
    if n <= 1:
        return 1
    return n * wait(fact(n - 1))
@coroutine
def main(n):
    return wait(fact(n + 3))
""",
    "decorator_other": """
import functools
def deco(f):
    @functools.wraps(f)
    def inner(*a, **k):
        print("called", f.__name__)
        return f(*a, **k)
    return inner
@deco
@coroutine
def sub(x):
    return wait(ready(x))
@coroutine
def main(n):
    return wait(sub(n))
""",
    "global_rebind": """
@coroutine
def main(n):
    global G
    G = wait(pending(1, n))
    G += wait(ready(1))
    return G
""",
    "kwonly_defaults": """
@coroutine
def sub(a, /, b=2, *args, c, d=4, **kw):
    return a, b, args, c, d, kw, wait(ready(0))
@coroutine
def main(n):
    return wait(sub(1, 3, 5, c=6, z=7))
""",
    "nested_loops_break_continue": """
@coroutine
def main(n):
    out = []
    for i in range(3):
        for j in range(3):
            if j == n:
                continue
            if wait(pending(1, i + j)) > 3:
                break
            out.append((i, j))
        else:
            out.append("inner-else")
        while True:
            if wait(ready(i)) >= 1:
                break
            out.append("w")
            break
    return out
""",
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_corner_case_behaves_as_its_generator_reference(name: str) -> None:
    for n in (0, 1, 2):
        for close_after in (None, 1, 2):
            assert_same(program(CASES[name]), args=(n,), close_after=close_after)
