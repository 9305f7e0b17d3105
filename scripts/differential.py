#!/usr/bin/env python3
"""Long runs of the differential harness (issue 10): many examples, counted honestly.

Runs the four differential properties of ``tests/transform`` — generated programs, plain
(``test_differential.py``) and laid out (``test_differential_layouts.py``), each run to
completion and closed after some polls — against the generator reference, through
hypothesis itself: each round calls the test functions as they are, under a hypothesis
profile of ``--chunk`` examples with a seed made from ``--seed`` and the round, so one round
runs the same mix as a CI run and rounds differ. A run is
resumable by giving another seed: runs with different seeds draw different programs.

Counted, not assumed: every call of ``assert_same`` in the test bodies is one example run
(hypothesis may run fewer than ``max_examples``, or more while shrinking a failure).
Printed as it goes and at the end: examples run, distinct programs, mismatches (the
machine and the reference differ: the shrunk program is printed) and errors (anything else
raised, an example over ``--timeout`` seconds included).

    python3 scripts/differential.py --examples 20000 --seed 1
    nice python3 scripts/differential.py --examples 100000 --seed 7 > run7.log 2>&1 &

Not part of the default test run (hours for 100,000 examples on this machine). Memory
stays bounded: each round is a fresh hypothesis run, and only a hash of each program is kept.
Exit status: 0 when no mismatch and no error was seen, 1 otherwise.
"""

from __future__ import annotations

import argparse
import hashlib
import signal
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PROPERTIES = [
    ("test_differential_layouts", "test_a_program_in_any_layout_matches_its_reference"),
    (
        "test_differential_layouts",
        "test_a_program_in_any_layout_closed_after_some_polls_matches_its_reference",
    ),
    ("test_differential", "test_generated_program_matches_reference_when_run_to_completion"),
    (
        "test_differential",
        "test_generated_program_matches_reference_when_closed_after_some_polls",
    ),
]


class ExampleTimeout(Exception):
    """One example ran longer than ``--timeout`` seconds."""


def _alarm(signum: int, frame: Any) -> None:
    raise ExampleTimeout("example over the time limit")


class Counter:
    """Wraps ``assert_same`` as the test bodies call it: counts what really ran."""

    def __init__(self, assert_same: Callable[..., Any], timeout: float) -> None:
        self.assert_same = assert_same
        self.timeout = timeout
        self.examples = 0
        self.programs: set[bytes] = set()

    def __call__(self, source: str, *args: Any, **kwargs: Any) -> Any:
        self.examples += 1
        self.programs.add(hashlib.blake2b(source.encode(), digest_size=8).digest())
        signal.setitimer(signal.ITIMER_REAL, self.timeout)
        try:
            return self.assert_same(source, *args, **kwargs)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)


def load_properties(chunk: int, timeout: float) -> tuple[list[tuple[str, Any]], Counter]:
    """The test functions, under a profile of ``chunk`` examples, with ``assert_same``
    counted (the profile must be loaded before the test modules make their settings)."""
    from hypothesis import HealthCheck, settings

    sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "transform")]
    settings.register_profile(
        "differential-long-run",
        max_examples=chunk,
        deadline=None,
        database=None,
        print_blob=True,
        suppress_health_check=list(HealthCheck),
    )
    settings.load_profile("differential-long-run")
    import importlib

    import reference

    counter = Counter(reference.assert_same, timeout)
    tests = []
    for module_name, test_name in PROPERTIES:
        module = importlib.import_module(module_name)
        module.assert_same = counter  # the test bodies look it up when they run
        tests.append((f"{module_name}::{test_name}", getattr(module, test_name)))
    return tests, counter


def is_mismatch(exc: BaseException) -> bool:
    return isinstance(exc, AssertionError) and "machine and reference differ" in str(exc)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=20000, help="examples to run at least")
    parser.add_argument("--seed", type=int, default=0, help="another seed, other programs")
    parser.add_argument(
        "--chunk", type=int, default=20, help="a round: the CI mix at this profile count"
    )
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per example")
    parser.add_argument("--progress", type=float, default=60.0, help="seconds between reports")
    args = parser.parse_args(argv)

    from hypothesis import seed

    signal.signal(signal.SIGALRM, _alarm)
    tests, counter = load_properties(args.chunk, args.timeout)
    mismatches: list[str] = []
    errors: list[str] = []
    start = last = time.monotonic()
    round_no = 0

    def report(final: bool = False) -> None:
        elapsed = time.monotonic() - start
        print(
            f"{'done' if final else 'progress'}: seed {args.seed}, round {round_no}, "
            f"{counter.examples} examples run ({len(counter.programs)} distinct programs), "
            f"{len(mismatches)} mismatches, {len(errors)} errors, {elapsed:.0f} s "
            f"({counter.examples / max(elapsed, 1e-9):.1f} examples/s)",
            flush=True,
        )

    while counter.examples < args.examples:
        round_no += 1
        for name, test in tests:
            seed(args.seed * 1_000_003 + round_no * 16 + tests.index((name, test)))(test)
            try:
                test()
            except KeyboardInterrupt:
                report(final=True)
                return 1
            except BaseException as exc:
                text = "".join(traceback.format_exception(exc))
                (mismatches if is_mismatch(exc) else errors).append(text)
                kind = "MISMATCH" if is_mismatch(exc) else "ERROR"
                print(f"{kind} in {name} (seed {args.seed}, round {round_no}):\n{text}")
                sys.stdout.flush()
            if time.monotonic() - last >= args.progress:
                last = time.monotonic()
                report()
    report(final=True)
    return 1 if mismatches or errors else 0


if __name__ == "__main__":
    sys.exit(main())
