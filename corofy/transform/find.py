"""Find the coroutines: resolve the marker names by binding, check them, note the waits.

One walk over the module (``scopes.py``: Python's scopes, the names used as callees,
decorators and values) says what a decorator or callee name is bound to, so
``corofy.coroutine`` and ``corofy.wait`` are recognised whatever the import spelling
(``from corofy import wait as w``, ``import corofy``); a ``wait`` bound to anything else is
an ordinary name. From it the scan marks every node that contains a wait (what the
lowering must take apart), records the marker imports to remove, and finds what SPEC §2.3
refuses — reporting the first problem in source order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import libcst as cst

from corofy.transform import refusals, scopes
from corofy.transform.nodes import import_statements
from corofy.transform.positions import node_positions

if TYPE_CHECKING:
    from corofy.transform.readable import Readable

MARKER_MODULES = frozenset({"corofy", "corofy.markers"})
COROUTINE = frozenset({"corofy.coroutine", "corofy.markers.coroutine"})
WAIT = frozenset({"corofy.wait", "corofy.markers.wait"})


@dataclass(eq=False)
class Coroutine:
    """One ``@coroutine`` function as found in the source."""

    node: cst.FunctionDef
    marker: cst.Decorator
    scope: CoroutineScope
    qualname: str
    class_name: str | None  # the class it is a method of, if any
    # The innermost class around it (through functions too): private names are Python's
    # "mangled" for that class, so the generated code spells them out for it.
    private_owner: str | None = None
    # id() of each Name of a private global (``__helper``) read or written in a coroutine
    # outside any class: Python does not mangle it there, the generated class would.
    global_privates: set[int] = field(default_factory=set)
    waits: list[cst.Call] = field(default_factory=list)
    # A coroutine nested in another (at any depth: in its body, a def or class there) is
    # generated inside it, where the def stood, so its closures see the enclosing locals.
    parent: Coroutine | None = None
    children: list[Coroutine] = field(default_factory=list)
    chain: tuple[cst.CSTNode, ...] = ()  # nodes from the module down to the def
    # Its wrapper stands where ``__class__`` is private_owner: it is a method, or nested in
    # one through plain functions only (not in a coroutine, whose machine would be
    # ``__class__`` there). Then zero-argument super() and __class__ work in its body.
    sees_class: bool = False


@dataclass(eq=False)
class Scan:
    module: cst.Module
    filename: str
    positions: Any  # Mapping[CSTNode, CodeRange]
    scopes: scopes.ModuleScopes
    coroutines: list[Coroutine]
    has_wait: set[int]  # id() of every node with a wait call inside (or being one)
    wait_calls: set[int]
    import_edits: list[tuple[cst.CSTNode, str | None]]  # marker imports: keep-text or drop
    # Nodes made later whose id() went into has_wait/wait_calls: they must outlive the
    # transform, or a new node could reuse the id.
    keep: list[cst.CSTNode] = field(default_factory=list)
    taken: set[str] = field(default_factory=set)  # every identifier in the module
    # The layout libcst read, when it could not read the source as written (``readable``).
    layout: Readable | None = None


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


def bound_to(scope: scopes.Scope, name: str, attr: str | None = None) -> str | None:
    """The dotted name ``name`` (or ``name.attr``), read in ``scope``, is bound to by an
    import; None when what binds it is not an import."""
    where = scope.resolve(name)
    if where is None:
        return None
    for node in where.binds.get(name, ()):
        target = _import_target(node, name)
        if target is not None:
            return f"{target}.{attr}" if attr else target
    return None


_NESTED_KIND = {
    cst.Lambda: "lambda",
    cst.FunctionDef: "def",
    cst.ClassDef: "class",
    cst.GeneratorExp: "genexp",
}


class _Problems:
    """Refusals found, raised in source order: the first one a top-down walk meets."""

    def __init__(self, filename: str, positions: Any) -> None:
        self.filename = filename
        self.positions = positions
        self.found: list[tuple[int, cst.CSTNode, str]] = []

    def add(self, order: int, node: cst.CSTNode, message: str) -> None:
        self.found.append((order, node, message))

    def raise_first(self) -> None:
        if self.found:
            _, node, message = min(self.found, key=lambda f: f[0])
            refusals.refuse(self.filename, self.positions[node], message)


def scan(module: cst.Module, filename: str) -> Scan:
    """Walk ``module`` once; raise ``CorofyError`` for what SPEC §2.3 refuses."""
    # The names that may be markers come from import statements alone; the walk records
    # uses of those names (and of super, for a check) only.
    edits, aliases, module_aliases = _marker_imports(import_statements(module))
    candidates = aliases | set(module_aliases)
    found = scopes.walk(module, watch=candidates | {"super"})
    positions = node_positions(module)
    problems = _Problems(filename, positions)
    lazy_annotations = _future_annotations(module)

    def resolves(use: scopes.Use) -> str | None:
        return bound_to(use.scope, use.name.value, use.attr)

    for _, decorators, order in found.classes:
        for use in decorators:
            if use.name.value in candidates and resolves(use) in COROUTINE:
                problems.add(order, use.node, refusals.ON_CLASS)

    coroutines: list[Coroutine] = []
    is_coroutine: dict[int, Coroutine] = {}
    for d in found.defs:
        marker = None
        for use in d.decorators:
            if use.name.value in candidates and resolves(use) in COROUTINE:
                marker = use.parent
        if marker is None:
            continue
        if d.node.asynchronous is not None:
            problems.add(d.order, d.node, refusals.ASYNC_DEF)
        owner = next(
            (n.name.value for n in reversed(d.chain[:-1]) if isinstance(n, cst.ClassDef)), None
        )
        parent = next(
            (is_coroutine[id(n)] for n in reversed(d.chain[:-1]) if id(n) in is_coroutine), None
        )
        coroutine = Coroutine(
            d.node,
            marker,
            coroutine_scope(d.scope),
            d.qualname,
            d.class_name,
            private_owner=owner,
            parent=parent,
            chain=d.chain,
        )
        if parent is not None:
            parent.children.append(coroutine)
        coroutine.sees_class = next(
            (
                isinstance(n, cst.ClassDef)
                for n in reversed(d.chain[:-1])
                if isinstance(n, cst.ClassDef) or id(n) in is_coroutine
            ),
            False,
        )
        coroutines.append(coroutine)
        is_coroutine[id(d.node)] = coroutine
        _check_private_names(coroutine, problems, d.order)

    has_wait: set[int] = set()
    wait_calls: set[int] = set()
    for use in found.calls:
        if use.name.value not in candidates or resolves(use) not in WAIT:
            continue
        chain = use.chain
        call = chain[-1]
        at = _evaluating_scope(chain, lazy_annotations)
        if at == NEVER_EVALUATED:
            continue
        if at < 0 or id(chain[at]) not in is_coroutine:
            # Outside any coroutine, or in a scope nested in one that cannot suspend it.
            # (A default, annotation or decorator of a def, a class's bases and a
            # generator expression's first iterable run where the def, class or
            # expression stands: in the coroutine around them, if any.)
            inside = _innermost_coroutine(chain, is_coroutine)
            if at < 0 or inside < 0 or inside > at:
                problems.add(use.order, call, refusals.WAIT_OUTSIDE)
            else:
                problems.add(use.order, call, refusals.WAIT_NESTED[_NESTED_KIND[type(chain[at])]])
            continue
        args = call.args
        if len(args) != 1 or args[0].keyword is not None or args[0].star:
            problems.add(use.order, call, refusals.WAIT_ARGS)
            continue
        is_coroutine[id(chain[at])].waits.append(call)
        wait_calls.add(id(call))
        has_wait.update(id(n) for n in chain[at + 1 :])

    for node, scope, order in found.privates:
        inside = _coroutine_around(scope, is_coroutine)
        if (
            inside is not None
            and inside.private_owner is None
            and not _class_between(scope, inside.scope.scope)
        ):
            name = (
                node.attr.value
                if isinstance(node, cst.Attribute)
                else node.evaluated_name.split(".")[0]
            )
            problems.add(order, node, refusals.PRIVATE_OUTSIDE_CLASS.format(name=name))
    for use in found.calls:
        if use.name.value == "super" and use.attr is None and not use.chain[-1].args:
            inside = _coroutine_around(use.scope, is_coroutine)
            if (
                inside is not None
                and inside.private_owner is not None
                and use.scope.resolve("super") is None
                and (not inside.sees_class or use.scope is not inside.scope.scope)
                and not _class_between(use.scope, inside.scope.scope)
            ):
                problems.add(use.order, use.chain[-1], refusals.SUPER_NESTED)

    for mark in found.marked:
        chain = mark.chain
        at = _innermost_coroutine(chain, is_coroutine)
        if at < 0 or any(type(n) in _NESTED_KIND for n in chain[at + 1 : -1]):
            continue
        problems.add(mark.order, mark.node, _MARKED[mark.kind])

    for name in candidates:
        for use in found.values.get(name, ()):
            target = bound_to(use.scope, name)
            if target in COROUTINE or target in WAIT:
                problems.add(
                    use.order, use.name, refusals.MARKER_VALUE.format(name=target.rsplit(".", 1)[1])
                )
            elif (
                use.attr is not None
                and target is not None
                and f"{target}.{use.attr}" in COROUTINE | WAIT
            ):
                problems.add(use.order, use.node, refusals.MARKER_VALUE.format(name=use.attr))

    problems.raise_first()
    _check_rebinding(found, coroutines, aliases, positions, filename)
    edits.extend(_droppable_module_imports(found, module_aliases))
    return Scan(module, filename, positions, found, coroutines, has_wait, wait_calls, edits)


def _evaluating_scope(chain: tuple[cst.CSTNode, ...], lazy_annotations: bool) -> int:
    """Where in ``chain`` (the nodes from the module down to a node) the def, lambda, class
    or generator expression is whose own scope evaluates that node; -1 if none (the module),
    ``NEVER_EVALUATED`` in an annotation that ``from __future__ import annotations`` keeps
    as a string.

    Facts: a def's decorators, defaults and annotations (unless ``from __future__ import
    annotations`` makes them strings), a lambda's defaults, a class's decorators, bases
    and keywords, and a generator expression's first iterable are evaluated where the
    def, lambda, class or generator expression stands, not in its own scope.
    """
    for at in range(len(chain) - 2, -1, -1):
        node = chain[at]
        if type(node) not in _NESTED_KIND:
            continue
        child = chain[at + 1]
        if isinstance(node, cst.GeneratorExp):
            grandchild = chain[at + 2] if at + 2 < len(chain) else None
            if not (child is node.for_in and grandchild is node.for_in.iter):
                return at
        elif child is node.body:
            return at
        elif lazy_annotations and isinstance(node, cst.FunctionDef) and _in_annotation(chain, at):
            return NEVER_EVALUATED  # a string that no code runs: not a wait at all
    return -1


NEVER_EVALUATED = -2


def _future_annotations(module: cst.Module) -> bool:
    """Does ``module`` start with ``from __future__ import annotations``?"""
    for stmt in module.body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            return False
        for small in stmt.body:
            if isinstance(small, cst.ImportFrom) and isinstance(small.module, cst.Name):
                if small.module.value == "__future__" and not isinstance(
                    small.names, cst.ImportStar
                ):
                    if any(
                        isinstance(a.name, cst.Name) and a.name.value == "annotations"
                        for a in small.names
                    ):
                        return True
            elif not (isinstance(small, cst.Expr) and isinstance(small.value, cst.BaseString)):
                return False
    return False


def _in_annotation(chain: tuple[cst.CSTNode, ...], at: int) -> bool:
    return any(isinstance(n, cst.Annotation) for n in chain[at + 1 :])


def _innermost_coroutine(chain: tuple[cst.CSTNode, ...], is_coroutine: dict[int, Coroutine]) -> int:
    """Where in ``chain`` (the nodes from the module down to a node) the innermost
    coroutine def around that node is; -1 if none."""
    at = len(chain) - 2
    while at >= 0 and id(chain[at]) not in is_coroutine:
        at -= 1
    return at


def _coroutine_around(scope: scopes.Scope | None, is_coroutine: dict[int, Coroutine]):
    while scope is not None:
        found = is_coroutine.get(id(scope.node))
        if found is not None:
            return found
        scope = scope.parent
    return None


def _check_private_names(coroutine: Coroutine, problems: _Problems, order: int) -> None:
    """Names like ``__x`` that are not the coroutine's own: outside a class Python would
    not mangle them, but inside the generated class it does. In a coroutine nested in a
    method, ``__class__`` would name the generated class."""
    own = coroutine.scope.scope
    inner = {id(s) for s in own.descendants()} | {id(own)}
    for scope in (own, *own.descendants()):
        if _class_between(scope, own):
            continue  # a class defined in the coroutine: its names are its own, as written
        for node in scope.names:
            value = node.value
            if (
                value == "__class__"
                and coroutine.private_owner is not None
                and (not coroutine.sees_class or scope is not own)
            ):
                problems.add(order, node, refusals.SUPER_NESTED)
            elif coroutine.private_owner is None and scopes.is_private(value):
                where = scope.resolve(value)
                if where is None or where.parent is None:  # a global (or builtin) name
                    coroutine.global_privates.add(id(node))
                elif id(where) not in inner:
                    problems.add(order, node, refusals.PRIVATE_OUTSIDE_CLASS.format(name=value))


def _class_between(scope: scopes.Scope | None, top: scopes.Scope) -> bool:
    """Is a class scope on the way from ``scope`` up to ``top`` (a class defined inside
    the coroutine, whose private names and zero-argument super() are its own)?"""
    while scope is not None and scope is not top:
        if scope.kind == "class":
            return True
        scope = scope.parent
    return False


_MARKED = {
    "yield": refusals.YIELD,
    "yield from": refusals.YIELD_FROM,
    "await": refusals.AWAIT,
    "async for": refusals.ASYNC_FOR,
    "async with": refusals.ASYNC_WITH,
    "async comprehension": refusals.ASYNC_COMPREHENSION,
}


def _marker_imports(imports: Iterable[cst.Import | cst.ImportFrom]):
    """The edits removing marker imports, the marker aliases (``from corofy import wait as
    w`` gives ``w``), and each ``import corofy`` alias with the Import statements binding it."""
    edits: list[tuple[cst.CSTNode, str | None]] = []
    aliases: set[str] = set()
    module_aliases: dict[str, list[cst.Import]] = {}
    for node in imports:
        if isinstance(node, cst.ImportFrom):
            if node.relative or node.module is None or isinstance(node.names, cst.ImportStar):
                continue
            module = cst.helpers.get_full_name_for_node(node.module)
            if module not in MARKER_MODULES:
                continue
            kept = []
            for alias in node.names:
                if alias.name.value in ("coroutine", "wait"):
                    aliases.add(alias.evaluated_alias or alias.name.value)
                else:
                    kept.append(alias)
            if len(kept) == len(node.names):
                continue
            if kept:
                text = "from {} import {}".format(
                    module,
                    ", ".join(
                        cst.Module([]).code_for_node(
                            a.with_changes(comma=cst.MaybeSentinel.DEFAULT)
                        )
                        for a in kept
                    ),
                )
                edits.append((node, text))
            else:
                edits.append((node, None))
        else:
            for alias in node.names:
                if cst.helpers.get_full_name_for_node(alias.name) == "corofy":
                    module_aliases.setdefault(alias.evaluated_alias or "corofy", []).append(node)
    return edits, aliases, module_aliases


def _droppable_module_imports(
    found: scopes.ModuleScopes, module_aliases: dict[str, list[cst.Import]]
):
    """``import corofy`` goes when it imports only that and every use of the name is
    ``corofy.coroutine`` or ``corofy.wait`` (all rewritten away)."""
    if not module_aliases:
        return []
    uses: dict[str, list[scopes.Use]] = {
        name: list(found.values.get(name, ())) for name in module_aliases
    }
    for use in found.calls:
        if use.name.value in uses:
            uses[use.name.value].append(use)
    for d in found.defs:
        for use in d.decorators:
            if use.name.value in uses:
                uses[use.name.value].append(use)
    for _node, decorators, _order in found.classes:
        for use in decorators:
            if use.name.value in uses:
                uses[use.name.value].append(use)
    dropped: dict[int, tuple[cst.Import, set[str]]] = {}
    for name, nodes in module_aliases.items():
        if all(use.attr in ("coroutine", "wait") for use in uses[name]):
            for node in nodes:
                dropped.setdefault(id(node), (node, set()))[1].add(name)
    edits: list[tuple[cst.CSTNode, str | None]] = []
    for node, names in dropped.values():
        # `import corofy, sys` keeps `import sys`: generated code never imports corofy.
        kept = [
            alias
            for alias in node.names
            if cst.helpers.get_full_name_for_node(alias.name) != "corofy"
            or (alias.evaluated_alias or "corofy") not in names
        ]
        text = ", ".join(
            cst.Module([]).code_for_node(a.with_changes(comma=cst.MaybeSentinel.DEFAULT))
            for a in kept
        )
        edits.append((node, f"import {text}" if kept else None))
    return edits


def _check_rebinding(
    found: scopes.ModuleScopes,
    coroutines: list[Coroutine],
    aliases: set[str],
    positions: Any,
    filename: str,
) -> None:
    if not aliases:
        return
    checked = [found.module, *(c.scope.scope for c in coroutines)]
    for scope in checked:
        for name in sorted(aliases):
            for node in scope.binds.get(name, ()):
                if (
                    isinstance(node, cst.ImportFrom)
                    and node.module is not None
                    and cst.helpers.get_full_name_for_node(node.module) in MARKER_MODULES
                ):
                    continue  # the marker import itself
                refusals.refuse(filename, positions[node], refusals.REBIND.format(name=name))


# -- what the lowering asks of a coroutine's scope ------------------------------------------


@dataclass(eq=False)
class CoroutineScope:
    """The scope facts of one coroutine that lowering and rendering read."""

    scope: scopes.Scope
    locals: set[str]  # the coroutine's own locals (parameters included)
    captured: set[str]  # locals a nested def, lambda, class or genexp refers to or rebinds
    nested_refs: dict[int, str]  # id(Name) in a nested scope -> the coroutine local it names
    own_names: set[int]  # id() of the Name nodes in the coroutine's own scope
    nested_names: set[int]  # id() of the Name nodes in scopes nested in it

    def where(self, node: cst.CSTNode) -> str | None:
        """'own', 'nested', or None for a node made later (not in the source)."""
        if id(node) in self.own_names:
            return "own"
        if id(node) in self.nested_names:
            return "nested"
        return None


def coroutine_scope(scope: scopes.Scope) -> CoroutineScope:
    own_locals = scope.local_names()
    captured: set[str] = set()
    refs: dict[int, str] = {}
    nested_names: set[int] = set()
    for inner in scope.descendants():
        nested_names.update(id(n) for n in inner.names)
        # Does a read from ``inner`` outlive the statement (a def, lambda, class or genexp
        # between it and the coroutine), or is it a list/set/dict comprehension run in place?
        lasting = False
        s: scopes.Scope | None = inner
        while s is not None and s is not scope:
            if s.kind in ("function", "lambda", "class") or s.is_genexp:
                lasting = True
                break
            s = s.parent
        for node in inner.names:
            value = node.value
            if value in own_locals and inner.resolve(value) is scope:
                refs[id(node)] = value
                if lasting:
                    captured.add(value)
    # A binding made from inside a nested scope (a walrus in a comprehension, a nonlocal
    # in a nested def): the value must be seen there and here, so it lives on the machine.
    for value, nodes in scope.binds.items():
        for node in nodes:
            if isinstance(node, cst.Name) and id(node) in nested_names:
                captured.add(value)
                refs[id(node)] = value
    return CoroutineScope(
        scope, own_locals, captured, refs, {id(n) for n in scope.names}, nested_names
    )
