"""The corofy transform: ``@coroutine`` functions with ``wait()`` become state machines.

The pipeline, read in ``transform`` and ``_machine`` below, one module per step:

1. ``find``: parse, find the coroutines and the marker imports by binding, and refuse what
   SPEC §2.3 lists (``refusals`` holds the messages; ``scopes`` and ``positions`` serve it:
   Python's scopes, and where each node is).
2. for each coroutine (``_machine``):
   ``lower`` turns its body into the IR of ``ir`` (``expressions`` takes waits out of
   expressions; ``context`` holds what lowering one coroutine works with);
   ``reenter.resume_blocks`` builds the block each state's function runs, and the shared
   tails (``loops``: loop re-entry);
   ``liveness`` decides where each local lives (``uses``: what a node reads and binds;
   ``assigned``: definite assignment);
   ``emit`` prints the wrapper function and the machine class (its docstring says which
   module prints what; ``rename`` renders user code as it reads inside the class,
   ``printing`` prints the plain nodes lowering makes, ``nested`` places the coroutines
   defined inside this one).
3. ``splice`` puts the output file together: the header, the runtime import, each machine
   over its def; everything outside coroutines is kept byte for byte.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import libcst as cst

from corofy.transform import emit, find, liveness, lower, nested, readable, refusals, splice
from corofy.transform.context import Context
from corofy.transform.errors import CorofyError
from corofy.transform.readable import spaced
from corofy.transform.reenter import resume_blocks
from corofy.transform.results import Edge, MachineInfo, StateInfo, TransformResult
from corofy.transform.splice import GENERATED_MARK, header, is_generated
from corofy.transform.uses import UseTable

__all__ = [
    "GENERATED_MARK",
    "CorofyError",
    "Edge",
    "MachineInfo",
    "StateInfo",
    "TransformResult",
    "header",
    "is_generated",
    "spaced",
    "transform",
    "transform_source",
]


def block_indent(module: cst.Module) -> str:
    """The file's indentation unit for the generated code, without form feeds: a form feed
    in an indentation resets CPython's count of it, so one repeated per level (libcst's
    ``default_indent`` keeps the first body line's "\\f    ") would undo each level."""
    return module.default_indent.replace("\f", "") or "    "


def transform_source(source: str, filename: str = "<string>") -> str:
    """The generated module for corofy ``source`` (raises ``CorofyError``)."""
    return transform(source, filename).code


def transform(
    source: str, filename: str = "<string>", bound: Iterable[str] = ()
) -> TransformResult:
    """Rewrite every ``@coroutine`` in ``source``; see SPEC §2 and docs/internals.md.

    corofy output (``is_generated``) comes back unchanged, without being parsed. ``bound``:
    names the module may bind besides those ``source`` shows (the build-free path sees one
    function of it).
    """
    if is_generated(source):
        return TransformResult(source)
    found = _find(source, filename)
    if found is None:
        return TransformResult(source)
    scan, layout = found
    text = source if layout is None else layout.text  # what libcst read
    names = splice.module_names(text, scan, bound)
    machines: list[MachineInfo] = []

    def build(coroutine: find.Coroutine, base: str) -> emit.MachineText:
        return _machine(scan, coroutine, names, base, machines)

    try:
        code = splice.Splice(text, scan, names, layout).run(build)
    except CorofyError as refusal:
        raise _in_source(refusal, layout) from None
    return TransformResult(code, sorted(machines, key=lambda info: info.line))


def _in_source(refusal: CorofyError, layout: readable.Readable | None) -> CorofyError:
    """``refusal``, at a position in the layout libcst read: at that place in the source."""
    if layout is None:
        return refusal
    line, column = layout.position(refusal.line, refusal.col - 1)
    return CorofyError(refusal.filename, line, column + 1, refusal.message)


