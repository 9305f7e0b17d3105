"""What the printers of loops and waits need of the statement printer.

``statements.Render`` prints a coroutine's IR node by node and hands loops (``loops.py``)
and waits (``waits.py``) to the modules of their own, which print through this interface:
they call back for the blocks inside them and read or set the state of the function being
printed. It is a Protocol so that those modules need not import ``statements`` (which
imports them): no import cycle, not even one for type checking.
"""

from __future__ import annotations

from typing import Protocol

import libcst as cst

from corofy.transform.exits import Control
from corofy.transform.generated import Names
from corofy.transform.ir import Block, Node
from corofy.transform.writer import Writer


class Printer(Protocol):
    names: Names
    indent: str
    control: Control  # the frames around the code being printed
    clear_m: bool  # a suspension clears the local ``_m`` (else ``_state`` tells)
    guarding: int  # finally blocks open around the printing that test ``_m``
    ended: bool  # what was just printed returned: its block goes no further
    deferred: bool  # some wait is deferred: poll() loops on ``_AGAIN``
    inline_waits: int  # waits printed inline in the function being printed
    inline_allowed: int  # waits a resume function may still print inline
    budget: int | None  # in a resume function: the line its copying stops at
    last_line: int  # the original line of the last user code printed
    blocks: int  # CPython blocks (try, with, loop...) open where printing is

    def mark(self, w: Writer, line: int, said: bool = False) -> None: ...
    def block(self, w: Writer, block: Block) -> bool: ...
    def indented(self, w: Writer, block: Block, blocks: int = 0) -> None: ...
    def node(self, w: Writer, n: Node) -> None: ...
    def expr(self, node: cst.CSTNode) -> str: ...
    def target(self, t: cst.BaseExpression) -> str: ...
    def store(self, w: Writer, state: int) -> None: ...
    def temp(self, base: str) -> str: ...
