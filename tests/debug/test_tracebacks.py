"""Tracebacks and task dumps through generated code show the user's file and line (SPEC §6)."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import pytest
from debug_helpers import GENERATED, LEAVES, ORIGINAL

import runtime
import runtime.debug as debug

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """src/orig.py (the original) and build/{orig,leaves}.py (as corofy would write them)."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src/orig.py").write_text(ORIGINAL)
    (tmp_path / "build").mkdir()
    (tmp_path / "build/orig.py").write_text(GENERATED)
    (tmp_path / "build/leaves.py").write_text(LEAVES)
    return tmp_path


def run_python(cwd: Path, code: str, build: Path | None = None) -> subprocess.CompletedProcess[str]:
    build = build or cwd / "build"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": f"{build}:{ROOT}", "PATH": "/usr/bin:/bin"},
    )


def test_uncaught_error_names_the_original_file_line_and_source(project):
    proc = run_python(
        project,
        "import runtime\nfrom orig import outer\nfrom leaves import Now\n"
        "runtime.run(outer(Now(0)))\n",
    )
    assert proc.returncode == 1
    err = proc.stderr
    assert 'File "src/orig.py", line 7, in _inner' in err
    assert "    return 10 // value\n" in err
    assert 'File "src/orig.py", line 12, in _outer' in err
    assert "    result = wait(inner(fut))\n" in err
    assert "ZeroDivisionError" in err
    assert "build/orig.py" not in err


def test_original_is_found_relative_to_the_generated_file_from_another_cwd(project):
    elsewhere = project / "elsewhere"
    elsewhere.mkdir()
    proc = run_python(
        elsewhere,
        "import runtime\nfrom orig import outer\nfrom leaves import Now\n"
        "runtime.run(outer(Now(0)))\n",
        build=project / "build",
    )
    assert f'File "{project / "src/orig.py"}", line 7, in _inner' in proc.stderr


def test_original_is_named_absolutely_when_the_cwd_was_removed(project):
    doomed = project / "doomed"
    doomed.mkdir()
    proc = run_python(
        doomed,
        "import os, runtime\nfrom orig import outer\nfrom leaves import Now\n"
        "os.rmdir(os.getcwd())\nruntime.run(outer(Now(0)))\n",
        build=project / "build",
    )
    assert f'File "{project / "src/orig.py"}", line 7, in _inner' in proc.stderr, proc.stderr


def test_unjoined_failed_task_is_reported_in_original_lines(project):
    proc = run_python(
        project,
        (
            "import runtime\nfrom orig import outer\nfrom leaves import Now\n"
            "class Main(runtime.Future):\n"
            "    started = False\n"
            "    def poll(self, waker):\n"
            "        if not self.started:\n"
            "            self.started = True\n"
            "            runtime.spawn(outer(Now(0)))\n"
            "            waker.wake()\n"
            "            return runtime.PENDING\n"
            "        return runtime.Ready('main done')\n"
            "print(runtime.run(Main()))\n"
        ),
    )
    assert "main done" in proc.stdout, proc.stderr
    assert "failed and was never joined" in proc.stderr
    assert 'File "src/orig.py", line 7, in _inner' in proc.stderr


def test_a_program_hook_is_not_replaced(project):
    proc = run_python(
        project,
        "import sys\nsys.excepthook = lambda *a: print('mine', file=sys.stderr)\n"
        "import runtime\nraise ValueError\n",
    )
    assert proc.stderr == "mine\n"


def _load(name: str, text: str, path: Path) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__file__ = str(path)
    path.write_text(text)
    exec(compile(text, str(path), "exec"), module.__dict__)
    sys.modules[name] = module
    return module


def test_chained_exceptions_are_remapped_too(project, monkeypatch):
    monkeypatch.chdir(project)
    gen = _load("corofy_test_orig", GENERATED, project / "build/orig.py")
    leaves = _load("corofy_test_leaves", LEAVES, project / "build/leaves.py")
    machine = gen.outer(leaves.Now(0))
    try:
        try:
            machine.poll(None)
        except ZeroDivisionError as exc:
            raise KeyError("while handling") from exc
    except KeyError as exc:
        text = "".join(debug.format_exception(exc))
    assert text.count('File "src/orig.py", line 7') == 1
    assert "direct cause" in text and "KeyError" in text


def test_dump_tasks_lists_each_task_as_its_chain_of_waiting_coroutines(project, monkeypatch):
    monkeypatch.chdir(project)
    gen = _load("corofy_test_orig2", GENERATED, project / "build/orig.py")
    leaves = _load("corofy_test_leaves2", LEAVES, project / "build/leaves.py")
    dumped: list[str] = []

    class Probe(runtime.Future):
        polls = 0

        def poll(self, waker):
            self.polls += 1
            if self.polls == 1:  # let the spawned task run first, so it reaches its wait
                waker.wake()
                return runtime.PENDING
            dumped.append(runtime.dump_tasks(file=sys.stdout))
            return runtime.Ready(None)

    executor = runtime.Executor()
    try:
        executor.spawn(gen.outer(leaves.Never()))
        executor.block_on(Probe())
    finally:
        executor.close()
    (text,) = dumped
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("task _outer")) + 1
    assert lines[start].strip() == "_outer in state wait_line_12 at src/orig.py:12"
    assert lines[start + 1].strip() == "result = wait(inner(fut))"
    assert lines[start + 2].strip() == "_inner in state wait_line_6 at src/orig.py:6"
    assert lines[start + 3].strip() == "value = wait(fut)"
    assert lines[start + 4].strip() == "Never"
    assert lines[start - 1].startswith("task ")


def test_error_on_an_executor_thread_is_shown_in_original_lines(project):
    proc = run_python(
        project,
        "import threading\nimport runtime\nfrom orig import outer\nfrom leaves import Now\n"
        "t = threading.Thread(target=lambda: runtime.Executor().block_on(outer(Now(0))),"
        " name='worker')\nt.start()\nt.join()\n",
    )
    assert "Exception in thread worker:" in proc.stderr
    assert 'File "src/orig.py", line 7, in _inner' in proc.stderr


def test_dump_tasks_shows_each_future_a_combinator_still_waits_on(project, monkeypatch):
    monkeypatch.chdir(project)
    gen = _load("corofy_test_orig3", GENERATED, project / "build/orig.py")
    leaves = _load("corofy_test_leaves3", LEAVES, project / "build/leaves.py")
    dumped: list[str] = []

    class Probe(runtime.Future):
        polls = 0

        def poll(self, waker):
            self.polls += 1
            if self.polls == 1:
                waker.wake()
                return runtime.PENDING
            dumped.append(runtime.dump_tasks(file=sys.stdout))
            return runtime.Ready(None)

    both = runtime.join_all([gen.inner(leaves.Never()), runtime.select(leaves.Never())])
    executor = runtime.Executor()
    try:
        executor.spawn(runtime.timeout(both, 60))
        executor.block_on(Probe())
    finally:
        executor.close()
    (text,) = dumped
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("task Timeout")) + 1
    assert lines[start : start + 7] == [
        "  Timeout",
        "    JoinAll",
        "      _inner in state wait_line_6 at src/orig.py:6",
        "          value = wait(fut)",
        "        Never",
        "      Select",
        "        Never",
    ]