def _find(source: str, filename: str) -> tuple[find.Scan, readable.Readable | None] | None:
    """The coroutines and marker imports of ``source``, checked (a refusal raises
    ``CorofyError``), with the layout libcst read when it could not read ``source`` as it
    is (``readable``); None when there is nothing to rewrite."""
    error = refusals.syntax_error(source, filename)
    # CPython's "'await' outside async function" and the like: inside a coroutine, the
    # scan below says what to write instead; elsewhere CPython's verdict stands.
    if error is not None and (not refusals.async_outside(error) or "corofy" not in source):
        raise error
    if "corofy" not in source:  # no marker can be imported: nothing to do
        return None
    if error is None and readable.MAY_HAVE_LONE_BACKSLASH.search(source):
        # libcst would fail on it or misread it, and the steps below would end in the
        # layout: go there at once (its parse is the only one).
        found = readable.readable(source)
        if found is not None and found[0].lone_backslash:
            return _scan_readable(found, filename, None)
    try:
        module = cst.parse_module(source)
    except RecursionError:  # too deep for libcst: the caller says so (build.py)
        raise
    except Exception as exc:  # CPython compiles it, libcst cannot read it (or fails on it)
        if error is not None:
            # The scan of a layout libcst reads says what to write instead, if there is one.
            found = readable.readable(source)
            if found is None:
                raise error from None
            return _scan_readable(found, filename, error)
        return _find_readable(source, filename, exc, None)
    try:
        scan = find.scan(module, filename)
    except CorofyError:
        # A refusal stands where libcst read the source as written; else it may be of
        # another program (libcst may put the statement after a lone `\` in another block).
        if readable.reads_as_written(module, source):
            raise
        return _find_readable(source, filename, module, error)
    if error is not None:
        raise error
    if not splice.round_trips(scan, source):
        # libcst gives back another text (it drops a line holding only a backslash): its
        # positions are not the source's.
        return _find_readable(source, filename, module, None)
    if not scan.coroutines and not scan.import_edits:
        return None
    return scan, None


def _find_readable(
    source: str,
    filename: str,
    misread: Exception | cst.Module,
    error: CorofyError | None,
) -> tuple[find.Scan, readable.Readable] | None:
    """``_find`` for ``source``, which libcst cannot read (``misread`` is its error) or
    reads as another text (``misread`` is that module): through a layout of it with the
    same lines that libcst reads (``readable``). ``error``: CPython's verdict, when the scan
    is to say what to write instead."""
    found = readable.readable(source)
    if found is None:  # the last resort: a file without coroutines is left as it is
        unreadable = refusals.unreadable(
            source, filename, misread if isinstance(misread, Exception) else None
        )
        if unreadable is None:
            return None
        if isinstance(misread, cst.Module):
            raise refusals.not_round_tripped(source, misread.code, filename)
        raise unreadable from None
    return _scan_readable(found, filename, error)


def _scan_readable(
    found: tuple[readable.Readable, cst.Module], filename: str, error: CorofyError | None
) -> tuple[find.Scan, readable.Readable] | None:
    """``_find``'s scan of the layout ``readable`` found, and libcst's module of it."""
    layout, module = found
    try:
        scan = find.scan(module, filename)
    except CorofyError as refusal:
        raise _in_source(refusal, layout) from None
    scan.layout = layout
    if error is not None:
        raise error
    if not scan.coroutines and not scan.import_edits:
        return None
    return scan, layout


def _machine(
    scan: find.Scan,
    coroutine: find.Coroutine,
    module_names: emit.Names,
    base: str,
    machines: list[MachineInfo],
    enclosing: Sequence[emit.Render] = (),
) -> emit.MachineText:
    """The text of ``coroutine`` (with the coroutines nested in it) at ``base``, the text
    before its def on its line; its MachineInfo (and theirs) go to ``machines``.

    The hot path's copy of a loop (``reenter.Continuations.keeps_copy``) is bounded
    duplication: it is kept only while the machine stays within SPEC 2.4's size budget.
    Over it, the machine is made again without copies (each such loop handed off)."""
    made, taken, used = len(machines), set(scan.taken), set(module_names.used_builtins)
    text, copied = _attempt(scan, coroutine, module_names, base, machines, enclosing, True)
    if copied and _size(text) > _budget(scan, coroutine):
        # Made again as if for the first time: this machine's and its nested ones' infos,
        # class names and builtins go.
        del machines[made:]
        scan.taken.intersection_update(taken)
        module_names.used_builtins.intersection_update(used)
        text, _ = _attempt(scan, coroutine, module_names, base, machines, enclosing, False)
    return text


# What a file holding one coroutine alone adds around its machine: the header and runtime
# import (9 lines), the line table's frame (7), the blank lines after the import.
_FILE_LINES = 20


