"""SPEC §2.4: the output is linear in the input, whatever the shape.

For each coroutine: at most 4 x its source lines + 45 x its waits + 100 output lines, the
header comment included. Each shape below is one coroutine in a file of its own, so the
whole output (imports and the line table too) is held to that bound; each output must
compile, and the cheap ones run on a driver whose futures answer PENDING once, so every
resume function (and every wait it defers to its own state) runs.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from corofy.transform import transform, transform_source
from runtime import PENDING, Future, Ready

HEAD = "from corofy import coroutine, wait\n\n\n@coroutine\ndef f(a, cm):\n"


def _waits(n: int, indent: str) -> str:
    return "".join(f"{indent}x{k} = wait(a({k}))\n" for k in range(n))


def _sum(n: int, indent: str) -> str:
    return f"{indent}return x0 + x{n - 1}\n"  # x0 lives across every wait


# Each shape: (body of f for n waits, its value when a(k) gives k and cm runs a body once).
SHAPES = {
    "top": lambda n: _waits(n, "    ") + _sum(n, "    "),
    "if": lambda n: "    if 1:\n" + _waits(n, "        ") + _sum(n, "    "),
    "with": lambda n: "    with cm:\n" + _waits(n, "        ") + _sum(n, "    "),
    "try_finally": lambda n: (
        "    try:\n" + _waits(n, "        ") + "    finally:\n        pass\n" + _sum(n, "    ")
    ),
    "for": lambda n: "    for q in cm:\n" + _waits(n, "        ") + _sum(n, "    "),
    "while": lambda n: "    while cm:\n" + _waits(n, "        ") + _sum(n, "    "),
    # A loop inside a try is copied into its states' functions (a call would leave the try).
    "while_in_try": lambda n: (
        "    try:\n        while cm:\n"
        + _waits(n, "            ")
        + "    finally:\n        pass\n"
        + _sum(n, "    ")
    ),
}


def bound(source: str) -> int:
    """The SPEC §2.4 bound for a file holding one coroutine after HEAD's import."""
    lines = source.count("\n") - HEAD.count("\n") + 2  # from @coroutine to the end
    return 4 * lines + 45 * source.count("wait(") + 100


class Later(Future):
    """PENDING at the first poll (waking at once), then Ready(value)."""

    def __init__(self, value: object) -> None:
        self.value = value
        self.polled = False

    def poll(self, waker):
        if not self.polled:
            self.polled = True
            waker.wake()
            return PENDING
        return Ready(self.value)


class Waker:
    def wake(self) -> None:
        pass


class Manager:
    """A context manager, an iterable of one item, and true once (a while runs once)."""

    def __init__(self) -> None:
        self.truths = 1
        self.log: list[str] = []

    def __enter__(self):
        self.log.append("enter")
        return self

    def __exit__(self, *exc):
        self.log.append("exit")
        return False

    def __iter__(self):
        return iter([0])

    def __bool__(self) -> bool:
        self.truths -= 1
        return self.truths >= 0


def run(output: str) -> tuple[object, int]:
    """Run the generated f with Later futures: its value and how many polls it took."""
    namespace: dict = {"__name__": "size_check"}
    exec(compile(output, "<size>", "exec"), namespace)
    machine = namespace["f"](Later, Manager())
    waker = Waker()
    for polls in range(1, 10_000):
        answer = machine.poll(waker)
        if answer is not PENDING:
            return answer.value, polls
    raise AssertionError("the machine never finished")


@pytest.mark.parametrize("n", [1, 5, 40])
@pytest.mark.parametrize("shape", list(SHAPES))
def test_many_waits_in_one_body_stay_within_the_size_bound_and_run(shape: str, n: int) -> None:
    source = HEAD + SHAPES[shape](n)
    output = transform_source(source)
    assert output.count("\n") <= bound(source)
    value, polls = run(output)
    assert value == n - 1
    assert polls == n + 1  # each wait answered PENDING once: one poll each, and the last


def _nested_loops(depth: int) -> str:
    """``depth`` nested for loops over cm (one item each), a wait at each level."""
    lines = []
    for d in range(depth):
        indent = "    " * (d + 1)
        lines.append(f"{indent}for q{d} in cm:\n{indent}    y{d} = wait(a({d}))\n")
    return "".join(lines) + f"    return y0 + y{depth - 1}\n"


