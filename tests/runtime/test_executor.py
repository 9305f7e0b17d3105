"""Executor, tasks, Wakers and JoinHandles, driven by hand-written futures (SPEC §3)."""

from __future__ import annotations

import threading
import time

import pytest
from runtime_helpers import Gate, YieldNow, coro, in_thread

from runtime import (
    PENDING,
    CancelledError,
    Executor,
    Future,
    JoinHandle,
    Ready,
    Waker,
    live_tasks,
    run,
    sleep,
    spawn,
)


class WakeSelfOnce(Future):
    """Wakes its own waker inside poll, then answers PENDING: the wake must not be lost."""

    __slots__ = ("polls",)

    def __init__(self):
        self.polls = 0

    def poll(self, waker):
        self.polls += 1
        if self.polls == 1:
            waker.wake()
            return PENDING
        return Ready("second poll")


def test_a_wake_during_the_tasks_own_poll_is_not_lost():
    future = WakeSelfOnce()
    assert run(future) == "second poll"
    assert future.polls == 2


def test_a_wake_from_another_thread_reaches_a_task_parked_in_epoll_wait():
    gate = Gate()

    @coro
    def main():
        in_thread(lambda: (time.sleep(0.05), gate.open("from thread")))
        return (yield gate)

    assert run(main()) == "from thread"
    assert gate.polls == 2


def test_ten_thousand_wakes_of_a_pending_task_poll_it_once():
    gate = Gate()

    @coro
    def main():
        handle = spawn(gate)
        yield YieldNow()  # let the gate task run once and park
        for _ in range(10_000):
            gate.waker.wake()
        yield sleep(0.01)
        polls_after_wakes = gate.polls
        gate.open()
        yield handle
        return polls_after_wakes

    assert run(main()) == 2
    assert gate.polls == 3


def test_wakes_from_many_threads_at_once_poll_the_task_at_most_once_per_run():
    gate = Gate()
    done = threading.Event()

    def hammer():
        for _ in range(2_000):
            gate.waker.wake()

    @coro
    def main():
        handle = spawn(gate)
        yield sleep(0.01)
        threads = [in_thread(hammer) for _ in range(4)]
        for thread in threads:
            thread.join(5)
        yield sleep(0.02)
        gate.open("done")
        done.set()
        return (yield handle)

    assert run(main()) == "done"
    # Every poll consumed at least one wake; 8,000 wakes never mean 8,000 polls.
    assert 2 <= gate.polls < 100


def test_a_wake_after_the_task_finished_does_nothing():
    gate = Gate()
    gate.open(1)

    @coro
    def main():
        handle = spawn(gate)
        value = yield handle
        handle.wake()
        handle.wake()
        yield sleep(0.01)
        return value

    assert run(main()) == 1
    assert gate.polls == 1


def test_block_on_returns_the_value_and_raises_the_exception():
    class Boom(Future):
        def poll(self, waker):
            raise ValueError("boom", 7)

    executor = Executor()
    gate = Gate()
    gate.open("v")
    assert executor.block_on(gate) == "v"
    with pytest.raises(ValueError) as info:
        executor.block_on(Boom())
    assert info.value.args == ("boom", 7)


def test_spawned_tasks_run_while_block_on_waits_and_their_handles_give_values():
    order = []

    class Record(Future):
        def __init__(self, name):
            self.name = name

        def poll(self, waker):
            order.append(self.name)
            return Ready(self.name.upper())

    @coro
    def main():
        handles = [spawn(Record(n)) for n in "abc"]
        assert all(isinstance(h, JoinHandle) for h in handles)
        values = []
        for handle in handles:
            values.append((yield handle))
        return values

    assert run(main()) == ["A", "B", "C"]
    assert order == ["a", "b", "c"]  # FIFO


def test_joining_a_failed_task_raises_its_exception():
    class Boom(Future):
        def poll(self, waker):
            raise KeyError("lost")

    @coro
    def main():
        handle = spawn(Boom())
        try:
            yield handle
        except KeyError as exc:
            return exc.args

    assert run(main()) == ("lost",)


def test_spawn_outside_an_executor_is_a_clear_runtime_error():
    with pytest.raises(RuntimeError, match="no executor is running"):
        spawn(Gate())


def test_spawn_refuses_what_is_not_a_future():
    with pytest.raises(TypeError, match=r"runtime\.Future"):
        Executor().spawn(object())


def test_a_poll_returning_neither_ready_nor_pending_fails_the_task_with_a_clear_error():
    class Wrong(Future):
        def poll(self, waker):
            return 42

    with pytest.raises(TypeError, match=r"must return runtime\.Ready"):
        run(Wrong())


def test_abort_closes_the_task_and_joining_it_raises_cancelled():
    gate = Gate()

    @coro
    def main():
        handle = spawn(gate)
        yield sleep(0.01)
        handle.abort()
        try:
            yield handle
        except CancelledError:
            return "cancelled"

    assert run(main()) == "cancelled"
    assert gate.closed


def test_an_aborted_task_is_still_named_after_its_future_when_joined():
    gate = Gate()

    @coro
    def main():
        handle = spawn(gate)
        name = handle.name
        yield sleep(0.01)
        handle.abort()
        try:
            yield handle
        except CancelledError as exc:
            return name, str(exc)

    name, message = run(main())
    assert name.startswith(f"{type(gate).__qualname__}-")
    assert message == f"task {name} was aborted"


def test_abort_from_inside_the_tasks_own_poll_takes_effect_after_the_poll():
    class AbortSelf(Future):
        def __init__(self):
            self.handle = None
            self.closed = False
            self.polls = 0

        def poll(self, waker):
            self.polls += 1
            self.handle.abort()
            return PENDING

        def close(self):
            self.closed = True

    victim = AbortSelf()

    @coro
    def main():
        victim.handle = spawn(victim)
        with pytest.raises(CancelledError):
            yield victim.handle
        return victim.polls

    assert run(main()) == 1
    assert victim.closed


