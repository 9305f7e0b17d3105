"""What a statement or expression reads, binds and deletes: the facts liveness works from.

``UseTable`` answers for the nodes of one coroutine and remembers its answers (the passes
over the resume functions ask about the same statements many times); it is made afresh for
each coroutine, since zero-argument ``super()`` reads that coroutine's first parameter.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from corofy.transform.ir import Block, Gen, Loop, Node, Raw, Try, With, walk
from corofy.transform.nodes import children_of


class _Uses:
    """Names a statement or expression reads, binds and deletes (reads may over-count).
    A walrus in a part that may not run (the right operand of ``and``/``or``, a branch of
    ``x if c else y``, a later comparison in a chain, an assert's message, a comprehension
    beyond its first iterable) binds only maybe: ``maybe_writes``, not ``writes``.

    A plain walk over node fields (``nodes.children_of``), not a libcst visitor: this runs
    on every statement of every resume block, and libcst's visitor dispatch was most of
    its cost."""

    def __init__(self, super_self: str | None = None) -> None:
        self.super_self = super_self  # the first parameter, in a method that uses super()
        self.reads: set[str] = set()
        self.writes: set[str] = set()
        self.dels: set[str] = set()
        self.maybe_writes: set[str] = set()
        self.nested = 0  # inside a nested def/class/lambda: its bindings are its own
        self.maybe = 0  # inside a part that may not run

    def _maybe(self, node: cst.CSTNode) -> None:
        self.maybe += 1
        self.visit(node)
        self.maybe -= 1

    def visit(self, node: cst.CSTNode) -> None:
        handler = _HANDLERS.get(type(node))
        if handler is None or handler(self, node):
            for child in children_of(node):
                self.visit(child)

    def visit_Name(self, node: cst.Name) -> bool:
        self.reads.add(node.value)
        return False

    def store(self, t: cst.CSTNode) -> None:
        if isinstance(t, cst.Name):
            (self.reads if self.nested else self.maybe_writes if self.maybe else self.writes).add(
                t.value
            )
        elif isinstance(t, (cst.Tuple, cst.List)):
            for el in t.elements:
                self.store(el.value)
        elif isinstance(t, cst.StarredElement):
            self.store(t.value)
        else:
            self.visit(t)

    def visit_Assign(self, node: cst.Assign) -> bool:
        self.visit(node.value)
        for t in node.targets:
            self.store(t.target)
        return False

    def visit_AugAssign(self, node: cst.AugAssign) -> bool:
        self.visit(node.target)
        self.visit(node.value)
        self.store(node.target)
        return False

    def visit_AnnAssign(self, node: cst.AnnAssign) -> bool:
        # In a function the annotation is never evaluated. Without a value, a target that is
        # not a plain name is still evaluated (its object, and a subscript's index), though
        # nothing is stored: ``d[k]: int`` reads d and k.
        if node.value is not None:
            self.visit(node.value)
            self.store(node.target)
        elif not isinstance(node.target, cst.Name):
            self.visit(node.target)
        return False

    def visit_NamedExpr(self, node: cst.NamedExpr) -> bool:
        self.visit(node.value)
        self.store(node.target)
        return False

    def visit_Del(self, node: cst.Del) -> bool:
        self._delete(node.target)
        return False

    def _delete(self, t: cst.CSTNode) -> None:
        if isinstance(t, cst.Name):
            self.reads.add(t.value)  # del needs the name bound: a use, for liveness
            if not self.nested:
                self.dels.add(t.value)
        elif isinstance(t, (cst.Tuple, cst.List)):
            for el in t.elements:
                self._delete(el.value)
        else:
            self.visit(t)

    def visit_Import(self, node: cst.Import) -> bool:
        for alias in node.names:
            self.store(cst.Name(alias.evaluated_alias or alias.evaluated_name.split(".")[0]))
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        if not isinstance(node.names, cst.ImportStar):
            for alias in node.names:
                self.store(cst.Name(alias.evaluated_alias or alias.evaluated_name))
        return False

    def _nested_body(self, body: cst.CSTNode) -> None:
        self.nested += 1
        self.visit(body)
        self.nested -= 1

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        for part in (*node.decorators, node.params):
            self.visit(part)
        if node.returns is not None:  # evaluated where the def stands, as its defaults
            self.visit(node.returns)
        self._nested_body(node.body)
        self.store(node.name)
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        for part in (*node.decorators, *node.bases, *node.keywords):
            self.visit(part)
        self._nested_body(node.body)
        self.store(node.name)
        return False

    def visit_TypeAlias(self, node: cst.TypeAlias) -> bool:
        # ``type X = value`` binds X; its value is evaluated later, when X.__value__ is read.
        if node.type_parameters is not None:
            self._nested_body(node.type_parameters)
        self._nested_body(node.value)
        self.store(node.name)
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        self._nested_body(node.params)
        self._nested_body(node.body)
        return False

    def visit_BooleanOperation(self, node: cst.BooleanOperation) -> bool:
        self.visit(node.left)
        self._maybe(node.right)
        return False

    def visit_IfExp(self, node: cst.IfExp) -> bool:
        self.visit(node.test)
        self._maybe(node.body)
        self._maybe(node.orelse)
        return False

    def visit_Comparison(self, node: cst.Comparison) -> bool:
        self.visit(node.left)
        for k, target in enumerate(node.comparisons):
            (self._maybe if k else self.visit)(target.comparator)
        return False

    def visit_Assert(self, node: cst.Assert) -> bool:
        self.visit(node.test)
        if node.msg is not None:
            self._maybe(node.msg)
        return False

    def _comprehension(
        self, node: cst.ListComp | cst.SetComp | cst.DictComp | cst.GeneratorExp
    ) -> bool:
        first = node.for_in
        self.visit(first.iter)  # evaluated at once; the rest runs once per item, maybe never
        self.maybe += 1
        for child in children_of(node):
            for part in children_of(first, "iter") if child is first else (child,):
                self.visit(part)
        self.maybe -= 1
        return False

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _comprehension

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        self.visit(node.value)
        return False

    def visit_Arg(self, node: cst.Arg) -> bool:
        self.visit(node.value)
        return False

    def visit_Call(self, node: cst.Call) -> bool:
        # Zero-argument super() reads the first parameter (and __class__) implicitly.
        if (
            isinstance(node.func, cst.Name)
            and node.func.value == "super"
            and not node.args
            and self.super_self is not None
        ):
            self.reads.add(self.super_self)
        return True


_HANDLERS = {
    getattr(cst, name[len("visit_") :]): method
    for name, method in vars(_Uses).items()
    if name.startswith("visit_")
}


_EMPTY: frozenset[str] = frozenset()


def _frozen(names: set[str]) -> frozenset[str]:
    return frozenset(names) if names else _EMPTY


Found = tuple[frozenset[str], frozenset[str], frozenset[str], frozenset[str]]


def uses(node: cst.CSTNode | None, super_self: str | None = None) -> Found:
    """What ``node`` reads, surely binds, deletes, and maybe binds (see ``_Uses``)."""
    if node is None:
        return _EMPTY, _EMPTY, _EMPTY, _EMPTY
    v = _Uses(super_self)
    v.visit(node)
    return _frozen(v.reads), _frozen(v.writes), _frozen(v.dels), _frozen(v.maybe_writes)


@dataclass
class UseTable:
    """``uses`` for the nodes of one coroutine, each node's answer remembered."""

    super_self: str | None = None  # the first parameter of a method that sees its class
    _found: dict[int, tuple[Found, cst.CSTNode]] = field(default_factory=dict)
    _deleted: dict[int, tuple[Node, frozenset[str], frozenset[str], frozenset[str]]] = field(
        default_factory=dict
    )

    def of(self, node: cst.CSTNode | None) -> Found:
        """``uses(node)``, remembered (by id, with the node kept so the id stays its own)."""
        if node is None:
            return _EMPTY, _EMPTY, _EMPTY, _EMPTY
        found = self._found.get(id(node))
        if found is None or found[1] is not node:
            found = self._found[id(node)] = (uses(node, self.super_self), node)
        return found[0]

    def target(self, t: cst.CSTNode) -> _Uses:
        """The walk of an assignment target ``t`` (reads in it, names it binds)."""
        v = _Uses(self.super_self)
        v.store(t)
        return v

    def deleted_in(self, n: Try | With | Loop) -> tuple[frozenset[str], frozenset[str]]:
        """What ``n``'s body may delete, and (a try) its handlers and else: the same for
        every Flow run over it, so computed once per node."""
        found = self._deleted_by(n)
        return found[1], found[2]

    def deleted_by_finally(self, n: Try) -> frozenset[str]:
        """What ``n``'s finally may delete (an ``except ... as`` inside it, a ``del``)."""
        return self._deleted_by(n)[3]

    def _deleted_by(
        self, n: Try | With | Loop
    ) -> tuple[Node, frozenset[str], frozenset[str], frozenset[str]]:
        found = self._deleted.get(id(n))
        if found is None or found[0] is not n:
            rest: set[str] = set()
            fin: set[str] = set()
            if isinstance(n, Try):
                rest = self.deleted([*(x for h in n.handlers for x in h.body), *n.orelse])
                fin = self.deleted(n.finalbody)
            found = self._deleted[id(n)] = (
                n,
                frozenset(self.deleted(n.body)),
                frozenset(rest),
                frozenset(fin),
            )
        return found

    def deleted(self, block: Block) -> set[str]:
        out: set[str] = set()
        for node in walk(block):
            if isinstance(node, Raw):
                out |= self.of(node.stmt)[2]
            elif isinstance(node, Gen):
                out |= node.dels
            elif isinstance(node, Try):
                out |= {h.name for h in node.handlers if h.name}
        return out


def pattern_names(pattern: cst.CSTNode) -> set[str]:
    found: set[str] = set()

    class _V(cst.CSTVisitor):
        def visit_MatchAs(self, node: cst.MatchAs) -> None:
            if node.name is not None:
                found.add(node.name.value)

        def visit_MatchStar(self, node: cst.MatchStar) -> None:
            if node.name is not None:
                found.add(node.name.value)

        def visit_MatchMapping(self, node: cst.MatchMapping) -> None:
            if node.rest is not None:
                found.add(node.rest.value)

    pattern.visit(_V())
    return found
