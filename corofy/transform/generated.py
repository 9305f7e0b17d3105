"""The names the generated code uses, and what printing one machine gives."""

from __future__ import annotations

from dataclasses import dataclass, field


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
    # The builtins the generated code calls that the module may bind (``set = ...``,
    # ``for iter in ...``): each such one is imported from builtins under a free name.
    builtins: dict[str, str] = field(default_factory=dict)
    used_builtins: set[str] = field(default_factory=set)  # those the generated code called

    def builtin(self, name: str) -> str:
        """What the generated code calls builtin ``name``."""
        alias = self.builtins.get(name)
        if alias is None:
            return name
        self.used_builtins.add(name)
        return alias


@dataclass
class MachineText:
    lines: list[str]
    origin: list[int]
    states: list[tuple[int, str, int, str]]  # id, name, line, wait source
    edges: list[tuple[int, int, str]]
    class_name: str
