"""What the generated code costs to load, and what the transform costs in memory.

Two measurements on the dense module of ``bench_transform.py`` (N coroutines with loops,
try/except/finally, with, comprehensions and waits inside expressions):

- compile time: ``compile()`` of corofy's output for the module, against ``compile()`` of
  the same module written with ``async def`` / ``await`` (what CPython compiles for the
  asyncio spelling of the same code). Target (issue 10): at most 6x.
- peak memory: the peak resident memory that ``corofy.transform.transform`` adds over a
  process that has imported everything and read the file, against what libcst's own
  parse-and-print of the same file adds, each in a fresh subprocess
  (``resource.getrusage(...).ru_maxrss``). Target (issue 11): at most 3x.

    python3 benchmarks/bench_output.py [--functions N] [--memory-mb MB] [--repeat R]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import subprocess
import sys
import tempfile
import time

from bench_transform import build

from corofy.transform import transform


def async_spelling(source: str) -> str:
    """The module written for asyncio: ``async def`` for each coroutine, ``await e`` for
    ``wait(e)`` (each wait in the template has no nested wait, so a regex does)."""
    source = source.replace("from corofy import coroutine, wait\n", "")
    source = source.replace("@coroutine\ndef ", "async def ")
    return re.sub(r"wait\(([^()]*(?:\([^()]*\)[^()]*)*)\)", r"(await \1)", source)


def best_compile(text: str, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        start = time.process_time()  # CPU time: the machine may be shared
        compile(text, "dense.py", "exec", dont_inherit=True)
        best = min(best, time.process_time() - start)
    return best


_MEMORY_CHILD = r"""
import json, resource, sys
import libcst
import corofy.transform as corofy_transform
source = open(sys.argv[2]).read()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
if sys.argv[1] == "libcst":
    assert libcst.parse_module(source).code == source
else:
    corofy_transform.transform(source, "dense.py")
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"added_kib": after - before, "before_kib": before}))
"""


def peak_added(kind: str, path: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", _MEMORY_CHILD, kind, path],
        check=True,
        capture_output=True,
        text=True,
        env=os.environ.copy(),
    )
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--functions", type=int, default=200)
    parser.add_argument(
        "--memory-mb",
        type=float,
        default=1.0,
        help="size of the file for the memory measurement (issue 11 used 5)",
    )
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    source = build(args.functions)
    output = transform(source, "dense.py").code
    spelled = async_spelling(source)
    compile(spelled, "async.py", "exec")  # the asyncio spelling is valid Python
    generated = best_compile(output, args.repeat)
    native = best_compile(spelled, args.repeat)
    print(
        f"module: {args.functions} coroutines, {source.count(chr(10)):,} lines; "
        f"output {output.count(chr(10)):,} lines; best of {args.repeat}"
    )
    print(f"compile() of corofy's output:      {generated * 1000:8.1f} ms")
    print(f"compile() of the async def module: {native * 1000:8.1f} ms")
    print(f"ratio output/async def: {generated / native:.2f}  (target <= 6)")

    per_function = len(build(1)) - len(build(0))
    functions = max(1, int(args.memory_mb * 1e6 / per_function))
    big = build(functions)
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(big)
    try:
        libcst_peak = peak_added("libcst", f.name)
        corofy_peak = peak_added("corofy", f.name)
    finally:
        os.unlink(f.name)
    print(f"memory file: {functions} coroutines, {len(big) / 1e6:.1f} MB")
    print(f"peak memory added by libcst parse+print: {libcst_peak['added_kib'] / 1024:8.1f} MiB")
    print(f"peak memory added by corofy transform:   {corofy_peak['added_kib'] / 1024:8.1f} MiB")
    print(
        f"ratio corofy/libcst: {corofy_peak['added_kib'] / max(1, libcst_peak['added_kib']):.2f}"
        "  (target <= 3)"
    )


if __name__ == "__main__":
    main()
