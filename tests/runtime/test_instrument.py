"""Seeing tasks run (SPEC §6): runtime.instrument's events, RUNTIME_TRACE and corofy run --trace."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from runtime_helpers import Gate

import runtime
from corofy import coroutine, wait
from runtime.tracing import TracePrinter, observed_future


@coroutine
def two_steps(gate: Gate) -> int:
    value = wait(gate)
    wait(runtime.sleep(0))
    return value + 1


@coroutine
def fails_not() -> int:
    wait(runtime.sleep(0.001))
    return 1


@coroutine
def fails() -> None:
    wait(runtime.sleep(0))
    raise ValueError("boom")


class Recorder:
    """Records every event with the state of the task's coroutine at that moment."""

    def __init__(self) -> None:
        self.events: list[tuple] = []

    def _state(self, task) -> int | None:
        return getattr(observed_future(task), "_state", None)

    def task_spawned(self, task) -> None:
        self.events.append(("spawned", task.name.split("-")[0].rpartition(".")[2]))

    def task_polled(self, task) -> None:
        self.events.append(("polled", self._state(task)))

    def task_pending(self, task) -> None:
        self.events.append(("pending", self._state(task)))

    def task_ready(self, task, value) -> None:
        self.events.append(("ready", value))

    def task_failed(self, task, exc) -> None:
        self.events.append(("failed", type(exc).__name__))

    def task_woken(self, task) -> None:
        self.events.append(("woken",))


def test_an_instrument_sees_spawn_polls_outcomes_and_wakes_in_order() -> None:
    gate = Gate()
    recorder = Recorder()

    @coroutine
    def opener() -> None:
        wait(runtime.sleep(0.01))
        gate.open(41)

    @coroutine
    def main() -> int:
        runtime.spawn(opener())
        return wait(two_steps(gate))

    with runtime.instrument(recorder):
        assert runtime.run(main()) == 42
    main_events = recorder.events
    assert main_events[:3] == [
        ("spawned", "main_machine"),
        ("polled", 0),
        ("spawned", "opener_machine"),
    ]
    # main waits in its first state (the two_steps it waits on is its state 1).
    assert ("pending", 1) in main_events
    assert ("woken",) in main_events
    assert main_events[-1] == ("ready", 42)
    assert main_events.count(("ready", None)) == 1  # the opener task


def test_a_failing_task_is_reported_failed() -> None:
    recorder = Recorder()
    with runtime.instrument(recorder), pytest.raises(ValueError, match="boom"):
        runtime.run(fails())
    assert recorder.events[-1] == ("failed", "ValueError")


def test_executors_started_after_removal_report_nothing() -> None:
    recorder = Recorder()
    runtime.instrument(recorder).remove()
    assert runtime.run(fails_not()) == 1
    assert recorder.events == []


def test_an_instrument_that_raises_is_removed_and_the_program_goes_on(capsys) -> None:
    class Broken:
        def task_polled(self, task) -> None:
            raise RuntimeError("tool bug")

    handle = runtime.instrument(Broken())
    try:
        assert runtime.run(fails_not()) == 1
    finally:
        handle.remove()
    assert "instrument" in capsys.readouterr().err


def test_an_object_with_no_event_method_is_refused() -> None:
    with pytest.raises(TypeError, match="task_spawned"):
        runtime.instrument(object())


def test_dump_tasks_sees_through_an_instrumented_task() -> None:
    gate = Gate()
    dumped: list[str] = []

    @coroutine
    def main() -> None:
        task = runtime.spawn(two_steps(gate))
        wait(runtime.sleep(0.01))
        dumped.append(runtime.dump_tasks(io.StringIO()))
        gate.open(1)
        wait(task)

    with runtime.instrument(Recorder()):
        runtime.run(main())
    assert "two_steps in state s1_line" in dumped[0]
    assert "_Observed" not in dumped[0]


def test_the_trace_printer_prints_a_line_per_poll_and_per_wake() -> None:
    out = io.StringIO()
    with runtime.instrument(TracePrinter(out)):
        runtime.run(fails_not())
    line = fails_not.__code__.co_firstlineno  # the def; its wait is on the next line
    assert out.getvalue().splitlines() == [
        "trace: task 1 fails_not() spawned",
        (
            f"trace: task 1 fails_not() state 0 start (line {line}) -> pending in state 1 "
            f"s1_line{line + 1} (line {line + 1})"
        ),
        "trace: task 1 fails_not() woken",
        f"trace: task 1 fails_not() state 1 s1_line{line + 1} (line {line + 1}) -> ready",
    ]


PROGRAM = textwrap.dedent(
    """
    import runtime
    from corofy import coroutine, wait


    @coroutine
    def main():
        wait(runtime.sleep(0.01))
        raise KeyError("lost")


    try:
        runtime.run(main())
    except KeyError:
        print("done")
    """
)


@pytest.mark.parametrize("how", ["RUNTIME_TRACE=1", "corofy run --trace"])
def test_tracing_a_program_prints_its_polls_with_states_lines_and_outcomes(
    tmp_path: Path, how: str
) -> None:
    program = tmp_path / "prog.py"
    program.write_text(PROGRAM)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    if how == "RUNTIME_TRACE=1":
        command = [sys.executable, str(program)]
        env["RUNTIME_TRACE"] = "1"
    else:
        command = [sys.executable, "-m", "corofy", "run", "--trace", str(program)]
        env.pop("RUNTIME_TRACE", None)
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "done\n"
    assert done.stderr.splitlines() == [
        "trace: task 1 main() spawned",
        "trace: task 1 main() state 0 start (line 7) -> pending in state 1 s1_line8 (line 8)",
        "trace: task 1 main() woken",
        "trace: task 1 main() state 1 s1_line8 (line 8) -> raised KeyError: 'lost'",
    ]


def test_without_trace_a_program_prints_nothing_extra(tmp_path: Path) -> None:
    program = tmp_path / "prog.py"
    program.write_text(PROGRAM)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    env.pop("RUNTIME_TRACE", None)
    done = subprocess.run(
        [sys.executable, str(program)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert (done.stdout, done.stderr) == ("done\n", "")


def test_each_spawned_task_gets_a_new_number_in_the_trace() -> None:
    """Aborted tasks are never reported ready or failed; their numbers are not reused."""

    @coroutine
    def sleeper() -> None:
        wait(runtime.sleep(10))

    @coroutine
    def main() -> None:
        for _ in range(20):
            handle = runtime.spawn(sleeper())
            wait(runtime.sleep(0.001))  # the sleeper runs and parks: aborted, never finished
            handle.abort()
            del handle  # its memory, and so its id, is free for the next task

    out = io.StringIO()
    with runtime.instrument(TracePrinter(out)):
        runtime.run(main())
    lines = out.getvalue().splitlines()
    numbers = [int(line.split()[2]) for line in lines if line.endswith(" spawned")]
    assert numbers == list(range(1, 22))


def test_a_coroutine_awaited_from_asyncio_is_traced_by_its_own_name() -> None:
    import asyncio

    async def amain() -> int:
        return await runtime.to_asyncio(fails_not())

    out = io.StringIO()
    with runtime.instrument(TracePrinter(out)):
        assert asyncio.run(amain()) == 1
    lines = out.getvalue().splitlines()
    assert any(line.endswith(" fails_not() spawned") for line in lines), lines
    assert any(" fails_not() state 0 start " in line for line in lines), lines
