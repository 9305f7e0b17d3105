"""Debugging aids: how failed tasks are reported (SPEC §3, §6)."""

from __future__ import annotations

import sys
import traceback


def report_task_failure(task_name: str, exc: BaseException) -> None:
    """Print the traceback of a task that failed and was never joined, to stderr."""
    print(f"runtime: task {task_name} failed and was never joined:", file=sys.stderr)
    traceback.print_exception(exc, file=sys.stderr)
