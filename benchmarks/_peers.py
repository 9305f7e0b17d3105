"""Shared helpers for the runtime benchmarks: the asyncio peers and how results are printed.

Every benchmark runs the same work on corofy's runtime and on asyncio (and uvloop when it is
installed) in one process, GC on, and prints each figure with its ratio to asyncio's.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable, Coroutine
from typing import Any

try:
    import uvloop
except ImportError:  # pragma: no cover - uvloop is an optional peer
    uvloop = None


def asyncio_runners() -> dict[str, Callable[[Callable[[], Coroutine[Any, Any, Any]]], Any]]:
    """``name -> run(make_coroutine)`` for asyncio and, when installed, uvloop."""

    def run_asyncio(make):
        with asyncio.Runner() as runner:
            return runner.run(make())

    runners = {"asyncio": run_asyncio}
    if uvloop is not None:

        def run_uvloop(make):
            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                return runner.run(make())

        runners["uvloop"] = run_uvloop
    return runners


def best_times(
    repeats: int,
    contenders: dict[str, Callable[[], Any]],
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, float]:
    """The fastest of ``repeats`` timings of each contender by ``clock``, in seconds.

    Rounds interleave the contenders (a, b, c, a, b, c, ...) so that load from other
    processes on a shared machine hits them alike; GC stays on, collected between runs.
    CPU-bound work may pass ``time.process_time``: time spent descheduled by other
    processes then does not count against whoever happened to be running.
    """
    best = dict.fromkeys(contenders, float("inf"))
    for _ in range(repeats):
        for name, fn in contenders.items():
            gc.collect()
            start = clock()
            fn()
            best[name] = min(best[name], clock() - start)
    return best


def report(title: str, unit: str, figures: dict[str, float], lower_is_better: bool = True) -> None:
    """Print each figure and its ratio to asyncio's (>1 means better than asyncio)."""
    base = figures["asyncio"]
    print(title)
    for name, value in figures.items():
        ratio = base / value if lower_is_better else value / base
        print(f"  {name:<8} {value:12.3f} {unit:<10} {ratio:6.2f}x asyncio")
