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
and their clauses, suites, decorators, calls), so its pass records only those, and computes
every other node's range (what a refusal may point at) once, on first demand.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import libcst as cst
from libcst import CSTNode, Module
from libcst._position import CodePosition, CodeRange
from libcst.metadata import MetadataWrapper, PositionProvider
from libcst.metadata.position_provider import NEWLINE_RE, PositionProvidingCodegenState


class _Syntactic:
    """``record_syntactic_position`` as a plain context manager (no generator frame)."""

    __slots__ = ("column", "end_node", "line", "node", "start_node", "state")

    def __init__(self, state: _State, node: CSTNode, start_node: CSTNode | None,
                 end_node: CSTNode | None) -> None:
        self.state, self.node, self.start_node, self.end_node = state, node, start_node, end_node
        self.line, self.column = state.line, state.column

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        state, computed = self.state, self.state.provider._computed
        start = (computed[self.start_node].start if self.start_node is not None
                 else CodePosition(self.line, self.column))
        end = (computed[self.end_node].end if self.end_node is not None
               else CodePosition(state.line, state.column))
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
            computed[node] = CodeRange(CodePosition(line, column), CodePosition(self.line, self.column))

    def record_syntactic_position(self, node: CSTNode, *, start_node: CSTNode | None = None,
                                  end_node: CSTNode | None = None) -> _Syntactic:
        return _Syntactic(self, node, start_node, end_node)


class FastPositionProvider(PositionProvider):
    """``PositionProvider``'s ranges (equal values) from a cheaper codegen pass."""

    def _gen_impl(self, module: Module) -> None:
        state = _State(default_indent=module.default_indent, default_newline=module.default_newline,
                       provider=self)
        module._codegen(state)


# What corofy looks positions up for, and what libcst's ``record_syntactic_position`` reads
# back as ``start_node``/``end_node``: suites, clauses, the first and last small statement of
# a line, the last match case — and inside an import its last name or closing parenthesis,
# so an import's whole subtree is recorded.
RECORDED: tuple[type, ...] = (
    cst.BaseStatement, cst.BaseSmallStatement, cst.BaseSuite, cst.Else, cst.Finally,
    cst.ExceptHandler, cst.ExceptStarHandler, cst.MatchCase, cst.Decorator, cst.Call,
)
_WHOLE = (cst.Import, cst.ImportFrom)
# Whose text corofy may need (``NodePositions.text``): printed alone, an expression or a
# small statement on one line is the stretch of the module it was printed into. (Over
# several lines it is not: a comment line or a continuation inside brackets is indented
# as the block around it, which a node printed alone is not.)
SPANNED: tuple[type, ...] = (cst.BaseExpression, cst.BaseSmallStatement)
_RANGE, _SPAN = 1, 2


class _Kinds(dict):
    """type -> is its range recorded; filled on first sight of a type."""

    def __missing__(self, kind: type) -> bool:
        self[kind] = found = issubclass(kind, RECORDED)
        return found


class _What(dict):
    """type -> _RANGE | _SPAN bits: what ``_SomeState`` records for it."""

    def __missing__(self, kind: type) -> int:
        self[kind] = found = (_RANGE if issubclass(kind, RECORDED) else 0) | (
            _SPAN if issubclass(kind, SPANNED) else 0)
        return found


_recorded_types = _Kinds()
_what = _What()


class _SomeState(_State):
    """``_State`` recording only the kinds in ``RECORDED``: no bookkeeping for the rest."""

    whole = 0  # inside an import: record everything

    def before_codegen(self, node: CSTNode) -> None:
        if self.whole or _what[type(node)]:
            if isinstance(node, _WHOLE):
                self.whole += 1
            self._stack.append((self.line, self.column))

    def after_codegen(self, node: CSTNode) -> None:
        what = _what[type(node)]
        if self.whole or what:
            line, column = self._stack.pop()
            if what & _SPAN:
                self.spans[node] = (line, column, self.line, self.column)
            if not (self.whole or what & _RANGE):
                return
            if isinstance(node, _WHOLE):
                self.whole -= 1
            computed = self.provider._computed
            if node not in computed:
                computed[node] = CodeRange(CodePosition(line, column),
                                           CodePosition(self.line, self.column))

    def record_syntactic_position(self, node: CSTNode, *, start_node: CSTNode | None = None,
                                  end_node: CSTNode | None = None) -> _Syntactic | _Nothing:
        # Every expression asks this (libcst's _parenthesize): most need nothing recorded.
        if self.whole or _recorded_types[type(node)]:
            return _Syntactic(self, node, start_node, end_node)
        return _NOTHING


class _Nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


_NOTHING = _Nothing()


class _SomePositions(PositionProvider):
    def _gen_impl(self, module: Module) -> None:
        state = _SomeState(default_indent=module.default_indent,
                           default_newline=module.default_newline, provider=self)
        state.spans = self.spans = {}
        module._codegen(state)


class NodePositions(Mapping[CSTNode, CodeRange]):
    """Every node's range, as libcst's ``PositionProvider`` gives it: the recorded kinds at
    once, any other node of the module after one full pass on the first lookup of one. A node
    of a recorded kind that is missing is not in the module (lowering makes new nodes)."""

    def __init__(self, module: Module) -> None:
        self.module = module
        provider = _SomePositions()
        provider._gen_impl(module)
        self.some: dict[CSTNode, CodeRange] = provider._computed
        self.all: Mapping[CSTNode, CodeRange] | None = None
        # SPANNED node -> (line, column) where its printed text starts and where it ends
        self.spans: dict[CSTNode, tuple[int, int, int, int]] = provider.spans

    def text(self, node: CSTNode, source: str, starts: list[int]) -> str | None:
        """``node`` as ``Module.code_for_node`` prints it, cut from ``source`` (the module's
        text, lines starting at ``starts``; empty for \\r endings): None unless ``node`` is a
        SPANNED node of the module, on one line."""
        span = self.spans.get(node)
        if span is None or not starts or span[0] != span[2]:
            return None
        return source[starts[span[0] - 1] + span[1]:starts[span[2] - 1] + span[3]]

    def _everything(self) -> Mapping[CSTNode, CodeRange]:
        if self.all is None:
            self.all = FastPositionProvider()._gen(MetadataWrapper(self.module, unsafe_skip_copy=True))
        return self.all

    def __getitem__(self, node: CSTNode) -> CodeRange:
        found = self.some.get(node)
        if found is not None:
            return found
        if _recorded_types[type(node)]:
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
