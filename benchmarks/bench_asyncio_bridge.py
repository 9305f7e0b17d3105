"""What crossing the asyncio bridge costs per call, against a plain asyncio call
(a function call) and to an asyncio task (a trip through the loop).

Four loops of N sequential calls, each call one trivial coroutine that returns its argument:

- asyncio: ``await add_one(i)`` inside ``asyncio.run`` — the plain asyncio call;
- asyncio task: ``await asyncio.create_task(add_one(i))`` — what crossing to a task costs;
- corofy -> asyncio: ``wait(runtime.from_asyncio(add_one(i)))`` inside ``runtime.run``;
- asyncio -> corofy: ``await runtime.to_asyncio(corofy_add_one(i))`` inside ``asyncio.run``.

Each crossing hops threads twice (there and back: see docs/internals.md), so its cost is the
two wakes across threads, not the call. Prints microseconds per call and the ratio to the
plain asyncio call
(a function call) and to an asyncio task (a trip through the loop).

    python3 benchmarks/bench_asyncio_bridge.py [N]
"""

from __future__ import annotations

import asyncio
import sys
import time

import runtime
from corofy import coroutine, wait


async def add_one(i: int) -> int:
    return i + 1


@coroutine
def corofy_add_one(i: int) -> int:
    return i + 1


async def plain(n: int) -> int:
    total = 0
    for i in range(n):
        total += await add_one(i)
    return total


async def tasks(n: int) -> int:
    total = 0
    for i in range(n):
        total += await asyncio.create_task(add_one(i))
    return total


@coroutine
def corofy_to_asyncio(n: int) -> int:
    total = 0
    for i in range(n):
        total += wait(runtime.from_asyncio(add_one(i)))
    return total


async def asyncio_to_corofy(n: int) -> int:
    total = 0
    for i in range(n):
        total += await runtime.to_asyncio(corofy_add_one(i))
    return total


def timed(label: str, fn, n: int, baseline: float | None, task: float | None = None) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        total = fn(n)
        best = min(best, time.perf_counter() - started)
        assert total == n * (n + 1) // 2, (label, total)
    per_call = best / n * 1e6
    ratio = "" if task is None else f"  {per_call / task:5.1f}x asyncio task"
    if baseline is not None:
        ratio += f"  {per_call / baseline:8.1f}x asyncio"
    print(f"{label:<20} {per_call:8.2f} us/call{ratio}")
    return per_call


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    print(f"{n} sequential calls, best of 3")
    base = timed("asyncio", lambda k: asyncio.run(plain(k)), n, None)
    task = timed("asyncio task", lambda k: asyncio.run(tasks(k)), n, base)
    timed("corofy -> asyncio", lambda k: runtime.run(corofy_to_asyncio(k)), n, base, task)
    timed("asyncio -> corofy", lambda k: asyncio.run(asyncio_to_corofy(k)), n, base, task)


if __name__ == "__main__":
    main()
