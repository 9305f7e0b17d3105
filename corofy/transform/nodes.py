"""The child nodes of a libcst node that can hold a name, found by walking its fields.

libcst's visitors dispatch through ``visit_*``/``leave_*`` methods for every node, whitespace
included; the passes that run over every statement (scopes, uses, renaming) walk the fields
that may hold a name directly instead (no whitespace, brackets or commas), several times
faster. Facts: libcst nodes are dataclasses, and ``isinstance`` against libcst's abstract
bases is slow, so what each node type is, and which of its fields to walk, is worked out
once per type.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from types import MappingProxyType

import libcst as cst

_SKIP = frozenset(
    {
        "lpar",
        "rpar",
        "comma",
        "semicolon",
        "leading_lines",
        "lines_after_decorators",
        "header",
        "footer",
        "trailing_whitespace",
        "colon",
        "equal",
        "dot",
        "star",
        "operator",
        "asynchronous",
        "default_indent",
        "default_newline",
        "encoding",
        "has_trailing_newline",
    }
)


def _subclasses(kind: type) -> list[type]:
    found = [kind]
    for sub in kind.__subclasses__():
        found.extend(_subclasses(sub))
    return found


# Every libcst node type, and the other types a node's fields hold. The tables below are
# made from them once, at import, and never written after: a type they lack (a node class
# made later) is worked out again each time it is asked about.
NODE_TYPES: tuple[type, ...] = tuple(dict.fromkeys(_subclasses(cst.CSTNode)))
_VALUE_TYPES: tuple[type, ...] = (type(None), str, cst.MaybeSentinel, list, tuple)


def _fields_of(kind: type) -> tuple[str, ...]:
    return tuple(
        f.name
        for f in dataclasses.fields(kind)
        if f.name not in _SKIP and not f.name.startswith("whitespace")
    )


_FIELDS: Mapping[type, tuple[str, ...]] = MappingProxyType(
    {kind: _fields_of(kind) for kind in NODE_TYPES if dataclasses.is_dataclass(kind)}
)


def node_fields(kind: type) -> tuple[str, ...]:
    """The fields of a node type that may hold a name (no whitespace, brackets, commas)."""
    found = _FIELDS.get(kind)
    return _fields_of(kind) if found is None else found


class SubclassTest(dict):
    """``test[kind]``: is ``kind`` a subclass of ``bases``, looked up in a table of the
    known types (``isinstance`` against libcst's abstract bases is slow)."""

    def __init__(self, bases: type | tuple[type, ...]) -> None:
        super().__init__((kind, issubclass(kind, bases)) for kind in NODE_TYPES + _VALUE_TYPES)
        self.bases = bases

    def __missing__(self, kind: type) -> bool:
        return issubclass(kind, self.bases)


is_node = SubclassTest(cst.CSTNode)  # is_node[type(value)]: is value a libcst node
_is_expression = SubclassTest(cst.BaseExpression)


def children_of(node: cst.CSTNode, skip: str | None = None) -> Iterator[cst.CSTNode]:
    """The child nodes of ``node`` that can hold a name, in source order (no whitespace),
    but those in field ``skip``."""
    for field in node_fields(type(node)):
        if field == skip:
            continue
        value = getattr(node, field)
        kind = type(value)
        if kind is list or kind is tuple:
            for item in value:
                if is_node[type(item)]:
                    yield item
        elif is_node[kind]:
            yield value


def import_statements(node: cst.CSTNode) -> Iterator[cst.Import | cst.ImportFrom]:
    """Every import statement under ``node``, in source order. Imports are statements:
    the search does not go into expressions."""
    for child in children_of(node):
        kind = type(child)
        if kind is cst.Import or kind is cst.ImportFrom:
            yield child
        elif not _is_expression[kind]:
            yield from import_statements(child)
