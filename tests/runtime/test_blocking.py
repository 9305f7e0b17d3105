"""spawn_blocking: blocking calls on a small pool wake the waiting task (SPEC §3)."""

from __future__ import annotations

import threading
import time

from runtime_helpers import coro

from runtime import join_all, run, spawn_blocking


def test_the_value_of_the_blocking_call_comes_back_to_the_task():
    def slow_add(a, b):
        time.sleep(0.02)
        return a + b

    assert run(spawn_blocking(slow_add, 2, 3)) == 5


def test_the_exception_of_the_blocking_call_propagates_to_the_task():
    def fail():
        raise PermissionError("no access")

    @coro
    def main():
        try:
            yield spawn_blocking(fail)
        except PermissionError as exc:
            return f"caught {exc}"

    assert run(main()) == "caught no access"


def test_the_pool_runs_four_calls_at_once_and_not_on_the_executor_thread():
    running = 0
    peak = 0
    threads = set()
    lock = threading.Lock()
    # Each call waits until four run together: the pool must really hold four threads
    # (with fewer the barrier breaks after 5 s and the calls raise), whatever the load.
    four_at_once = threading.Barrier(4, timeout=5)

    def work():
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
            threads.add(threading.get_ident())
        four_at_once.wait()
        with lock:
            running -= 1

    run(join_all([spawn_blocking(work) for _ in range(8)]))
    assert peak == 4
    assert len(threads) == 4
    assert threading.get_ident() not in threads


def test_reading_a_file_through_spawn_blocking(tmp_path):
    path = tmp_path / "data.txt"
    path.write_text("file contents")
    assert run(spawn_blocking(path.read_text)) == "file contents"


def test_a_lazy_blocking_call_does_not_start_before_it_is_polled():
    started = threading.Event()
    call = spawn_blocking(started.set)
    time.sleep(0.02)
    assert not started.is_set()
    run(call)
    assert started.is_set()


def test_a_pool_of_one_thread_runs_the_calls_one_at_a_time():
    from runtime import blocking

    running = 0
    peak = 0
    lock = threading.Lock()

    def work():
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.01)
        with lock:
            running -= 1

    blocking.set_pool_size(1)
    try:
        run(join_all([spawn_blocking(work) for _ in range(3)]))
    finally:
        blocking.set_pool_size(blocking.DEFAULT_THREADS)
    assert peak == 1
