"""A comprehension's variables, for lowering it to an explicit loop (``expressions.py``).

Facts this depends on (Python's scopes):

- A comprehension is a scope of its own, but for its first iterable, which the enclosing
  scope evaluates; a lambda is one too, but for its defaults, evaluated where it stands.
  A lambda binds its parameters and the targets of a walrus in its body; a comprehension
  binds its ``for`` targets. Nothing else an expression holds binds a name there.
- A lambda or generator expression reads the variables it closes over when it is called
  or iterated (late), through the cells of the frame that made it: one frame, so one cell
  for each variable, per run of the comprehension around it.
"""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from corofy.transform.context import Context
from corofy.transform.fstring_equals import spelled_out
from corofy.transform.nodes import children_of, is_node, node_fields


def clauses(for_in: cst.CompFor) -> Iterator[cst.CompFor]:
    """The ``for`` clauses of a comprehension, first to last."""
    clause: cst.CompFor | None = for_in
    while clause is not None:
        if clause.asynchronous is not None:
            raise ValueError("async comprehension")
        yield clause
        clause = clause.inner_for_in


def bound_names(target: cst.BaseExpression) -> list[cst.Name]:
    """The names a target binds where they stand (not those read in its subscripts)."""
    if isinstance(target, cst.Name):
        return [target]
    if isinstance(target, (cst.Tuple, cst.List)):
        return [n for el in target.elements for n in bound_names(el.value)]
    if isinstance(target, cst.StarredElement):
        return bound_names(target.value)
    return []


# Fields whose Name is not a variable: kept as written when renaming.
_NOT_RENAMED = {cst.Attribute: "attr", cst.Arg: "keyword"}
_COMPREHENSIONS = (cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)


def _lambda_binds(node: cst.Lambda) -> set[str]:
    """The names a lambda binds: its parameters, and a walrus in its body (not in a lambda
    inside it)."""
    found = {p.name.value for p in _params(node)}
    todo: list[cst.CSTNode] = [node.body]
    while todo:
        sub = todo.pop()
        if isinstance(sub, cst.NamedExpr) and isinstance(sub.target, cst.Name):
            found.add(sub.target.value)
        if not isinstance(sub, cst.Lambda):
            todo.extend(children_of(sub))
    return found


def _comprehension_binds(node) -> set[str]:
    return {n.value for c in clauses(node.for_in) for n in bound_names(c.target)}


def read_late(e) -> set[str]:
    """The variables of comprehension ``e`` that a lambda or generator expression in it
    reads: they read them when called or iterated, maybe after the run moved on."""
    found: set[str] = set()
    names = frozenset(_comprehension_binds(e))
    for part in _inner_parts(e):
        _late_reads(part, names, False, found)
    return found


def _inner_parts(node) -> list[cst.CSTNode]:
    """The parts of comprehension ``node`` evaluated in its own scope: all but its first
    iterable (the enclosing scope evaluates that)."""
    first = node.for_in
    return [
        part
        for child in children_of(node)
        for part in (children_of(first, "iter") if child is first else (child,))
    ]


def _late_reads(node, names: frozenset[str], late: bool, found: set[str]) -> None:
    """Add to ``found`` those of ``names`` that ``node`` reads late (``late``: inside a
    lambda or generator expression), where no inner binding hides them."""
    if not names:
        return
    kind = type(node)
    if kind is cst.Name:
        if late and node.value in names:
            found.add(node.value)
        return
    if kind is cst.Lambda:
        for p in _params(node):
            if p.default is not None:
                _late_reads(p.default, names, late, found)
        _late_reads(node.body, names - _lambda_binds(node), True, found)
        return
    if kind in _COMPREHENSIONS:
        _late_reads(node.for_in.iter, names, late, found)
        inner = names - _comprehension_binds(node)
        for part in _inner_parts(node):
            _late_reads(part, inner, late or kind is cst.GeneratorExp, found)
        return
    for child in children_of(node, _NOT_RENAMED.get(kind)):
        _late_reads(child, names, late, found)


def _params(node: cst.Lambda) -> list[cst.Param]:
    params = node.params
    stars = [s for s in (params.star_arg, params.star_kwarg) if isinstance(s, cst.Param)]
    return [*params.posonly_params, *params.params, *params.kwonly_params, *stars]