@pytest.mark.parametrize("depth", [2, 8])
def test_loops_nested_deep_are_not_copied_into_every_level(depth: int) -> None:
    source = HEAD + _nested_loops(depth)
    output = transform_source(source)
    assert output.count("\n") <= bound(source)
    value, polls = run(output)
    assert value == depth - 1
    assert polls == depth + 1


def _loop_in_try(n: int) -> str:
    """The shape of real code's retry and auth loops (httpx's ``_send_handling_auth``,
    aiohttp's ``ClientSession._request``): a waiting loop inside a try whose finally waits,
    its body a try with ``n`` waits and a handler that waits, around a try/except."""
    return (
        "    try:\n"
        "        while cm:\n"
        "            r = wait(a(0))\n"
        "            try:\n"
        "                try:\n"
        "                    s = wait(a(r))\n"
        "                except KeyError:\n"
        "                    return -1\n"
        + _waits(n, "                ")
        + "            except BaseException as e:\n"
        "                wait(a(e))\n"
        "                raise\n"
        "    finally:\n"
        "        y = wait(a(cm))\n" + _sum(n, "    ")
    )


@pytest.mark.parametrize("n", [1, 5, 20, 40])
def test_a_waiting_loop_inside_a_try_stays_within_the_size_bound_and_runs(n: int) -> None:
    source = HEAD + _loop_in_try(n)
    output = transform_source(source)
    assert output.count("\n") <= bound(source)
    assert run(output) == (n - 1, n + 4)  # r, s, the n waits, y: each PENDING once


@pytest.mark.parametrize("n", [2, 10])
def test_a_waiting_loop_inside_a_try_is_printed_at_most_twice_not_once_per_state(n: int) -> None:
    # Each state inside the loop ends its iteration by handing off to the one state that
    # runs the loop again (a call from inside the re-entered try would leave it), but the
    # last wait of the iteration, whose resume function keeps a copy (no detour there).
    source = HEAD + _loop_in_try(n).replace("raise\n", "pass\n")  # the handler goes on
    output = transform_source(source)
    printed = [line for line in output.splitlines() if line.strip() == "while cm:"]
    assert len(printed) == 2  # not counting the header comment's copy of the source
    assert output.count("\n") <= bound(source)


# -- nesting as deep as CPython allows -------------------------------------------------------
# Each nested shape: depth -> (body of f, its value when a(k) gives k). A wait at each level,
# so every resume function re-enters every construct around its wait.


def _indent(level: int) -> str:
    return "    " * (level + 1)


def _try_finally(depth: int) -> tuple[str, int]:
    """try/finally nested in the try body, a wait at each level, finally blocks without."""
    opened = "".join(
        f"{_indent(k)}try:\n{_indent(k)}    x{k} = wait(a({k}))\n" for k in range(depth)
    )
    closed = "".join(
        f"{_indent(k)}finally:\n{_indent(k)}    pass\n" for k in reversed(range(depth))
    )
    return opened + closed + f"    return x0 + x{depth - 1}\n", depth - 1


def _try_finally_waiting(depth: int) -> tuple[str, int]:
    """try/finally nested in the try body, a wait in each try body and each finally."""
    opened = "".join(
        f"{_indent(k)}try:\n{_indent(k)}    x{k} = wait(a({k}))\n" for k in range(depth)
    )
    closed = "".join(
        f"{_indent(k)}finally:\n{_indent(k)}    y{k} = wait(a({k}))\n"
        for k in reversed(range(depth))
    )
    return opened + closed + f"    return x{depth - 1} + y{depth - 1} + y0\n", 2 * (depth - 1)


def _finally_nested(depth: int) -> tuple[str, int]:
    """Each level inside the finally of the one above; a wait in each try body and finally."""
    levels = "".join(
        f"{_indent(k)}try:\n{_indent(k)}    x{k} = wait(a({k}))\n"
        f"{_indent(k)}finally:\n{_indent(k)}    y{k} = wait(a({k}))\n"
        for k in range(depth)
    )
    return levels + f"    return x{depth - 1} + y{depth - 1}\n", 2 * (depth - 1)


def _try_except(depth: int) -> tuple[str, int]:
    """try/except nested in the try body; the innermost raises, each handler waits and
    re-raises but the outermost, which keeps the exception's args."""
    opened = "".join(
        f"{_indent(k)}try:\n{_indent(k)}    x{k} = wait(a({k}))\n" for k in range(depth)
    )
    inner = f"{_indent(depth)}raise ValueError(x{depth - 1})\n"
    handlers = "".join(
        f"{_indent(k)}except ValueError as e{k}:\n{_indent(k)}    y{k} = wait(a(e{k}.args[0]))\n"
        + (f"{_indent(k)}    raise\n" if k else f"{_indent(k)}    return x0 + y0\n")
        for k in reversed(range(depth))
    )
    return opened + inner + handlers, depth - 1


