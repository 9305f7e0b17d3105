"""Printing the plain nodes lowering makes, without libcst's codegen.

Lowering builds new nodes around user code: ``iter(x)``, ``_t1 = e``, ``not t``,
``del name``, ``[]``. libcst prints each through its general codegen (a context manager
per expression for its parentheses, a state object per call), which made these few nodes
a good part of printing the machines. ``printed(node, cut)`` prints such a node when it
has the shape lowering gives it — libcst's default whitespace, no parentheses — with
``cut(child)`` giving the text of user code inside it (cut from the source, or None);
for anything else it returns None and libcst prints the node. A test pins it to libcst's
own printing of every node the transform prints.
"""

from __future__ import annotations

from collections.abc import Callable

import libcst as cst

Cut = Callable[[cst.CSTNode], "str | None"]


def printed(node: cst.CSTNode, cut: Cut) -> str | None:
    """``node`` as ``Module.code_for_node`` prints it, or None when it is not one of the
    shapes printed here."""
    found = cut(node)
    if found is not None:
        return found
    printer = _PRINTERS.get(type(node))
    return None if printer is None else printer(node, cut)


def _blank(ws: object, value: str = "") -> bool:
    return type(ws) is cst.SimpleWhitespace and ws.value == value  # type: ignore[attr-defined]


def _name(node: cst.Name, cut: Cut) -> str | None:
    return None if node.lpar or node.rpar else node.value


def _attribute(node: cst.Attribute, cut: Cut) -> str | None:
    if (
        node.lpar
        or node.rpar
        or not (_blank(node.dot.whitespace_before) and _blank(node.dot.whitespace_after))
    ):
        return None
    value = printed(node.value, cut)
    return None if value is None else f"{value}.{node.attr.value}"


def _call(node: cst.Call, cut: Cut) -> str | None:
    if (
        node.lpar
        or node.rpar
        or not (_blank(node.whitespace_after_func) and _blank(node.whitespace_before_args))
    ):
        return None
    func = printed(node.func, cut)
    if func is None:
        return None
    parts = [func, "("]
    last = len(node.args) - 1
    for k, arg in enumerate(node.args):
        if (
            arg.keyword is not None
            or arg.star
            or not (_blank(arg.whitespace_after_star) and _blank(arg.whitespace_after_arg))
        ):
            return None
        value = printed(arg.value, cut)
        if value is None:
            return None
        parts.append(value)
        comma = arg.comma
        if comma is cst.MaybeSentinel.DEFAULT:
            if k < last:
                parts.append(", ")
        elif (
            type(comma) is cst.Comma
            and type(comma.whitespace_before) is cst.SimpleWhitespace
            and type(comma.whitespace_after) is cst.SimpleWhitespace
        ):
            parts.append(f"{comma.whitespace_before.value},{comma.whitespace_after.value}")
        else:
            return None
    parts.append(")")
    return "".join(parts)


def _expr(node: cst.Expr, cut: Cut) -> str | None:
    return None if node.semicolon is not cst.MaybeSentinel.DEFAULT else printed(node.value, cut)


def _assign(node: cst.Assign, cut: Cut) -> str | None:
    if node.semicolon is not cst.MaybeSentinel.DEFAULT or len(node.targets) != 1:
        return None
    target = node.targets[0]
    if not (
        _blank(target.whitespace_before_equal, " ") and _blank(target.whitespace_after_equal, " ")
    ):
        return None
    left, right = printed(target.target, cut), printed(node.value, cut)
    return None if left is None or right is None else f"{left} = {right}"


def _delete(node: cst.Del, cut: Cut) -> str | None:
    if node.semicolon is not cst.MaybeSentinel.DEFAULT or not _blank(
        node.whitespace_after_del, " "
    ):
        return None
    target = printed(node.target, cut)
    return None if target is None else f"del {target}"


def _unary(node: cst.UnaryOperation, cut: Cut) -> str | None:
    if (
        node.lpar
        or node.rpar
        or type(node.operator) is not cst.Not
        or not _blank(node.operator.whitespace_after, " ")
    ):
        return None
    operand = printed(node.expression, cut)
    return None if operand is None else f"not {operand}"


def _empty(opening: str, closing: str) -> Callable[[cst.List | cst.Dict, Cut], str | None]:
    def empty(node: cst.List | cst.Dict, cut: Cut) -> str | None:
        brackets = (
            (node.lbracket, node.rbracket)
            if isinstance(node, cst.List)
            else (node.lbrace, node.rbrace)
        )
        if (
            node.lpar
            or node.rpar
            or node.elements
            or not all(
                _blank(b.whitespace_after if k == 0 else b.whitespace_before)
                for k, b in enumerate(brackets)
            )
        ):
            return None
        return opening + closing

    return empty


_PRINTERS: dict[type, Callable[..., str | None]] = {
    cst.Name: _name,
    cst.Attribute: _attribute,
    cst.Call: _call,
    cst.Expr: _expr,
    cst.Assign: _assign,
    cst.Del: _delete,
    cst.UnaryOperation: _unary,
    cst.List: _empty("[", "]"),
    cst.Dict: _empty("{", "}"),
}
