"""Helpers for the samples' tests: corofy's CLI, generated samples and delay servers.

Everything runs as a user would: the samples are transformed by the command line into a
temporary folder and run there in subprocesses with ``python3``. Every wait on a subprocess
has a short timeout, so a broken part fails a test instead of hanging it.
"""

from __future__ import annotations

import re
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
ASYNCIO_PEER = ROOT / "benchmarks" / "asyncio_delayserver.py"
CLI = [sys.executable, "-c", "from corofy.cli import main; main()"]
START_TIMEOUT = 30.0  # seconds for a server to say where it listens
RUN_TIMEOUT = 60.0  # seconds for a sample to finish; they take about one
_LISTENING = re.compile(r"listening on http://([^:\s]+):(\d+)")


def corofy(*args: str, timeout: float = RUN_TIMEOUT) -> subprocess.CompletedProcess[str]:
    """Run corofy's command line, failing with its output when it fails."""
    done = subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"corofy {' '.join(args)} exited {done.returncode}:\n{done.stderr}"
    return done


def run_sample(
    path: Path, *args: str, timeout: float = RUN_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    """Run one generated sample with ``python3``; it must exit 0."""
    done = subprocess.run(
        [sys.executable, str(path), *args], capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"{path.name} exited {done.returncode}:\n{done.stderr}"
    return done


class DelayServer:
    """A delay server script (a generated delayserver.py, or a peer) in a subprocess.

    It is started with ``--port 0`` and found by the address it prints.
    """

    def __init__(
        self,
        script: Path,
        workdir: Path,
        *args: str,
        max_fds: int | None = None,
        env: dict[str, str] | None = None,
        python_options: tuple[str, ...] = (),
    ) -> None:
        """Start it with `args`; `max_fds` lowers RLIMIT_NOFILE, so accept() meets EMFILE."""
        self.log = workdir / f"{script.stem}.out"
        self.errors = workdir / f"{script.stem}.err"

        def prepare_child() -> None:
            # Facts: a shell starts background jobs with SIGINT ignored, and Python installs
            # its KeyboardInterrupt handler only when SIGINT is not ignored at start-up. So
            # restore the default, or stop()'s Ctrl-C would fall on deaf ears under `pytest &`.
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            if max_fds is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, (max_fds, max_fds))

        with self.log.open("w") as out, self.errors.open("w") as err:
            self.process = subprocess.Popen(
                [sys.executable, *python_options, str(script), "--port", "0", *args],
                stdout=out,
                stderr=err,
                preexec_fn=prepare_child,
                env=env,
            )
        self.host, self.port = self._wait_for_address()

    def _wait_for_address(self) -> tuple[str, int]:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            found = _LISTENING.search(self.log.read_text())
            if found:
                return found.group(1), int(found.group(2))
            if self.process.poll() is not None:
                break
            time.sleep(0.02)
        self.stop()
        pytest.fail(f"the delay server did not start:\n{self.errors.read_text()}")

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def request_lines(self) -> list[str]:
        """The ``#n - …`` lines printed so far (they are line-buffered)."""
        return [line for line in self.log.read_text().splitlines() if line.startswith("#")]

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        """Ctrl-C, as a user would: run() returns, so failed tasks get reported on stderr."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                pytest.fail("the delay server did not stop on Ctrl-C within 10 s")
