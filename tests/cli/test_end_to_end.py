"""`corofy show`, `graph` and `run` through the real executable and the real transform."""

from __future__ import annotations

import shutil
import subprocess

import pytest

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
def steps(n):
    total = 0
    for i in range(n):
        try:
            total += wait(Now(i))
        except ValueError:
            total = -1
    return total


@coroutine
def main(n):
    return wait(steps(n))


if __name__ == "__main__":
    print(sys.argv[1:], runtime.run(main(int(sys.argv[1]))))
"""


@pytest.fixture
def program(corofy):
    (corofy.cwd / "prog.py").write_text(PROGRAM)
    return corofy


def states_of(func: str):
    from corofy.transform import transform

    (machine,) = [m for m in transform(PROGRAM, "prog.py").machines if m.name == func]
    return machine


def test_show_prints_the_machine_of_func(program):
    result = program("show", "prog.py", "steps")
    assert result.returncode == 0, result.stderr
    assert result.stdout == states_of("steps").code + (
        "" if states_of("steps").code.endswith("\n") else "\n"
    )
    assert "\x1b[" not in result.stdout


def test_mermaid_has_one_node_per_state(program):
    result = program("graph", "prog.py", "steps", "--format", "mermaid")
    assert result.returncode == 0, result.stderr
    machine = states_of("steps")
    nodes = [line for line in result.stdout.splitlines() if line.strip().startswith("state ")]
    assert len(nodes) == len(machine.states)
    for state in machine.states:
        if state.line:
            assert f"(line {state.line})" in result.stdout


@pytest.mark.skipif(
    shutil.which("dot") is None, reason="Graphviz dot is not installed (scripts/install-test-tools)"
)
def test_dot_is_accepted_by_graphviz(program):
    result = program("graph", "prog.py", "steps", "--format", "dot")
    assert result.returncode == 0, result.stderr
    svg = subprocess.run(
        ["dot", "-Tsvg"], input=result.stdout, capture_output=True, text=True, timeout=60
    )
    assert svg.returncode == 0, svg.stderr
    assert "<svg" in svg.stdout


def test_run_passes_arguments_and_runs_as_main(program):
    result = program("run", "prog.py", "4", "--extra")
    assert (result.returncode, result.stdout) == (0, "['4', '--extra'] 6\n"), result.stderr


def test_run_reports_a_refusal_with_its_position(program):
    (program.cwd / "bad.py").write_text(
        "from corofy import coroutine, wait\n\n@coroutine\ndef f():\n    yield 1\n"
    )
    result = program("run", "bad.py")
    assert result.returncode == 2
    assert result.stderr.startswith("bad.py:5:5: error: ")


def test_show_is_coloured_on_a_terminal(program):
    import os
    import pty
    import select

    from cli_helpers import COROFY

    pid, fd = pty.fork()
    if pid == 0:  # the child: corofy with a terminal as its stdout; never back into pytest
        try:
            os.chdir(program.cwd)
            os.environ.pop("NO_COLOR", None)
            os.execv(COROFY, [COROFY, "show", "prog.py", "main"])
        finally:
            os._exit(127)
    output = b""
    try:
        while select.select([fd], [], [], 30)[0]:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
    finally:
        os.waitpid(pid, 0)
        os.close(fd)
    assert b"\x1b[1;35mdef\x1b[0m" in output
    assert b"main" in output


def test_show_prints_a_methods_machine_from_column_zero(corofy):
    (corofy.cwd / "meth.py").write_text(
        "from corofy import coroutine, wait\n\n\n"
        "class Box:\n"
        "    @coroutine\n"
        "    def get(self, fut):\n"
        "        return wait(fut)\n"
    )
    result = corofy("show", "meth.py", "Box.get")
    assert result.returncode == 0, result.stderr
    code_lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert any(line.startswith("def get(") for line in code_lines), result.stdout
    assert any(line.startswith("class ") for line in code_lines), result.stdout


def test_run_exits_as_python_does_when_the_program_is_interrupted(corofy):
    (corofy.cwd / "stop.py").write_text("raise KeyboardInterrupt\n")
    result = corofy("run", "stop.py")
    assert result.returncode == 130
    assert result.stderr.rstrip().endswith("KeyboardInterrupt")
