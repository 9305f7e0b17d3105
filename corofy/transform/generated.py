"""The names the generated code uses, and what printing one machine gives."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Names:
    """Generated names of one module and one machine."""

    PENDING: str = "_PENDING"
    Ready: str = "_Ready"
    Future: str = "_Future"
    CLOSING: str = "_CLOSING"
    m: str = "_m"
    w: str = "_w"
    f: str = "_f"
    r: str = "_r"
    x: str = "_x"
    thrown: str = "_thrown"
    closing: str = "_closing"
    AGAIN: str = "_AGAIN"
    Machine: str = "_Machine"


@dataclass
class MachineText:
    lines: list[str]
    origin: list[int]
    states: list[tuple[int, str, int, str]]  # id, name, line, wait source
    edges: list[tuple[int, int, str]]
    class_name: str
