"""10,000 concurrent sleep(0.01): how long until all are done, as a multiple of the sleep.

corofy's runtime (tasks spawned on ``runtime.sleep``) vs asyncio (tasks on
``asyncio.sleep``), and uvloop. Target: done within 3x the sleep time (asyncio: about 10x).
Run: ``python3 benchmarks/bench_sleep.py [N] [SECONDS]``.
"""

from __future__ import annotations

import asyncio
import sys

from _peers import asyncio_runners, best_times, report

import runtime
from runtime import PENDING, Future, Ready, sleep


class SleepMany(Future):
    """Spawns n sleeps at once, then joins them all."""

    __slots__ = ("handles", "joined", "n", "seconds")

    def __init__(self, n: int, seconds: float) -> None:
        self.n = n
        self.seconds = seconds
        self.handles = None
        self.joined = 0

    def poll(self, waker):
        if self.handles is None:
            spawn = runtime.spawn
            self.handles = [spawn(sleep(self.seconds)) for _ in range(self.n)]
        handles = self.handles
        while self.joined < len(handles):
            if handles[self.joined].poll(waker) is PENDING:
                return PENDING
            self.joined += 1
        return Ready(None)


async def sleep_many(n: int, seconds: float) -> None:
    tasks = [asyncio.create_task(asyncio.sleep(seconds)) for _ in range(n)]
    for task in tasks:
        await task


def main(n: int = 10_000, seconds: float = 0.01, repeats: int = 7) -> None:
    contenders = {
        name: (lambda run=run: run(lambda: sleep_many(n, seconds)))
        for name, run in asyncio_runners().items()
    }
    contenders["corofy"] = lambda: runtime.run(SleepMany(n, seconds))
    elapsed = best_times(repeats, contenders)
    multiples = {name: s / seconds for name, s in elapsed.items()}
    report(f"{n:,} concurrent sleep({seconds}) (best of {repeats})", "x sleep", multiples)


if __name__ == "__main__":
    args = sys.argv[1:]
    main(int(args[0]) if args else 10_000, float(args[1]) if len(args) > 1 else 0.01)