def _size(text: emit.MachineText) -> int:
    """The lines of a file holding ``text``'s coroutine alone: the machine, its rows of the
    line table (12 lines of user code a row, splice.py) and the file's own lines."""
    return len(text.lines) + -(-sum(1 for o in text.origin if o) // 12) + _FILE_LINES


def _budget(scan: find.Scan, coroutine: find.Coroutine) -> int:
    """SPEC 2.4's size bound for ``coroutine``: 4 x its lines + 45 x its waits + 100, the
    coroutines nested in it counted in (their lines, waits and machines are its own too;
    scripts/realcode.py gives each nested one 100 lines more: this is the stricter)."""
    node = coroutine.node
    first = scan.positions[node.decorators[0] if node.decorators else node].start.line
    lines = scan.positions[node].end.line - first + 1
    waits = sum(len(c.waits) for c in [coroutine, *_descendants(coroutine)])
    return 4 * lines + 45 * waits + 100


def _descendants(coroutine: find.Coroutine) -> list[find.Coroutine]:
    found = list(coroutine.children)
    for child in coroutine.children:
        found += _descendants(child)
    return found


def _attempt(
    scan: find.Scan,
    coroutine: find.Coroutine,
    module_names: emit.Names,
    base: str,
    machines: list[MachineInfo],
    enclosing: Sequence[emit.Render],
    copies: bool,
) -> tuple[emit.MachineText, bool]:
    """``_machine``'s text, made with or without the hot path's copies of loops
    (``copies``), and whether it holds one."""
    outer = list(enclosing)
    ctx = Context(scan, coroutine)
    ctx.taken |= nested.enclosing_names(outer)
    names = emit.Names(
        module_names.PENDING,
        module_names.Ready,
        module_names.Future,
        module_names.CLOSING,
        *(ctx.fixed(n) for n in ("_m", "_w", "_f", "_r", "_x", "_thrown")),
        ctx.fixed("_closing"),
        module_names.AGAIN,
        module_names.Machine,
        module_names.builtins,
        module_names.used_builtins,
    )
    ctx.future = names.Future
    ctx.machine = names.Machine
    ctx.builtin = names.builtin
    unit, declarations, docstring = lower.lower(ctx)
    resumes = resume_blocks(unit, copies)
    declared = {n.name.value for d in declarations for n in d.names}
    storage = liveness.place_locals(
        unit,
        resumes,
        node_params(coroutine.node),
        (coroutine.scope.locals | unit.bound) - declared,
        coroutine.scope.captured - declared,
        coroutine.scope.nested_refs,
        UseTable(_super_self(coroutine)),
    )
    render = emit.Render(
        ctx, unit, storage, declarations, docstring, names, block_indent(scan.module)
    )
    generated: dict[int, emit.MachineText] = {}

    def generate(child: find.Coroutine) -> emit.MachineText:
        # Made when the enclosing statement is first printed (the slots of this machine
        # are named by then), once.
        found = generated.get(id(child))
        if found is None:
            found = generated[id(child)] = _machine(
                scan, child, module_names, "", machines, [*outer, render]
            )
        return found

    steps = {w.id for w in unit.waits if w.step}
    nested.prepare(render, coroutine, outer, generate)
    text = emit.machine(render, resumes.blocks, resumes.tails, base, scan.filename, resumes.loops)
    machines.append(
        MachineInfo(
            coroutine.qualname,
            coroutine.node.name.value,
            ctx.line(coroutine.node),
            "\n".join(text.lines) + "\n",
            # A hand-off on a future ready at once (except*) is no state a poll stops in.
            [StateInfo(*s) for s in text.states if s[0] not in steps],
            [Edge(*e) for e in text.edges if e[1] not in steps],
        )
    )
    return text, resumes.copied


def _super_self(coroutine: find.Coroutine) -> str | None:
    """The name zero-argument ``super()`` reads implicitly: a method's first parameter."""
    if not coroutine.sees_class:
        return None
    params = coroutine.node.params
    ordered = [*params.posonly_params, *params.params]
    return ordered[0].name.value if ordered else None


def node_params(node: cst.FunctionDef) -> list[str]:
    p = node.params
    names = [x.name.value for x in (*p.posonly_params, *p.params, *p.kwonly_params)]
    for star in (p.star_arg, p.star_kwarg):
        if isinstance(star, cst.Param):
            names.append(star.name.value)
    return names
