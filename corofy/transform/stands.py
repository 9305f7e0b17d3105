"""What a def or class statement evaluates where it stands, when it waits.

A nested def's decorators, defaults and annotations, and a class's decorators, bases and
keywords, run in the coroutine where the statement stands (SPEC §2.2: ``wait`` anywhere it
can appear); only their own bodies cannot suspend it. Such a statement is lowered as its
waiting parts evaluated first, in CPython's order, then the statement with what they gave.

Facts (CPython 3.11 to 3.13, checked by running them): a def evaluates its decorators top
to bottom, then its positional defaults, then its keyword-only defaults, then its
annotations (plain parameters first, then positional-only ones, ``*args``, keyword-only
ones, ``**kwargs``, the return); a class its decorators, then its bases, then its keywords.
(Lambda defaults and a generator expression's first iterable are expressions: ``Spill``.)
"""

from __future__ import annotations

import libcst as cst

from corofy.transform.context import Context
from corofy.transform.expressions import Spill
from corofy.transform.ir import Block

NESTED_WAITS = (
    "wait() in a decorator, default, annotation or base of a def or class that holds a "
    "nested @coroutine is not supported: wait() in a statement before it and use the value"
)


def def_statement(ctx: Context, s: cst.FunctionDef, line: int, out: Block) -> cst.FunctionDef:
    """The def with its waiting parts evaluated into ``out`` first."""
    _not_holding_nested(ctx, s)
    values = iter(Spill(ctx, line).ordered(def_evaluated(s), out))
    decorators = [d.with_changes(decorator=next(values)) for d in s.decorators]
    p = s.params
    defaults = {id(q): next(values) for q in _with_defaults(p)}
    annotations = {id(q): next(values) for q in _annotated(p)}
    returns = next(values)

    def param(q: cst.Param) -> cst.Param:
        new = q.with_changes(default=defaults[id(q)]) if id(q) in defaults else q
        if q.annotation is None:
            return new
        return new.with_changes(annotation=q.annotation.with_changes(annotation=annotations[id(q)]))

    star = p.star_arg
    params = p.with_changes(
        posonly_params=[param(q) for q in p.posonly_params],
        params=[param(q) for q in p.params],
        star_arg=param(star) if isinstance(star, cst.Param) else star,
        kwonly_params=[param(q) for q in p.kwonly_params],
        star_kwarg=param(p.star_kwarg) if p.star_kwarg is not None else None,
    )
    return s.with_changes(
        decorators=decorators,
        params=params,
        returns=s.returns.with_changes(annotation=returns) if s.returns else None,
    )


def class_statement(ctx: Context, s: cst.ClassDef, line: int, out: Block) -> cst.ClassDef:
    """The class statement with its waiting parts evaluated into ``out`` first."""
    _not_holding_nested(ctx, s)
    items = [d.decorator for d in s.decorators] + [a.value for a in (*s.bases, *s.keywords)]
    values = iter(Spill(ctx, line).ordered(items, out))
    return s.with_changes(
        decorators=[d.with_changes(decorator=next(values)) for d in s.decorators],
        bases=[a.with_changes(value=next(values)) for a in s.bases],
        keywords=[a.with_changes(value=next(values)) for a in s.keywords],
    )


def _not_holding_nested(ctx: Context, s: cst.FunctionDef | cst.ClassDef) -> None:
    # A statement holding nested coroutines is generated as a whole where it stands
    # (nested.py), keyed by its node: it cannot be rebuilt with what its waits gave.
    if any(s is child.node or s in child.chain for child in ctx.coroutine.children):
        ctx.refuse(s, NESTED_WAITS)


def def_evaluated(s: cst.FunctionDef) -> list[cst.BaseExpression | None]:
    """What a def statement evaluates where it stands, in CPython's order, None where a
    parameter has no default or annotation."""
    p = s.params
    return [
        *(d.decorator for d in s.decorators),
        *(q.default for q in _with_defaults(p)),
        *(q.annotation.annotation if q.annotation else None for q in _annotated(p)),
        s.returns.annotation if s.returns else None,
    ]


def _with_defaults(p: cst.Parameters) -> list[cst.Param]:
    return [*p.posonly_params, *p.params, *p.kwonly_params]


def _annotated(p: cst.Parameters) -> list[cst.Param]:
    star = [p.star_arg] if isinstance(p.star_arg, cst.Param) else []
    kwarg = [p.star_kwarg] if p.star_kwarg is not None else []
    return [*p.params, *p.posonly_params, *star, *p.kwonly_params, *kwarg]
