"""Find the coroutines: resolve the marker names by binding, check them, note the waits.

One walk over the module with libcst metadata: ``ScopeProvider`` says what a decorator or
callee name is bound to, so ``corofy.coroutine`` and ``corofy.wait`` are recognised whatever
the import spelling (``from corofy import wait as w``, ``import corofy``); a ``wait`` bound
to anything else is an ordinary name. (Scope lookups of just those names: resolving
``QualifiedNameProvider`` for the whole module costs about as much as parsing it again.)
The walk also marks every node that contains a wait (what the lowering
must take apart) and records the marker imports to remove.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import libcst as cst
from libcst.metadata import (
    CodeRange,
    ExpressionContextProvider,
    FunctionScope,
    PositionProvider,
    Scope,
    ScopeProvider,
)

from corofy.transform import check
from corofy.transform.positions import node_positions

MARKER_MODULES = frozenset({"corofy", "corofy.markers"})
COROUTINE = frozenset({"corofy.coroutine", "corofy.markers.coroutine"})
WAIT = frozenset({"corofy.wait", "corofy.markers.wait"})
_NESTED = {cst.Lambda: "lambda", cst.FunctionDef: "def", cst.ClassDef: "class",
           cst.GeneratorExp: "genexp"}


@dataclass(eq=False)
class Coroutine:
    """One ``@coroutine`` function as found in the source."""

    node: cst.FunctionDef
    marker: cst.Decorator
    scope: FunctionScope
    qualname: str
    class_name: str | None  # the class it is a method of, if any
    waits: list[cst.Call] = field(default_factory=list)


@dataclass(eq=False)
class Edit:
    """Replace ``[start, end)`` of the source (character offsets) by ``text``."""

    start: int
    end: int
    text: str


@dataclass(eq=False)
class Scan:
    module: cst.Module
    filename: str
    positions: Any  # Mapping[CSTNode, CodeRange]
    scopes: Any  # Mapping[CSTNode, Scope]
    coroutines: list[Coroutine]
    has_wait: set[int]  # id() of every node with a wait call inside (or being one)
    wait_calls: set[int]
    import_edits: list[tuple[cst.CSTNode, str | None]]  # marker imports: keep-text or drop
    # Nodes made later whose id() went into has_wait/wait_calls: they must outlive the
    # transform, or a new node could reuse the id.
    keep: list[cst.CSTNode] = field(default_factory=list)
    taken: set[str] = field(default_factory=set)  # every identifier in the module


def _import_target(node: cst.CSTNode, name: str) -> str | None:
    """What ``name``, bound by import statement ``node``, refers to (a dotted name)."""
    if isinstance(node, cst.ImportFrom):
        if node.relative or node.module is None or isinstance(node.names, cst.ImportStar):
            return None
        module = cst.helpers.get_full_name_for_node(node.module)
        for alias in node.names:
            if (alias.evaluated_alias or alias.evaluated_name) == name:
                return f"{module}.{alias.evaluated_name}"
    elif isinstance(node, cst.Import):
        for alias in node.names:
            if alias.evaluated_alias == name:
                return alias.evaluated_name
            if alias.evaluated_alias is None and alias.evaluated_name.split(".")[0] == name:
                return name
    return None


class _Walk(cst.CSTVisitor):
    METADATA_DEPENDENCIES = (PositionProvider, ScopeProvider)

    def __init__(self, filename: str) -> None:
        super().__init__()
        self.filename = filename
        self.stack: list[cst.CSTNode] = []
        self.coroutines: list[Coroutine] = []
        self.current: list[tuple[Coroutine, int]] = []  # (coroutine, stack depth of its def)
        self.nested: list[tuple[str, int]] = []  # nested scopes inside the current coroutine
        self.classes: list[tuple[str, int]] = []
        self.functions: list[str] = []
        self.has_wait: set[int] = set()
        self.wait_calls: set[int] = set()
        self.import_edits: list[tuple[cst.CSTNode, str | None]] = []
        self.marker_aliases: set[str] = set()
        self.module_aliases: dict[str, list[int]] = {}  # alias -> [marker uses, all uses]
        self.module_imports: list[tuple[cst.Import, cst.ImportAlias]] = []

    def pos(self, node: cst.CSTNode) -> CodeRange:
        return self.get_metadata(PositionProvider, node)

    def bound_to(self, expr: cst.BaseExpression) -> str | None:
        """The dotted name ``expr`` (a name or ``module.attr``) is bound to by an import."""
        base, attr = expr, None
        if isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Name):
            base, attr = expr.value, expr.attr.value
        if not isinstance(base, cst.Name):
            return None
        scope = self.get_metadata(ScopeProvider, base, None)
        if scope is None:
            return None
        for assignment in scope[base.value]:
            target = _import_target(getattr(assignment, "node", None), base.value)
            if target is not None:
                return f"{target}.{attr}" if attr else target
        return None

    # -- the node stack, for has_wait and nesting --------------------------------------
    def on_visit(self, node: cst.CSTNode) -> bool:
        self.stack.append(node)
        kind = _NESTED.get(type(node))
        if kind is not None and self.current and not self._is_coroutine_def(node):
            self.nested.append((kind, len(self.stack)))
        return super().on_visit(node)

    def on_leave(self, original_node: cst.CSTNode) -> None:
        super().on_leave(original_node)
        depth = len(self.stack)
        if self.nested and self.nested[-1][1] == depth:
            self.nested.pop()
        if self.current and self.current[-1][1] == depth:
            self.current.pop()
        if self.classes and self.classes[-1][1] == depth:
            self.classes.pop()
        self.stack.pop()

    def _is_coroutine_def(self, node: cst.CSTNode) -> bool:
        return bool(self.current) and self.current[-1][0].node is node

    # -- definitions ---------------------------------------------------------------------
    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        for decorator in node.decorators:
            if self.bound_to(decorator.decorator) in COROUTINE:
                check.refuse(self.filename, self.pos(decorator.decorator), check.ON_CLASS)
        self.classes.append((node.name.value, len(self.stack)))
        self.functions.append(node.name.value)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.functions.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        marker = None
        for decorator in node.decorators:
            if self.bound_to(decorator.decorator) in COROUTINE:
                marker = decorator
        if marker is not None:
            where = self.pos(node)
            if self.current:
                check.refuse(self.filename, self.pos(marker), check.NESTED_COROUTINE)
            check.check_coroutine_def(self.filename, node, where)
            depth = len(self.stack)
            in_class = None
            if depth >= 3 and isinstance(self.stack[-3], cst.ClassDef):
                in_class = self.stack[-3].name.value
            qual = ".".join(self.functions + [node.name.value])
            scope = self.get_metadata(ScopeProvider, node.body)
            self.coroutines.append(Coroutine(node, marker, scope, qual, in_class))
            self.current.append((self.coroutines[-1], depth))
        self.functions.append(node.name.value + ".<locals>")

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.functions.pop()

    # -- waits and what a coroutine may not contain ---------------------------------------
    def visit_Call(self, node: cst.Call) -> None:
        if not isinstance(node.func, (cst.Name, cst.Attribute)):
            return
        if self.bound_to(node.func) not in WAIT:
            return
        where = self.pos(node)
        if not self.current or not any(n is self.current[-1][0].node.body for n in self.stack):
            # Outside any coroutine, or in a default, annotation or decorator of one: those
            # run when the def runs, not in the coroutine.
            check.refuse(self.filename, where, check.WAIT_OUTSIDE)
        if self.nested:
            check.refuse(self.filename, where, check.WAIT_NESTED[self.nested[-1][0]])
        check.check_wait_call(self.filename, node, where)
        coroutine, depth = self.current[-1]
        coroutine.waits.append(node)
        self.wait_calls.add(id(node))
        for ancestor in self.stack[depth:]:
            self.has_wait.add(id(ancestor))

    def _inside_body(self) -> bool:
        return bool(self.current) and not self.nested

    def visit_Yield(self, node: cst.Yield) -> None:
        if self._inside_body():
            check.refuse(self.filename, self.pos(node), check.YIELD)

    def visit_Await(self, node: cst.Await) -> None:
        if self._inside_body():
            check.refuse(self.filename, self.pos(node), check.AWAIT)

    def visit_For(self, node: cst.For) -> None:
        if node.asynchronous is not None and self._inside_body():
            check.refuse(self.filename, self.pos(node), check.ASYNC_FOR)

    def visit_With(self, node: cst.With) -> None:
        if node.asynchronous is not None and self._inside_body():
            check.refuse(self.filename, self.pos(node), check.ASYNC_WITH)

    # -- marker imports ------------------------------------------------------------------
    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if node.relative or node.module is None or isinstance(node.names, cst.ImportStar):
            return
        module = cst.helpers.get_full_name_for_node(node.module)
        if module not in MARKER_MODULES:
            return
        kept = []
        for alias in node.names:
            if alias.name.value in ("coroutine", "wait"):
                self.marker_aliases.add(alias.evaluated_alias or alias.name.value)
            else:
                kept.append(alias)
        if len(kept) == len(node.names):
            return
        if kept:
            text = "from {} import {}".format(
                module, ", ".join(cst.Module([]).code_for_node(a.with_changes(comma=cst.MaybeSentinel.DEFAULT)) for a in kept))
            self.import_edits.append((node, text))
        else:
            self.import_edits.append((node, None))

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            if cst.helpers.get_full_name_for_node(alias.name) == "corofy":
                name = alias.evaluated_alias or "corofy"
                self.module_aliases.setdefault(name, [0, 0])
                self.module_imports.append((node, alias))

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if isinstance(node.value, cst.Name) and node.value.value in self.module_aliases \
                and node.attr.value in ("coroutine", "wait"):
            self.module_aliases[node.value.value][0] += 1
            self._marker_use(node, node)

    def visit_Name(self, node: cst.Name) -> None:
        if node.value in self.module_aliases:
            self.module_aliases[node.value][1] += 1
        if node.value in self.marker_aliases:
            self._marker_use(node, node)

    def _marker_use(self, node: cst.CSTNode, whole: cst.BaseExpression) -> None:
        """A marker may only decorate a def or be called: anything else would leave a name
        the generated module does not define."""
        parent = self.stack[-2] if len(self.stack) > 1 else None
        if isinstance(whole, cst.Name) and (
            isinstance(parent, (cst.ImportAlias, cst.AsName, cst.NameItem))
            or (isinstance(parent, cst.Attribute) and parent.attr is whole)
            or (isinstance(parent, (cst.Arg, cst.Param)) and getattr(parent, "keyword", None) is whole)
            or isinstance(parent, cst.Param)
            or (isinstance(parent, (cst.FunctionDef, cst.ClassDef)) and parent.name is whole)
        ):
            return
        if isinstance(parent, cst.Decorator) or (isinstance(parent, cst.Call) and parent.func is whole):
            return
        marker = self.bound_to(whole)
        if marker in COROUTINE or marker in WAIT:
            check.refuse(self.filename, self.pos(node), check.MARKER_VALUE.format(
                name=marker.rsplit(".", 1)[1]))


def scan(module: cst.Module, filename: str) -> Scan:
    """Walk ``module`` once; raise ``CorofyError`` for what SPEC §2.3 refuses."""
    positions, scopes = _metadata(module)
    walk = _Walk(filename)
    walk.metadata = {PositionProvider: positions, ScopeProvider: scopes}
    module.visit(walk)
    _check_rebinding(walk, scopes, positions, filename)
    edits = list(walk.import_edits)
    for node, alias in walk.module_imports:
        name = alias.evaluated_alias or "corofy"
        marker_uses, all_uses = walk.module_aliases[name]
        # The import's own Name counts once; drop it only when every other use is a marker.
        if all_uses - 1 == marker_uses and len(node.names) == 1:
            edits.append((node, None))
    return Scan(module, filename, positions, scopes, walk.coroutines, walk.has_wait,
                walk.wait_calls, edits)


def _metadata(module: cst.Module) -> tuple[Mapping[cst.CSTNode, CodeRange], Mapping[cst.CSTNode, Any]]:
    """Positions and scopes of every node of ``module``, as ``MetadataWrapper.resolve`` gives.

    Facts (libcst 1.x, metadata/wrapper.py): the wrapper resolves dependencies in rounds and
    every round ends with a batched traversal of the whole tree, even when the round has no
    batchable provider; expression contexts and scopes do their work in ``visit_Module``
    (each with its own visitor), so resolving them through the wrapper cost two extra full
    walks that did nothing. Here each provider runs once, on the tree as given (what
    ``unsafe_skip_copy=True`` did), and its results are handed on as the wrapper would:
    a read-only copy of what it recorded.
    """
    contexts = ExpressionContextProvider()
    contexts.visit_Module(module)
    scopes = ScopeProvider()
    scopes.metadata = {ExpressionContextProvider: MappingProxyType(dict(contexts._computed))}
    scopes.visit_Module(module)
    return node_positions(module), MappingProxyType(dict(scopes._computed))


def _check_rebinding(walk: _Walk, scopes: Any, positions: Any, filename: str) -> None:
    if not walk.marker_aliases:
        return
    checked: list[Scope] = [c.scope for c in walk.coroutines]
    module_scope = next((s.globals for s in scopes.values() if s is not None), None)
    if module_scope is not None:
        checked.insert(0, module_scope)
    for scope in checked:
        for name in sorted(walk.marker_aliases):
            for assignment in scope.assignments[name]:
                node = getattr(assignment, "node", None)
                if isinstance(node, cst.ImportFrom) and node.module is not None and \
                        cst.helpers.get_full_name_for_node(node.module) in MARKER_MODULES:
                    continue  # the marker import itself
                if node is None or node not in positions:
                    continue
                check.refuse(filename, positions[node], check.REBIND.format(name=name))
