"""User code as it reads inside the machine class.

Locals kept on the machine ("cold", see ``liveness.py``) become ``_m.x``; zero-argument
``super()`` and ``__class__`` name the user's class, which the machine keeps in ``_cls``;
private names are mangled for the user's class (inside the machine class Python would
mangle them for the machine's). Names in positions that are not variables (attributes,
keywords, parameters, import and ``as`` names, pattern captures) are put back as written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import libcst as cst

from corofy.transform.comprehensions import bound_names
from corofy.transform.expressions import name
from corofy.transform.fstring_equals import spelled_out
from corofy.transform.generated import Names
from corofy.transform.nodes import children_of
from corofy.transform.positions import NodePositions
from corofy.transform.scopes import is_private


@dataclass(eq=False)
class Naming:
    """What renaming the user code of one machine needs to know, and what it finds out.

    Made by the statement printer (``statements.Render``) for its coroutine; ``nested.py``
    fills in what the enclosing and nested coroutines add."""

    m: str  # the local naming the machine in its functions (``_m``)
    cold: frozenset[str]  # locals kept on the machine
    locals: frozenset[str]  # every local of the coroutine
    nested_refs: dict[int, str]  # id(Name) in a nested scope -> the local it reads
    where: Callable[[cst.CSTNode], str | None]  # a Name's scope: 'own', 'nested' or None
    positions: NodePositions
    class_name: str | None  # the user's class, for a method
    sees_class: bool  # super() and __class__ name the user's class
    first_param: str | None  # the ``self`` zero-argument super() passes
    private_owner: str | None  # the class private names are mangled for
    global_privates: set[int]  # id(Name) of private globals read outside any class
    # Slots of locals named as one of the machine's own attributes take a trailing "_".
    reserved: set[str] = field(default_factory=set)
    # Nested coroutines (see nested.py): the enclosing machines' Namings (outermost first),
    # Names of theirs that name their machine's locals, ``nonlocal`` names for those, and
    # the coroutines generated inside this one (by id of their def).
    enclosing: list[Naming] = field(default_factory=list)
    outer_refs: dict[int, tuple[str, str]] = field(default_factory=dict)  # -> (machine, slot)
    outer_nonlocals: frozenset[str] = frozenset()
    nested: dict[int, Any] = field(default_factory=dict)
    as_target_ok: bool = False  # printing an assignment target: ``x as _m.x`` is fine
    # Found while renaming: the class keeps __class__ (``_cls``), and setters for walrus.
    uses_class: bool = False
    setters: set[str] = field(default_factory=set)
    # What the generated module names runtime.Future and the builtin globals.
    future: str = Names.Future
    globals: str = "globals"

    def mangle(self, ident: str) -> str:
        if self.private_owner and is_private(ident):
            owner = self.private_owner.lstrip("_")
            if owner:
                return f"_{owner}{ident}"
        return ident

    def slot(self, local: str) -> str:
        local = self.mangle(local)
        return local + "_" if local in self.reserved else local

    def machine_named(self, m: str) -> Naming:
        """This Naming, or the enclosing one whose machine is called ``m``."""
        return next((n for n in self.enclosing if n.m == m), self)


class Rename(cst.CSTTransformer):
    """Cold locals become ``_m.x``; ``super()``/``__class__`` and private names keep their
    meaning now that the code lives in the machine class."""

    def __init__(self, naming: Naming) -> None:
        super().__init__()
        self.naming = naming
        self.classes = 0  # inside a class defined in the coroutine: Python mangles for it
        self.stores: set[int] = set()  # id(Name) only bound where it stands (no read, no del)
        self.root: cst.CSTNode | None = None

    def on_visit(self, node: cst.CSTNode) -> bool:
        if self.root is None:  # the node renamed: a target of its own when printed as one
            self.root = node
            if self.naming.as_target_ok and isinstance(node, cst.BaseExpression):
                self.stores.update(map(id, bound_names(node)))
        return super().on_visit(node)

    # Where a name is only bound, not read: assignment, for, with/except "as" targets.
    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self.stores.update(map(id, bound_names(node.target)))

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self.stores.update(map(id, bound_names(node.target)))

    def visit_For(self, node: cst.For) -> None:
        self.stores.update(map(id, bound_names(node.target)))

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self.stores.update(map(id, bound_names(node.target)))

    def visit_AsName(self, node: cst.AsName) -> None:
        self.stores.update(map(id, bound_names(node.name)))

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        self.classes += 1
        return True

    def _is_cold(self, node: cst.Name) -> bool:
        return is_cold(self.naming, node)

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.BaseExpression:
        value = original_node.value
        if id(original_node) in self.naming.global_privates:
            # A private global outside any class: Python would mangle the name in the
            # generated class, not the key of the module's namespace. Read or deleted, an
            # unbound one raises NameError, as Python does, not the namespace's KeyError.
            namespace: cst.BaseExpression = cst.Call(name(self.naming.globals))
            if id(original_node) not in self.stores:
                namespace = cst.Call(
                    func=cst.Attribute(value=name(self.naming.future), attr=name("_global_scope")),
                    args=[cst.Arg(namespace), cst.Arg(cst.SimpleString(repr(value)))],
                )
            return cst.Subscript(
                value=namespace,
                slice=[cst.SubscriptElement(cst.Index(cst.SimpleString(repr(value))))],
                lpar=updated_node.lpar,
                rpar=updated_node.rpar,
            )
        if (
            value == "__class__"
            and self.naming.sees_class
            and self.naming.where(original_node) == "own"
        ):
            self.naming.uses_class = True
            return cst.Attribute(value=name(self.naming.m), attr=name("_cls"))
        if self._is_cold(original_node):
            return cst.Attribute(
                value=name(self.naming.m),
                attr=name(self.naming.slot(value)),
                lpar=updated_node.lpar,
                rpar=updated_node.rpar,
            )
        outer = self.naming.outer_refs.get(id(original_node))
        if outer is not None:  # a local of an enclosing coroutine, kept on its machine
            return cst.Attribute(
                value=name(outer[0]),
                attr=name(outer[1]),
                lpar=updated_node.lpar,
                rpar=updated_node.rpar,
            )
        mangled = value if self.classes else self.naming.mangle(value)
        return updated_node if mangled == value else updated_node.with_changes(value=mangled)

    def leave_Attribute(
        self, original_node: cst.Attribute, updated_node: cst.Attribute
    ) -> cst.Attribute:
        attr = original_node.attr
        if self.classes:
            return updated_node
        mangled = self.naming.mangle(attr.value)
        return updated_node.with_changes(
            attr=attr if mangled == attr.value else attr.with_changes(value=mangled)
        )

    def leave_FormattedString(
        self, original_node: cst.FormattedString, updated_node: cst.FormattedString
    ) -> cst.FormattedString:  # f"{x=}" keeps the text "x=" when x is renamed
        return spelled_out(original_node, updated_node, self.naming.positions)

    def leave_Arg(self, original_node: cst.Arg, updated_node: cst.Arg) -> cst.Arg:
        return updated_node.with_changes(keyword=original_node.keyword)

    def leave_Param(self, original_node: cst.Param, updated_node: cst.Param) -> cst.Param:
        return updated_node.with_changes(name=original_node.name)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return id(node) not in self.naming.nested  # a nested coroutine is generated on its own

    def leave_FunctionDef(self, original_node, updated_node):
        child = self.naming.nested.get(id(original_node))
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
        if renamed and not self.naming.as_target_ok:  # except/import "as" takes a plain name
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
            if not (item.name.value in self.naming.cold and item.name.value in self.naming.locals)
            and item.name.value not in self.naming.outer_nonlocals
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
            m = cast(cst.Name, updated_node.target.value).value  # _m.x, as leave_Name made it
            self.naming.machine_named(m).setters.add(slot)
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
            and self.naming.sees_class
            and self.naming.first_param
            and self.naming.where(f) == "own"
        ):
            self.naming.uses_class = True
            first = self.naming.first_param
            first_expr = (
                f"{self.naming.m}.{self.naming.slot(first)}" if first in self.naming.cold else first
            )
            return updated_node.with_changes(
                args=[
                    cst.Arg(
                        cst.parse_expression(f"{self.naming.m}._cls"),
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


def is_cold(naming: Naming, node: cst.Name) -> bool:
    """Does ``node`` name a local kept on the machine (a variable of the coroutine's own
    scope, or one a nested scope refers to)?"""
    if node.value not in naming.cold:
        return False
    if naming.where(node) != "nested":
        return True
    return id(node) in naming.nested_refs


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


def spliced(naming: Naming, node: cst.CSTNode, text: str) -> str | None:
    """What printing ``node.visit(Rename(naming))`` gives, without the walk, when all Rename does
    there is turn cold locals into ``_m.x`` and mangle private names for the user's class:
    ``text`` (the node's text, cut from the source) with those names replaced where they
    stand. None when Rename must walk: for ``super``, ``__class__`` or a private global
    outside any class, a class defined in the node, a node not cut from the source, a
    walrus, nonlocal or ``as`` name."""
    positions = naming.positions
    where = positions.offsets(node)
    if where is None or positions.text(node) is None:  # over several lines: printed, not cut
        return None
    found: list[tuple[int, int, str, str]] = []  # start, end, name, what replaces it
    if not _cold_names(naming, node, positions, found):
        return None
    for start, end, value, replacement in sorted(found, reverse=True):
        old = text[start - where[0] : end - where[0]]
        new = old.replace(value, replacement, 1)
        text = text[: start - where[0]] + new + text[end - where[0] :]
    return text


def _mangled(
    naming: Naming, node: cst.Name, positions: NodePositions, found: list[tuple[int, int, str, str]]
) -> bool:
    """Note the private name ``node`` as ``Rename`` mangles it (False: its place is unknown)."""
    mangled = naming.mangle(node.value)
    if mangled != node.value:
        where = positions.offsets(node)
        if where is None:
            return False
        found.append((*where, node.value, mangled))
    return True


def _cold_names(
    naming: Naming,
    node: cst.CSTNode,
    positions: NodePositions,
    found: list[tuple[int, int, str, str]],
) -> bool:
    kind = type(node)
    if kind is cst.Name:
        node = cast(cst.Name, node)
        value = node.value
        if id(node) in naming.global_privates or (
            naming.sees_class and (value == "super" or value == "__class__")
        ):
            return False
        if is_cold(naming, node):
            where = positions.offsets(node)
            if where is None:
                return False
            found.append((*where, node.value, f"{naming.m}.{naming.slot(node.value)}"))
        elif id(node) in naming.outer_refs:
            where = positions.offsets(node)
            if where is None:
                return False
            found.append((*where, node.value, ".".join(naming.outer_refs[id(node)])))
        elif is_private(value) and not _mangled(naming, node, positions, found):
            return False
        return True
    if kind in _WALKED or kind is cst.ClassDef:  # in a class Python mangles for that class
        return False
    if kind is cst.FormattedStringExpression and cast(cst.FormattedStringExpression, node).equal:
        return False  # f"{x=}": Rename spells the field out if x changes
    if (
        kind is cst.Attribute
        and is_private(cast(cst.Attribute, node).attr.value)
        and not _mangled(naming, cast(cst.Attribute, node).attr, positions, found)
    ):
        return False
    if kind is cst.ImportAlias:
        return True
    for child in children_of(node, _KEPT.get(kind)):
        if not _cold_names(naming, child, positions, found):
            return False
    return True
