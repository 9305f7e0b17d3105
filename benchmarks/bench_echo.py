"""Echo benchmark: round trips per second of runtime.net against asyncio and uvloop.

Every server runs in its own process, pinned to one core; the load comes from a small
C client (``echo_client.c``, compiled here with gcc) pinned to the other core. Each
server sees the same client, the same number of connections, the same message size and
the same duration, and the servers take turns over several rounds so that background
load on a shared machine spreads over all of them. The report is the best round of each
server and the ratios of ours to each peer, both in round trips per second of wall time
and per second of the server's own CPU time (steadier when other work shares the cores).

    python benchmarks/bench_echo.py [--connections 100] [--size 100] [--seconds 3] [--rounds 3]

Servers:
  runtime          tasks spawned per connection on runtime.run, a hand-written echo
                   state machine over TcpStream.read / write_all (what generated code does)
  runtime-corofy   the same server written as corofy source, transformed here by corofy
  asyncio-streams  asyncio.start_server, one task per connection (read / write / drain)
  asyncio-protocol asyncio callback protocol (data_received -> transport.write)
  uvloop-streams, uvloop-protocol  the same two on uvloop, when it is installed

Facts worth knowing when reading the figures: on CPython 3.11 asyncio's selector transport
receives with ``sock.recv(256 KiB)``; glibc serves an allocation that large with mmap, so
each read of a 100-byte message also costs mmap + mremap + munmap (strace shows one of each
per recv). Both asyncio peers pay it; uvloop reads into a preallocated buffer. Our server
reads with ``TcpStream.read(65536)``, served from the heap.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
HOST = "127.0.0.1"


# --- the servers -------------------------------------------------------------------------
# Each ``serve_*`` binds port 0, prints the port on stdout, and echoes until killed.


def serve_runtime() -> None:
    sys.path.insert(0, str(HERE.parent))
    import runtime
    from runtime import PENDING, Future, Ready
    from runtime.net import TcpListener, TcpStream

    class Echo(Future):
        """One connection: read up to 64 KiB, write it all back, until EOF.

        Written the way corofy lowers ``while data := wait(s.read(n)): wait(s.write_all(data))``:
        a state number, the inner future it is suspended on, and a loop in ``poll``.
        """

        __slots__ = ("_awaiting", "_state", "_stream")

        def __init__(self, stream: TcpStream) -> None:
            self._state = 0
            self._awaiting: Future | None = None
            self._stream = stream

        def poll(self, waker):
            while True:
                if self._state == 0:  # start a read
                    self._awaiting = self._stream.read(65536)
                    self._state = 1
                if self._state == 1:  # waiting for data
                    answer = self._awaiting.poll(waker)
                    if answer is PENDING:
                        return PENDING
                    data = answer.value
                    if not data:
                        self._stream.close()
                        self._state = -1
                        self._awaiting = None
                        return Ready(None)
                    self._awaiting = self._stream.write_all(data)
                    self._state = 2
                # state 2: waiting for the echo to be written
                if self._awaiting.poll(waker) is PENDING:
                    return PENDING
                self._state = 0

        def close(self) -> None:
            self._stream.close()

    class Serve(Future):
        """Accept forever, spawning one Echo task per connection."""

        __slots__ = ("_accepting", "_listener")

        def __init__(self, listener: TcpListener) -> None:
            self._listener = listener
            self._accepting = listener.accept()

        def poll(self, waker):
            while True:
                answer = self._accepting.poll(waker)
                if answer is PENDING:
                    return PENDING
                stream, _addr = answer.value
                runtime.spawn(Echo(stream))
                self._accepting = self._listener.accept()

    listener = TcpListener.bind(HOST, 0)
    print(listener.local_addr[1], flush=True)
    runtime.run(Serve(listener))


# The same server as corofy source: what `corofy` generates from it runs as "runtime-corofy".
CORO_SOURCE = """
import runtime
from corofy import coroutine, wait


@coroutine
def echo(stream):
    try:
        while data := wait(stream.read(65536)):
            wait(stream.write_all(data))
    finally:
        stream.close()


@coroutine
def serve(listener):
    while True:
        stream, _addr = wait(listener.accept())
        runtime.spawn(echo(stream))
