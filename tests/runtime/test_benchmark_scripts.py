"""The runtime benchmarks still run (tiny sizes; their figures are not checked here)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.mark.parametrize(
    "script, args",
    [
        ("bench_spawn.py", ["2000"]),
        ("bench_memory.py", ["2000"]),
        ("bench_sleep.py", ["300"]),
        ("bench_asyncio_bridge.py", ["200"]),
    ],
)
def test_benchmark_script_runs_and_reports_a_ratio_to_asyncio(script, args):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args],
        capture_output=True,
        text=True,
        timeout=100,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    corofy_lines = [line for line in done.stdout.splitlines() if line.split()[:1] == ["corofy"]]
    assert corofy_lines and all(line.endswith("x asyncio") for line in corofy_lines)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmRSS from /proc")
def test_server_memory_benchmark_answers_every_request_and_reports_rss_growth():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    done = subprocess.run(
        [
            sys.executable,
            str(BENCHMARKS / "bench_server_memory.py"),
            *("--requests", "300", "--concurrency", "8", "--slices", "2", "--pause", "0"),
        ],
        capture_output=True,
        text=True,
        timeout=100,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    last = done.stdout.splitlines()[-1]
    assert last.startswith("answers {'200': 300}; grown "), done.stdout
    assert "B/request" in last and "in the pause" in last
