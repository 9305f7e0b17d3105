"""Memory held per task parked on an unresolved future: corofy's runtime vs asyncio (and uvloop).

Each task waits on a future of its own that never resolves (corofy: a hand-written
``runtime.Future`` that keeps its waker; asyncio: ``loop.create_future()`` awaited by an
``async def``); the root keeps every handle. tracemalloc measures what is allocated once all
tasks are parked, divided by their number. Target: at most a quarter of asyncio's.
Run: ``python3 benchmarks/bench_memory.py [N]``.
"""

from __future__ import annotations

import asyncio
import gc
import sys
import tracemalloc

from _peers import asyncio_runners, report

import runtime
from runtime import PENDING, Future, Ready


class Unresolved(Future):
    """Never ready; keeps the most recent waker as the protocol asks."""

    __slots__ = ("waker",)

    def __init__(self) -> None:
        self.waker = None

    def poll(self, waker):
        self.waker = waker
        return PENDING


class ParkMany(Future):
    """Spawns n parked tasks, lets them all park, measures, then finishes (run() closes them)."""

    __slots__ = ("baseline", "handles", "n", "per_task")

    def __init__(self, n: int, baseline: int) -> None:
        self.n = n
        self.handles = None
        self.baseline = baseline
        self.per_task = 0.0

    def poll(self, waker):
        if self.handles is None:
            spawn = runtime.spawn
            self.handles = [spawn(Unresolved()) for _ in range(self.n)]
            waker.wake()  # come back once every task has been polled and parked
            return PENDING
        self.per_task = (tracemalloc.get_traced_memory()[0] - self.baseline) / self.n
        return Ready(self.per_task)


async def park_many(n: int, baseline: int) -> float:
    loop = asyncio.get_running_loop()
    # Like ParkMany: only the task handles are kept in a list; each future is held by its task.
    tasks = [asyncio.create_task(_wait(loop.create_future())) for _ in range(n)]
    await asyncio.sleep(0)  # every task runs to its await and parks
    per_task = (tracemalloc.get_traced_memory()[0] - baseline) / n
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return per_task


async def _wait(future: asyncio.Future) -> None:
    await future


def measure(fn) -> float:
    gc.collect()
    tracemalloc.start()
    try:
        return fn(tracemalloc.get_traced_memory()[0])
    finally:
        tracemalloc.stop()


def main(n: int = 100_000) -> None:
    per_task = {}
    for name, run in asyncio_runners().items():
        per_task[name] = measure(lambda base, run=run: run(lambda: park_many(n, base)))
    per_task["corofy"] = measure(lambda base: runtime.run(ParkMany(n, base)))
    report(f"memory per parked task, {n:,} tasks (tracemalloc)", "B/task", per_task)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