def test_a_task_that_fails_unjoined_prints_its_traceback_and_the_others_go_on(capfd):
    class Boom(Future):
        def poll(self, waker):
            raise ZeroDivisionError("unjoined failure")

    @coro
    def main():
        spawn(Boom())
        yield sleep(0.01)
        return "went on"

    assert run(main()) == "went on"
    err = capfd.readouterr().err
    assert "ZeroDivisionError: unjoined failure" in err
    assert "Traceback" in err


def test_an_unjoined_failure_is_reported_from_the_tasks_own_code_not_the_executors(capfd):
    class Boom(Future):
        def poll(self, waker):
            raise ZeroDivisionError("unjoined failure")

    @coro
    def main():
        spawn(Boom())
        yield sleep(0.01)

    run(main())
    err = capfd.readouterr().err
    frames = [line for line in err.splitlines() if line.startswith('  File "')]
    assert frames and "in poll" in frames[0] and __file__ in frames[0], err
    assert not any("runtime/executor.py" in line for line in frames), err


def test_a_failed_task_joined_later_is_not_reported(capfd):
    class Boom(Future):
        def poll(self, waker):
            raise ZeroDivisionError("joined later")

    @coro
    def main():
        handle = spawn(Boom())
        yield sleep(0.01)
        try:
            yield handle
        except ZeroDivisionError:
            return "caught"

    assert run(main()) == "caught"
    assert "joined later" not in capfd.readouterr().err


def test_run_closes_tasks_still_pending_so_their_finally_blocks_run():
    log = []

    @coro
    def forever(name):
        try:
            yield Gate()
        finally:
            log.append(f"finally {name}")

    @coro
    def main():
        spawn(forever("a"))
        spawn(forever("b"))
        yield sleep(0.01)
        return "root done"

    assert run(main()) == "root done"
    assert log == ["finally a", "finally b"]
    assert live_tasks() == []


def test_live_tasks_lists_unfinished_tasks_with_name_and_future():
    gate = Gate()

    @coro
    def main():
        spawn(gate)
        yield YieldNow()
        return [(task.future, task.name) for task in live_tasks()]

    listed = run(main())
    futures = [future for future, _ in listed]
    assert gate in futures
    assert all(isinstance(name, str) and name for _, name in listed)


def test_block_on_inside_a_task_is_refused():
    class Nested(Future):
        def poll(self, waker):
            return Ready(Executor().block_on(Gate()))

    with pytest.raises(RuntimeError, match="inside a running task"):
        run(Nested())


def test_every_task_is_a_waker_and_a_future():
    @coro
    def main():
        handle = spawn(Gate())
        yield YieldNow()
        return isinstance(handle, Waker) and isinstance(handle, Future)

    assert run(main())


def test_several_executors_on_several_threads_share_one_reactor():
    results = {}
    errors = []
    # Cross-thread gates: thread i's task waits on a gate opened by thread i+1's task.
    gates = [Gate() for _ in range(4)]

    def worker(i):
        @coro
        def main():
            yield sleep(0.01 * (i + 1))
            gates[(i + 1) % 4].open(i)
            got = yield gates[i]
            yield sleep(0.01)
            return got

        try:
            results[i] = Executor().block_on(main())
        except BaseException as exc:
            errors.append(exc)

    threads = [in_thread(worker, i) for i in range(4)]
    for thread in threads:
        thread.join(10)
    assert not errors
    assert results == {0: 3, 1: 0, 2: 1, 3: 2}


def test_cross_thread_wakes_are_never_lost_over_many_round_trips():
    """Each round a pool thread wakes the parked executor; a lost wake times out."""
    from runtime import join_all, spawn_blocking, timeout

    @coro
    def main():
        for round_ in range(300):
            # Four concurrent wakers race the executor going back to sleep.
            values = yield timeout(join_all([spawn_blocking(int, round_) for _ in range(4)]), 5)
            assert values == [round_] * 4
        return "all rounds"

    assert run(main()) == "all rounds"


def test_abort_from_another_thread_closes_the_task_on_its_own_executor():
    closed_on = []

    class Watch(Gate):
        def close(self):
            closed_on.append(threading.get_ident())

    watched = Watch()

    @coro
    def main():
        handle = spawn(watched)
        yield YieldNow()
        in_thread(handle.abort).join(5)
        try:
            yield timeout(handle, 5)
        except CancelledError:
            return "cancelled"

    from runtime import timeout

    assert run(main()) == "cancelled"
    assert closed_on == [threading.get_ident()]
    assert watched.polls == 1


def test_closing_a_join_handle_detaches_it_and_the_task_runs_on():
    from runtime import select

    finished = []

    @coro
    def slow():
        yield sleep(0.03)
        finished.append("slow")
        return "slow"

    @coro
    def main():
        handle = spawn(slow())
        winner = yield select(handle, sleep(0.001))  # the handle loses and is closed
        yield sleep(0.06)
        return winner, handle.done()

    assert run(main()) == ((1, None), True)
    assert finished == ["slow"]


def test_several_tasks_joining_one_handle_all_get_its_value():
    from runtime import timeout

    @coro
    def work():
        yield sleep(0.02)
        return "shared"

    @coro
    def join(handle):
        return (yield handle)

    @coro
    def main():
        handle = spawn(work())
        joiners = [spawn(join(handle)) for _ in range(3)]
        yield YieldNow()  # every joiner registers before the work finishes
        values = []
        for joiner in joiners:
            values.append((yield joiner))
        return values

    assert run(timeout(main(), 5)) == ["shared"] * 3
