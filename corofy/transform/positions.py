"""Source positions of every node, as libcst's ``PositionProvider`` computes them, faster.

libcst finds positions by printing the module with a codegen state that records the line
and column around each node. Its state pays, per node and per token, for a regex split, a
generator-based context manager and a ``CodePosition`` object on every entry; on a large
module that made the positions the dearest part of the transform (1.0 s against 0.15 s for
printing the same module). This state computes the very same ranges — same rules, same
order of recording — with plain arithmetic.

Facts relied on (libcst 1.x, ``libcst/metadata/position_provider.py``):
- a node's range is recorded in ``after_codegen`` unless ``record_syntactic_position`` has
  already recorded it (that one runs inside the node's ``_codegen_impl``, so first);
- ``record_syntactic_position`` may hoist the start of ``start_node`` and the end of
  ``end_node``, both already recorded as children;
- a token moves the line by its count of ``\\r\\n``, ``\\r`` or ``\\n`` and sets the column
  to the length after the last one; a token without any only moves the column.

``node_positions`` goes further: corofy reads the positions of few kinds of nodes (statements
and their clauses, suites, decorators, calls), so its pass records only those, as counts of
tokens printed (turned into lines and columns when looked up), and computes every other
node's range (what a refusal may point at) once, on first demand.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator, Mapping
from itertools import accumulate

import libcst as cst
from libcst import CSTNode, Module
from libcst._nodes.internal import CodegenState
from libcst._position import CodePosition, CodeRange
from libcst.metadata import MetadataWrapper, PositionProvider
from libcst.metadata.position_provider import NEWLINE_RE, PositionProvidingCodegenState

from corofy.transform.nodes import NODE_TYPES, SubclassTest


class _Syntactic:
    """``record_syntactic_position`` as a plain context manager (no generator frame)."""

    __slots__ = ("column", "end_node", "line", "node", "start_node", "state")

    def __init__(
        self, state: _State, node: CSTNode, start_node: CSTNode | None, end_node: CSTNode | None
    ) -> None:
        self.state, self.node, self.start_node, self.end_node = state, node, start_node, end_node
        self.line, self.column = state.line, state.column

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        state, computed = self.state, self.state.provider._computed
        start = (
            computed[self.start_node].start
            if self.start_node is not None
            else CodePosition(self.line, self.column)
        )
        end = (
            computed[self.end_node].end
            if self.end_node is not None
            else CodePosition(state.line, state.column)
        )
        computed[self.node] = CodeRange(start, end)


class _State(PositionProvidingCodegenState):
    def add_indent_tokens(self) -> None:
        tokens = self.indent_tokens
        self.tokens.extend(tokens)
        for token in tokens:  # indents hold no newline
            self._update_position(token)

    def add_token(self, value: str) -> None:
        self.tokens.append(value)
        self._update_position(value)

    def _update_position(self, value: str) -> None:
        if "\n" in value or "\r" in value:
            segments = NEWLINE_RE.split(value)
            self.line += len(segments) - 1
            self.column = len(segments[-1])
        else:
            self.column += len(value)

    def before_codegen(self, node: CSTNode) -> None:
        self._stack.append((self.line, self.column))

    def after_codegen(self, node: CSTNode) -> None:
        line, column = self._stack.pop()
        computed = self.provider._computed
        if node not in computed:
            computed[node] = CodeRange(
                CodePosition(line, column), CodePosition(self.line, self.column)
            )

    def record_syntactic_position(
        self, node: CSTNode, *, start_node: CSTNode | None = None, end_node: CSTNode | None = None
    ) -> _Syntactic:
        return _Syntactic(self, node, start_node, end_node)


class FastPositionProvider(PositionProvider):
    """``PositionProvider``'s ranges (equal values) from a cheaper codegen pass."""

    def _gen_impl(self, module: Module) -> None:
        state = _State(
            default_indent=module.default_indent,
            default_newline=module.default_newline,
            provider=self,
        )
        module._codegen(state)


