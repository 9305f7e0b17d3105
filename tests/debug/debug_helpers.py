"""A corofy-generated module written by hand to the contract of docs/internals.md.

It stands for the transform's output so runtime.debug is tested on its own: two machines,
`outer` waiting on `inner` waiting on a given future, with `__corofy_source__` and
`__corofy_lines__` pointing at ORIGINAL.
"""

from __future__ import annotations

ORIGINAL = """\
from corofy import coroutine, wait


@coroutine
def inner(fut):
    value = wait(fut)
    return 10 // value


@coroutine
def outer(fut):
    result = wait(inner(fut))
    return result + 1
"""

GENERATED = """\
import runtime


def inner(fut):
    return _inner(fut)


class _inner(runtime.Future):
    __slots__ = ("_state", "_awaiting", "fut")
    _corofy_states_ = {0: ("start", 5), 1: ("wait_line_6", 6)}

    def __init__(self, fut):
        self._state = 0
        self._awaiting = None
        self.fut = fut

    def poll(self, waker):
        if self._state == 0:
            self._awaiting = self.fut
            self._state = 1
        if self._state == 1:
            answer = self._awaiting.poll(waker)
            if answer is runtime.PENDING:
                return answer
            self._awaiting = None
            value = answer.value
            self._state = -1
            return runtime.Ready(10 // value)
        raise RuntimeError("polled after it finished")


def outer(fut):
    return _outer(fut)


class _outer(runtime.Future):
    __slots__ = ("_state", "_awaiting", "fut")
    _corofy_states_ = {0: ("start", 11), 1: ("wait_line_12", 12)}

    def __init__(self, fut):
        self._state = 0
        self._awaiting = None
        self.fut = fut

    def poll(self, waker):
        if self._state == 0:
            self._awaiting = inner(self.fut)
            self._state = 1
        if self._state == 1:
            answer = self._awaiting.poll(waker)
            if answer is runtime.PENDING:
                return answer
            self._awaiting = None
            result = answer.value
            self._state = -1
            return runtime.Ready(result + 1)
        raise RuntimeError("polled after it finished")

"""


def _table(generated: str) -> dict[int, int]:
    """Generated line -> original line for the lines that run user code."""
    origin = {
        "self._awaiting = self.fut": 6,
        "value = answer.value": 6,
        "return runtime.Ready(10 // value)": 7,
        "self._awaiting = inner(self.fut)": 12,
        "result = answer.value": 12,
        "return runtime.Ready(result + 1)": 13,
    }
    table = {}
    for number, line in enumerate(generated.splitlines(), 1):
        if line.strip() in origin:
            table[number] = origin[line.strip()]
        elif line.strip() == "answer = self._awaiting.poll(waker)":
            table[number] = 6 if not any(v == 12 for v in table.values()) else 12
    return table


GENERATED += (
    "\n\n# Where each generated line came from, for tracebacks (runtime.debug).\n"
    f'__corofy_source__ = "src/orig.py"\n__corofy_lines__ = {_table(GENERATED)!r}\n'
)

LEAVES = """\
import runtime


class Now(runtime.Future):
    def __init__(self, value):
        self.value = value

    def poll(self, waker):
        return runtime.Ready(self.value)


class Never(runtime.Future):
    def poll(self, waker):
        return runtime.PENDING
"""


def line_of(text: str, needle: str) -> int:
    (number,) = [i for i, line in enumerate(text.splitlines(), 1) if needle in line]
    return number