def _with(depth: int) -> tuple[str, int]:
    levels = "".join(
        f"{_indent(k)}with cm:\n{_indent(k)}    x{k} = wait(a({k}))\n" for k in range(depth)
    )
    return levels + f"    return x0 + x{depth - 1}\n", depth - 1


def _with_two_items(depth: int) -> tuple[str, int]:
    levels = "".join(
        f"{_indent(k)}with cm as p{k}, cm as q{k}:\n{_indent(k)}    x{k} = wait(a({k}))\n"
        for k in range(depth)
    )
    return levels + f"    return x0 + x{depth - 1}\n", depth - 1


def _with_waiting_items(depth: int) -> tuple[str, int]:
    """One with of ``depth`` items, each item's manager the value of a wait."""
    items = ", ".join(f"wait(a(cm)) as m{k}" for k in range(depth))
    return f"    with {items}:\n        x = wait(a({depth}))\n    return x\n", depth


def _for(depth: int) -> tuple[str, int]:
    levels = "".join(
        f"{_indent(k)}for q{k} in cm:\n{_indent(k)}    x{k} = wait(a({k}))\n" for k in range(depth)
    )
    return levels + f"    return x0 + x{depth - 1}\n", depth - 1


NESTED = {
    "try_finally": _try_finally,
    "try_finally_waiting": _try_finally_waiting,
    "finally_nested": _finally_nested,
    "try_except": _try_except,
    "with": _with,
    "with_two_items": _with_two_items,
    "with_waiting_items": _with_waiting_items,
    "for": _for,
}


def _as_generator(body: str) -> str:
    return "def f(a, cm):\n" + body.replace("wait(", "(yield ")


_PROBE = """
import sys
for depth, source in enumerate(sys.stdin.read().split("\\0"), 1):
    try:
        compile(source, "<shape>", "exec")
    except SyntaxError:
        break
    print(depth, flush=True)
"""


def deepest(shape: str) -> int:
    """The deepest nesting of ``shape`` that CPython compiles (its limit of statically
    nested blocks): corofy's output must compile there too.

    Probed in a child process: CPython 3.12.1 crashes (SIGSEGV) compiling a ``with`` nested
    one level past the limit, where other versions raise SyntaxError; a crash there ends
    only the probe, and the last depth it printed is the answer."""
    sources = "\0".join(_as_generator(NESTED[shape](depth)[0]) for depth in range(1, 100))
    probe = subprocess.run(
        [sys.executable, "-c", _PROBE], input=sources, capture_output=True, text=True, timeout=300
    )
    printed = probe.stdout.split()
    assert printed, probe.stderr
    return int(printed[-1])


# CPython copies a finally block's code for its normal and its exceptional exit, and the
# finally blocks around a return for that return: code whose finally blocks hold finally
# blocks, or returns, compiles in time doubling per level. The source of finally_nested
# takes 93 s to compile 20 deep (0.05 s 10 deep); the output of try_finally_waiting, whose
# suspensions return from inside finally blocks, 7.6 s 13 deep. Those two stop at 10.
SLOW_TO_COMPILE = {"finally_nested": 10, "try_finally_waiting": 10}

