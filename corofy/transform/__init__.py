"""The corofy transform: ``@coroutine`` functions with ``wait()`` become state machines.

The pipeline, one module per job: ``markers`` finds the coroutines and checks them
(``check`` holds the refusals), ``lower`` turns each body into the IR of ``ir`` (with
``expressions`` taking waits out of expressions), ``reenter`` builds each resume
function's IR, ``analyse`` decides where each local lives, ``names`` renders user code as
it reads inside the machine class, ``printing`` prints the plain nodes lowering makes, and
``emit`` prints the wrapper function and the class. ``positions`` and ``scopes`` serve the
scan: where each node is (and its text in the source), and Python's scopes.
This module splices the generated text into the source: everything outside coroutines is
kept byte for byte.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

import libcst as cst

from corofy.transform import analyse, check, emit, lower, markers, nested
from corofy.transform.errors import CorofyError

__all__ = ["CorofyError", "Edge", "MachineInfo", "StateInfo", "TransformResult", "transform",
           "transform_source"]

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BREAKS = re.compile(r"\r\n|\r|\n")


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


def transform_source(source: str, filename: str = "<string>") -> str:
    """The generated module for corofy ``source`` (raises ``CorofyError``)."""
    return transform(source, filename).code


def transform(source: str, filename: str = "<string>") -> TransformResult:
    """Rewrite every ``@coroutine`` in ``source``; see SPEC §2 and docs/internals.md."""
    error = check.syntax_error(source, filename)
    # CPython's "'await' outside async function" and the like: inside a coroutine, the
    # scan below says what to write instead; elsewhere CPython's verdict stands.
    if error is not None and (not check.async_outside(error) or "corofy" not in source):
        raise error
    if "corofy" not in source:  # no marker can be imported: nothing to do
        return TransformResult(source)
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as exc:  # CPython compiles it, libcst cannot read it
        if error is not None:
            raise error from None
        unreadable = check.unreadable(source, filename, exc)
        if unreadable is None:  # no coroutine in it: nothing to do
            return TransformResult(source)
        raise unreadable from None
    scan = markers.scan(module, filename)
    if error is not None:
        raise error
    if not _round_trips(scan, source):
        # libcst gives back another text (it drops a line holding only a backslash): its
        # positions are not the source's, so nothing can be spliced.
        if not scan.coroutines:
            return TransformResult(source)
        raise check.not_round_tripped(source, module.code, filename)
    if not scan.coroutines and not scan.import_edits:
        return TransformResult(source)
    try:
        return _Splice(source, scan).run()
    finally:
        analyse.clear_cache()


def _round_trips(scan: markers.Scan, source: str) -> bool:
    """Is the text libcst prints for the parsed module the source itself?"""
    printed = getattr(scan.positions, "printed", None)
    if printed is None:
        return scan.module.code == source
    # The positions pass keeps the newline libcst adds at the end of a file without one.
    return printed == source or (not scan.module.has_trailing_newline and printed[:-len(
        scan.module.default_newline)] == source)


class _Splice:
    def __init__(self, source: str, scan: markers.Scan) -> None:
        self.source = source
        self.scan = scan
        # Lines end at \n, \r\n or a lone \r, as CPython and libcst count them.
        self.starts = [0]
        for match in _BREAKS.finditer(source):
            self.starts.append(match.end())
        self.newline = scan.module.default_newline
        taken = set(_IDENT.findall(source))
        scan.taken = taken
        self.names = emit.Names(**{
            key: _free(value, taken)
            for key, value in (("PENDING", "_PENDING"), ("Ready", "_Ready"),
                               ("Future", "_Future"), ("CLOSING", "_CLOSING"),
                               ("AGAIN", "_AGAIN"))})

    def offset(self, line: int, col: int = 0) -> int:
        return self.starts[line - 1] + col

    def line_end(self, line: int) -> int:
        return self.starts[line] if line < len(self.starts) else len(self.source)

    def run(self) -> TransformResult:
        scan, source = self.scan, self.source
        edits: list[tuple[int, int, str, list[int]]] = []  # start, end, text, origin per line
        import_line = (f"from runtime import Future as {self.names.Future}, "
                       f"PENDING as {self.names.PENDING}, Ready as {self.names.Ready}\n"
                       f"{self.names.CLOSING} = object()  # the waker close() passes: "
                       "see the generated close() methods\n"
                       f"{self.names.AGAIN} = object()  # 'poll me again': see the generated "
                       "poll() methods\n")
        runtime_placed = not scan.coroutines
        # A marker import inside a coroutine goes with the coroutine's text (lowering drops it).
        spans = [(scan.positions[c.node.decorators[0] if c.node.decorators else c.node].start.line,
                  scan.positions[c.node].end.line) for c in scan.coroutines]
        for node, kept in scan.import_edits:
            where = scan.positions[node]
            if any(first <= where.start.line <= last for first, last in spans):
                continue
            start, end = self.offset(where.start.line, where.start.column), \
                self.offset(where.end.line, where.end.column)
            line_start, line_stop = self.offset(where.start.line), self.line_end(where.end.line)
            whole = source[line_start:start].strip() == "" and source[end:line_stop].strip() == ""
            if kept is not None:
                edits.append((start, end, kept, [where.start.line]))
            elif whole:
                text = ""
                origin: list[int] = []
                if not runtime_placed and where.start.column == 0:
                    text, origin, runtime_placed = import_line, [0, 0, 0], True
                edits.append((line_start, line_stop, text, origin))
            else:
                edits.append((start, end, "pass", [where.start.line]))
        if not runtime_placed:
            at = self._import_point()
            edits.append((at, at, import_line, [0, 0, 0]))

        indent = scan.module.default_indent
        self.machines: list[MachineInfo] = []
        for coroutine in scan.coroutines:
            if coroutine.parent is not None:  # generated inside the coroutine around it
                continue
            text, origin, _info, _ = self._machine(coroutine, indent)
            node = coroutine.node
            first = coroutine.node.decorators[0] if node.decorators else node
            start = self.offset(scan.positions[first].start.line)
            end = self.line_end(scan.positions[node].end.line)
            edits.append((start, end, text, origin))
        machines = sorted(self.machines, key=lambda info: info.line)

        edits.sort(key=lambda e: (e[0], e[1]))
        # Pieces of the output: copied source (from an offset) or generated text (with the
        # original line of each of its lines); a line's origin is where the line starts.
        pieces: list[tuple[str, int | None, list[int]]] = []
        pos = 0
        for start, end, text, origin in edits:
            pieces.append((source[pos:start], pos, []))
            pieces.append((self._newlines(text), None, origin))
            pos = end
        pieces.append((source[pos:], pos, []))
        code = "".join(text for text, _, _ in pieces)
        if code and not code.endswith(("\n", "\r")):
            code += self.newline
        origins: list[int] = []
        at_line_start = True
        for text, from_offset, origin in pieces:
            if not text:
                continue
            # Lines start in this piece at its start (when a line starts there) and after
            # each line break but a final one: parts first..last of _BREAKS.split(text).
            ends = text.endswith(("\n", "\r"))
            first, last = (0 if at_line_start else 1), len(_BREAKS.findall(text)) - ends
            if from_offset is not None:  # copied: part k is on source line (line of part 0) + k
                line = bisect.bisect_right(self.starts, from_offset)
                origins.extend(range(line + first, line + last + 1))
            else:
                origins.extend(origin[first:last + 1])
                origins.extend([0] * (last + 1 - max(first, len(origin))))
            at_line_start = ends
        code += self._newlines(self._trailer(code, origins))
        return TransformResult(code, machines)

    def _newlines(self, generated: str) -> str:
        """Generated text (its lines end in \\n) with the source's line ends."""
        return generated if self.newline == "\n" else generated.replace("\n", self.newline)

    def _import_point(self) -> int:
        """Where the runtime import goes: after the docstring and __future__ imports."""
        body = self.scan.module.body
        for stmt in body:
            if isinstance(stmt, cst.SimpleStatementLine) and stmt.body and (
                (isinstance(stmt.body[0], cst.Expr) and isinstance(stmt.body[0].value, cst.SimpleString)
                 and stmt is body[0])
                or (isinstance(stmt.body[0], cst.ImportFrom) and stmt.body[0].module is not None
                    and cst.helpers.get_full_name_for_node(stmt.body[0].module) == "__future__")
            ):
                continue
            return self.offset(self.scan.positions[stmt].start.line)
        return len(self.source)

    def _trailer(self, code: str, origins: list[int]) -> str:
        pairs = [f"{i}: {o}" for i, o in enumerate(origins, 1) if o]
        rows = [", ".join(pairs[k:k + 10]) for k in range(0, len(pairs), 10)]
        body = "".join(f"    {row},\n" for row in rows)
        return ("\n# corofy: the original file, and generated line -> original line for every line\n"
                "# of user code, so tracebacks (runtime.debug) and the CLI can point at the source.\n"
                f"__corofy_source__ = {self.scan.filename!r}\n"
                f"__corofy_lines__ = {{\n{body}}}\n")

    def _machine(self, coroutine: markers.Coroutine, indent: str,
                 enclosing: list[emit.Render] | None = None, base: str | None = None):
        """The code of ``coroutine`` (with the coroutines nested in it), the original line
        of each of its lines, its MachineInfo, and the text as lines."""
        scan = self.scan
        ctx = lower.Context(scan, coroutine)
        enclosing = enclosing or []
        ctx.taken |= nested.enclosing_names(enclosing)
        names = emit.Names(self.names.PENDING, self.names.Ready, self.names.Future, self.names.CLOSING,
                           *(ctx.fixed(n) for n in ("_m", "_w", "_f", "_r", "_x", "_thrown")),
                           ctx.fixed("_closing"), self.names.AGAIN)
        analyse.clear_cache()
        if coroutine.sees_class:
            ordered = [*coroutine.node.params.posonly_params, *coroutine.node.params.params]
            if ordered:
                analyse.SUPER_SELF.append(ordered[0].name.value)
        unit, declarations, docstring = lower.lower(ctx)
        declared = {n.name.value for d in declarations for n in d.names}
        params = node_params(coroutine.node)
        local_names = (coroutine.scope.locals | unit.bound) - declared
        captured, refs = coroutine.scope.captured, coroutine.scope.nested_refs
        plan = analyse.plan(unit, params, local_names, captured - declared, refs)
        render = emit.Render(ctx, unit, plan.storage, declarations, docstring, names, indent)
        generated: dict[int, emit.MachineText] = {}

        def generate(child: markers.Coroutine) -> emit.MachineText:
            # Made when the enclosing statement is first printed (the slots of this machine
            # are named by then), once; the analysis state is this coroutine's again after.
            found = generated.get(id(child))
            if found is None:
                saved = list(analyse.SUPER_SELF)
                found = generated[id(child)] = self._machine(child, indent, [*enclosing, render], "")[3]
                analyse.clear_cache()
                analyse.SUPER_SELF[:] = saved
            return found

        nested.prepare(render, coroutine, enclosing, generate)
        if base is None:
            where = scan.positions[coroutine.node]
            base = self.source[self.offset(where.start.line):self.offset(where.start.line, where.start.column)]
        text = emit.machine(render, plan.blocks, plan.tails, base, scan.filename, plan.loops)
        code = "\n".join(text.lines) + "\n"
        info = MachineInfo(
            coroutine.qualname, coroutine.node.name.value, ctx.line(coroutine.node), code,
            [StateInfo(*s) for s in text.states], [Edge(*e) for e in text.edges])
        self.machines.append(info)
        return code, text.origin, info, text


def node_params(node: cst.FunctionDef) -> list[str]:
    p = node.params
    names = [x.name.value for x in (*p.posonly_params, *p.params, *p.kwonly_params)]
    for star in (p.star_arg, p.star_kwarg):
        if isinstance(star, cst.Param):
            names.append(star.name.value)
    return names


def _free(name: str, taken: set[str]) -> str:
    while name in taken:
        name += "_"
    return name
