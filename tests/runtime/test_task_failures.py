"""How a task's failure is kept to that task and reported (SPEC §3): any exception but
KeyboardInterrupt and SystemExit fails the task alone, and failures nobody joined are printed
once each before run() returns or raises, never by a finalizer at interpreter shutdown."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from runtime_helpers import coro

from runtime import Future, Waker, run, sleep, spawn


class NoWake(Waker):
    def wake(self) -> None:
        pass


class Raises(Future):
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def poll(self, waker):
        raise self.exc


class Custom(BaseException):
    """A BaseException that is neither KeyboardInterrupt nor SystemExit."""


@pytest.mark.parametrize("exc", [GeneratorExit("from a task"), Custom("from a task")])
def test_a_base_exception_from_one_task_fails_that_task_alone_and_run_goes_on(exc, capfd):
    @coro
    def main():
        handle = spawn(Raises(exc))
        yield sleep(0.01)
        return handle

    handle = run(main())  # reaching here: run() was not ended by the task
    # Nobody joined it while run() ran: reported once, as it ended. Joining later still works.
    assert capfd.readouterr().err.count(f"{type(exc).__name__}: from a task") == 1
    with pytest.raises(type(exc)) as raised:
        handle.poll(NoWake())
    assert raised.value is exc


@pytest.mark.parametrize("exc", [KeyboardInterrupt(), SystemExit(3)])
def test_keyboard_interrupt_and_system_exit_from_a_task_end_run(exc):
    @coro
    def main():
        spawn(Raises(exc))
        yield sleep(10)

    with pytest.raises(type(exc)):
        run(main())


FAILING_PROGRAM = textwrap.dedent(
    """
    import sys
    from runtime import PENDING, Future, run, spawn

    class Fail(Future):
        def __init__(self, i):
            self.i = i

        def poll(self, waker):
            raise ValueError(f"task {self.i} failed")

    class Main(Future):
        handles = None

        def poll(self, waker):
            if self.handles is None:  # keeps every handle: the error leaving run() holds them
                self.handles = [spawn(Fail(i)) for i in range(int(sys.argv[1]))]
                waker.wake()
                return PENDING
            raise RuntimeError("main failed")

    run(Main())
    """
)


def test_unjoined_failures_are_reported_once_each_before_run_raises_and_not_at_shutdown():
    n = 300
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    done = subprocess.run(
        [sys.executable, "-c", FAILING_PROGRAM, str(n)],
        capture_output=True,
        check=False,
        text=True,
        env=env,
        timeout=60,
    )
    err = done.stderr
    assert done.returncode == 1, err[-2000:]
    assert "Exception ignored" not in err, err[-2000:]
    assert "shutting down" not in err, err[-2000:]
    reports = [line for line in err.splitlines() if line.endswith("failed and was never joined:")]
    assert len(reports) == n, err[-2000:]
    for i in range(n):
        assert err.count(f"ValueError: task {i} failed\n") == 1, i
    # All of them before the traceback of the error that ends the program.
    assert err.rindex("never joined") < err.index("RuntimeError: main failed")
    assert err.rstrip().endswith("RuntimeError: main failed")
