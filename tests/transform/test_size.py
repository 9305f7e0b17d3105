"""SPEC §2.4: the output is linear in the input, whatever the shape.

For each coroutine: at most 4 x its source lines + 45 x its waits + 100 output lines, the
header comment included. Each shape below is one coroutine in a file of its own, so the
whole output (imports and the line table too) is held to that bound; each output must
compile, and the cheap ones run on a driver whose futures answer PENDING once, so every
resume function (and every wait it defers to its own state) runs.
"""

from __future__ import annotations

import pytest

from corofy.transform import transform_source
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
