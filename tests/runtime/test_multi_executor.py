"""Several executors on several threads sharing one reactor (SPEC §3, the book's d-multiple-threads).

Only one thread waits in epoll_wait at a time; IO edges and timers for the others must reach
them promptly. Each test bounds its waits with ``timeout`` so a lost wake fails fast.
"""

from __future__ import annotations

import socket
import threading
import time

from runtime_helpers import Gate, coro

from runtime import PENDING, Executor, Future, Ready, run, sleep, spawn, timeout
from runtime.reactor import Interest, reactor


class Recv(Future):
    def __init__(self, sock, source):
        self.sock, self.source = sock, source

    def poll(self, waker):
        while True:
            if not self.source.poll_ready(Interest.READABLE, waker):
                return PENDING
            try:
                return Ready(self.sock.recv(100))
            except BlockingIOError:
                self.source.clear_ready(Interest.READABLE)


def _start(fn, *args):
    thread = threading.Thread(target=fn, args=args, daemon=True)
    thread.start()
    return thread


def test_a_timer_of_a_parked_executor_fires_while_another_thread_drives_epoll():
    """The driver sleeps in epoll_wait for 5 s; a shorter timer added by another executor
    must cut that wait short rather than wait behind it."""
    gate = Gate()
    results = {}

    def driver_thread():
        @coro
        def main():
            return (yield timeout(gate, 5))  # epoll_wait with a 5 s timeout

        try:
            results["driver"] = Executor().block_on(main())
        except BaseException as exc:
            results["driver"] = exc

    def sleeper_thread():
        @coro
        def main():
            start = time.monotonic()
            for _ in range(3):
                yield sleep(0.02)
            gate.open("opened by the sleeper")
            return time.monotonic() - start

        results["sleeper"] = Executor().block_on(main())

    first = _start(driver_thread)
    time.sleep(0.1)  # let it take the driver and sleep in epoll_wait
    second = _start(sleeper_thread)
    first.join(10)
    second.join(10)
    assert results["driver"] == "opened by the sleeper"
    assert results["sleeper"] < 4


def test_io_readiness_reaches_a_task_on_an_executor_that_is_not_driving():
    pairs = [socket.socketpair() for _ in range(3)]
    for a, _ in pairs:
        a.setblocking(False)
    results = {}

    def reader(i):
        a, _ = pairs[i]

        @coro
        def main():
            source = reactor().register_io(a.fileno(), Interest.READABLE)
            try:
                return (yield timeout(Recv(a, source), 5))
            finally:
                source.deregister()

        try:
            results[i] = Executor().block_on(main())
        except BaseException as exc:
            results[i] = exc

    threads = [_start(reader, i) for i in range(3)]
    time.sleep(0.1)  # all three are parked: one in epoll_wait, two on their condvars
    for i, (_, b) in enumerate(pairs):
        b.send(f"to {i}".encode())
    for thread in threads:
        thread.join(10)
    for a, b in pairs:
        a.close()
        b.close()
    assert results == {0: b"to 0", 1: b"to 1", 2: b"to 2"}


def test_the_driver_is_handed_over_when_its_executor_finishes():
    """Executor A drives, then finishes; B, parked, must take over epoll for its timer."""
    results = {}
    a_done = threading.Event()

    def short():
        @coro
        def main():
            yield sleep(0.05)
            return "a"

        results["a"] = Executor().block_on(main())
        a_done.set()

    def long():
        @coro
        def main():
            yield sleep(0.3)  # still pending when A leaves
            return "b"

        results["b"] = Executor().block_on(main())

    threads = [_start(short), _start(long)]
    for thread in threads:
        thread.join(10)
    assert a_done.is_set()
    assert results == {"a": "a", "b": "b"}


def test_run_on_many_threads_at_once_each_completes_and_fds_are_released(no_fd_leak):
    results = []

    def worker(i):
        @coro
        def main():
            for _ in range(5):
                yield sleep(0.005)
            return i

        results.append(run(main()))

    threads = [_start(worker, i) for i in range(6)]
    for thread in threads:
        thread.join(20)
    assert sorted(results) == list(range(6))


def test_idle_executors_on_several_threads_burn_almost_no_cpu():
    import resource

    def cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)  # every thread of the process
        return usage.ru_utime + usage.ru_stime

    def sleeper():
        Executor().block_on(sleep(0.4))

    before = cpu()
    threads = [_start(sleeper) for _ in range(3)]
    for thread in threads:
        thread.join(10)
    used = cpu() - before
    assert used < 0.05, f"three idle executors used {used:.3f} s of CPU: something spins"


def test_tasks_on_two_executors_both_join_one_handle():
    handoff = {}
    spawned = threading.Event()
    results = {}

    def owner():
        @coro
        def work():
            yield sleep(0.05)
            return "from the owner's executor"

        @coro
        def main():
            handle = handoff["handle"] = spawn(work())
            spawned.set()
            return (yield handle)

        results["owner"] = Executor().block_on(main())

    def joiner():
        spawned.wait(5)

        @coro
        def main():
            return (yield timeout(handoff["handle"], 5))

        try:
            results["joiner"] = Executor().block_on(main())
        except BaseException as exc:
            results["joiner"] = exc

    threads = [_start(owner), _start(joiner)]
    for thread in threads:
        thread.join(10)
    assert results == {
        "owner": "from the owner's executor",
        "joiner": "from the owner's executor",
    }
