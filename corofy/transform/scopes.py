"""Python's scopes over a libcst module, in one plain walk.

libcst's ``ScopeProvider`` (with the ``ExpressionContextProvider`` it needs) answers the
same questions, but costs two full visitor walks: on a module dense with coroutines that
was a quarter of the whole transform. This walk follows each node type's fields directly
(no visitor dispatch, no whitespace nodes) and records what corofy asks:

- every scope (module, function, lambda, class, comprehension) with the names bound in
  it, its ``global``/``nonlocal`` declarations, and the Name nodes that read or bind there;
- the binding nodes of each name (an import, an assignment's Name, a def...), so a name
  can be resolved to what binds it (the corofy markers are recognised by binding);
- each Name-or-``x.attr`` used as a callee, a decorator or a plain value, and the chain
  of nodes above each callee (what a ``wait`` call must mark as containing a wait);
- every def (a coroutine candidate) and every ``yield``/``await``/``async for``/``async
  with``, with the defs and nested scopes around them.

Facts of Python's scoping it follows (the language reference, "Naming and binding"):
- decorators, default values and annotations of a def or lambda, and a class's bases and
  keywords, are evaluated in the enclosing scope; the def or class name binds there;
- a comprehension's first iterable is evaluated in the enclosing scope, the rest in the
  comprehension's own; a walrus inside a comprehension binds in the nearest enclosing
  scope that is not a comprehension;
- a name bound anywhere in a scope is local to it unless declared ``global``/``nonlocal``
  there; ``del x`` binds; ``import a.b`` binds ``a``; match captures bind;
- class scopes are skipped when a nested scope resolves a free name.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Iterator

import libcst as cst

from corofy.transform.nodes import children_of

LOAD, STORE, DEL = 0, 1, 2


def is_private(name: str) -> bool:
    """``__x`` but not ``__x__``: a name Python mangles inside a class body."""
    return name.startswith("__") and not name.endswith("__")


class Scope:
    """One scope: what is bound in it, declared in it, and which Name nodes sit in it."""

    __slots__ = (
        "binds",
        "children",
        "declared_global",
        "declared_nonlocal",
        "kind",
        "names",
        "node",
        "parent",
    )

    def __init__(self, kind: str, node: cst.CSTNode, parent: Scope | None) -> None:
        self.kind = kind  # "module", "function", "lambda", "class", "comprehension"
        self.node = node
        self.parent = parent
        self.children: list[Scope] = []
        self.binds: dict[str, list[cst.CSTNode]] = {}  # name -> binding nodes, as written here
        self.declared_global: set[str] = set()
        self.declared_nonlocal: set[str] = set()
        self.names: list[cst.Name] = []  # every Name node read or bound here
        if parent is not None:
            parent.children.append(self)

    @property
    def is_genexp(self) -> bool:
        return isinstance(self.node, cst.GeneratorExp)

    def local_names(self) -> set[str]:
        """Names local to this scope (bound here and not declared global/nonlocal)."""
        return {
            n
            for n in self.binds
            if n not in self.declared_global and n not in self.declared_nonlocal
        }

    def descendants(self) -> Iterator[Scope]:
        for child in self.children:
            yield child
            yield from child.descendants()

    def resolve(self, name: str) -> Scope | None:
        """The scope whose local ``name`` is, read from here (None: a builtin or unbound)."""
        module = self
        while module.parent is not None:
            module = module.parent
        if name in self.declared_global:
            return module
        if name not in self.declared_nonlocal and name in self.binds:
            return self
        scope = self.parent
        while scope is not None and scope.parent is not None:
            if scope.kind != "class":
                if name in scope.declared_global:
                    return module
                if name in scope.binds and name not in scope.declared_nonlocal:
                    return scope
            scope = scope.parent
        return module if name in module.binds else None


@dataclasses.dataclass(eq=False)
class Use:
    """A Name (or ``name.attr``) used as a callee, decorator or value."""

    name: cst.Name
    attr: str | None  # set for ``name.attr``
    node: cst.CSTNode  # the Name, or the Attribute ``name.attr``
    scope: Scope
    role: str  # "call", "decorator" or "value"
    order: int  # walk order, for reporting the first problem first
    chain: tuple[cst.CSTNode, ...] = ()  # for calls: the nodes from the module down to the call
    parent: cst.CSTNode | None = None  # for values: the node holding it


@dataclasses.dataclass(eq=False)
class Def:
    """A def, and what coroutine detection needs to know about it."""

    node: cst.FunctionDef
    scope: Scope  # its own scope
    qualname: str
    class_name: str | None  # the class it is directly a method of
    chain: tuple[cst.CSTNode, ...]  # nodes from the module down to the def itself
    decorators: list[Use]
    order: int


@dataclasses.dataclass(eq=False)
class Marked:
    """A yield, await, async for or async with, and where it sits."""

    node: cst.CSTNode
    kind: str
    order: int
    chain: tuple[cst.CSTNode, ...]


@dataclasses.dataclass(eq=False)
class ModuleScopes:
    module: Scope
    defs: list[Def]
    classes: list[tuple[cst.ClassDef, list[Use], int]]  # each class, its decorators, order
    calls: list[Use]  # callees that are a name or name.attr
    values: dict[str, list[Use]]  # name -> its other reads (as a value, or name.attr)
    marked: list[Marked]
    imports: list[tuple[cst.CSTNode, Scope, int]]  # every Import/ImportFrom, its scope, order
    privates: list[tuple[cst.CSTNode, Scope, int]]  # x.__a attributes and ``import __a``


class _Walk:
    def __init__(self, watch: Collection[str] | None = None) -> None:
        self.watch = watch  # the names whose value uses are recorded (None: all)
        self.stack: list[cst.CSTNode] = []
        self.order = 0
        self.scope: Scope | None = None
        self.module_scope: Scope | None = None
        self.defs: list[Def] = []
        self.classes: list[tuple[cst.ClassDef, list[Use], int]] = []
        self.calls: list[Use] = []
        self.values: dict[str, list[Use]] = {}
        self.marked: list[Marked] = []
        self.imports: list[tuple[cst.CSTNode, Scope, int]] = []
        self.privates: list[tuple[cst.CSTNode, Scope, int]] = []
        self.qual: list[str] = []
        handlers: dict[type, Callable[[cst.CSTNode, int], None]] = {
            cst.Name: self.name,
            cst.Attribute: self.attribute,
            cst.Call: self.call,
            cst.Arg: self.arg,
            cst.FunctionDef: self.function_def,
            cst.ClassDef: self.class_def,
            cst.Lambda: self.lambda_,
            cst.TypeAlias: self.type_alias,
            cst.ListComp: self.comprehension,
            cst.SetComp: self.comprehension,
            cst.GeneratorExp: self.comprehension,
            cst.DictComp: self.comprehension,
            cst.Assign: self.assign,
            cst.AugAssign: self.aug_assign,
            cst.AnnAssign: self.ann_assign,
            cst.For: self.for_,
            cst.With: self.with_,
            cst.WithItem: self.with_item,
            cst.ExceptHandler: self.except_handler,
            cst.ExceptStarHandler: self.except_handler,
            cst.Import: self.import_,
            cst.ImportFrom: self.import_from,
            cst.Global: self.declare,
            cst.Nonlocal: self.declare,
            cst.NamedExpr: self.named_expr,
            cst.Del: self.delete,
            cst.MatchAs: self.match_capture,
            cst.MatchStar: self.match_capture,
            cst.MatchMapping: self.match_mapping,
            cst.MatchKeywordElement: self.match_keyword,
            cst.Yield: self.mark,
            cst.Await: self.mark,
            cst.Tuple: self.sequence,
            cst.List: self.sequence,
            cst.StarredElement: self.starred,
            cst.Element: self.element,
            cst.Subscript: self.subscript,
        }
        self.handlers = handlers

    # -- traversal -------------------------------------------------------------------------
    def visit(self, node: cst.CSTNode, ctx: int = LOAD) -> None:
        self.stack.append(node)
        self.order += 1
        handler = self.handlers.get(type(node))
        if handler is None:
            self.children(node)
        else:
            handler(node, ctx)
        self.stack.pop()

    def children(self, node: cst.CSTNode, ctx: int = LOAD) -> None:
        for child in children_of(node):
            self.visit(child, ctx)

    def some(self, nodes, ctx: int = LOAD) -> None:
        for node in nodes:
            if node is not None:
                self.visit(node, ctx)

    def open(self, kind: str, node: cst.CSTNode) -> Scope:
        scope = Scope(kind, node, self.scope)
        self.scope = scope
        return scope

    def close(self, scope: Scope) -> None:
        self.scope = scope.parent

    def bind(self, node: cst.Name, scope: Scope | None = None) -> None:
        here = self.scope
        assert here is not None
        (scope or here).binds.setdefault(node.value, []).append(node)
        here.names.append(node)

    def bind_as(self, name: str, node: cst.CSTNode) -> None:
        assert self.scope is not None
        self.scope.binds.setdefault(name, []).append(node)

    # -- names -----------------------------------------------------------------------------
    def name(self, node: cst.Name, ctx: int) -> None:
        scope = self.scope
        assert scope is not None
        if ctx == LOAD:
            scope.names.append(node)
            if self.watch is None or node.value in self.watch:
                self.values.setdefault(node.value, []).append(
                    Use(node, None, node, scope, "value", self.order, parent=self.stack[-2])
                )
        else:  # a store or a del binds the name here
            self.bind(node)

    def attribute(self, node: cst.Attribute, ctx: int) -> None:
        attr = node.attr.value
        if is_private(attr):
            assert self.scope is not None
            self.privates.append((node, self.scope, self.order))
        value = node.value
        if isinstance(value, cst.Name):
            self.stack.append(value)
            self.order += 1
            scope = self.scope
            assert scope is not None
            scope.names.append(value)
            self.stack.pop()
            if self.watch is None or value.value in self.watch:
                self.values.setdefault(value.value, []).append(
                    Use(
                        value,
                        node.attr.value,
                        node,
                        scope,
                        "value",
                        self.order,
                        parent=self.stack[-2],
                    )
                )
        else:
            self.visit(value)

    def subscript(self, node: cst.Subscript, ctx: int) -> None:
        self.visit(node.value)
        self.some(node.slice)

    def _taken_use(self, expr: cst.CSTNode) -> Use | None:
        """The value use just recorded for ``expr`` (a name or name.attr), taken back."""
        base = expr.value if isinstance(expr, cst.Attribute) else expr
        if not isinstance(base, cst.Name):
            return None
        found = self.values.get(base.value)
        if found and found[-1].node is expr:
            return found.pop()
        return None

    def call(self, node: cst.Call, ctx: int) -> None:
        self.visit(node.func)
        use = self._taken_use(node.func)
        if use is not None:
            use.role = "call"
            use.chain = tuple(self.stack)
            self.calls.append(use)
        self.some(node.args)

    def arg(self, node: cst.Arg, ctx: int) -> None:
        self.visit(node.value)  # the keyword is not a variable

    # -- targets ---------------------------------------------------------------------------
    def sequence(self, node: cst.Tuple | cst.List, ctx: int) -> None:
        self.some(node.elements, ctx)

    def element(self, node: cst.Element, ctx: int) -> None:
        self.visit(node.value, ctx)

    def starred(self, node: cst.StarredElement, ctx: int) -> None:
        self.visit(node.value, ctx)

    def assign(self, node: cst.Assign, ctx: int) -> None:
        self.visit(node.value)
        for target in node.targets:
            self.stack.append(target)
            self.order += 1
            self.visit(target.target, STORE)
            self.stack.pop()

    def aug_assign(self, node: cst.AugAssign, ctx: int) -> None:
        target = node.target
        if isinstance(target, cst.Name):
            self.visit(target, LOAD)
            self.bind(target)
        else:
            self.visit(target)
        self.visit(node.value)

    def ann_assign(self, node: cst.AnnAssign, ctx: int) -> None:
        self.visit(node.annotation)
        if node.value is not None:
            self.visit(node.value)
        self.visit(node.target, STORE)

    def named_expr(self, node: cst.NamedExpr, ctx: int) -> None:
        self.visit(node.value)
        target = node.target
        scope = self.scope
        assert scope is not None
        while scope.kind == "comprehension" and scope.parent is not None:
            scope = scope.parent
        if isinstance(target, cst.Name):
            self.stack.append(target)
            self.order += 1
            self.bind(target, scope)
            self.stack.pop()
        else:
            self.visit(target)

    def delete(self, node: cst.Del, ctx: int) -> None:
        self.visit(node.target, DEL)

    def for_(self, node: cst.For, ctx: int) -> None:
        if node.asynchronous is not None:
            self.marked.append(Marked(node, "async for", self.order, tuple(self.stack)))
        self.visit(node.iter)
        self.visit(node.target, STORE)
        self.visit(node.body)
        if node.orelse is not None:
            self.visit(node.orelse)

    def with_(self, node: cst.With, ctx: int) -> None:
        if node.asynchronous is not None:
            self.marked.append(Marked(node, "async with", self.order, tuple(self.stack)))
        self.some(node.items)
        self.visit(node.body)

    def _as_name(self, asname: cst.AsName | None) -> None:
        """``with ... as x`` / ``except ... as x``: x (or a target) is bound here."""
        if asname is not None:
            self.stack.append(asname)
            self.order += 1
            self.visit(asname.name, STORE)
            self.stack.pop()

    def with_item(self, node: cst.WithItem, ctx: int) -> None:
        self.visit(node.item)
        self._as_name(node.asname)

    def except_handler(self, node: cst.ExceptHandler | cst.ExceptStarHandler, ctx: int) -> None:
        if node.type is not None:
            self.visit(node.type)
        self._as_name(node.name)
        self.visit(node.body)

    def match_capture(self, node: cst.MatchAs | cst.MatchStar, ctx: int) -> None:
        pattern = getattr(node, "pattern", None)
        if pattern is not None:
            self.visit(pattern)
        if node.name is not None:
            self.visit(node.name, STORE)

    def match_mapping(self, node: cst.MatchMapping, ctx: int) -> None:
        self.some(node.elements)
        if node.rest is not None:
            self.visit(node.rest, STORE)

    def match_keyword(self, node: cst.MatchKeywordElement, ctx: int) -> None:
        self.visit(node.pattern)  # the key is an attribute name

    # -- imports and declarations ----------------------------------------------------------
    def import_(self, node: cst.Import, ctx: int) -> None:
        assert self.scope is not None
        self.imports.append((node, self.scope, self.order))
        for alias in node.names:
            first = alias.evaluated_name.split(".")[0]
            if is_private(first):
                self.privates.append((alias, self.scope, self.order))
            if alias.asname is not None:
                self.bind_as(alias.evaluated_alias or "", node)
            else:
                self.bind_as(alias.evaluated_name.split(".")[0], node)

    def import_from(self, node: cst.ImportFrom, ctx: int) -> None:
        assert self.scope is not None
        self.imports.append((node, self.scope, self.order))
        if isinstance(node.names, cst.ImportStar):
            return
        for alias in node.names:
            self.bind_as(alias.evaluated_alias or alias.evaluated_name, node)

    def declare(self, node: cst.Global | cst.Nonlocal, ctx: int) -> None:
        scope = self.scope
        assert scope is not None
        into = scope.declared_global if isinstance(node, cst.Global) else scope.declared_nonlocal
        for item in node.names:
            into.add(item.name.value)

    def mark(self, node: cst.Yield | cst.Await, ctx: int) -> None:
        if isinstance(node, cst.Yield):
            kind = "yield from" if isinstance(node.value, cst.From) else "yield"
        else:
            kind = "await"
        self.marked.append(Marked(node, kind, self.order, tuple(self.stack)))
        self.children(node)

    # -- scopes ----------------------------------------------------------------------------
    def _decorators(self, decorators) -> list[Use]:
        found = []
        for decorator in decorators:
            self.visit(decorator)
            use = self._taken_use(decorator.decorator)
            if use is not None:
                use.role = "decorator"
                use.parent = decorator
                found.append(use)
        return found

    def _params_outside(self, params: cst.Parameters) -> None:
        """Defaults and annotations: evaluated where the def or lambda is."""
        for param in (
            *params.posonly_params,
            *params.params,
            *params.kwonly_params,
            params.star_arg,
            params.star_kwarg,
        ):
            if isinstance(param, cst.Param):
                if param.default is not None:
                    self.visit(param.default)
                if param.annotation is not None:
                    self.visit(param.annotation)

    def _params_inside(self, params: cst.Parameters) -> None:
        for param in (
            *params.posonly_params,
            *params.params,
            *params.kwonly_params,
            params.star_arg,
            params.star_kwarg,
        ):
            if isinstance(param, cst.Param):
                self.bind(param.name)

    def function_def(self, node: cst.FunctionDef, ctx: int) -> None:
        order = self.order
        decorators = self._decorators(node.decorators)
        self.stack.append(node.params)
        self._params_outside(node.params)
        self.stack.pop()
        if node.returns is not None:
            self.visit(node.returns)
        self.stack.append(node.name)
        self.bind(node.name)
        self.stack.pop()
        class_name = None
        if len(self.stack) >= 3 and isinstance(self.stack[-3], cst.ClassDef):
            class_name = self.stack[-3].name.value
        qualname = ".".join([*self.qual, node.name.value])
        scope = self.open("function", node)
        self.defs.append(
            Def(node, scope, qualname, class_name, tuple(self.stack), decorators, order)
        )
        self._params_inside(node.params)
        self.qual.append(node.name.value + ".<locals>")
        self.visit(node.body)
        self.qual.pop()
        self.close(scope)

    def class_def(self, node: cst.ClassDef, ctx: int) -> None:
        self.classes.append((node, self._decorators(node.decorators), self.order))
        self.some(node.bases)
        self.some(node.keywords)
        self.stack.append(node.name)
        self.bind(node.name)
        self.stack.pop()
        scope = self.open("class", node)
        self.qual.append(node.name.value)
        self.visit(node.body)
        self.qual.pop()
        self.close(scope)

    def lambda_(self, node: cst.Lambda, ctx: int) -> None:
        self.stack.append(node.params)
        self._params_outside(node.params)
        self.stack.pop()
        scope = self.open("lambda", node)
        self._params_inside(node.params)
        self.visit(node.body)
        self.close(scope)

    def type_alias(self, node: cst.TypeAlias, ctx: int) -> None:
        # ``type X = value`` binds X here; its value (and type parameters) is evaluated
        # lazily, in a scope of its own: as a lambda's body.
        self.stack.append(node.name)
        self.bind(node.name)
        self.stack.pop()
        scope = self.open("lambda", node)
        if node.type_parameters is not None:
            self.visit(node.type_parameters)
        self.visit(node.value)
        self.close(scope)

    def comprehension(self, node, ctx: int) -> None:
        first = node.for_in
        self.stack.append(first)
        self.visit(first.iter)  # the first iterable: in the enclosing scope
        self.stack.pop()
        scope = self.open("comprehension", node)
        self._comp_for(first, outermost=True)
        if isinstance(node, cst.DictComp):
            self.visit(node.key)
            self.visit(node.value)
        else:
            self.visit(node.elt)
        self.close(scope)

    def _comp_for(self, comp: cst.CompFor, outermost: bool = False) -> None:
        self.stack.append(comp)
        self.order += 1
        if comp.asynchronous is not None:
            self.marked.append(Marked(comp, "async comprehension", self.order, tuple(self.stack)))
        if not outermost:
            self.visit(comp.iter)
        self.visit(comp.target, STORE)
        self.some(comp.ifs)
        if comp.inner_for_in is not None:
            self._comp_for(comp.inner_for_in)
        self.stack.pop()


def walk(module: cst.Module, watch: Collection[str] | None = None) -> ModuleScopes:
    """Scopes, uses, defs and marks of ``module``. Uses (values, calls, decorators) are
    recorded only of the names in ``watch``, when given."""
    w = _Walk(watch)
    top = w.open("module", module)
    w.stack.append(module)
    w.children(module)
    w.stack.pop()
    # A binding under ``global x``/``nonlocal x`` binds x where the declaration points.
    for scope in top.descendants():
        for name in scope.declared_global | scope.declared_nonlocal:
            nodes = scope.binds.get(name)
            if nodes:
                target = top if name in scope.declared_global else scope.resolve(name)
                if target is not None and target is not scope:
                    target.binds.setdefault(name, []).extend(nodes)
    return ModuleScopes(top, w.defs, w.classes, w.calls, w.values, w.marked, w.imports, w.privates)
