"""User code as it reads inside the machine class.

Locals kept on the machine ("cold", see ``analyse.py``) become ``_m.x``; zero-argument
``super()`` and ``__class__`` name the user's class, which the machine keeps in ``_cls``;
private names are mangled for the user's class (inside the machine class Python would
mangle them for the machine's). Names in positions that are not variables (attributes,
keywords, parameters, import and ``as`` names, pattern captures) are put back as written.
"""

from __future__ import annotations

from typing import Any

import libcst as cst

from corofy.transform.expressions import name
from corofy.transform.scopes import children_of


class Rename(cst.CSTTransformer):
    """Cold locals become ``_m.x``; ``super()``/``__class__`` and private names keep their
    meaning now that the code lives in the machine class."""

    def __init__(self, r: Any) -> None:  # the Render of emit.py
        super().__init__()
        self.r = r
        self.classes = 0  # inside a class defined in the coroutine: Python mangles for it

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        self.classes += 1
        return True

    def _is_cold(self, node: cst.Name) -> bool:
        return is_cold(self.r, node)

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.BaseExpression:
        value = original_node.value
        if id(original_node) in self.r.global_privates:
            # A private global outside any class: Python would mangle the name in the
            # generated class, not the key of the module's namespace.
            return cst.Subscript(
                value=cst.Call(name("globals")),
                slice=[cst.SubscriptElement(cst.Index(cst.SimpleString(repr(value))))],
                lpar=updated_node.lpar,
                rpar=updated_node.rpar,
            )
        if value == "__class__" and self.r.sees_class and self.r.where(original_node) == "own":
            self.r.uses_class = True
            return cst.Attribute(value=name(self.r.names.m), attr=name("_cls"))
        if self._is_cold(original_node):
            return cst.Attribute(
                value=name(self.r.names.m),
                attr=name(self.r.slot(value)),
                lpar=updated_node.lpar,
                rpar=updated_node.rpar,
            )
        outer = self.r.outer_refs.get(id(original_node))
        if outer is not None:  # a local of an enclosing coroutine, kept on its machine
            return cst.Attribute(
                value=name(outer[0]),
                attr=name(outer[1]),
                lpar=updated_node.lpar,
                rpar=updated_node.rpar,
            )
        mangled = value if self.classes else self.r.mangle(value)
        return updated_node if mangled == value else updated_node.with_changes(value=mangled)

    def leave_Attribute(
        self, original_node: cst.Attribute, updated_node: cst.Attribute
    ) -> cst.Attribute:
        attr = original_node.attr
        if self.classes:
            return updated_node
        mangled = self.r.mangle(attr.value)
        return updated_node.with_changes(
            attr=attr if mangled == attr.value else attr.with_changes(value=mangled)
        )

    def leave_Arg(self, original_node: cst.Arg, updated_node: cst.Arg) -> cst.Arg:
        return updated_node.with_changes(keyword=original_node.keyword)

    def leave_Param(self, original_node: cst.Param, updated_node: cst.Param) -> cst.Param:
        return updated_node.with_changes(name=original_node.name)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return id(node) not in self.r.nested  # a nested coroutine is generated on its own

    def leave_FunctionDef(self, original_node, updated_node):
        child = self.r.nested.get(id(original_node))
        if child is not None:  # its place, for the generated code of it (see nested.py)
            return cst.SimpleStatementLine(
                [cst.Expr(name(placeholder(child)))], leading_lines=original_node.leading_lines
            )
        return updated_node.with_changes(name=original_node.name)

    def leave_ClassDef(self, original_node, updated_node):
        self.classes -= 1
        return updated_node.with_changes(name=original_node.name)

    def leave_ImportAlias(self, original_node, updated_node):
        return original_node

    def leave_AsName(self, original_node: cst.AsName, updated_node: cst.AsName) -> cst.AsName:
        renamed = isinstance(original_node.name, cst.Name) and not isinstance(
            updated_node.name, cst.Name
        )
        if renamed and not self.r.as_target_ok:  # except/import "as" takes a plain name
            return updated_node.with_changes(name=original_node.name)
        return updated_node

    def leave_MatchAs(self, original_node, updated_node):
        return updated_node.with_changes(name=original_node.name)

    def leave_MatchStar(self, original_node, updated_node):
        return updated_node.with_changes(name=original_node.name)

    def leave_MatchMapping(self, original_node, updated_node):
        return updated_node.with_changes(rest=original_node.rest)

    def leave_MatchKeywordElement(self, original_node, updated_node):
        return updated_node.with_changes(key=original_node.key)

    def leave_NameItem(self, original_node, updated_node):
        return updated_node.with_changes(name=original_node.name)

    def leave_Nonlocal(self, original_node: cst.Nonlocal, updated_node: cst.Nonlocal):
        keep = [
            item
            for item in updated_node.names
            if not (
                item.name.value in self.r.storage.cold and item.name.value in self.r.storage.locals
            )
            and item.name.value not in self.r.outer_nonlocals
        ]
        if len(keep) == len(updated_node.names):
            return updated_node
        if not keep:
            return cst.Pass()
        return updated_node.with_changes(
            names=[k.with_changes(comma=cst.MaybeSentinel.DEFAULT) for k in keep]
        )

    def leave_NamedExpr(self, original_node: cst.NamedExpr, updated_node: cst.NamedExpr):
        if isinstance(updated_node.target, cst.Attribute):
            # name := value for a local kept on the machine: a setter returning the value
            # (no string literal: this may sit inside an f-string).
            slot = updated_node.target.attr.value
            m = updated_node.target.value.value
            self.r.machine_named(m).setters.add(slot)
            return cst.Call(
                func=cst.Attribute(value=name(m), attr=name(f"_set_{slot}")),
                args=[cst.Arg(updated_node.value)],
                lpar=updated_node.lpar,
                rpar=updated_node.rpar,
            )
        return updated_node

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        f = original_node.func
        if (
            isinstance(f, cst.Name)
            and f.value == "super"
            and not original_node.args
            and self.r.sees_class
            and self.r.first_param
            and self.r.where(f) == "own"
        ):
            self.r.uses_class = True
            first = self.r.first_param
            first_expr = (
                f"{self.r.names.m}.{self.r.slot(first)}" if first in self.r.storage.cold else first
            )
            return updated_node.with_changes(
                args=[
                    cst.Arg(
                        cst.parse_expression(f"{self.r.names.m}._cls"),
                        comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")),
                    ),
                    cst.Arg(cst.parse_expression(first_expr)),
                ]
            )
        return updated_node


