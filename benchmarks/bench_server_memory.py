"""Resident memory of the delay server over many requests with a long head timeout (issue 11).

samples/delayserver.py, transformed by ``corofy`` into a temporary tree (as a user ships it),
runs with ``--head-timeout 3600``: each request waits ``timeout(read_head(...), 3600)``, which
finishes at once, so a runtime that kept finished timers until their deadline would grow with
every request and never shrink. An asyncio client on loopback sends ``--requests``
``GET /0/hello`` (one request per connection, ``--concurrency`` at a time, bounded in time);
the server's resident memory (``VmRSS`` in ``/proc/PID/status``, Linux) is printed at start,
after each slice of the requests, and after ``--pause`` seconds of quiet.

    python3 benchmarks/bench_server_memory.py [--requests 180000] [--concurrency 64] [--pause 60]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_delayserver import HOST, ROOT, _wait_for_port, transform_samples


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


async def _one(port: int, counts: collections.Counter) -> None:
    try:
        reader, writer = await asyncio.open_connection(HOST, port)
        writer.write(b"GET /0/hello HTTP/1.1\r\nHost: bench\r\n\r\n")
        answer = await reader.read()
        writer.close()
        counts[answer[9:12].decode() if answer.startswith(b"HTTP/1.1 ") else "no answer"] += 1
    except OSError as error:
        counts[type(error).__name__] += 1


async def drive(port: int, requests: int, concurrency: int, seconds: float) -> collections.Counter:
    """Send `requests` requests, `concurrency` at a time, for at most `seconds`."""
    counts: collections.Counter = collections.Counter()
    todo = iter(range(requests))
    deadline = time.monotonic() + seconds

    async def worker() -> None:
        for _ in todo:
            if time.monotonic() > deadline:
                return
            await _one(port, counts)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=180_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--slices", type=int, default=6, help="RSS is printed after each")
    parser.add_argument("--pause", type=float, default=60.0, help="quiet seconds at the end")
    parser.add_argument("--seconds", type=float, default=1800.0, help="bound on the whole run")
    args = parser.parse_args()
    if not Path("/proc/self/status").exists():
        sys.exit("bench_server_memory: needs /proc (Linux)")
    deadline = time.monotonic() + args.seconds
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        samples = transform_samples(workdir / "samples")
        log = workdir / "server.log"
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(samples), str(ROOT)])}
        command = [sys.executable, str(samples / "delayserver.py"), "--port", "0"]
        with log.open("w") as out:
            server = subprocess.Popen([*command, "--head-timeout", "3600"], stdout=out, env=env)
        try:
            port = _wait_for_port(server, log, "corofy")
            start = rss_kib(server.pid)
            print(f"delay server --head-timeout 3600, pid {server.pid}: start {start:,} KiB")
            total: collections.Counter = collections.Counter()
            sent = 0
            for number in range(1, args.slices + 1):
                size = args.requests * number // args.slices - sent
                left = max(0.0, deadline - time.monotonic())
                counts = asyncio.run(drive(port, size, args.concurrency, left))
                total += counts
                sent += size
                answered = sum(counts.values())
                print(
                    f"  after {sum(total.values()):>9,} requests: {rss_kib(server.pid):,} KiB"
                    f"  ({answered:,} in this slice: {dict(counts)})",
                    flush=True,
                )
            after = rss_kib(server.pid)
            time.sleep(args.pause)
            paused = rss_kib(server.pid)
            print(f"  after {args.pause:g} s of quiet: {paused:,} KiB")
            done = sum(total.values())
            grown = after - start
            print(
                f"answers {dict(total)}; grown {grown:+,} KiB over {done:,} requests "
                f"({grown * 1024 / max(1, done):+.1f} B/request), {paused - after:+,} KiB in the pause"
            )
            if server.poll() is not None:
                raise RuntimeError(f"the server died during the run (exit {server.returncode})")
        finally:
            server.kill()
            server.wait()


if __name__ == "__main__":
    main()
