"""State machines pickle and resume where they left off (generators cannot be pickled).

A machine is a plain object: its state number, the future it waits on and the locals that live
across a wait, all in slots. Pickled while suspended, the copy resumes from the same wait.
"""

from __future__ import annotations

import pickle
import sys
import textwrap
from pathlib import Path

import pytest

from corofy.transform import transform_source
from runtime import PENDING

SOURCE = textwrap.dedent(
    """
    from corofy import coroutine, wait
    from runtime import PENDING, Future, Ready


    class Step(Future):
        '''Pending at its first poll, then ready with its value: a suspension point.'''

        __slots__ = ("polled", "value")

        def __init__(self, value):
            self.value = value
            self.polled = False

        def poll(self, waker):
            if self.polled:
                return Ready(self.value)
            self.polled = True
            return PENDING


    @coroutine
    def running_total(items):
        total = 0
        seen = []
        for item in items:
            total += wait(Step(item))
            seen.append(item)
        return total, seen


    def as_generator(items):
        total = 0
        for item in items:
            total += yield Step(item)
        return total
    """
)


class NoWaker:
    def wake(self) -> None:
        pass


@pytest.fixture
def module(tmp_path: Path):
    (tmp_path / "pickled_machines.py").write_text(transform_source(SOURCE, "pickled_machines.py"))
    sys.path.insert(0, str(tmp_path))
    try:
        yield __import__("pickled_machines")
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("pickled_machines", None)


def drive(machine) -> object:
    """Poll to the end (every Step is ready at its second poll)."""
    answer = machine.poll(NoWaker())
    while answer is PENDING:
        answer = machine.poll(NoWaker())
    return answer.value


def test_a_suspended_machine_pickles_and_the_copy_resumes_from_the_same_wait(module) -> None:
    machine = module.running_total(iter([1, 10, 100]))
    assert machine.poll(NoWaker()) is PENDING  # waits on Step(1)
    assert machine.poll(NoWaker()) is PENDING  # got 1; waits on Step(10)
    saved = pickle.dumps(machine)

    assert drive(machine) == (111, [1, 10, 100])
    copy = pickle.loads(saved)
    assert copy._state == 1 and copy._awaiting.value == 10  # the wait it was saved at
    assert drive(copy) == (111, [1, 10, 100])  # same locals, same iterator position


def test_a_generator_cannot_be_pickled(module) -> None:
    gen = module.as_generator([1, 2])
    next(gen)
    with pytest.raises(TypeError, match="generator"):
        pickle.dumps(gen)
