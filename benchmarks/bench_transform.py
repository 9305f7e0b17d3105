"""Transform throughput on a large file dense with coroutines, against libcst itself.

Generates a module of N coroutines (loops, try/except/finally, with, comprehensions, waits
inside expressions) and times, in one process run, ``corofy.transform.transform`` and
libcst's own parse-and-print of the same text. Prints both and the ratio
(libcst time / transform time: 1.0 would be "as fast as parsing and printing").

    python3 benchmarks/bench_transform.py [--functions N] [--repeat R]
"""

from __future__ import annotations

import argparse
import gc
import time

import libcst as cst

from corofy.transform import transform

TEMPLATE = '''

@coroutine
def fetch_{i}(client, paths, limit={i}):
    """Fetch every path, retrying once."""
    results = []
    total = 0
    for path in paths:
        try:
            response = wait(client.get(path, timeout=limit))
        except TimeoutError as error:
            response = wait(client.get(path, timeout=limit * 2))
            print("retried", path, error)
        finally:
            total += 1
        if response.status != 200:
            continue
        results.append(response.body[: wait(client.size(path))])
    with client.session() as session:
        sizes = [wait(session.stat(p)) for p in paths if p]
    while total < limit and wait(client.more()):
        total += 1
    return results, sizes, f"{{total}} of {{len(paths)}}"


def helper_{i}(x, y):
    return [v * 2 for v in range(x) if v % y]
'''


def build(functions: int) -> str:
    return "from corofy import coroutine, wait\n" + "".join(
        TEMPLATE.format(i=i) for i in range(functions)
    )


def best_time(repeat: int, run) -> float:
    best = float("inf")
    for _ in range(repeat):
        # Each run starts from a collected heap: the other side's garbage is not charged to it.
        gc.collect()
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--functions", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    source = build(args.functions)
    result = transform(source, "dense.py")
    assert cst.parse_module(source).code == source
    best_libcst = best_corofy = float("inf")
    for _ in range(args.repeat):  # the two sides interleaved: drift on the machine hits both
        best_libcst = min(
            best_libcst, best_time(1, lambda: cst.parse_module(source).code == source)
        )
        best_corofy = min(best_corofy, best_time(1, lambda: transform(source, "dense.py")))
    lines = source.count("\n")
    print(
        f"source: {args.functions} coroutines, {lines:,} lines, {len(source):,} chars; "
        f"output {result.code.count(chr(10)):,} lines; best of {args.repeat}"
    )
    print(f"libcst parse+print:  {best_libcst:.3f} s")
    print(f"corofy transform:    {best_corofy:.3f} s")
    print(f"ratio libcst/corofy: {best_libcst / best_corofy:.2f}  (target >= 0.5)")


if __name__ == "__main__":
    main()
