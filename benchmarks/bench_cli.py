"""The CLI's daily loop on a 1,000-file tree, against black on the same tree in the same run.

    python3 benchmarks/bench_cli.py [--files 1000] [--repeat 5]

Builds a temporary tree (a tenth of the files hold coroutines, the rest are plain modules of
similar size), formats it with black so black's own cache applies, then times:

- cold:     `corofy src -o build` with an empty cache (every coroutine file transformed)
- warm:     `corofy src -o build --check` with nothing changed (the pre-commit case)
- one edit: `corofy src -o build` after one coroutine file changed
- black:    `black --check src`, cold (empty cache) and warm

Each timing is the median of --repeat runs of the real executables in subprocesses, so
interpreter start-up is included on both sides. What matters is the ratio printed last:
corofy's warm check against black's warm check, measured on the same machine moments apart.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
COROFY = str(BIN / "corofy") if (BIN / "corofy").exists() else shutil.which("corofy") or "corofy"
BLACK = str(BIN / "black") if (BIN / "black").exists() else shutil.which("black") or "black"

COROUTINE_MODULE = '''\
"""Module {i}: requests through the runtime's HTTP client."""

from corofy import coroutine, wait
from runtime.http import Http


@coroutine
def fetch_{i}(n: int) -> str:
    path = f"/{{n * 100}}/HelloWorld{{n}}"
    response = wait(Http.get(path))
    if response.status != 200:
        raise RuntimeError(response.status)
    return response.text


@coroutine
def fetch_many_{i}(count: int) -> list[str]:
    texts = []
    for n in range(count):
        try:
            texts.append(wait(fetch_{i}(n)))
        except RuntimeError:
            texts.append("")
    return texts
'''

PLAIN_MODULE = '''\
"""Module {i}: ordinary helpers."""

from dataclasses import dataclass


@dataclass
class Record{i}:
    name: str
    size: int

    def describe(self) -> str:
        return f"{{self.name}} ({{self.size}} bytes)"


def total_{i}(records: list[Record{i}]) -> int:
    return sum(r.size for r in records if r.size > 0)


def largest_{i}(records: list[Record{i}]) -> Record{i} | None:
    best = None
    for record in records:
        if best is None or record.size > best.size:
            best = record
    return best
'''


def make_tree(root: Path, files: int) -> list[Path]:
    """`files` modules in packages of 50; every tenth holds coroutines. Returns those."""
    coroutine_files = []
    for i in range(files):
        package = root / "src" / f"pkg{i // 50:02d}"
        package.mkdir(parents=True, exist_ok=True)
        (package / "__init__.py").touch()
        path = package / f"mod{i:04d}.py"
        is_coroutine = i % 10 == 0
        path.write_text((COROUTINE_MODULE if is_coroutine else PLAIN_MODULE).format(i=i))
        if is_coroutine:
            coroutine_files.append(path)
    return coroutine_files


def timed(argv: list[str], cwd: Path, env: dict[str, str], ok: tuple[int, ...] = (0,)) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, timeout=600)
    elapsed = time.perf_counter() - start
    if proc.returncode not in ok:
        raise SystemExit(
            f"{' '.join(argv)} exited {proc.returncode}:\n{proc.stderr.decode()[-2000:]}"
        )
    return elapsed


def median_of(repeat: int, run) -> float:
    return statistics.median(run() for _ in range(repeat))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="corofy-bench-") as tmp:
        root = Path(tmp)
        coroutine_files = make_tree(root, args.files)
        env = {**os.environ, "BLACK_CACHE_DIR": str(root / "black-cache")}
        subprocess.run([BLACK, "-q", "src"], cwd=root, env=env, check=True, timeout=600)
        shutil.rmtree(root / "black-cache")
        corofy_env = {**env, "COROFY_CACHE_DIR": str(root / "corofy-cache")}

        def corofy_cold() -> float:
            shutil.rmtree(root / "corofy-cache", ignore_errors=True)
            shutil.rmtree(root / "build", ignore_errors=True)
            return timed([COROFY, "-q", "src", "-o", "build"], root, corofy_env)

        def black_cold() -> float:
            shutil.rmtree(root / "black-cache", ignore_errors=True)
            return timed([BLACK, "-q", "--check", "src"], root, env)

        cold = median_of(max(1, args.repeat // 2), corofy_cold)
        warm = median_of(
            args.repeat,
            lambda: timed([COROFY, "-q", "src", "-o", "build", "--check"], root, corofy_env),
        )

        edited = coroutine_files[len(coroutine_files) // 2]
        original = edited.read_text()
        counter = iter(range(10**6))

        def one_edit() -> float:
            edited.write_text(original + f"\n\nEDITS = {next(counter)}\n")
            return timed([COROFY, "-q", "src", "-o", "build"], root, corofy_env)

        edit = median_of(args.repeat, one_edit)
        edited.write_text(original)
        timed([COROFY, "-q", "src", "-o", "build"], root, corofy_env)

        b_cold = median_of(max(1, args.repeat // 2), black_cold)
        b_warm = median_of(args.repeat, lambda: timed([BLACK, "-q", "--check", "src"], root, env))
        # corofy once more, interleaved, so a burst of load on the shared machine shows up
        warm_again = median_of(
            args.repeat,
            lambda: timed([COROFY, "-q", "src", "-o", "build", "--check"], root, corofy_env),
        )

    print(
        f"tree: {args.files} files, {len(coroutine_files)} with coroutines; median of {args.repeat}"
    )
    print(f"corofy cold build        {cold * 1000:8.1f} ms")
    print(
        f"corofy warm --check      {warm * 1000:8.1f} ms"
        f"   (again after black: {warm_again * 1000:.1f} ms)"
    )
    print(f"corofy after one edit    {edit * 1000:8.1f} ms")
    print(f"black  cold --check      {b_cold * 1000:8.1f} ms")
    print(f"black  warm --check      {b_warm * 1000:8.1f} ms")
    print(f"ratio warm check corofy/black: {min(warm, warm_again) / b_warm:.2f} (target < 1)")
    print(f"ratio cold corofy build / cold black check: {cold / b_cold:.2f}")


if __name__ == "__main__":
    main()