# What corofy looks positions up for, and what libcst's ``record_syntactic_position`` reads
# back as ``start_node``/``end_node``: suites, clauses, the first and last small statement of
# a line, the last match case — and inside an import its last name or closing parenthesis,
# so an import's whole subtree is recorded.
RECORDED: tuple[type, ...] = (
    cst.BaseStatement,
    cst.BaseSmallStatement,
    cst.BaseSuite,
    cst.Else,
    cst.Finally,
    cst.ExceptHandler,
    cst.ExceptStarHandler,
    cst.MatchCase,
    cst.Decorator,
    cst.Call,
)
_WHOLE = (cst.Import, cst.ImportFrom)
# Whose text corofy may need (``NodePositions.text``): printed alone, an expression or a
# small statement on one line is the stretch of the module it was printed into. (Over
# several lines it is not: a comment line or a continuation inside brackets is indented
# as the block around it, which a node printed alone is not.)
SPANNED: tuple[type, ...] = (cst.BaseExpression, cst.BaseSmallStatement)
# Whose whole printed text corofy may need (``NodePositions.alone``): a def is printed again
# dedented for the header comment; from its first decorator's printed text on.
OPENED: tuple[type, ...] = (cst.FunctionDef, cst.Decorator)
_RANGE, _SPAN, _IMPORT, _OPEN = 1, 2, 4, 8


def _what_of(kind: type) -> int:
    return (
        (_RANGE if issubclass(kind, RECORDED) else 0)
        | (_SPAN if issubclass(kind, SPANNED) else 0)
        | (_IMPORT if issubclass(kind, _WHOLE) else 0)
        | (_OPEN if issubclass(kind, OPENED) else 0)
    )


class _What(dict):
    """type -> _RANGE | _SPAN | _IMPORT bits: what ``_CountingState`` records for it, from a
    table of the libcst node types made once (never written after)."""

    def __init__(self) -> None:
        super().__init__((kind, _what_of(kind)) for kind in NODE_TYPES)

    def __missing__(self, kind: type) -> int:
        return _what_of(kind)


_recorded_types = SubclassTest(RECORDED)  # type -> is its range recorded
_what = _What()


# A node's range or span in token counts, as one int: start << 32 | end. (A pair would be
# a tuple per node, which the cyclic garbage collector counts and scans; an int is not.)
_LOW = (1 << 32) - 1


class _Unrecordable(Exception):
    """A hoist from a node the cheap pass did not record (a libcst we do not know)."""


class _Hoisting:
    """``record_syntactic_position`` for a recorded node, in token counts."""

    __slots__ = ("end_node", "node", "start", "start_node", "state")

    def __init__(
        self,
        state: _CountingState,
        node: CSTNode,
        start_node: CSTNode | None,
        end_node: CSTNode | None,
    ) -> None:
        self.state, self.node, self.start_node, self.end_node = state, node, start_node, end_node
        self.start = len(state.tokens)

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        ranges = self.state.ranges
        try:
            start = ranges[self.start_node] >> 32 if self.start_node is not None else self.start
            end = (
                ranges[self.end_node] & _LOW
                if self.end_node is not None
                else len(self.state.tokens)
            )
        except KeyError:
            raise _Unrecordable from None
        ranges[self.node] = start << 32 | end


class _Nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


_NOTHING = _Nothing()


