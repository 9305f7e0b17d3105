"""sleep, timeout, join_all and select (SPEC §3), and the timers under them."""

from __future__ import annotations

import resource
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from runtime_helpers import Gate, coro

from runtime import PENDING, Future, Ready, join_all, run, select, sleep, spawn, timeout
from runtime.reactor import reactor


class _Watched(Future):
    """Forwards to a sleep, noting whether its first poll had to wait for the timer."""

    def __init__(self, nap):
        self.nap = nap
        self.waited = None

    def poll(self, waker):
        result = self.nap.poll(waker)
        if self.waited is None:
            self.waited = result is PENDING
        return result


@settings(max_examples=10, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=40), min_size=1, max_size=8))
def test_sleeps_finish_in_deadline_order_and_never_early(delays_ms):
    finished = []

    @coro
    def sleeper(seconds):
        start = time.monotonic()
        watched = _Watched(sleep(seconds))
        yield watched
        finished.append((watched, time.monotonic() - start, seconds))

    @coro
    def main():
        yield join_all([spawn(sleeper(ms / 1000)) for ms in delays_ms])

    run(main())
    for _, elapsed, seconds in finished:
        assert elapsed >= seconds
    # Sleeps that had to wait were woken by the reactor's timers: in deadline order. (One
    # already due at its first poll, on a loaded machine, finishes there and then.)
    deadlines = [watched.nap.deadline for watched, _, _ in finished if watched.waited]
    assert deadlines == sorted(deadlines)


def test_timers_added_out_of_order_fire_in_deadline_order():
    fired = []

    class Note:
        def __init__(self, name):
            self.name = name

        def wake(self):
            fired.append(self.name)

    now = time.monotonic()

    @coro
    def main():
        shared = reactor()
        for name, offset in [("c", 0.030), ("a", 0.010), ("b", 0.0105), ("d", 0.031)]:
            shared.add_timer(now + offset, Note(name))
        yield sleep(0.05)

    run(main())
    assert fired == ["a", "b", "c", "d"]


def test_a_cancelled_timer_never_wakes():
    woken = []

    class Note:
        def wake(self):
            woken.append(1)

    @coro
    def main():
        handle = reactor().add_timer(time.monotonic() + 0.01, Note())
        handle.cancel()
        yield sleep(0.03)

    run(main())
    assert woken == []


def test_an_idle_sleep_burns_almost_no_cpu():
    def cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    before_cpu, before_wall = cpu(), time.monotonic()
    run(sleep(0.5))
    wall, used = time.monotonic() - before_wall, cpu() - before_cpu
    assert wall >= 0.5
    assert used < 0.05, f"sleep(0.5) used {used:.3f} s of CPU: the executor is busy polling"


def test_timeout_returns_the_value_of_a_future_that_finishes_in_time():
    @coro
    def quick():
        yield sleep(0.01)
        return "in time"

    assert run(timeout(quick(), 1.0)) == "in time"


def test_timeout_raises_timeout_error_and_closes_the_future():
    log = []

    @coro
    def slow():
        try:
            yield sleep(5)
        finally:
            log.append("closed")

    start = time.monotonic()
    with pytest.raises(TimeoutError):
        run(timeout(slow(), 0.02))
    assert time.monotonic() - start < 2
    assert log == ["closed"]


def test_an_infinite_sleep_never_fires_and_an_infinite_timeout_never_expires():
    import math

    with pytest.raises(TimeoutError):
        run(timeout(sleep(math.inf), 0.02))
    assert run(timeout(sleep(0.01), math.inf)) is None


def test_timeout_passes_the_futures_exception_through():
    class Boom(Future):
        def poll(self, waker):
            raise OSError("inner")

    with pytest.raises(OSError, match="inner"):
        run(timeout(Boom(), 1.0))


def test_join_all_returns_values_in_input_order_not_finish_order():
    @coro
    def after(ms, value):
        yield sleep(ms / 1000)
        return value

    assert run(join_all([after(30, "a"), after(0, "b"), after(10, "c")])) == ["a", "b", "c"]
    assert run(join_all([])) == []


def test_join_all_closes_the_rest_on_the_first_exception():
    log = []

    @coro
    def pending(name):
        try:
            yield Gate()
        finally:
            log.append(name)

    @coro
    def failing():
        yield sleep(0.01)
        raise ValueError("first failure")

    with pytest.raises(ValueError, match="first failure"):
        run(join_all([pending("x"), failing(), pending("y")]))
    assert sorted(log) == ["x", "y"]


def test_join_all_polls_only_the_children_that_woke():
    gates = [Gate() for _ in range(50)]

    @coro
    def opener():
        for i, gate in enumerate(gates):
            gate.open(i)
            yield _yield()

    @coro
    def main():
        spawn(opener())
        return (yield join_all(gates))

    assert run(main()) == list(range(50))
    assert all(gate.polls == 2 for gate in gates)


def test_select_returns_the_first_to_finish_and_closes_the_others():
    log = []

    @coro
    def after(ms, value):
        try:
            yield sleep(ms / 1000)
            return value
        finally:
            log.append(value)

    # The losers are far behind (a loaded machine once stalled 50 ms, and the first child
    # ready in argument order won); closing them at once keeps the test short.
    assert run(select(after(5000, "slow"), after(5, "fast"), after(6000, "slower"))) == (1, "fast")
    assert sorted(log) == ["fast", "slow", "slower"]


def test_select_propagates_an_exception_and_closes_the_others():
    gate = Gate()

    class Boom(Future):
        def poll(self, waker):
            raise LookupError("select failure")

    with pytest.raises(LookupError):
        run(select(gate, Boom()))
    assert gate.closed


def test_sleep_refuses_a_negative_duration():
    with pytest.raises(ValueError, match="non-negative"):
        sleep(-1)


class _Yield(Future):
    __slots__ = ("done",)

    def __init__(self):
        self.done = False

    def poll(self, waker):
        if self.done:
            return Ready(None)
        self.done = True
        waker.wake()
        return PENDING


def _yield():
    return _Yield()


def test_a_sleep_fired_before_its_deadline_schedules_itself_again_instead_of_hanging():
    class Waker:
        def wake(self):
            pass

    nap = sleep(0.001)
    assert nap.poll(Waker()) is PENDING
    time.sleep(0.005)
    shared = reactor()
    with shared.driver_lock:
        shared.turn(False)  # the reactor fires the entry...
    assert nap.waker is None
    nap.deadline = time.monotonic() + 0.02  # ...which we pretend was a hair too early

    @coro
    def main():
        return (yield nap)

    # Without a timer of its own the nap would only finish when the guard's timer wakes
    # the task, and the guard, polled first, would win.
    assert run(select(sleep(2), main())) == (1, None)
