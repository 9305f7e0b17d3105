"""What lowering one coroutine works with: its positions and wait marks, fresh names.

``lower`` and ``expressions`` take waits out of the coroutine's code through it, and the
emitter reads its text and positions; one ``Context`` is made per coroutine.
"""

from __future__ import annotations

import re

import libcst as cst

from corofy.transform.errors import CorofyError
from corofy.transform.find import Coroutine, Scan
from corofy.transform.ir import Unit, Wait
from corofy.transform.printing import printed

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n|$)")  # a line with its end, as CPython splits


def _as_written(lines: list[tuple[str, str]], column: int, printed: str) -> str:
    """The def as the source writes it, from its ``lines`` as the source and as the layout
    libcst read write them (``readable``), ``printed`` from the layout (dedented), the def
    starting at ``column``: a line the layout did not change reads as printed, any other as
    the source writes it, less the def's own indentation."""
    if not column:
        return "".join(source for source, _ in lines)
    first = lines[0][0]
    indent = first[: len(first) - len(first.lstrip(" \t\f"))]
    ours = [line for line in _LINE.findall(printed) if line]
    if len(ours) != len(lines):
        ours = [text for _, text in lines]
    return "".join(
        mine if source == text else source.removeprefix(indent)
        for (source, text), mine in zip(lines, ours)
    )


class Context:
    """What lowering one coroutine needs: positions, wait marks, fresh names."""

    def __init__(self, scan: Scan, coroutine: Coroutine) -> None:
        self.scan = scan
        self.module = scan.module
        self.filename = scan.filename
        self.positions = scan.positions
        self.has_wait = scan.has_wait
        self.wait_calls = scan.wait_calls
        self.wait_origin: dict[int, cst.Call] = {}
        self.keep = scan.keep  # nodes whose id() is in has_wait must stay alive
        self.coroutine = coroutine
        node = coroutine.node
        # The def as written minus its leading comment lines (the header of the generated
        # code quotes it); rendered once, as rendering the whole def is not cheap. The names
        # in those comment lines count as taken too; the comment text ends with a newline, so
        # no identifier spans the two parts.
        self.source_text = self._source_text(node)
        leading = "".join(self.module.code_for_node(line) for line in node.leading_lines)
        self.taken = set(_IDENT.findall(leading)) | set(_IDENT.findall(self.source_text))
        self.module_taken: set[str] = scan.taken
        self.counters: dict[str, int] = {}
        self.unit = Unit([])
        self.guard = 0  # depth of except/finally blocks being lowered
        self.marker_imports = {id(node): kept for node, kept in scan.import_edits}
        self.future = "_Future"  # what the generated module names runtime.Future
        self.machine = "_Machine"  # what it names runtime.machine.Machine
        self.builtin = str  # what it names a builtin (Names.builtin)

    def _source_text(self, node: cst.FunctionDef) -> str:
        """The def as written, from its first decorator; cut from the source when it starts
        at column 0 (libcst prints an unchanged def exactly so), printed otherwise (a
        method's lines come back dedented)."""
        positions = self.positions
        where = positions[node.decorators[0] if node.decorators else node]
        first, last = where.start.line, positions[node].end.line
        layout = self.scan.layout
        if layout is not None:
            return _as_written(layout.lines(first, last), where.start.column, self._printed(node))
        if where.start.column == 0:
            found = positions.lines(first, last)
            if found is not None:
                return found
        return self._printed(node)

    def _printed(self, node: cst.FunctionDef) -> str:
        found = self.positions.def_text(node)  # cut from the module's printed text
        return (
            self.module.code_for_node(node.with_changes(leading_lines=[]))
            if found is None
            else found
        )

    def text_of(self, node: cst.CSTNode) -> str:
        """``node`` as libcst prints it; cut from the source when it is an expression or small
        statement of the module (its printed text is where it was printed, less the indents
        of the block around it), put together by ``printing`` for the plain nodes lowering
        makes, printed by libcst else."""
        found = printed(node, self.positions.alone)
        return self.module.code_for_node(node) if found is None else found

    def temp(self, base: str) -> str:
        """A fresh name no user identifier in the coroutine uses."""
        while True:
            n = self.counters.get(base, 0) + 1
            self.counters[base] = n
            candidate = f"{base}{n}"
            if candidate not in self.taken:
                self.unit.temps.add(candidate)
                return candidate

    def fixed(self, base: str) -> str:
        """A generated name used as is (``_m``, ``_w``), suffixed only if the user took it."""
        candidate = base
        while candidate in self.taken:
            candidate += "_"
        return candidate

    def line(self, node: cst.CSTNode) -> int:
        return self.positions.line(node) or 0

    def refuse(self, node: cst.CSTNode, message: str):
        where = self.positions.get(node)
        line, col = (
            (where.start.line, where.start.column + 1)
            if where
            else (self.line(self.coroutine.node), 1)
        )
        raise CorofyError(self.filename, line, col, message)

    def new_wait(self, line: int, target, future, call: cst.Call) -> Wait:
        origin = self.wait_origin.get(id(call), call)
        # The source on one line: it is printed in '# ...' comments of the generated code.
        source = " ".join(self.text_of(origin).split())
        wait = Wait(
            self.line(origin) or line,
            len(self.unit.waits) + 1,
            target,
            future,
            source,
            self.guard > 0,
        )
        self.unit.waits.append(wait)
        return wait
