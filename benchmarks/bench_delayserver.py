"""Delay-server benchmark: requests per second of samples/delayserver.py against asyncio and uvloop.

``wrk`` (not ours) drives each server over fresh connections (every answer says
``Connection: close``) asking for ``/{delay_ms}/hello``. The servers:

  corofy           samples/delayserver.py transformed by ``corofy`` into a temporary tree,
                   run on ``runtime`` (the way a user ships generated code)
  asyncio-streams  benchmarks/asyncio_delayserver.py: the same routing and answers, on
                   asyncio.start_server with one task per connection
  uvloop-streams   the same on uvloop, when it is installed

Each server runs in its own process pinned to one core and wrk to the other (when two
cores may be used); servers take turns over several rounds so background load on a shared
machine spreads over all of them. The report is each server's best round and the ratios of
ours to each peer. Every server prints its line per request to a file, as the book's does.

    python benchmarks/bench_delayserver.py [--connections 100] [--seconds 3] [--rounds 3]
                                           [--delay-ms 0 --delay-ms 50]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
HOST = "127.0.0.1"
START_TIMEOUT = 30.0  # seconds for a server to say where it listens (a cold import is slow)
_LISTENING = re.compile(r"listening on http://[^:]+:(\d+)")


def transform_samples(out: Path) -> Path:
    """Generate the samples with corofy's command line; return the folder holding them."""
    corofy = [sys.executable, "-c", "from corofy.cli import main; main()"]
    subprocess.run([*corofy, "-q", str(ROOT / "samples"), "-o", str(out)], check=True)
    return out


def server_command(kind: str, samples: Path) -> list[str]:
    if kind == "corofy":
        return [sys.executable, str(samples / "delayserver.py"), "--port", "0"]
    peer = [sys.executable, str(HERE / "asyncio_delayserver.py"), "--port", "0"]
    return peer + ["--uvloop"] if kind == "uvloop-streams" else peer


def _cores() -> tuple[set[int] | None, set[int] | None]:
    """(server cores, client cores): one core each when we may use two, else no pinning."""
    try:
        allowed = sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return None, None
    if len(allowed) < 2:
        return None, None
    return {allowed[0]}, {allowed[1]}


def _wait_for_port(server: subprocess.Popen, log: Path, kind: str) -> int:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        found = _LISTENING.search(log.read_text(errors="replace"))
        if found:
            return int(found.group(1))
        if server.poll() is not None:
            break
        time.sleep(0.05)
    raise RuntimeError(f"server {kind} did not start (exit {server.poll()}); its output: {log}")


def measure(
    kind: str, samples: Path, delay_ms: int, args: argparse.Namespace, workdir: Path
) -> float:
    """Start server `kind`, drive it with wrk, return requests per second."""
    server_cores, client_cores = _cores()
    log = workdir / f"{kind}.log"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(samples), str(ROOT)])}
    with log.open("w") as out:
        server = subprocess.Popen(server_command(kind, samples), stdout=out, env=env)
    try:
        if server_cores:
            os.sched_setaffinity(server.pid, server_cores)
        port = _wait_for_port(server, log, kind)
        result = subprocess.run(
            [
                "wrk",
                "-t1",
                f"-c{args.connections}",
                f"-d{args.seconds}s",
                f"http://{HOST}:{port}/{delay_ms}/hello",
            ],
            capture_output=True,
            text=True,
            preexec_fn=(lambda: os.sched_setaffinity(0, client_cores)) if client_cores else None,
            timeout=args.seconds + 60,
        )
        if result.returncode != 0:
            raise RuntimeError(f"wrk against {kind} failed: {result.stderr.strip()}")
        rate = re.search(r"Requests/sec:\s*([\d.]+)", result.stdout)
        if rate is None:
            raise RuntimeError(f"no rate in wrk's output:\n{result.stdout}")
        # A rate counts only if every answer was right and no connection failed.
        problems = re.search(r"(Non-2xx or 3xx responses|Socket errors): .*", result.stdout)
        if problems:
            raise RuntimeError(f"{kind}: {problems.group(0)}\n{result.stdout}")
        if server.poll() is not None:
            raise RuntimeError(f"server {kind} died during the run (exit {server.returncode})")
        return float(rate.group(1))
    finally:
        server.kill()
        server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=100, help="wrk's open connections")
    parser.add_argument("--seconds", type=int, default=3, help="measured time per run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--delay-ms", type=int, action="append", help="delay asked (repeatable; default 0 and 50)"
    )
    parser.add_argument(
        "--only", nargs="*", choices=["corofy", "asyncio-streams", "uvloop-streams"]
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("bench_delayserver: needs wrk (apt-get install wrk)")
    kinds = args.only or ["corofy", "asyncio-streams", "uvloop-streams"]
    try:
        import uvloop  # noqa: F401
    except ImportError:
        kinds = [k for k in kinds if not k.startswith("uvloop")]
    delays = args.delay_ms or [0, 50]
    server_cores, client_cores = _cores()
    print(
        f"delay server: wrk -t1 -c{args.connections} -d{args.seconds}s, {args.rounds} rounds; "
        f"server cores {server_cores}, client cores {client_cores}; "
        f"{sys.implementation.name} {sys.version.split()[0]}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        samples = transform_samples(workdir / "samples")
        for delay_ms in delays:
            print(f"GET /{delay_ms}/hello")
            best: dict[str, float] = {}
            for round_no in range(1, args.rounds + 1):
                for kind in kinds:
                    rate = measure(kind, samples, delay_ms, args, workdir)
                    best[kind] = max(best.get(kind, 0.0), rate)
                    print(f"  round {round_no} {kind:16} {rate:10,.0f} requests/s", flush=True)
            print("  best of rounds:")
            for kind in kinds:
                print(f"    {kind:16} {best[kind]:10,.0f} requests/s")
            if "corofy" in best:
                for kind in kinds:
                    if kind != "corofy":
                        print(f"    corofy / {kind:16} {best['corofy'] / best[kind]:6.2f}x")


if __name__ == "__main__":
    main()
