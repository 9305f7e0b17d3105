"""A failing coroutine's traceback shows the original file, line and source in all three
paths: the CLI's output run by python, `corofy run`, and the untransformed `@coroutine`.
These use the real transform (SPEC §6)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


PROGRAM = """\
import sys

import runtime
from corofy import coroutine, wait


class Now(runtime.Future):
    def __init__(self, value):
        self.value = value

    def poll(self, waker):
        return runtime.Ready(self.value)


@coroutine
def divide(n):
    value = wait(Now(n))
    return 10 // value


@coroutine
def outer(n):
    total = 1
    total += wait(divide(n))
    return total


if __name__ == "__main__":
    print(runtime.run(outer(int(sys.argv[1]))))
"""
FAILING_LINE = FAILING_LINE_0 = 18  # return 10 // value
CALLER_LINE = CALLER_LINE_0 = 24  # total += wait(divide(n))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "prog.py").write_text(PROGRAM)
    assert PROGRAM.splitlines()[FAILING_LINE - 1].strip() == "return 10 // value"
    assert PROGRAM.splitlines()[CALLER_LINE - 1].strip() == "total += wait(divide(n))"
    return tmp_path


def run(cwd: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COROFY_CACHE_DIR": str(cwd / ".cache")}
    return subprocess.run(list(argv), cwd=cwd, capture_output=True, text=True, timeout=60, env=env)


def assert_original_traceback(proc: subprocess.CompletedProcess[str], shift: int = 0) -> None:
    """``shift``: how many lines the program moved the two coroutines down."""
    FAILING_LINE, CALLER_LINE = FAILING_LINE_0 + shift, CALLER_LINE_0 + shift
    assert proc.returncode == 1, proc.stdout + proc.stderr
    err = proc.stderr
    assert f'prog.py", line {FAILING_LINE}' in err, err
    assert "    return 10 // value\n" in err
    assert f'prog.py", line {CALLER_LINE}' in err
    assert "    total += wait(divide(n))\n" in err
    assert err.rstrip().endswith("ZeroDivisionError: integer division or modulo by zero")
    # One frame per coroutine, named after it, and none of the machines' dispatch plumbing.
    assert f"line {FAILING_LINE}, in divide\n" in err and f"line {CALLER_LINE}, in outer\n" in err
    assert "@coroutine" not in err and "_steps" not in err and "poll(waker)" not in err


def test_cli_output_run_by_python(project):
    assert run(project, str(BIN / "corofy"), "prog.py", "-o", "build/prog.py").returncode == 0
    assert run(project, sys.executable, "build/prog.py", "5").stdout == "3\n"
    proc = run(project, sys.executable, "build/prog.py", "0")
    assert_original_traceback(proc)
    assert "build/prog.py" not in proc.stderr


def test_corofy_run(project):
    assert run(project, str(BIN / "corofy"), "run", "prog.py", "5").stdout == "3\n"
    assert_original_traceback(run(project, str(BIN / "corofy"), "run", "prog.py", "0"))


def test_untransformed_decorator(project):
    assert run(project, sys.executable, "prog.py", "5").stdout == "3\n"
    assert_original_traceback(run(project, sys.executable, "prog.py", "0"))


RESUMED = PROGRAM.replace(
    """    def poll(self, waker):
        return runtime.Ready(self.value)
""",
    """    def poll(self, waker):  # pending once, so the machines fail after a resume
        if not getattr(self, "polled", False):
            self.polled = True
            waker.wake()
            return runtime.PENDING
        return runtime.Ready(self.value)
""",
)


@pytest.mark.parametrize("path", ["cli", "run", "decorator"])
def test_traceback_after_a_resume_names_original_lines(tmp_path, path):
    """The failure reaches the machines through their resume functions, where the awaited
    future is polled again: those frames must map to the waits' lines as well."""
    (tmp_path / "prog.py").write_text(RESUMED)
    corofy = str(BIN / "corofy")
    if path == "cli":
        assert run(tmp_path, corofy, "prog.py", "-o", "build/prog.py").returncode == 0
        argv = [sys.executable, "build/prog.py"]
    elif path == "run":
        argv = [corofy, "run", "prog.py"]
    else:
        argv = [sys.executable, "prog.py"]
    assert run(tmp_path, *argv, "5").stdout == "3\n"
    proc = run(tmp_path, *argv, "0")
    assert_original_traceback(proc, shift=len(RESUMED.splitlines()) - len(PROGRAM.splitlines()))
    assert "_awaiting" not in proc.stderr


DUMP = PROGRAM.replace(
    """if __name__ == "__main__":
    print(runtime.run(outer(int(sys.argv[1]))))""",
    """class Never(runtime.Future):
    def poll(self, waker):
        return runtime.PENDING


@coroutine
def stuck():
    wait(Never())


@coroutine
def main():
    runtime.spawn(stuck())
    wait(runtime.sleep(0.01))
    runtime.dump_tasks(file=sys.stdout)


if __name__ == "__main__":
    runtime.run(main())""",
)


@pytest.mark.parametrize("path", ["cli", "run", "decorator"])
def test_dump_tasks_names_function_state_and_original_line(project, path):
    (project / "prog.py").write_text(DUMP)
    wait_line = DUMP.splitlines().index("    wait(Never())") + 1
    if path == "cli":
        assert run(project, str(BIN / "corofy"), "prog.py", "-o", "build/prog.py").returncode == 0
        proc = run(project, sys.executable, "build/prog.py")
    elif path == "run":
        proc = run(project, str(BIN / "corofy"), "run", "prog.py")
    else:
        proc = run(project, sys.executable, "prog.py")
    assert proc.returncode == 0, proc.stderr
    (line,) = [
        line for line in proc.stdout.splitlines() if line.strip().startswith("stuck in state ")
    ]
    assert line.rstrip().endswith(f"prog.py:{wait_line}"), proc.stdout
    assert "main (running) in " in proc.stdout
    assert "wait(Never())" in proc.stdout


def test_a_refusal_with_no_build_step_reads_as_its_error_line_not_a_traceback(
    tmp_path: Path,
) -> None:
    # SPEC 2.3/5: a refusal reads `path:line:col: error: message`, the build-free path too;
    # it read as a traceback through corofy's frames ending in that line.
    (tmp_path / "bad.py").write_text(
        "from corofy import coroutine, wait\n\n\n@coroutine\ndef f():\n    yield 1\n"
    )
    proc = run(tmp_path, sys.executable, "bad.py")
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr
    path, line, col, message = proc.stderr.split(":", 3)
    assert (Path(path).name, line, col) == ("bad.py", "6", "5")
    assert message.startswith(" error: yield inside a @coroutine")
    assert message.rstrip().endswith("use wait(x) instead of yield x")


def test_a_refusal_with_no_build_step_can_still_be_caught_as_a_corofy_error(
    tmp_path: Path,
) -> None:
    (tmp_path / "bad.py").write_text(
        "from corofy import coroutine, wait\n\n\n@coroutine\ndef f():\n    yield 1\n"
    )
    (tmp_path / "main.py").write_text(
        "from corofy.transform import CorofyError\n"
        "try:\n    import bad\nexcept CorofyError as exc:\n    print('caught', exc.line)\n"
        "raise ValueError('other errors keep their traceback')\n"
    )
    proc = run(tmp_path, sys.executable, "main.py")
    assert proc.stdout == "caught 6\n"
    assert "Traceback" in proc.stderr and "ValueError: other errors" in proc.stderr