def rename(node, renames: dict[str, cst.BaseExpression], ctx: Context):
    """``node`` with a comprehension's loop variables renamed: each to its temporary or
    to its attribute of the run's Scope, but where a lambda or comprehension inside
    binds the name again. Only the nodes above a renamed Name are made again (a plain
    field walk: no libcst transformer); a remade node that holds a wait takes over the
    original's wait marks, for the spill."""
    if not renames or node is None:
        return node
    return _renamed(node, renames, ctx)


def _renamed(node, renames: dict[str, cst.BaseExpression], ctx: Context):
    kind = type(node)
    if kind is cst.Name:
        new = renames.get(node.value)
        if new is None:
            return node
        return new.with_changes(lpar=node.lpar, rpar=node.rpar)
    if kind is cst.Lambda:  # its defaults are evaluated where it stands, its body is its own
        params = node.params
        changes = {}
        for field in ("posonly_params", "params", "kwonly_params", "star_arg", "star_kwarg"):
            old = getattr(params, field)
            if isinstance(old, cst.Param):
                new = _renamed_default(old, renames, ctx)
            elif type(old) is list or type(old) is tuple:
                items = [_renamed_default(p, renames, ctx) for p in old]
                new = items if any(a is not b for a, b in zip(items, old)) else old
            else:
                new = old
            if new is not old:
                changes[field] = new
        body = rename(node.body, _without(renames, _lambda_binds(node)), ctx)
        if not changes and body is node.body:
            return node
        remade = node.with_changes(params=params.with_changes(**changes), body=body)
        return _remade(node, remade, ctx)
    if kind in _COMPREHENSIONS:  # its first iterable is the enclosing scope's
        first = node.for_in
        inner = _without(renames, _comprehension_binds(node))
        new_iter = _renamed(first.iter, renames, ctx)
        new_for = _renamed_fields(first, inner, ctx, "iter")
        if new_iter is not first.iter:
            new_for = _remade(first, new_for.with_changes(iter=new_iter), ctx)
        rest = _renamed_fields(node, inner, ctx, "for_in")
        if new_for is first:
            return rest
        return _remade(node, rest.with_changes(for_in=new_for), ctx)
    return _renamed_fields(node, renames, ctx)


def _renamed_default(p: cst.Param, renames, ctx: Context) -> cst.Param:
    """A lambda's parameter with its default (evaluated where the lambda stands) renamed."""
    if p.default is None:
        return p
    default = _renamed(p.default, renames, ctx)
    return p if default is p.default else p.with_changes(default=default)


def _without(renames: dict[str, cst.BaseExpression], names: set[str]) -> dict:
    if not names & renames.keys():
        return renames
    return {k: v for k, v in renames.items() if k not in names}


def _renamed_fields(node, renames, ctx: Context, skip: str | None = None):
    """``node`` with its fields renamed (but field ``skip``)."""
    if not renames:
        return node
    kind = type(node)
    not_renamed = _NOT_RENAMED.get(kind)
    changes = {}
    for field in node_fields(kind):
        if field in (skip, not_renamed):
            continue
        value = getattr(node, field)
        vkind = type(value)
        if vkind is list or vkind is tuple:
            items = [
                _renamed(item, renames, ctx) if is_node[type(item)] else item for item in value
            ]
            if any(a is not b for a, b in zip(items, value)):
                changes[field] = items
        elif is_node[vkind]:
            new = _renamed(value, renames, ctx)
            if new is not value:
                changes[field] = new
    if not changes:
        return node
    return _remade(node, node.with_changes(**changes), ctx)


def _remade(node, result, ctx: Context):
    """``result``, what renaming made of ``node``, with its marks."""
    if type(node) is cst.FormattedString:  # f"{p=}" keeps the text "p="
        result = spelled_out(node, result, ctx.positions)
    if id(node) in ctx.has_wait:
        ctx.keep.append(result)
        ctx.has_wait.add(id(result))
        if id(node) in ctx.wait_calls:
            ctx.wait_calls.add(id(result))
            ctx.wait_origin[id(result)] = ctx.wait_origin.get(id(node), node)
    return result
