"""A finished ``timeout`` or ``select`` drops its timer at once (SPEC §3: resources are released
as soon as they are done with), so a long-running server holds memory for the work in flight only.
"""

from __future__ import annotations

import gc
import tracemalloc

import pytest
from runtime_helpers import YieldNow

from runtime import PENDING, Future, Ready, run, select, sleep, timeout
from runtime.reactor import reactor

HOUR = 3600.0
WARM_UP = 10_000
TOTAL = 100_000


def finished_timeout():
    return timeout(YieldNow(), HOUR)  # pending once, so its timer is scheduled, then ready


def finished_select():
    return select(YieldNow(), sleep(HOUR))


class OneAfterAnother(Future):
    """Waits for ``total`` futures made by ``make``, one after the other; measures memory.

    ``grown`` is how much more memory is traced after the last than after the ``WARM_UP``-th:
    what the finished ones still hold. ``entries`` counts the reactor's timer entries then.
    """

    def __init__(self, make, total: int) -> None:
        self.make = make
        self.left = total
        self.total = total
        self.current = None
        self.warm = 0
        self.grown = None
        self.entries = None

    def poll(self, waker):
        while self.left:
            if self.current is None:
                self.current = self.make()
            if self.current.poll(waker) is PENDING:
                return PENDING
            self.current = None
            self.left -= 1
            if self.total - self.left == WARM_UP:
                gc.collect()
                self.warm = tracemalloc.get_traced_memory()[0]
        gc.collect()
        self.grown = tracemalloc.get_traced_memory()[0] - self.warm
        self.entries = sum(len(bucket) for bucket in reactor()._buckets.values())
        return Ready(None)


@pytest.mark.parametrize("make", [finished_timeout, finished_select], ids=["timeout", "select"])
def test_memory_stays_flat_over_a_hundred_thousand_finished_hour_long_timers(make):
    waiter = OneAfterAnother(make, TOTAL)
    tracemalloc.start()
    try:
        run(waiter)
    finally:
        tracemalloc.stop()
    assert waiter.entries == 0, f"{waiter.entries} timer entries kept by finished futures"
    # Each entry kept would cost ~100 bytes: 90,000 of them ~9 MB. Allow noise only.
    assert waiter.grown < 500_000, f"{waiter.grown} bytes still held by 90,000 finished timers"