"""


def serve_runtime_corofy() -> None:
    sys.path.insert(0, str(HERE.parent))
    import runtime
    from corofy import transform_source
    from runtime.net import TcpListener

    generated = transform_source(CORO_SOURCE, "bench_echo_server.py")
    namespace: dict = {"__name__": "bench_echo_server"}
    exec(compile(generated, "bench_echo_server_corofied.py", "exec"), namespace)
    listener = TcpListener.bind(HOST, 0)
    print(listener.local_addr[1], flush=True)
    runtime.run(namespace["serve"](listener))


def _asyncio_streams_main(ready_port):
    import asyncio

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except ConnectionResetError:
            pass  # the client closes with an echo unread at the end of a run: an RST
        writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, HOST, 0)
        ready_port(server.sockets[0].getsockname()[1])
        await server.serve_forever()

    return main


def _asyncio_protocol_main(ready_port):
    import asyncio

    class EchoProtocol(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport

        def data_received(self, data: bytes) -> None:
            self.transport.write(data)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(EchoProtocol, HOST, 0)
        ready_port(server.sockets[0].getsockname()[1])
        await server.serve_forever()

    return main


def _print_port(port: int) -> None:
    print(port, flush=True)


def serve_asyncio_streams() -> None:
    import asyncio

    asyncio.run(_asyncio_streams_main(_print_port)())


def serve_asyncio_protocol() -> None:
    import asyncio

    asyncio.run(_asyncio_protocol_main(_print_port)())


def serve_uvloop_streams() -> None:
    import uvloop

    uvloop.run(_asyncio_streams_main(_print_port)())


def serve_uvloop_protocol() -> None:
    import uvloop

    uvloop.run(_asyncio_protocol_main(_print_port)())


SERVERS = {
    "runtime": serve_runtime,
    "runtime-corofy": serve_runtime_corofy,
    "asyncio-streams": serve_asyncio_streams,
    "asyncio-protocol": serve_asyncio_protocol,
    "uvloop-streams": serve_uvloop_streams,
    "uvloop-protocol": serve_uvloop_protocol,
}


# --- the harness -------------------------------------------------------------------------


def _cores() -> tuple[set[int] | None, set[int] | None]:
    """(server cores, client cores): one core each when we may use two, else no pinning."""
    try:
        allowed = sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return None, None
    if len(allowed) < 2:
        return None, None
    return {allowed[0]}, {allowed[1]}


def build_client(workdir: Path) -> Path:
    gcc = shutil.which("gcc") or shutil.which("cc")
    if gcc is None:
        sys.exit("bench_echo: needs gcc (or cc) to build the load client")
    exe = workdir / "echo_client"
    subprocess.run([gcc, "-O2", "-o", str(exe), str(HERE / "echo_client.c")], check=True)
    return exe


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far (from /proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(kind: str, client: Path, args: argparse.Namespace) -> tuple[float, float]:
    """Start server ``kind`` and drive it with the client.

    Returns (round trips per second of wall time, round trips per second of the server's
    CPU time). The second is far less sensitive to other load on a shared machine: it
    says how much work each round trip costs the server, not how much CPU it was given.
    """
    server_cores, client_cores = _cores()
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", kind],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        if server_cores:
            os.sched_setaffinity(server.pid, server_cores)
        line = server.stdout.readline()
        if not line.strip():
            raise RuntimeError(f"server {kind} did not start (exit {server.wait()})")
        port = int(line)
        load = subprocess.Popen(
            [
                str(client),
                HOST,
                str(port),
                str(args.connections),
                str(args.size),
                str(args.warmup),
                str(args.seconds),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        if client_cores:
            os.sched_setaffinity(load.pid, client_cores)  # before its warm-up ends
        # Sample the server's CPU time over the client's measuring window.
        time.sleep(args.warmup)
        cpu_start = _cpu_seconds(server.pid)
        time.sleep(args.seconds)
        cpu_used = _cpu_seconds(server.pid) - cpu_start
        out, err = load.communicate(timeout=args.warmup + args.seconds + 60)
        if load.returncode != 0:
            raise RuntimeError(f"client against {kind} failed: {err.strip()}")
        count, elapsed = out.split()
        return int(count) / float(elapsed), int(count) / max(cpu_used, 1e-3)
    finally:
        server.kill()
        server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", choices=sorted(SERVERS), help=argparse.SUPPRESS)
    parser.add_argument("--connections", type=int, default=100)
    parser.add_argument("--size", type=int, default=100, help="message bytes")
    parser.add_argument("--seconds", type=float, default=3.0, help="measured time per run")
    parser.add_argument("--warmup", type=float, default=0.5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", nargs="*", choices=sorted(SERVERS), help="servers to run")
    args = parser.parse_args()
    if args.serve:
        SERVERS[args.serve]()
        return

    kinds = args.only or list(SERVERS)
    try:
        import uvloop  # noqa: F401
    except ImportError:
        kinds = [k for k in kinds if not k.startswith("uvloop")]
    server_cores, client_cores = _cores()
    print(
        f"echo: {args.connections} connections, {args.size}-byte messages, "
        f"{args.seconds}s x {args.rounds} rounds; server cores {server_cores}, "
        f"client cores {client_cores}; {sys.implementation.name} {sys.version.split()[0]}"
    )
    best: dict[str, float] = {}
    best_cpu: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        client = build_client(Path(tmp))
        for round_no in range(1, args.rounds + 1):
            for kind in kinds:
                rate, per_cpu = measure(kind, client, args)
                best[kind] = max(best.get(kind, 0.0), rate)
                best_cpu[kind] = max(best_cpu.get(kind, 0.0), per_cpu)
                print(
                    f"  round {round_no} {kind:17} {rate:10,.0f} round trips/s"
                    f" {per_cpu:10,.0f} per server CPU second",
                    flush=True,
                )
    print("best of rounds:        round trips/s   per server CPU second")
    for kind in kinds:
        print(f"  {kind:17} {best[kind]:14,.0f} {best_cpu[kind]:14,.0f}")
    ours = [kind for kind in kinds if kind.startswith("runtime")]
    peers = [kind for kind in kinds if kind not in ours]
    if ours and peers:
        print("ratios (ours / peer):                      wall    CPU")
        for mine in ours:
            for peer in peers:
                print(
                    f"  {mine:14} / {peer:17}      {best[mine] / best[peer]:5.2f}x"
                    f" {best_cpu[mine] / best_cpu[peer]:5.2f}x"
                )


if __name__ == "__main__":
    main()
