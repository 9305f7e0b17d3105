"""A tiny stand-in for corofy.transform, for unit tests of the plumbing only.

It follows the documented API (docs/internals.md): a file whose text holds `@coroutine` gets a
comment per coroutine appended; `SYNTAX ERROR` in the text is refused at its position.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

CALLS: list[str] = []


class CorofyError(Exception):
    def __init__(self, filename: str, line: int, col: int, message: str) -> None:
        super().__init__(f"{filename}:{line}:{col}: error: {message}")
        self.filename, self.line, self.col, self.message = filename, line, col, message


@dataclass
class MachineInfo:
    qualname: str
    name: str
    line: int
    code: str
    states: list = field(default_factory=list)
    edges: list = field(default_factory=list)


@dataclass
class TransformResult:
    code: str
    machines: list


def transform(source: str, filename: str = "<string>") -> TransformResult:
    CALLS.append(filename)
    for number, line in enumerate(source.splitlines(), 1):
        col = line.find("SYNTAX ERROR")
        if col >= 0:
            raise CorofyError(filename, number, col + 1, "invalid syntax")
    machines = [
        MachineInfo(m.group(1), m.group(1), source[: m.start()].count("\n") + 2, f"# machine {m.group(1)}\n")
        for m in re.finditer(r"@coroutine\s*\ndef (\w+)", source)
    ]
    code = source + "".join(f"# machine for {m.name}\n" for m in machines)
    return TransformResult(code, machines)


def transform_source(source: str, filename: str = "<string>") -> str:
    return transform(source, filename).code
