"""How fast a generated state machine passes wait points, against a generator.

One million waits on futures that are ready at once, in one process run: the state
machine corofy generates for ``count`` below, and the reference it stands for — the same
function as a generator (``wait(e)`` -> ``yield e``) driven by ``send``, polling each
yielded future as the reference driver of SPEC §2.1 does. Prints both times and the ratio
(machine / generator; below 1.0 means the machine is faster).

    python3 benchmarks/bench_wait_points.py [--waits N] [--repeat R]
"""

from __future__ import annotations

import argparse
import time

from corofy.transform import transform_source
from runtime import PENDING, Future, Ready

SOURCE = """
from corofy import coroutine, wait


@coroutine
def count(futures, n):
    total = 0
    for i in range(n):
        total += wait(futures(i))
    return total
"""


class Now(Future):
    """Ready at the first poll."""

    __slots__ = ("value",)

    def __init__(self, value: int) -> None:
        self.value = value

    def poll(self, waker: object) -> Ready:
        return Ready(self.value)


class Waker:
    def wake(self) -> None:
        pass


def count_generator(futures, n):
    total = 0
    for i in range(n):
        total += yield futures(i)
    return total


def drive_generator(gen, waker) -> object:
    value = None
    try:
        while True:
            future = gen.send(value)
            answer = future.poll(waker)
            while answer is PENDING:  # never here: every future is ready at once
                answer = future.poll(waker)
            value = answer.value
    except StopIteration as stop:
        return stop.value


def drive_machine(machine, waker) -> object:
    answer = machine.poll(waker)
    while answer is PENDING:
        answer = machine.poll(waker)
    return answer.value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--waits", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    namespace: dict = {"__name__": "bench_generated"}
    exec(compile(transform_source(SOURCE, "bench.py"), "bench.py", "exec"), namespace)
    count = namespace["count"]
    waker = Waker()
    expected = sum(range(args.waits))
    best_machine = best_generator = float("inf")
    for _ in range(args.repeat):  # interleaved, best of R: the machine is shared
        start = time.perf_counter()
        assert drive_generator(count_generator(Now, args.waits), waker) == expected
        best_generator = min(best_generator, time.perf_counter() - start)
        start = time.perf_counter()
        assert drive_machine(count(Now, args.waits), waker) == expected
        best_machine = min(best_machine, time.perf_counter() - start)
    print(f"waits: {args.waits:,} on ready futures, best of {args.repeat}")
    print(f"generator driven by send: {best_generator:.3f} s")
    print(f"corofy state machine:     {best_machine:.3f} s")
    print(f"ratio machine/generator:  {best_machine / best_generator:.2f}")


if __name__ == "__main__":
    main()