class _CountingState(CodegenState):
    """Prints the module, noting token counts around the nodes of the ``RECORDED`` kinds
    (their ranges, by ``PositionProvider``'s rules), of the ``SPANNED`` kinds (where they
    were printed) and of the ``OPENED`` kinds (their whole printed text), and where indent
    tokens were printed and how many. Positions come from the counts afterwards: no work
    per token.

    The hooks libcst calls around every node are closures set on the instance: no bound
    method to make per call, and the state they keep is in local cells."""

    def __init__(self, module: Module) -> None:
        super().__init__(
            default_indent=module.default_indent, default_newline=module.default_newline
        )
        tokens = self.tokens
        self.add_token = tokens.append  # shadows the method: no Python frame per token
        self.ranges = ranges = {}
        self.spans = spans = {}
        self.opened = opened = {}
        # add_indent_tokens: the token count before each indent, and its count of tokens
        self.indents: list[int] = []
        self.depths: list[int] = []
        indents, depths = self.indents.append, self.depths.append
        indent_tokens, extend = self.indent_tokens, tokens.extend

        def add_indent_tokens() -> None:
            indents(len(tokens))
            depths(len(indent_tokens))
            extend(indent_tokens)

        stack: list[int] = []
        push, pop = stack.append, stack.pop
        whole = [0]  # inside an import: record everything
        what_of = _what

        def before_codegen(node: CSTNode) -> None:
            what = what_of[type(node)]
            if what or whole[0]:
                if what & _IMPORT:
                    whole[0] += 1
                push(len(tokens))

        def after_codegen(node: CSTNode) -> None:
            what = what_of[type(node)]
            if what or whole[0]:
                start = pop()
                if what & _SPAN:
                    spans[node] = start << 32 | len(tokens)
                if what & _OPEN:
                    opened[node] = start << 32 | len(tokens)
                if what & _RANGE or whole[0]:
                    if what & _IMPORT:
                        whole[0] -= 1
                    if node not in ranges:  # else record_syntactic_position set it
                        ranges[node] = start << 32 | len(tokens)

        def record_syntactic_position(
            node: CSTNode, *, start_node: CSTNode | None = None, end_node: CSTNode | None = None
        ) -> _Hoisting | _Nothing:
            # Every expression asks this (libcst's _parenthesize): most need nothing recorded.
            if what_of[type(node)] & _RANGE or whole[0]:
                return _Hoisting(self, node, start_node, end_node)
            return _NOTHING

        self.add_indent_tokens = add_indent_tokens  # type: ignore[method-assign]
        self.before_codegen = before_codegen  # type: ignore[method-assign]
        self.after_codegen = after_codegen  # type: ignore[method-assign]
        self.record_syntactic_position = record_syntactic_position  # type: ignore[method-assign]

    def pop_trailing_newline(self) -> None:
        pass  # the ranges are counted with it, as libcst's position state counts them


