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
from collections.abc import Iterator

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
_FIELDS: dict[type, tuple[str, ...]] = {}


def node_fields(kind: type) -> tuple[str, ...]:
    """The fields of a node type that may hold a name (no whitespace, brackets, commas)."""
    found = _FIELDS.get(kind)
    if found is None:
        found = _FIELDS[kind] = tuple(
            f.name
            for f in dataclasses.fields(kind)
            if f.name not in _SKIP and not f.name.startswith("whitespace")
        )
    return found


class SubclassTest(dict):
    """``test[kind]``: is ``kind`` a subclass of ``bases``, remembered per type
    (``isinstance`` against libcst's ABCs is slow)."""

    def __init__(self, bases: type | tuple[type, ...]) -> None:
        super().__init__()
        self.bases = bases

    def __missing__(self, kind: type) -> bool:
        self[kind] = found = issubclass(kind, self.bases)
        return found


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
