"""Coroutines nested in a coroutine: generated inside it, where their def stood.

A ``@coroutine`` defined in another coroutine's body (or in a def or class there) becomes its
wrapper function and machine class at the same place in the enclosing coroutine's generated
code, so that Python's closures keep working as written. Facts this depends on:

- The enclosing coroutine keeps on its machine every local that a nested scope uses
  (``liveness``: captured locals are "cold"), and its resume functions hold the machine in a
  local (``_m``). So inside the nested coroutine's generated code a read or write of such a
  local is ``_m.x`` on the *enclosing* machine, reached as a closure; the nested machine's
  own name must differ (``_m_``): its ``Context`` counts the enclosing names as taken.
- ``nonlocal x`` for such a local names a variable no generated function has: it is dropped
  (the slot is written instead), as the enclosing coroutine's own nested defs do.
- Decorators, defaults and annotations of the nested def run in the enclosing coroutine:
  they are renamed as its code is.
- The statement holding nested coroutines (their def, or a def or class around them) runs
  in a method of the enclosing machine (``Factory``) that returns what it binds; the
  resume functions call it where the statement stood. So the nested code is printed once
  even where the statement is (a loop body re-entered after each of its waits). It needs
  the machine (captured locals live there) and the Python locals its decorators, defaults
  and annotations read, passed in.
- The statement is printed with a placeholder line for each nested coroutine; the nested
  code, generated once, replaces that line at its indentation, and each of its lines
  keeps its own original line number.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import libcst as cst

from corofy.transform.find import Coroutine
from corofy.transform.ir import Raw
from corofy.transform.nodes import children_of
from corofy.transform.rename import placeholder
from corofy.transform.writer import BREAKS, Writer, leading_lines_dropped, string_lines

if TYPE_CHECKING:
    from corofy.transform.context import Context
    from corofy.transform.generated import MachineText, Names
    from corofy.transform.liveness import Storage
    from corofy.transform.rename import Naming


class Render(Protocol):
    """What this module needs of the statement printer (``statements.Render``, which
    imports this module): a Protocol, so that no import cycle runs through here, not even
    one for type checking."""

    ctx: Context
    coroutine: Coroutine
    storage: Storage
    declarations: Any
    names: Names
    indent: str
    naming: Naming
    fast: bool
    renamed: Any  # statements' _RenameTriggers: may a text hold a name Rename changes?
    enclosing: list[Render]
    holds_nested: frozenset[int]
    generate: Any  # nested coroutine -> its MachineText
    factories: dict[int, Any]  # id(statement) -> the method that runs it

    def code(self, node: cst.CSTNode) -> str: ...
    def mangle(self, ident: str) -> str: ...
    def slot(self, local: str) -> str: ...


def prepare(
    r: Render,
    coroutine: Coroutine,
    enclosing: list[Render],
    generate: Callable[[Coroutine], MachineText],
) -> None:
    """Tell ``r`` (the Render of ``coroutine``) which coroutines enclose it and which it
    encloses; ``generate`` makes the code of a nested one."""
    r.enclosing = enclosing
    r.naming.enclosing = [outer.naming for outer in enclosing]
    r.generate = generate
    inside = coroutine.scope
    refs: dict[int, tuple[str, str]] = {}
    named: set[str] = set()
    for outer in enclosing:
        storage = outer.storage
        for nid, value in storage.nested_refs.items():
            if value in storage.cold and (nid in inside.own_names or nid in inside.nested_names):
                refs[nid] = (outer.names.m, outer.slot(value))
                named.add(value)
    r.naming.outer_refs = refs
    if enclosing:
        scopes = {id(outer.coroutine.scope.scope): outer for outer in enclosing}
        dropped: set[str] = set()
        own = inside.scope
        for scope in (own, *own.descendants()):
            for value in scope.declared_nonlocal:
                target = scope.resolve(value)
                outer = scopes.get(id(target)) if target is not None else None
                # A captured local lives on that machine (cold); one no scope here uses is
                # a plain local of some resume function: either way no generated function
                # binds it, so the declaration goes.
                if outer is not None:
                    dropped.add(value)
        r.naming.outer_nonlocals = frozenset(dropped)
        named |= dropped  # Rename must walk the statements declaring them
    if named:
        r.fast = False
        r.renamed = type(r.renamed)(r.storage.cold | named, r.renamed.in_class)
    r.naming.nested = {id(child.node): child for child in coroutine.children}
    holding: set[int] = set()
    for child in coroutine.children:
        below = child.chain.index(coroutine.node) + 1 if coroutine.node in child.chain else 0
        holding.update(id(n) for n in child.chain[below:])
    r.holds_nested = frozenset(holding)


@dataclass
class Factory:
    """A method of the enclosing machine that runs one statement holding nested coroutines
    and returns what it binds: the nested code is printed once, however many resume
    functions run the statement (a loop re-entered after each of its waits would repeat
    it), which keeps the output linear."""

    name: str
    args: list[str]  # the enclosing coroutine's Python locals the statement reads as it runs
    binds: list[str]  # what it binds there: its name, then Python locals a walrus binds
    lines: list[str]
    origin: list[int]


def write(r: Render, w: Writer, n: Raw) -> None:
    """Statement ``n`` (a def or class holding nested coroutines, or one itself): a call of
    the method that runs it, binding its name."""
    factory = r.factories.get(id(n.stmt))
    if factory is None:
        factory = r.factories[id(n.stmt)] = _factory(r, n)
    args = "".join(f", {r.mangle(a)}" for a in factory.args)
    binds = ", ".join(r.mangle(b) for b in factory.binds)
    w.line(f"{binds} = {r.names.m}.{factory.name}({args[2:]})", n.line)


def methods(r: Render, body: Writer) -> None:
    """The methods running statements that hold nested coroutines, into the class body."""
    for factory in r.factories.values():
        body.line("")
        _insert(body, factory.lines, factory.origin, body.prefix)


def _factory(r: Render, n: Raw) -> Factory:
    stmt = n.stmt
    bound = stmt.name.value
    name = f"_def_{bound.lstrip('_')}_line{n.line}"
    while name in r.ctx.taken:
        name += "_"
    r.ctx.taken.add(name)
    # What the statement reads as it runs (decorators, defaults, annotations, bases) in
    # the enclosing coroutine's own scope and keeps in Python locals: passed in. What
    # nested scopes read of it is on the machine (captured locals are kept there).
    found: set[str] = set()
    walrus: set[str] = set()  # bound by a walrus in a decorator or default: returned
    _own_reads(r, stmt, found, walrus)
    hot = r.storage.locals - r.storage.cold
    args = sorted((found - walrus) & hot)
    binds = [bound, *sorted(walrus & hot - {bound})]
    w = _writer(r)
    params = "".join(f", {r.mangle(a)}" for a in args)
    w.line(f"def {name}({r.names.m}{params}):  # the statement at line {n.line}")
    w.level = 1
    for decl in r.declarations:
        w.line(r.code(decl).rstrip().rstrip(";"))
    _statement(r, w, n)
    w.line(f"return {', '.join(r.mangle(b) for b in binds)}")
    return Factory(name, args, binds, w.lines, w.origin)


def _writer(r: Render) -> Writer:
    return Writer(r.indent, "")


def _own_reads(r: Render, node: Any, found: set[str], walrus: set[str]) -> None:
    if isinstance(node, cst.Name):
        if r.naming.where(node) == "own":
            found.add(node.value)
        return
    if (
        isinstance(node, cst.NamedExpr)
        and isinstance(node.target, cst.Name)
        and r.naming.where(node.target) == "own"
    ):
        walrus.add(node.target.value)
    for child in children_of(
        node, "name" if isinstance(node, (cst.FunctionDef, cst.ClassDef)) else None
    ):
        _own_reads(r, child, found, walrus)


def _statement(r: Render, w: Writer, n: Raw) -> None:
    """Statement ``n`` with the generated code of each nested coroutine in its place."""
    by_placeholder = {placeholder(child): child for child in r.naming.nested.values()}
    text, line_no = leading_lines_dropped(r.code(n.stmt), n)
    segment: list[str] = []
    segment_origin = line_no

    def flush() -> None:
        if segment:
            w.text("\n".join(segment), segment_origin)
            segment.clear()

    for line in BREAKS.split(text):  # libcst prints the file's own line ends
        child = by_placeholder.get(line.strip())
        if child is None:
            if not segment:
                segment_origin = line_no
            segment.append(line)
            line_no += 1
            continue
        flush()
        machine = r.generate(child)
        _insert(w, machine.lines, machine.origin, w.prefix + line[: len(line) - len(line.lstrip())])
        line_no = r.ctx.positions[child.node].end.line + 1
    flush()


def _insert(w: Writer, lines: list[str], origins: list[int], prefix: str) -> None:
    """``lines`` (written at no indentation) indented by ``prefix``, but the lines that
    continue a string literal."""
    skip = string_lines("\n".join(lines))
    for k, (line, origin) in enumerate(zip(lines, origins), 1):
        w.lines.append(line if k in skip else (prefix + line if line.strip() else ""))
        w.origin.append(origin)


def enclosing_names(enclosing: list[Any]) -> set[str]:
    """Every generated name the enclosing coroutines' code uses: a nested machine must not
    shadow them."""
    taken: set[str] = set()
    for outer in enclosing:
        taken.update(v for v in vars(outer.names).values() if isinstance(v, str))
        taken.update(outer.names.builtins.values())
    return taken