def placeholder(coroutine: Any) -> str:
    """The name standing, in the printed text of an enclosing statement, where the
    generated code of nested coroutine ``coroutine`` goes."""
    return f"__corofy_nested_{id(coroutine.node)}__"


def is_cold(r: Any, node: cst.Name) -> bool:
    """Does ``node`` name a local kept on the machine (a variable of the coroutine's own
    scope, or one a nested scope refers to)?"""
    if node.value not in r.storage.cold:
        return False
    if r.where(node) != "nested":
        return True
    return id(node) in r.storage.nested_refs


# Where a Name is not a variable, Rename puts back the name as written.
_KEPT = {
    cst.Attribute: "attr",
    cst.Arg: "keyword",
    cst.Param: "name",
    cst.FunctionDef: "name",
    cst.ClassDef: "name",
    cst.MatchAs: "name",
    cst.MatchStar: "name",
    cst.MatchMapping: "rest",
    cst.MatchKeywordElement: "key",
    cst.NameItem: "name",
}
# Where Rename does more than put names back.
_WALKED = (cst.AsName, cst.Nonlocal, cst.NamedExpr)


def spliced(r: Any, node: cst.CSTNode, text: str) -> str | None:
    """What printing ``node.visit(Rename(r))`` gives, without the walk, when all Rename does
    there is turn cold locals into ``_m.x``: ``text`` (the node's text, cut from the source)
    with those names replaced where they stand. None when Rename must walk: in a method or
    beside a private name, or for a node not cut from the source, a walrus, nonlocal or
    ``as`` name."""
    if r.class_name or r.private_owner or r.global_privates:
        return None
    positions = r.ctx.positions
    where = positions.offsets(node)
    if where is None or positions.text(node) is None:  # over several lines: printed, not cut
        return None
    found: list[tuple[int, int, str]] = []
    if not _cold_names(r, node, positions, found):
        return None
    for start, end, value, replacement in sorted(found, reverse=True):
        old = text[start - where[0] : end - where[0]]
        new = old.replace(value, replacement, 1)
        text = text[: start - where[0]] + new + text[end - where[0] :]
    return text


def _cold_names(r: Any, node: cst.CSTNode, positions: Any, found: list) -> bool:
    kind = type(node)
    if kind is cst.Name:
        if is_cold(r, node):
            where = positions.offsets(node)
            if where is None:
                return False
            found.append((*where, node.value, f"{r.names.m}.{r.slot(node.value)}"))
        elif id(node) in r.outer_refs:
            where = positions.offsets(node)
            if where is None:
                return False
            found.append((*where, node.value, ".".join(r.outer_refs[id(node)])))
        return True
    if kind in _WALKED:
        return False
    if kind is cst.ImportAlias:
        return True
    for child in children_of(node, _KEPT.get(kind)):
        if not _cold_names(r, child, positions, found):
            return False
    return True
