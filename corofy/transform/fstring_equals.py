"""Self-documenting f-string fields (``f"{expr=}"``) whose expression the transform changes.

Python prints such a field as the text of its expression as written, ``=`` and the spaces
around it included, then the value (its ``repr`` unless a conversion or format spec says
otherwise). The transform changes expressions: a wait spilled to ``_t2``, a comprehension's
variable renamed ``_c1``, a private name mangled, a cold local read as ``_m.x``. Where it
does, the field is spelled out as Python reads it, the text as a literal part before a plain
field: ``f"{wait(f)=}"`` becomes ``f"wait(f)={_t2!r}"``.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence

import libcst as cst

from corofy.transform.positions import NodePositions

_PRINTER = cst.Module(body=[])


def spelled_out(
    original: cst.FormattedString,
    changed: cst.FormattedString,
    positions: NodePositions | None = None,
) -> cst.FormattedString:
    """``changed`` (what ``original`` became, its parts one for one) with each ``=`` field
    whose expression now prints otherwise spelled out (a raw string then made plain, so
    the text can be written with escapes: a literal made here has no line break, which
    re-indenting the code around it would change). ``positions``: where the original's
    text is cut from, as written (printed alone, a line of it loses its block's indent)."""
    quote = original.start[len(original.prefix) :]
    raw = "r" in original.prefix.lower()
    parts = _spelled(original.parts, changed.parts, None if raw else quote[0], positions)
    if parts is None:
        return changed
    if raw:
        prefix = original.prefix.replace("r", "").replace("R", "")
        return changed.with_changes(
            start=prefix + quote, parts=[_plain(p, quote[0]) for p in parts]
        )
    return changed.with_changes(parts=parts)


def _spelled(
    original: Sequence[cst.BaseFormattedStringContent],
    changed: Sequence[cst.BaseFormattedStringContent],
    quote: str | None,
    positions: NodePositions | None,
) -> list[cst.BaseFormattedStringContent] | None:
    """The parts with their ``=`` fields spelled out (None: none was), the text escaped
    for a string delimited by ``quote`` (None: as a raw string spells it)."""
    parts: list[cst.BaseFormattedStringContent] = []
    spelled = False
    for before, after in zip(original, changed, strict=True):
        if not isinstance(before, cst.FormattedStringExpression) or not isinstance(
            after, cst.FormattedStringExpression
        ):
            parts.append(after)
            continue
        if before.format_spec and after.format_spec:
            spec = _spelled(before.format_spec, after.format_spec, quote, positions)
            if spec is not None:
                after, spelled = after.with_changes(format_spec=spec), True
        if before.equal is None or _code(after.expression) == _code(before.expression):
            parts.append(after)
            continue
        text = _written(before, positions)
        text = text.replace("\r\n", "\n").replace("\r", "\n")  # as the tokenizer reads it
        if quote is not None:
            text = _escaped(_decoded(text), quote)
        parts.append(cst.FormattedStringText(text.replace("{", "{{").replace("}", "}}")))
        parts.append(
            after.with_changes(
                equal=None,
                # `=` alone means repr; with a format spec, format()
                conversion=before.conversion or (None if before.format_spec else "r"),
                whitespace_before_expression=cst.SimpleWhitespace(""),
                whitespace_after_expression=cst.SimpleWhitespace(""),
            )
        )
        spelled = True
    return parts if spelled else None


def _written(field: cst.FormattedStringExpression, positions: NodePositions | None) -> str:
    """The text Python prints for ``field``: from after its ``{`` to after its ``=`` and
    the spaces that follow, as written."""
    where = None if positions is None else positions.offsets(field.expression)
    if where is not None:
        printed = positions.printed  # type: ignore[union-attr]
        start, end = where
        while start > 0 and printed[start - 1] in _SPACE:
            start -= 1
        while end < len(printed) and printed[end] in _SPACE:
            end += 1
        if start > 0 and printed[start - 1] == "{" and printed.startswith("=", end):
            end += 1
            while end < len(printed) and printed[end] in _SPACE:
                end += 1
            return printed[start:end]
    return "".join(
        _code(n)
        for n in (
            field.whitespace_before_expression,
            field.expression,
            field.whitespace_after_expression,
            field.equal,
        )
    )


_SPACE = frozenset(" \t\f\r\n")


def _code(node: cst.CSTNode) -> str:
    return _PRINTER.code_for_node(node)


def _plain(part: cst.BaseFormattedStringContent, quote: str) -> cst.BaseFormattedStringContent:
    """``part`` of a raw f-string, as a part of the same string without the ``r``."""
    if isinstance(part, cst.FormattedStringText):
        return part.with_changes(value=_escaped(part.value, quote))
    if isinstance(part, cst.FormattedStringExpression) and part.format_spec:
        return part.with_changes(format_spec=[_plain(p, quote) for p in part.format_spec])
    return part


def _decoded(text: str) -> str:
    """``text`` as a plain string's escapes read it: CPython (3.12+, where a field may hold
    a backslash) prints the text of an ``=`` field of a plain f-string so read."""
    if "\\" not in text:
        return text
    try:
        return ast.literal_eval("'''" + text + "'''")  # the text ends with "=" and spaces
    except (SyntaxError, ValueError):
        return text


def _escaped(text: str, quote: str) -> str:
    """A plain string's spelling of ``text`` (delimited by ``quote``, on one line)."""
    return text.replace("\\", "\\\\").replace(quote, "\\" + quote).replace("\n", "\\n")