class NodePositions(Mapping[CSTNode, CodeRange]):
    """Every node's range, as libcst's ``PositionProvider`` gives it: the recorded kinds from
    one cheap pass, any other node of the module after one full pass on the first lookup of
    one. A node of a recorded kind that is missing is not in the module (lowering makes new
    nodes)."""

    def __init__(self, module: Module) -> None:
        self.module = module
        self.all: Mapping[CSTNode, CodeRange] | None = None
        self._found: dict[CSTNode, CodeRange] = {}
        state = _CountingState(module)
        try:
            module._codegen(state)
        except _Unrecordable:  # a libcst hoisting from kinds we do not record: do it all
            self.ranges: dict[CSTNode, int] = {}
            self.spans: dict[CSTNode, int] = {}
            self.opened: dict[CSTNode, int] = {}
            self.indents: list[int] = []
            self.depths: list[int] = []
            self._everything()
            return
        self.ranges, self.spans, self.opened = state.ranges, state.spans, state.opened
        self.indents, self.depths = state.indents, state.depths
        tokens = state.tokens
        self.offsets_of = list(accumulate(map(len, tokens), initial=0))  # token count -> offset
        self.printed = "".join(tokens)  # the module's text
        self.line_ends = [match.end() for match in NEWLINE_RE.finditer(self.printed)]
        # libcst counts newlines token by token: a \r\n split over two tokens is two lines
        # to it, one to the text. Then only the full pass is exact.
        if "\r\n" in self.printed:
            bounds = set(self.offsets_of)
            if any(match.start() + 1 in bounds for match in re.finditer("\r\n", self.printed)):
                self.ranges, self.spans = {}, {}

    def _position(self, count: int) -> CodePosition:
        offset = self.offsets_of[count]
        line = bisect_right(self.line_ends, offset)
        return CodePosition(line + 1, offset - (self.line_ends[line - 1] if line else 0))

    def line(self, node: CSTNode) -> int | None:
        """The line ``node``'s range starts on (``self[node].start.line``, without making
        the range): None for a node not in the module."""
        span = self.ranges.get(node)
        if span is None:
            where = self.get(node)
            return None if where is None else where.start.line
        return bisect_right(self.line_ends, self.offsets_of[span >> 32]) + 1

    def lines(self, first: int, last: int) -> str | None:
        """Lines ``first`` to ``last`` of the module's text, each with its line end (None
        when the cheap pass was given up)."""
        if not self.ranges:
            return None
        ends = self.line_ends
        start = ends[first - 2] if first > 1 else 0
        return self.printed[start : ends[last - 1] if last <= len(ends) else len(self.printed)]

    def offsets(self, node: CSTNode) -> tuple[int, int] | None:
        """Where ``node``'s printed text starts and ends in the module's text: None unless
        ``node`` is a SPANNED node of the module."""
        span = self.spans.get(node)
        return None if span is None else (self.offsets_of[span >> 32], self.offsets_of[span & _LOW])

    def text(self, node: CSTNode) -> str | None:
        """``node`` as ``Module.code_for_node`` prints it, cut from the module's text: None
        unless ``node`` is a SPANNED node of the module, on one line."""
        span = self.spans.get(node)
        if span is None:
            return None
        found = self.printed[self.offsets_of[span >> 32] : self.offsets_of[span & _LOW]]
        return None if "\n" in found or "\r" in found else found

    def alone(self, node: CSTNode) -> str | None:
        """``node`` as ``Module.code_for_node`` prints it, cut from the module's text, over
        several lines too: None unless ``node`` is a SPANNED node of the module. (Printed
        alone, a line inside it libcst indents as the block around it is not indented:
        inside an expression or small statement no block opens, so each indent in its
        stretch of the module is the block's, all of it dropped.)"""
        span = self.spans.get(node)
        if span is None:
            return None
        start, end = span >> 32, span & _LOW
        offsets, printed = self.offsets_of, self.printed
        found = printed[offsets[start] : offsets[end]]
        if "\n" not in found and "\r" not in found:
            return found
        indents, depths = self.indents, self.depths
        pieces = []
        for k in range(bisect_right(indents, start - 1), bisect_right(indents, end - 1)):
            pieces.append(printed[offsets[start] : offsets[indents[k]]])
            start = indents[k] + depths[k]
        pieces.append(printed[offsets[start] : offsets[end]])
        return "".join(pieces)

    def def_text(self, node: cst.FunctionDef) -> str | None:
        """``node`` without its leading lines, as ``Module.code_for_node`` prints it, cut
        from the module's text: printed alone, every line libcst indents is indented as
        the def's own body, not as the blocks around the def (None when the cheap pass was
        given up)."""
        if not self.ranges or node not in self.opened or node not in self.ranges:
            return None
        end = self.opened[node] & _LOW
        syntactic = self.ranges[node] >> 32  # after the indent of the line of ``def``
        indents, depths = self.indents, self.depths
        at = bisect_right(indents, syntactic) - 1
        if at < 0 or indents[at] + depths[at] != syntactic:
            return None
        depth = depths[at]  # the indent tokens of the blocks around the def
        if node.decorators:
            first = self.opened.get(node.decorators[0])
            if first is None:
                return None
            start = first >> 32
        elif node.lines_after_decorators:
            return None
        else:
            start = indents[at]
        offsets, printed = self.offsets_of, self.printed
        pieces = []
        for k in range(bisect_right(indents, start - 1), bisect_right(indents, end - 1)):
            if depths[k] < depth:
                return None
            pieces.append(printed[offsets[start] : offsets[indents[k]]])
            start = indents[k] + depth
        pieces.append(printed[offsets[start] : offsets[end]])
        return "".join(pieces)

    def _everything(self) -> Mapping[CSTNode, CodeRange]:
        if self.all is None:
            self.all = FastPositionProvider()._gen(
                MetadataWrapper(self.module, unsafe_skip_copy=True)
            )
        return self.all

    def __getitem__(self, node: CSTNode) -> CodeRange:
        found = self._found.get(node)
        if found is not None:
            return found
        span = self.ranges.get(node)
        if span is not None:
            found = self._found[node] = CodeRange(
                self._position(span >> 32), self._position(span & _LOW)
            )
            return found
        if self.all is None and _recorded_types[type(node)] and self.ranges:
            raise KeyError(node)
        return self._everything()[node]

    def get(self, node, default=None):  # type: ignore[override]
        try:
            return self[node]
        except KeyError:
            return default

    def __contains__(self, node: object) -> bool:
        return self.get(node) is not None

    def __iter__(self) -> Iterator[CSTNode]:
        return iter(self._everything())

    def __len__(self) -> int:
        return len(self._everything())


def node_positions(module: Module) -> NodePositions:
    """The positions corofy needs of ``module``'s nodes (see ``NodePositions``)."""
    return NodePositions(module)
