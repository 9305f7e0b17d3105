"""The header comment and the wrapper function: what stands where the coroutine's def stood.

The header is the book's "we rewrite this / into this": the original function as a comment.
The wrapper keeps the def's name, signature, decorators (but ``@coroutine``), docstring and
annotations, and its body builds the machine, passing it the parameters the machine keeps.
Its return annotation ``T`` becomes ``Future[T]`` (SPEC 2.4): calling it returns the machine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from corofy.transform.generated import Names
from corofy.transform.rename import Rename
from corofy.transform.writer import BREAKS, Writer

if TYPE_CHECKING:
    from corofy.transform.statements import Render


def class_name_for(function: str) -> str:
    # A name starting with two underscores would be mangled inside a class body.
    return (function.lstrip("_") if function.startswith("__") else function) + "_machine"


def write(w: Writer, r: Render, cls: str, init_args: list[str]) -> None:
    """The header comment and the wrapper function, which returns ``cls(*init_args)``."""
    ctx, names = r.ctx, r.names
    node = ctx.coroutine.node
    def_line = ctx.line(node)
    w.line(f"# corofy: the coroutine {ctx.coroutine.qualname} (line {def_line}) was written as")
    original = ctx.source_text.rstrip("\r\n")
    for text in BREAKS.split(original):
        w.line(f"#     {text}".rstrip())
    w.line(f"# and is rewritten into this function, which builds the state machine {cls} below.")
    kept = [d for d in node.decorators if d is not ctx.coroutine.marker]
    first_line = ctx.line(kept[0]) if kept else def_line
    if r.enclosing:  # decorators, defaults and annotations run in the enclosing coroutine
        outer = Rename(r.enclosing[-1].naming)
        kept = [d.visit(outer) for d in kept]
        node = node.with_changes(
            params=node.params.visit(outer),
            returns=node.returns.visit(outer) if node.returns else None,
        )
        # Defined in a resume function, it would be qualified by it: give it the qualname it
        # was written with, before any decorator (functools.wraps) sees it.
        kept.append(
            cst.Decorator(
                cst.parse_expression(
                    f"lambda f: f.__setattr__('__qualname__', {ctx.coroutine.qualname!r}) or f"
                )
            )
        )
    machine_class = (
        cst.Attribute(cst.Name("__class__"), cst.Name(cls))
        if ctx.coroutine.class_name
        else cst.Name(cls)
    )
    call = cst.SimpleStatementLine(
        [cst.Return(cst.Call(machine_class, [cst.Arg(cst.Name(a)) for a in init_args]))]
    )
    wrapper_body = ([r.docstring] if r.docstring is not None else []) + [call]
    # An indented block even for a body written on the def's line (`def f(): ...`).
    wrapper = node.with_changes(
        decorators=kept,
        leading_lines=[],
        returns=_future_of(node.returns, names),
        body=node.body.with_changes(body=wrapper_body, footer=[])
        if isinstance(node.body, cst.IndentedBlock)
        else cst.IndentedBlock(wrapper_body),
    )
    w.text(ctx.module.code_for_node(wrapper).strip("\r\n"), first_line, exact=False)


def _future_of(returns: cst.Annotation | None, names: Names) -> cst.Annotation | None:
    """The wrapper's return annotation: ``T`` becomes ``runtime.Future[T]`` (SPEC §2.4), since
    calling it returns the machine; a type checker reading the output sees what callers get."""
    if returns is None:
        return None
    element = cst.SubscriptElement(cst.Index(returns.annotation))
    return returns.with_changes(annotation=cst.Subscript(cst.Name(names.Future), [element]))
