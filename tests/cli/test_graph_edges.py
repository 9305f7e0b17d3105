"""`corofy graph`: every edge labelled, none that cannot happen, checked against real runs.

The machines of MODULE run many times on scripted futures (pending, ready at once, raising)
under a ``runtime.instrument`` recorder, which sees the state each poll resumes and the state
it stops in. Every poll observed must be explained by the drawn edges (ready-at-once edges,
then one pending, return or escaping edge), and every pending, return and escaping edge drawn
must be observed in some run: the graph neither misses a transition nor invents one.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import runtime
from corofy.graph import to_dot, to_mermaid
from corofy.stateflow import DONE, Transition, transitions
from corofy.transform import transform
from runtime.tracing import observed_future

MODULE = textwrap.dedent(
    """
    from corofy import coroutine, wait


    class Stop(Exception):
        pass


    @coroutine
    def server(next_future, limit):
        n = 0
        while True:
            n += wait(next_future())
            if n > limit:
                raise Stop(n)


    @coroutine
    def guarded(next_future):
        try:
            x = wait(next_future())
        except ValueError:
            x = wait(next_future())
        finally:
            wait(next_future())
        return x


    @coroutine
    def loops(next_future, items):
        total = 0
        for item in items:
            if item % 2 and wait(next_future()):
                continue
            total += sum([wait(next_future()) for _ in range(item)])
        return total


    @coroutine
    def starred(next_future):
        try:
            if wait(next_future()):
                raise ExceptionGroup("both", [ValueError(1), KeyError(2)])
        except* ValueError:
            x = wait(next_future())
        except* KeyError:
            x = wait(next_future())
        return x


    @coroutine
    def straight(next_future):
        a = wait(next_future())
        b = wait(next_future())
        return a + b
    """
)


class Scripted(runtime.Future):
    """Behaves as told: ready at once, pending once (waking itself) then ready, or raising."""

    def __init__(self, how: str) -> None:
        self.how = how
        self.polled = False

    def poll(self, waker):
        if self.how == "pending" and not self.polled:
            self.polled = True
            waker.wake()
            return runtime.PENDING
        if self.how in ("ValueError", "KeyError"):
            raise {"ValueError": ValueError, "KeyError": KeyError}[self.how](self.how)
        return runtime.Ready(1)


def future_maker(rng: random.Random):
    def next_future() -> Scripted:
        how = rng.choices(
            ["ready", "pending", "ValueError", "KeyError", "call fails"], [4, 4, 2, 1, 1]
        )[0]
        if how == "call fails":
            raise KeyError("making the future failed")
        return Scripted(how)

    return next_future


class Recorder:
    """(state resumed, outcome, state stopped in) for every poll of the root task."""

    def __init__(self) -> None:
        self.polls: list[tuple[int, str, int]] = []
        self.before = 0

    def task_polled(self, task) -> None:
        self.before = observed_future(task)._state

    def task_pending(self, task) -> None:
        self.polls.append((self.before, "pending", observed_future(task)._state))

    def task_ready(self, task, value) -> None:
        self.polls.append((self.before, "return", DONE))

    def task_failed(self, task, exc) -> None:
        self.polls.append((self.before, "raise", DONE))


@pytest.fixture(scope="module")
def module(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("graphs")
    (folder / "graphed.py").write_text(transform(MODULE, "graphed.py").code)
    sys.path.insert(0, str(folder))
    try:
        yield __import__("graphed")
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop("graphed", None)


def machine_of(name: str):
    (machine,) = [m for m in transform(MODULE, "graphed.py").machines if m.name == name]
    return machine


def _after_ready_edges(edges: list[Transition], src: int) -> set[int]:
    """The states a poll starting at `src` can be in after following ready-at-once edges."""
    reach, stack = {src}, [src]
    while stack:
        state = stack.pop()
        for e in edges:
            if e.src == state and e.kind == "ready" and e.dst not in reach:
                reach.add(e.dst)
                stack.append(e.dst)
    return reach


def _drawn_edges_of(edges: list[Transition], poll: tuple[int, str, int]) -> set:
    """The drawn (src, kind, dst) a poll from `src` ending in `outcome` at `dst` can have
    taken last, after ready-at-once edges."""
    src, outcome, dst = poll
    reach = _after_ready_edges(edges, src)
    return {
        (e.src, e.kind, e.dst)
        for e in edges
        if e.src in reach and e.kind == outcome and e.dst == dst
    }


CALLS = {
    "server": lambda m, nf: m.server(nf, 5),
    "guarded": lambda m, nf: m.guarded(nf),
    "loops": lambda m, nf: m.loops(nf, [0, 1, 2, 3]),
    "straight": lambda m, nf: m.straight(nf),
    "starred": lambda m, nf: m.starred(nf),
}


def _observed_polls(module, name: str, seed: int, runs: int) -> set[tuple[int, str, int]]:
    """(state before, outcome, state after) of every poll of `runs` real runs of `name`."""
    observed: set[tuple[int, str, int]] = set()
    rng = random.Random(seed)
    for _ in range(runs):
        recorder = Recorder()
        with runtime.instrument(recorder):
            try:
                runtime.run(CALLS[name](module, future_maker(rng)))
            except (ValueError, KeyError, module.Stop, ExceptionGroup):
                pass
        observed.update(recorder.polls)
    return observed


@pytest.mark.parametrize("name", sorted(CALLS))
def test_graph_edges_match_the_transitions_real_runs_take(module, name: str) -> None:
    edges = transitions(MODULE, machine_of(name))
    observed = _observed_polls(module, name, seed=1234, runs=300)
    assert observed
    for poll in sorted(observed):
        assert _drawn_edges_of(edges, poll), f"{name}: poll {poll} has no path in the graph"


@pytest.mark.parametrize("name", sorted(CALLS))
def test_every_drawn_edge_is_taken_by_some_real_run(module, name: str) -> None:
    edges = transitions(MODULE, machine_of(name))
    observed = _observed_polls(module, name, seed=99, runs=400)
    taken = set().union(*(_drawn_edges_of(edges, poll) for poll in observed))
    drawn = {(e.src, e.kind, e.dst) for e in edges if e.kind != "ready"}
    assert drawn - taken == set()


def test_a_while_true_server_has_no_return_edge_and_loops_on_its_wait() -> None:
    labels = {(e.src, e.dst, e.label) for e in transitions(MODULE, machine_of("server"))}
    assert (1, 1, "loop, pending") in labels
    assert (1, 1, "loop, ready at once") in labels
    assert not [label for _, dst, label in labels if dst == DONE and "return" in label]
    assert (1, DONE, "exception escapes") in labels


def test_except_star_clauses_after_a_waiting_one_are_drawn_as_reachable_from_it() -> None:
    machine = machine_of("starred")
    # the hand-offs between except* clauses are no states a poll stops in
    assert [s.id for s in machine.states] == [0, 1, 3, 5]
    labels = {(e.src, e.dst, e.label) for e in transitions(MODULE, machine)}
    assert (3, 5, "pending") in labels  # ValueError's handler done: KeyError's runs too
    assert (3, 5, "exception caught, pending") in labels  # its wait raised: kept, goes on


def test_caught_exceptions_are_told_from_escaping_ones() -> None:
    labels = {(e.src, e.dst, e.label) for e in transitions(MODULE, machine_of("guarded"))}
    assert (1, 2, "exception caught, pending") in labels  # wait 1 raised ValueError
    assert (1, 3, "pending") in labels  # wait 1 answered: on to the finally's wait
    assert (1, 3, "unwinding, pending") in labels  # another exception: the finally runs
    assert (3, DONE, "return") in labels and (3, DONE, "exception escapes") in labels
    assert (0, DONE, "return") not in labels  # only through a wait


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz dot: scripts/install-test-tools")
@pytest.mark.parametrize("name", ["server", "guarded", "loops"])
def test_graphs_render_to_png_with_graphviz(name: str, tmp_path: Path) -> None:
    machine = machine_of(name)
    edges = transitions(MODULE, machine)
    dot = to_dot(machine, edges)
    png = tmp_path / f"{name}.png"
    done = subprocess.run(
        ["dot", "-Tpng", "-o", str(png)],
        input=dot,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert dot.count(" -> ") == len(edges) + 1  # every transition, plus the start arrow
    mermaid = to_mermaid(machine, edges)
    assert all(f" : {e.label}" in mermaid for e in edges)
