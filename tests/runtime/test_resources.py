"""run() releases what it opened, also when interrupted by Ctrl-C (SPEC §3)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

from runtime_helpers import Gate, coro

from runtime import run, sleep, spawn, spawn_blocking


def test_run_leaves_no_new_fds_open(no_fd_leak):
    @coro
    def main():
        spawn(Gate())  # still pending at the end: closed by run()
        yield spawn_blocking(time.sleep, 0.01)
        yield sleep(0.01)
        return "ok"

    assert run(main()) == "ok"
    assert run(sleep(0)) is None  # a second run starts (and releases) a fresh reactor


def test_run_releases_fds_when_the_root_future_raises(no_fd_leak):
    @coro
    def main():
        yield sleep(0.01)
        raise RuntimeError("root failed")

    try:
        run(main())
    except RuntimeError as exc:
        assert exc.args == ("root failed",)
    else:  # pragma: no cover
        raise AssertionError("the root's exception was swallowed")


CHILD = textwrap.dedent(
    """
    import os, sys, time
    from runtime import Future, PENDING, run, spawn, spawn_blocking

    class Forever(Future):
        def poll(self, waker):
            return PENDING

    class Main(Future):
        def __init__(self):
            self.started = False

        def poll(self, waker):
            if not self.started:
                self.started = True
                spawn(spawn_blocking(time.sleep, 30))  # a pool thread busy in a blocking call
                print("fds", len(os.listdir("/proc/self/fd")), flush=True)
                print("ready", flush=True)
            return PENDING

    try:
        run(Main())
    except KeyboardInterrupt:
        print("fds", len(os.listdir("/proc/self/fd")), flush=True)
        print("KeyboardInterrupt", flush=True)
        sys.exit(0)
    """
)


def test_ctrl_c_during_run_raises_keyboard_interrupt_promptly_and_releases_fds():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        lines = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = child.stdout.readline()
            if not line:
                break
            lines.append(line.strip())
            if line.strip() == "ready":
                break
        assert lines[-1:] == ["ready"], (lines, child.stderr.read() if child.poll() else "")
        time.sleep(0.1)  # let it settle in epoll_wait
        sent = time.monotonic()
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=20)
        elapsed = time.monotonic() - sent
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    tail = out.split()
    assert "KeyboardInterrupt" in tail, err
    before = int(lines[0].split()[1])
    after = int(tail[tail.index("KeyboardInterrupt") - 1])
    # The count before includes the epoll fd and the eventfd, opened on first use.
    assert after == before - 2, (before, after)
    assert elapsed < 10  # promptly: not after the 30 s blocking call
