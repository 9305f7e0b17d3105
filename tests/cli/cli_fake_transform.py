"""A stand-in for corofy.transform, for in-process tests of the CLI's own plumbing only.

It follows the documented API and generated-code contract (docs/internals.md) in the
simplest honest way: each coroutine becomes a generator (`wait(` -> `(yield `) driven by a
small state-machine class, with `_corofy_states_`, `_state`, `_awaiting`, and the module
ends with `__corofy_source__` / `__corofy_lines__`. Original lines keep their numbers
except that the machinery is inserted after each function, so the line table is real.
`SYNTAX ERROR` in the text is refused at its position. End-to-end tests use the real
transform; this lets the decorator, `corofy run`, `show` and `graph` be tested before and
independently of it.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

# How a file is laid out with spaces is no business of a stand-in: the real one.
from corofy.transform.readable import spaced

__all__ = [
    "CALLS",
    "CorofyError",
    "Edge",
    "MachineInfo",
    "StateInfo",
    "TransformResult",
    "spaced",
    "transform",
    "transform_source",
]

CALLS: list[str] = []


class CorofyError(Exception):
    def __init__(self, filename: str, line: int, col: int, message: str) -> None:
        super().__init__(f"{filename}:{line}:{col}: error: {message}")
        self.filename, self.line, self.col, self.message = filename, line, col, message


@dataclass
class StateInfo:
    id: int
    name: str
    line: int
    wait_source: str


@dataclass
class Edge:
    src: int
    dst: int
    kind: str


@dataclass
class MachineInfo:
    qualname: str
    name: str
    line: int
    code: str
    states: list[StateInfo] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)


@dataclass
class TransformResult:
    code: str
    machines: list[MachineInfo]


_MACHINE = """\
def {name}(*args, **kwargs):
    return _{name}_machine(_gen_{name}(*args, **kwargs))
class _{name}_machine(runtime.Future):
    __slots__ = ("_state", "_awaiting", "_gen")
    _corofy_states_ = {states!r}
    def __init__(self, gen):
        self._state, self._awaiting, self._gen = 0, None, gen
    def poll(self, waker):
        if self._state == -1:
            raise RuntimeError("polled after it finished")
        try:
            if self._state == 0:
                self._awaiting, self._state = self._gen.send(None), 1
            while True:
                try:
                    answer = self._awaiting.poll(waker)
                except BaseException as exc:
                    self._awaiting = self._gen.throw(exc)
                    continue
                if answer is runtime.PENDING:
                    return answer
                self._awaiting = self._gen.send(answer.value)
        except StopIteration as stop:
            self._state, self._awaiting = -1, None
            return runtime.Ready(stop.value)
"""


def transform(source: str, filename: str = "<string>", bound=()) -> TransformResult:
    CALLS.append(filename)
    lines = source.splitlines()
    for number, line in enumerate(lines, 1):
        col = line.find("SYNTAX ERROR")
        if col >= 0:
            raise CorofyError(filename, number, col + 1, "invalid syntax")
    tree = ast.parse(source)
    markers = {"coroutine": set(), "wait": set()}
    import_lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "corofy":
            import_lines.add(node.lineno)
            for alias in node.names:
                if alias.name in markers:
                    markers[alias.name].add(alias.asname or alias.name)
    functions = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef)
        and any(
            isinstance(d, ast.Name) and d.id in markers["coroutine"] for d in node.decorator_list
        )
    ]
    out = list(lines)  # edited in place; insertions recorded per original line
    after: dict[int, list[str]] = {}
    machines = []
    origin_of_line: dict[int, int] = {}
    for fn in functions:
        indent = lines[fn.lineno - 1][: fn.col_offset]
        for d in fn.decorator_list:
            if isinstance(d, ast.Name) and d.id in markers["coroutine"]:
                out[d.lineno - 1] = ""
        out[fn.lineno - 1] = out[fn.lineno - 1].replace(f"def {fn.name}", f"def _gen_{fn.name}", 1)
        waits = []
        for number in range(fn.lineno, fn.end_lineno + 1):
            for name in markers["wait"]:
                if f"{name}(" in out[number - 1]:
                    waits.append((number, out[number - 1].strip()))
                    out[number - 1] = out[number - 1].replace(f"{name}(", "(yield ")
            origin_of_line[number] = number
        states = {0: ("start", fn.lineno)}
        states.update({i: (f"wait_line_{line}", line) for i, (line, _) in enumerate(waits, 1)})
        code = _MACHINE.format(name=fn.name, states=states)
        after[fn.end_lineno] = [indent + line for line in code.splitlines()]
        machines.append(
            MachineInfo(
                fn.name,
                fn.name,
                fn.lineno,
                code,
                [
                    StateInfo(i, n, ln, waits[i - 1][1] if i else "")
                    for i, (n, ln) in states.items()
                ],
                [Edge(i, i + 1 if i < len(waits) else -1, "normal") for i in states]
                + [Edge(i, -1, "exception") for i in states if i],
            )
        )
    if not machines:
        return TransformResult(source, [])
    for number in import_lines:
        out[number - 1] = "import runtime"
    final: list[str] = []
    table: dict[int, int] = {}
    for number, line in enumerate(out, 1):
        final.append(line)
        if number in origin_of_line:
            table[len(final)] = number
        final.extend(after.get(number, []))
    final.append("# Where each generated line came from (runtime.debug).")
    final.append(f"__corofy_source__ = {filename!r}")
    final.append(f"__corofy_lines__ = {table!r}")
    return TransformResult("\n".join(final) + "\n", machines)


def transform_source(source: str, filename: str = "<string>") -> str:
    return transform(source, filename).code