DEPTHS = [
    (shape, depth)
    for shape in NESTED
    for top in [SLOW_TO_COMPILE.get(shape) or deepest(shape)]
    for depth in sorted({2, 5, top // 2, top})
]


def _nested(shape: str, depth: int) -> tuple[str, str, int]:
    body, value = NESTED[shape](depth)
    source = HEAD + body
    return source, transform_source(source), value


@pytest.mark.parametrize(("shape", "depth"), DEPTHS)
def test_nested_shapes_compile_and_run_at_every_depth_cpython_compiles(
    shape: str, depth: int
) -> None:
    source, output, value = _nested(shape, depth)
    assert run(output) == (value, source.count("wait(") + 1)


# Still over the bound (issue 10, open): each resume function re-opens every try and with
# around its wait, so a wait at depth d costs lines in proportion to d, and the output grows
# with the square of the depth. A with costs a line per with statement (its items
# re-entered in one header, as written), which keeps withs within the bound at every depth;
# a try costs its header, its handlers' entries and its finally. Each shape is over from the
# depth given here on (CPython's
# deepest nesting differs by one between versions: 20 on 3.11, 19 on 3.12.1 for try_finally).
# Strict: a fix makes these pass, and then they must go.
OVER_BOUND_FROM = {
    "try_finally": 19,
    "try_finally_waiting": 5,
    "finally_nested": 10,
    "try_except": 10,
}
_QUADRATIC = pytest.mark.xfail(
    strict=True, reason="re-entry of the enclosing try blocks is per state (issue 10)"
)


@pytest.mark.parametrize(
    ("shape", "depth"),
    [
        pytest.param(
            shape, depth, marks=[_QUADRATIC] if depth >= OVER_BOUND_FROM.get(shape, 99) else []
        )
        for shape, depth in DEPTHS
    ],
)
def test_nested_shapes_stay_within_the_size_bound(shape: str, depth: int) -> None:
    source, output, _ = _nested(shape, depth)
    assert output.count("\n") <= bound(source)


@pytest.mark.parametrize("count", [1, 10, 40])
def test_comprehensions_with_two_waits_each_stay_within_the_size_bound_and_run(
    count: int,
) -> None:
    source = HEAD + "".join(
        f"    c{k} = [wait(a(k)) + wait(a({k})) for k in cm]\n" for k in range(count)
    )
    source += f"    return c0[0] + c{count - 1}[0]\n"
    output = transform_source(source)
    assert output.count("\n") <= bound(source)
    assert run(output) == (count - 1, 2 * count + 1)


_ERRORS = ["KeyError", "IndexError", "ValueError", "TypeError", "NameError", "OSError", "EOFError"]


def _loop_in_try_with_handlers(handlers: int) -> str:
    """websockets' ``transfer_data`` reduced: a waiting loop inside a try, a waiting loop in
    its body, and ``handlers`` except clauses, each re-entered by every state inside it."""
    return (
        "    try:\n"
        "        while cm:\n"
        "            m = wait(a(1))\n"
        "            if m is None:\n"
        "                break\n"
        "            if m:\n"
        "                for q in cm:\n"
        "                    try:\n"
        "                        wait(a(q))\n"
        "                    finally:\n"
        "                        cm.log.append('f')\n"
        "            cm.log.append(m)\n"
        + "".join(
            f"    except {e} as e:\n        cm.log.append(e)\n        return -1\n"
            for e in _ERRORS[:handlers]
        )
        + "    return len(cm.log)\n"
    )


def _printed(output: str, line: str) -> int:
    return sum(printed.strip() == line for printed in output.splitlines())


def test_the_hot_path_copy_of_a_loop_is_kept_only_where_the_output_stays_within_the_bound() -> None:
    # The resume function of the loop's last wait keeps a copy of the loop (no detour
    # through poll() in a server's steady state): bounded duplication, kept only while the
    # output stays within its budget (it took websockets' transfer_data over); past it,
    # every state hands the loop off. Each handler adds to every state inside the try.
    kept, dropped = [], []
    for handlers in range(1, len(_ERRORS) + 1):
        source = HEAD + _loop_in_try_with_handlers(handlers)
        output = transform_source(source)
        if _printed(output, "while cm:") == 2:  # its continuation or entry, and the copy
            kept.append(handlers)
            assert output.count("\n") <= bound(source), handlers
        else:
            dropped.append(handlers)
            assert _printed(output, "while cm:") == 1
        assert run(output) == (2, 3)
    assert kept and dropped and max(kept) < min(dropped), (kept, dropped)


def test_a_machine_made_again_without_the_copy_is_named_and_listed_once() -> None:
    # Made again, the machine (and the coroutine nested in it) must not take the names its
    # first making took (its class would be f_machine_) nor be listed twice.
    nested = "    @coroutine\n    def g(b):\n        return wait(a(b))\n"
    for handlers in range(1, len(_ERRORS) + 1):  # the first the copy would take over
        source = HEAD + nested + _loop_in_try_with_handlers(handlers)
        result = transform(source)
        if _printed(result.code, "while cm:") == 1:
            break
    else:
        raise AssertionError("the copy stayed with every handler count")
    assert [m.qualname for m in result.machines] == ["f", "f.<locals>.g"]
    assert "class f_machine(" in result.code and "f_machine_" not in result.code
    assert "class g_machine(" in result.code and "g_machine_" not in result.code
    assert run(result.code) == (2, 3)
