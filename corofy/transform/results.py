"""What the transform gives back: the generated module, and each machine's states and edges
(``corofy show`` and ``corofy graph`` read them).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class StateInfo:
    id: int
    name: str
    line: int  # original line of its wait (of the def for the start state)
    wait_source: str  # the wait(...) expression as written ("" for the start state)


@dataclass(frozen=True)
class Edge:
    src: int
    dst: int  # a state id, or -1: the machine is done
    kind: str  # "normal" or "exception"


@dataclass
class MachineInfo:
    qualname: str
    name: str
    line: int
    code: str  # the generated function and class, as they appear in the output
    states: list[StateInfo] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)


@dataclass
class TransformResult:
    code: str
    machines: list[MachineInfo] = field(default_factory=list)
