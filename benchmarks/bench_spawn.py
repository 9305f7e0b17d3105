"""Spawn and finish 100,000 trivial tasks: corofy's runtime vs asyncio (and uvloop).

The trivial task is a hand-written ``runtime.Future`` whose poll returns Ready at once,
against an ``async def`` that returns at once. The root spawns them all, then joins each.
Target: at least 4x asyncio's throughput. Reported by CPU time (steady on a shared machine)
and by wall time. Run: ``python3 benchmarks/bench_spawn.py [N]``.
"""

from __future__ import annotations

import asyncio
import sys
import time

from _peers import asyncio_runners, best_times, report

import runtime
from runtime import PENDING, Future, Ready


class Trivial(Future):
    __slots__ = ()

    def poll(self, waker):
        return Ready(None)


class SpawnAndJoin(Future):
    __slots__ = ("handles", "joined", "n")

    def __init__(self, n: int) -> None:
        self.n = n
        self.handles = None
        self.joined = 0

    def poll(self, waker):
        if self.handles is None:
            spawn = runtime.spawn
            self.handles = [spawn(Trivial()) for _ in range(self.n)]
        handles = self.handles
        while self.joined < len(handles):
            if handles[self.joined].poll(waker) is PENDING:
                return PENDING
            self.joined += 1
        return Ready(len(handles))


async def trivial():
    return None


async def spawn_and_join(n: int) -> int:
    tasks = [asyncio.create_task(trivial()) for _ in range(n)]
    for task in tasks:
        await task
    return len(tasks)


def main(n: int = 100_000, repeats: int = 7) -> None:
    contenders = {
        name: (lambda run=run: run(lambda: spawn_and_join(n)))
        for name, run in asyncio_runners().items()
    }
    contenders["corofy"] = lambda: runtime.run(SpawnAndJoin(n))
    for label, clock in (("CPU time", time.process_time), ("wall time", time.perf_counter)):
        seconds = best_times(repeats, contenders, clock)
        per_task_us = {name: s / n * 1e6 for name, s in seconds.items()}
        title = f"spawn + complete {n:,} tasks, {label} (best of {repeats})"
        report(title, "us/task", per_task_us)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
