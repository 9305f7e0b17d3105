"""Print a lowered coroutine as its wrapper function and state-machine class.

The shape of the output (facts the design depends on):

- One *resume function* per state. State 0 runs the body from the start; state ``j`` runs
  the *rest of the function* after wait ``j``, as ordinary structured Python: it re-enters
  the loops and ``try`` blocks around the wait in the middle (``Reenter`` finishes the
  interrupted iteration, then runs the real ``while``/``for`` again; a ``try`` is re-opened
  around the rest of its body). So control flow, exceptions, ``finally`` and ``with`` stay
  native, and a wait whose future is ready at once never leaves the function: the machine
  suspends only when an inner future answers PENDING. ``poll`` dispatches in O(1) through a
  class-level tuple of the resume functions indexed by state (index -1: finished).
- Locals stay Python locals during a poll; a resume function loads the ones it needs from
  the machine and a suspension stores them back (``analyse.py`` says which).
- To be "inside" an ``except`` block again after a wait, a resume function raises the
  handled exception anew inside ``try: ... except BaseException:``: bare ``raise``,
  ``sys.exc_info()`` and the ``__context__`` of new exceptions then match the original.
- A ``finally`` that waits can be left mid-way by a suspension while a ``return``,
  ``break``, ``continue`` or exception is pending, which Python cannot resume. So every
  exit through such a ``try`` first records its kind and value (``_pk``/``_pv``: 1 return,
  2 raise, 3 break, 4 continue); the resume function that finishes the ``finally`` then
  carries the pending exit out. A ``return``/``break`` inside the ``finally`` itself simply
  happens first, which is Python's "finally overrides" rule.
- A suspension sets the local ``_m`` (the machine) to None before it returns: the
  ``finally`` blocks it returns through test that to know they must not run, and a frame
  kept alive by a stored exception's traceback then does not keep the machine alive
  (so a dropped machine is finalized at once, as a generator is).
- ``close()`` passes ``_CLOSING`` as the waker: the re-entered wait raises GeneratorExit, and
  a wait reached while closing suspends without polling (the generator would fail at that
  yield), which ``close()`` turns into ``RuntimeError`` as ``generator.close()`` does.
- Code size is linear in the input (SPEC 2.4). A resume function holds the rest of the
  statement its wait sits in *up to the next wait*: a wait it reaches is *deferred*
  (``_awaiting`` and ``_state`` set, that state's locals stored, ``return _AGAIN``), and
  ``poll()`` at once calls that state's function, which polls the future first — in the same
  ``poll()``, as SPEC 2.1 asks. A deferred wait returns from inside the re-entered ``try``
  and ``with`` blocks like a suspension (their ``finally`` sees ``_m`` cleared). So each
  statement is printed in the start function and in at most the resume function of the wait
  before it, not once per state after it. After the top-level statement holding its wait,
  a resume function calls the shared *tail* for the statements after it
  (``_restN_after_lineL``, one per top-level statement that waits); once it has finished an
  interrupted loop iteration it calls the loop's shared *continuation* (``_loopN_lineL``: the
  loop from its head, then what follows it), and a resume function or continuation that
  reaches a nested loop which waits calls that loop's continuation instead of a copy of it
  (``reenter.delegate_loops``). Only a loop re-entered inside a ``try`` keeps its copy (its
  waits deferred), since a ``return`` from inside the ``try`` would run its handlers and
  ``finally`` too early. The start function, the tails and the continuations keep their
  waits and loops inline: the fast path pays no deferral. What is still per state: the
  prologue, the loads, and the re-entry of each enclosing ``try``/``with`` (so a wait nested
  in many of them costs lines in proportion to their depth). tests/transform/test_size.py
  holds the bound on each shape; benchmarks/bench_output.py measures compile time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import libcst as cst

from corofy.transform import nested
from corofy.transform.analyse import Storage, pattern_names, uses
from corofy.transform.exits import Control, Exit, FinallyFrame, LoopFrame, OnceFrame
from corofy.transform.ir import (
    Assign,
    Block,
    Break,
    Continue,
    Gen,
    If,
    Loop,
    Match,
    Node,
    Raw,
    Reenter,
    Resume,
    Return,
    TailCall,
    Try,
    Unit,
    Wait,
    With,
    children,
)
from corofy.transform.names import Rename, spliced
from corofy.transform.reenter import hands_off, has_inline_wait, jumps, suspends
from corofy.transform.scopes import is_private
from corofy.transform.writer import BREAKS, Writer, leading_lines_dropped, one_line


@dataclass
class Names:
    """Generated names of one module and one machine."""

    PENDING: str = "_PENDING"
    Ready: str = "_Ready"
    Future: str = "_Future"
    CLOSING: str = "_CLOSING"
    m: str = "_m"
    w: str = "_w"
    f: str = "_f"
    r: str = "_r"
    x: str = "_x"
    thrown: str = "_thrown"
    closing: str = "_closing"
    AGAIN: str = "_AGAIN"


@dataclass
class MachineText:
    lines: list[str]
    origin: list[int]
    states: list[tuple[int, str, int, str]]  # id, name, line, wait source
    edges: list[tuple[int, int, str]]
    class_name: str


_WORD = re.compile(r"\w+")
_GROUP = 4  # locals loaded or stored per line
# Lines a resume function may print after its start before a wait it reaches is deferred.
RESUME_BUDGET = 0


class _RenameTriggers:
    """``mentioned(text)``: may ``text`` hold a name Rename changes? A false alarm (a
    longer identifier, a string) costs a walk that changes nothing."""

    def __init__(self, cold: frozenset[str], in_class: bool) -> None:
        self.cold = cold
        self.in_class = in_class

    def mentioned(self, text: str) -> bool:
        for name in self.cold:
            if name in text:
                return True
        if self.in_class:
            for word in _WORD.findall(text):
                if word in ("super", "__class__") or is_private(word):
                    return True
        return False


class Render:
    """Prints the wrapper and the machine class of one coroutine."""

    def __init__(
        self, ctx, unit: Unit, storage: Storage, declarations, docstring, names: Names, indent: str
    ) -> None:
        self.ctx = ctx
        self.unit = unit
        self.storage = storage
        self.declarations = declarations
        self.docstring = docstring
        self.names = names
        self.indent = indent
        self.module = ctx.module
        self.coroutine = ctx.coroutine
        self.where = ctx.coroutine.scope.where  # 'own', 'nested' or None (made later)
        self.class_name = ctx.coroutine.class_name
        self.sees_class = ctx.coroutine.sees_class  # super() and __class__ name the user's class
        params = ctx.coroutine.node.params
        ordered = [*params.posonly_params, *params.params]
        self.first_param = ordered[0].name.value if ordered else None
        self.uses_class = False
        self.setters: set[str] = set()
        self.tail_names: dict[int, str] = {}
        # Nested functions that use the machine close over _m: then it stays set.
        self.clear_m = not (set(storage.nested_refs.values()) & storage.cold)
        self.as_target_ok = False
        self.control = Control()
        self.cache: dict[tuple[int, bool], str] = {}
        self.keep: list[cst.CSTNode] = []
        self.fast = not storage.cold and not self.class_name
        # The identifiers Rename may change: cold locals, and in a method __class__, super
        # and private names (those are added as the text shows them: any __x).
        self.private_owner = ctx.coroutine.private_owner
        self.global_privates = ctx.coroutine.global_privates
        self.fast = self.fast and not self.private_owner and not self.global_privates
        self.renamed = _RenameTriggers(
            storage.cold, bool(self.class_name or self.private_owner or self.global_privates)
        )
        self.reserved: set[str] = set()
        self.last_line = -1
        self.unchanged: frozenset[str] = frozenset()  # of the function being printed
        # Nested coroutines (see nested.py): the enclosing coroutines' Renders (outermost
        # first), Names of theirs that name their machine's locals, and the coroutines
        # generated inside this one (by id of their def) with the statements holding them.
        self.enclosing: list[Render] = []
        self.outer_refs: dict[int, tuple[str, str]] = {}  # id(Name) -> (machine, slot)
        self.outer_nonlocals: frozenset[str] = frozenset()
        self.nested: dict[int, Any] = {}
        self.holds_nested: frozenset[int] = frozenset()
        self.generate: Any = None  # nested coroutine -> its MachineText (from the splice)
        self.factories: dict[int, Any] = {}  # id(statement) -> the method that runs it
        self.budget: int | None = None  # in a resume function: the line its copying stops at
        self.ended = False  # a deferred wait was just printed: its block goes no further
        self.inline_waits = 0  # waits printed inline in the function being printed
        self.deferred = False  # some wait is deferred: poll() loops on _AGAIN
        self.inline_allowed = 0  # waits a resume function may still print inline

    def machine_named(self, m: str) -> Render:
        """This Render, or the enclosing one whose machine is called ``m``."""
        return next((r for r in self.enclosing if r.names.m == m), self)

    # -- names ---------------------------------------------------------------------------
    def mangle(self, ident: str) -> str:
        if self.private_owner and is_private(ident):
            owner = self.private_owner.lstrip("_")
            if owner:
                return f"_{owner}{ident}"
        return ident

    def slot(self, local: str) -> str:
        local = self.mangle(local)
        return local + "_" if local in self.reserved else local

    def code(self, node: cst.CSTNode) -> str:
        key = (id(node), self.as_target_ok)
        found = self.cache.get(key)
        if found is None and id(node) in self.holds_nested:  # Rename leaves placeholders
            self.keep.append(node)
            found = self.cache[key] = self.module.code_for_node(node.visit(Rename(self)))
        if found is None:
            self.keep.append(node)
            found = self.ctx.text_of(node)
            # Rename (a whole libcst visitor walk) changes only Names it is told about: run
            # it only where the text holds one of them (strings and comments may give false
            # alarms, which cost a walk and change nothing).
            if not self.fast and self.renamed.mentioned(found):
                renamed = spliced(self, node, found)
                found = (
                    renamed
                    if renamed is not None
                    else self.module.code_for_node(node.visit(Rename(self)))
                )
            self.cache[key] = found
        return found

    def expr(self, node: cst.CSTNode) -> str:
        """``node`` as an expression standing alone in generated code (``_t1 = ...``,
        ``if ...:``). Parenthesised when it spans lines (a piece taken out of the brackets
        that held it, as ``a\n == b`` from ``(a\n == b == c)``: its line breaks need
        brackets around them) or is a bare walrus (``x := f`` is no statement)."""
        text = self.code(node)
        if (isinstance(node, cst.NamedExpr) and not node.lpar) or "\n" in text or "\r" in text:
            return f"({text})"
        return text

    def _store(self, w: Writer, state: int) -> None:
        """Store what state ``state`` will load, but what this function left unchanged."""
        unchanged = self.unchanged
        stored = [
            local for local in sorted(self.storage.needed.get(state, ())) if local not in unchanged
        ]
        self.transfer(w, stored, load=False)

    def transfer(self, w: Writer, locals_: list[str], load: bool) -> None:
        """Load ``locals_`` from their slots (or store them), a few to a line: one line
        per local made every suspension as long as the list of what lives across it."""
        m = self.names.m
        for k in range(0, len(locals_), _GROUP):
            group = locals_[k : k + _GROUP]
            slots = ", ".join(f"{m}.{self.slot(v)}" for v in group)
            names = ", ".join(self.mangle(v) for v in group)
            w.line(f"{names} = {slots}" if load else f"{slots} = {names}")

    # -- the IR ---------------------------------------------------------------------------
    def block(self, w: Writer, block: Block) -> bool:
        """Print ``block``; True if it surely ended in a deferred wait (nothing follows)."""
        if not any(not isinstance(n, Gen) or n.text for n in block):
            w.line("pass")
        for n in block:
            self.node(w, n)
            if self.ended or isinstance(n, (TailCall, Return)):
                # A deferred wait or a call of what follows returned: the rest is dead.
                self.ended = False
                return True
        return False

    def over_budget(self, w: Writer) -> bool:
        """Has this resume function printed its share? Then a wait in it is left to its own
        state's function (polled from poll()) instead of being copied here with all that
        follows it: each resume function holds a bounded stretch of code after its wait."""
        if self.budget is None or len(w.lines) - self.budget <= 0:
            return False
        if self.inline_allowed:
            self.inline_allowed -= 1
            return False
        return True

    def mark(self, w: Writer, line: int, said: bool = False) -> None:
        """Mark a run of user code with its original line (``said``: the next line does)."""
        if line and line != self.last_line and line != self.last_line + 1 and not said:
            w.line(f"# line {line}")
        if line:
            self.last_line = line

    def node(self, w: Writer, n: Node) -> None:
        m, names, ind = self.names.m, self.names, self.indent
        if isinstance(n, Raw) and id(n.stmt) in self.holds_nested:
            self.mark(w, n.line)
            nested.write(self, w, n)
            self._cold_bindings(w, n)
        elif isinstance(n, Raw):
            self.mark(w, n.line)
            for comment in n.comments:
                w.line(comment, n.line)
            text = self.code(n.stmt)
            if isinstance(n.stmt, cst.BaseSmallStatement):
                # Without its `;` (and a backslash continuation before it: `x = 1 \ ; y`).
                text = text.rstrip().rstrip(";").rstrip().removesuffix("\\").rstrip()
            else:
                text, first = leading_lines_dropped(text, n)
                w.text(text, first)
                self._cold_bindings(w, n)
                return
            w.text(text, n.line)
            self._cold_bindings(w, n)
        elif isinstance(n, Gen):
            if n.text:
                w.text(n.text, n.line, exact=False)
        elif isinstance(n, Assign):
            w.text(f"{self.slotted(n.name)} = {self.expr(n.value)}", n.line)
        elif isinstance(n, Wait) and (n.guarded or self.over_budget(w)):
            why = (
                "outside this except/finally" if n.guarded else "from the start of its own function"
            )
            comment = (
                f"# {one_line(n.source)}: state {n.id}, line {n.line}; polled by poll(), {why}"
            )
            self.deferred = True
            self.ended = True
            future = self.expr(n.future)
            apart = isinstance(n.future, (cst.NamedExpr, cst.Lambda, cst.Yield)) or "\n" in future
            self.mark(w, n.line, said=not apart)  # the comment names the line
            if apart:
                w.line(comment, n.line)
                w.text(f"{m}._awaiting = {future}", n.line)
                w.line(f"{m}._state = {n.id}")
            else:  # the state's comment on the line that sets it
                w.line(f"{m}._awaiting, {m}._state = {future}, {n.id}  {comment}", n.line)
            self._store(w, n.id)
            if self.clear_m:
                w.line(f"{m} = None  # suspending (see the finally blocks)")
            w.line(f"return {names.AGAIN}")
        elif isinstance(n, Wait):
            self.inline_waits += 1
            future = self.expr(n.future)
            comment = f"# {one_line(n.source)}: state {n.id}, line {n.line}"
            self.mark(w, n.line, said="\n" not in future)  # the comment names the line
            if "\n" in future:
                w.line(comment, n.line)
                w.text(f"{names.f} = {future}", n.line)
            else:  # the state's comment on the line that makes its future
                w.line(f"{names.f} = {future}  {comment}", n.line)
            # A value without poll() is a learner's mistake (an asyncio coroutine, say):
            # say so as a TypeError at the wait. The try costs nothing until it raises.
            # (The suspension inside the try: storing to slots raises no AttributeError.)
            w.line("try:")
            w.line(
                f"{ind}if ({names.r} := {names.PENDING} if {names.closing} else {names.f}.poll({names.w})) "
                f"is {names.PENDING}:",
                n.line,
            )
            w.level += 2
            w.line(f"{m}._awaiting, {m}._state = {names.f}, {n.id}")
            self._store(w, n.id)
            if self.clear_m:
                w.line(f"{m} = None  # suspending (see the finally blocks)")
            w.line(f"return {names.r}")
            w.level -= 2
            w.line(f"except AttributeError as {names.x}:  # no poll(): is it a runtime.Future?")
            w.line(f"{ind}raise {names.Future}._wait_error({names.f}, {names.x})", n.line)
            if n.target is not None:
                w.text(f"{self.target(n.target)} = {names.r}.value", n.line)
        elif isinstance(n, Resume):
            wait = n.wait
            w.line(
                f"if {names.thrown}:  # resume {one_line(wait.source)} (state {wait.id}, "
                f"line {wait.line}): it raised, or close()",
                wait.line,
            )
            # Raised here as gen.throw() raises at the yield: it chains onto a handled
            # exception. It is popped from its one-item list, so no local of this frame
            # holds it: the frame and the exception's traceback form no cycle.
            w.line(f"{ind}raise {names.thrown}.pop()", wait.line)
            if wait.target is not None:
                w.text(f"{self.target(wait.target)} = {names.r}.value", wait.line)
            self.last_line = wait.line
        elif isinstance(n, If):
            self._if(w, n, "if")
        elif isinstance(n, Loop):
            self._loop(w, n)
        elif isinstance(n, Reenter):
            self._reenter(w, n)
        elif isinstance(n, Try):
            self._try(w, n)
        elif isinstance(n, With):
            self.mark(w, n.line)
            self.as_target_ok = True
            items = ", ".join(
                self.code(item.with_changes(comma=cst.MaybeSentinel.DEFAULT)) for item in n.items
            )
            self.as_target_ok = False
            w.line(f"with {items}:", n.line)
            self._indented(w, n.body)
        elif isinstance(n, Match):
            self.mark(w, n.line)
            w.line(f"match {self.expr(n.subject)}:", n.line)
            w.level += 1
            for case in n.cases:
                kept = sorted(pattern_names(case.pattern) & self.storage.cold)
                guard = ""
                if case.guard is not None:
                    guard = self.expr(case.guard)
                    if kept:
                        # The captures are bound before the guard runs, and stay bound if it
                        # fails: store them on the machine first (the guard reads them there).
                        self.setters.update(self.slot(c) for c in kept)
                        stores = ", ".join(
                            f"{m}._set_{self.slot(c)}({self.mangle(c)})" for c in kept
                        )
                        guard = f"[{stores}] and ({guard})"
                        kept = []
                    guard = f" if {guard}"
                w.line(f"case {self.code(case.pattern)}{guard}:", case.line)
                w.level += 1
                for captured in kept:
                    w.line(f"{m}.{self.slot(captured)} = {self.mangle(captured)}", case.line)
                self.block(w, case.body)
                w.level -= 1
            w.level -= 1
        elif isinstance(n, Return):
            self._return(w, n)
        elif isinstance(n, TailCall):
            passed = "".join(
                f", {self.mangle(a)}" for a in sorted(self.storage.tail_args.get(n.index, ()))
            )
            w.line(f"return {m}.{self.tail_names[n.index]}({names.w}{passed})")
        elif isinstance(n, (Break, Continue)):
            self.mark(w, n.line)
            self.control.write_jump(
                w, Exit.BREAK if isinstance(n, Break) else Exit.CONTINUE, n.line
            )
        else:  # pragma: no cover
            raise TypeError(n)

    def slotted(self, local: str) -> str:
        return f"{self.names.m}.{self.slot(local)}" if local in self.storage.cold else local

    def target(self, t: cst.BaseExpression) -> str:
        self.as_target_ok = True
        try:
            return self.code(t)
        finally:
            self.as_target_ok = False

    def _cold_bindings(self, w: Writer, n: Raw) -> None:
        if self.fast or not isinstance(
            n.stmt, (cst.FunctionDef, cst.ClassDef, cst.Import, cst.ImportFrom)
        ):
            return
        for bound in sorted(uses(n.stmt)[1] & self.storage.cold):
            w.line(f"{self.names.m}.{self.slot(bound)} = {self.mangle(bound)}", n.line)

    def _indented(self, w: Writer, block: Block) -> None:
        w.level += 1
        self.block(w, block)
        w.level -= 1

    def _if(self, w: Writer, n: If, keyword: str) -> None:
        self.mark(w, n.line)
        w.line(f"{keyword} {self.expr(n.test)}:", n.line)
        self._indented(w, n.body)
        if len(n.orelse) == 1 and isinstance(n.orelse[0], If):
            self._if(w, n.orelse[0], "elif")
        elif n.orelse:
            w.line("else:")
            self._indented(w, n.orelse)

    def _loop(self, w: Writer, n: Loop) -> None:
        self.mark(w, n.line)
        if n.iter is not None:
            w.line(f"for {self.target(n.target)} in {self.expr(n.iter)}:", n.line)  # type: ignore[arg-type]
        else:
            w.line(f"while {self.expr(n.test) if n.test is not None else 'True'}:", n.line)
        with self.control.inside(LoopFrame()):
            self._indented(w, n.body)
        if n.orelse:
            w.line("else:")
            self._indented(w, n.orelse)

    def _reenter(self, w: Writer, n: Reenter) -> None:
        if not (n.rest and isinstance(n.rest[0], Reenter)):  # a nest of loops: one comment
            w.line(
                f"# finish the interrupted iteration of the loop at line {n.loop.line}, then loop again"
            )
        if not jumps(n.rest):
            ended = self.block(w, n.rest)
            if not ended:
                self._loop_again(w, n)
            # Nothing follows a deferred wait or a call of the loop's continuation.
            self.ended = ended or n.cont is not None
            return
        go = self.ctx.temp("_go")
        w.line(f"{go} = True")
        w.line("while True:  # once: break and continue below leave this iteration")
        with self.control.inside(OnceFrame(go)):
            w.level += 1
            self.block(w, n.rest)
            w.line("break")
            w.level -= 1
        w.line(f"if {go}:")
        w.level += 1
        self._loop_again(w, n)
        w.level -= 1

    def _loop_again(self, w: Writer, n: Reenter) -> None:
        if n.cont is not None:  # the loop's shared continuation, not a copy of the loop
            self.node(w, n.cont)
        else:
            # A copy of the loop (inside a try, where a call of its continuation would leave
            # the try): the steady state of a server loop. Its first wait stays inline, so
            # an iteration that ends by waiting there suspends without a detour through poll().
            self.inline_allowed, allowed = 1, self.inline_allowed
            self._loop(w, n.loop)
            self.inline_allowed = allowed

    def _try(self, w: Writer, n: Try) -> None:
        self.mark(w, n.line)
        if n.fin is not None:
            kind, value = n.fin
            w.line("try:", n.line)
            frame = FinallyFrame(self.slotted(kind), self.slotted(value))
            w.level += 1
            with self.control.inside(frame):
                if n.handlers or n.orelse:
                    self._try_clauses(w, n, with_finally=False)
                else:
                    self.block(w, n.body)
            w.level -= 1
            frame.write_pending_raise(w, self.names.x)
            self._finally(w, n)
            return
        self._try_clauses(w, n, with_finally=True)

    def _finally(self, w: Writer, n: Try) -> None:
        w.line("finally:")
        w.level += 1
        if suspends([*n.body, *(x for h in n.handlers for x in h.body), *n.orelse]):
            # A suspension returns through this finally: it must not run then.
            if self.clear_m:
                w.line(f"if {self.names.m} is not None:  # not suspending")
            else:
                w.line(f"if {self.names.m}._state == -1:  # not suspending")
            self._indented(w, n.finalbody)
        else:
            self.block(w, n.finalbody)
        w.level -= 1

    def _try_clauses(self, w: Writer, n: Try, with_finally: bool) -> None:
        w.line("try:", n.line)
        self._indented(w, n.body)
        star = "*" if n.star else ""
        for h in n.handlers:
            clause = f"except{star}"
            if h.type is not None:
                clause += f" {self.expr(h.type)}"
            if h.name:
                clause += f" as {h.name}"
            w.line(clause + ":", h.line)
            w.level += 1
            if h.name and h.name in self.storage.cold:
                w.line(f"{self.names.m}.{self.slot(h.name)} = {h.name}", h.line)
            self.block(w, h.body)
            w.level -= 1
        if n.orelse:
            w.line("else:")
            self._indented(w, n.orelse)
        if with_finally and n.finalbody:
            self._finally(w, n)
        if not n.handlers and not (with_finally and n.finalbody):
            w.line("finally:")
            w.line(f"{self.indent}pass")

    def _return(self, w: Writer, n: Return) -> None:
        self.mark(w, n.line)
        value = self.expr(n.value) if n.value is not None else "None"
        if isinstance(n.value, cst.Tuple) and not n.value.lpar:
            value = f"({value})"
        self.control.write_return(w, value, n.line, self.names.Ready)


# -- the wrapper function and the class ------------------------------------------------------


def class_name_for(function: str) -> str:
    # A name starting with two underscores would be mangled inside a class body.
    return (function.lstrip("_") if function.startswith("__") else function) + "_machine"


def machine(
    r: Render,
    blocks: dict[int, Block],
    tails: dict[int, Block],
    base: str,
    filename: str,
    loops: dict[int, Loop] | None = None,
) -> MachineText:
    """The header comment, the wrapper function and the class, indented by ``base``."""
    ctx, unit, storage, names, ind = r.ctx, r.unit, r.storage, r.names, r.indent
    node = ctx.coroutine.node
    fname = node.name.value
    cls = class_name_for(fname)
    while cls in ctx.module_taken:  # a user's name, or another machine's, stays theirs
        cls += "_"
    ctx.module_taken.add(cls)
    def_line = ctx.line(node)
    states = [(0, "start", def_line, "")]
    fn_names = {0: "_s0_start"}
    for wait in unit.waits:
        states.append((wait.id, f"s{wait.id}_line{wait.line}", wait.line, wait.source))
        fn_names[wait.id] = f"_s{wait.id}_line{wait.line}"
    body_stmts = unit.body
    loops = loops or {}
    r.tail_names = {
        k: f"_rest{n}_after_line{body_stmts[k].line}"
        for n, k in enumerate((k for k in tails if k >= 0), 1)
    }
    r.tail_names.update({k: f"_loop{-k}_line{loops[k].line}" for k in tails if k < 0})
    r.reserved = {
        "_state",
        "_awaiting",
        "_cls",
        "_steps",
        "_corofy_states_",
        "poll",
        "close",
        "_finished",
        *fn_names.values(),
        *r.tail_names.values(),
    }

    # The resume functions first: rendering tells whether super()/__class__ or walrus on a
    # machine slot need support in the class.
    body = Writer(ind, base + ind)
    edges: list[tuple[int, int, str]] = []
    tail_ends: dict = {}
    for state, _, wait_line, _ in states:
        body.line("")
        body.line(f"def {fn_names[state]}({names.m}, {names.w}):")
        body.level += 1
        if state:
            # Poll the awaited future first, outside any except block the rest re-enters.
            body.line(
                f"{names.thrown} = [GeneratorExit()] if {names.w} is {names.CLOSING} else None"
            )
            body.line("try:")
            # An exception from this poll is re-raised at the wait, but its traceback passes
            # through this line first: map it to the wait's line too.
            body.line(
                f"{ind}if not {names.thrown} and ({names.r} := {names.m}._awaiting.poll({names.w})) "
                f"is {names.PENDING}:",
                wait_line,
            )
            body.line(f"{ind}{ind}return {names.r}")
            body.line(f"except BaseException as {names.x}:")
            body.line(
                f"{ind}{names.thrown} = [{names.Future}._wait_error({names.m}._awaiting, {names.x})]"
            )
            body.line(
                f"{names.m}._awaiting, {names.m}._state = None, -1  # running; a suspension sets both again"
            )
        else:
            body.line(f"{names.m}._state = -1  # running; a suspension sets the state again")
        closing_at = len(body.lines) if has_inline_wait(blocks[state]) else None
        if closing_at is not None:
            body.line(
                f"{names.closing} = {names.w} is {names.CLOSING}  # closing: a wait must not poll"
            )
        for decl in r.declarations:
            body.line(r.code(decl).rstrip().rstrip(";"))
        r.transfer(body, sorted(storage.needed.get(state, ())), load=True)
        r.last_line = -1
        r.control.reset()
        r.unchanged = storage.unchanged.get(("state", state), frozenset())
        r.budget = len(body.lines) + RESUME_BUDGET if state else None
        r.inline_waits = 0
        ended = r.block(body, blocks[state])
        r.budget = None
        if closing_at is not None and not r.inline_waits:  # every wait here was deferred
            del body.lines[closing_at], body.origin[closing_at]
        if not ended and not _returns(blocks[state]):
            body.line(f"return {names.Ready}(None)")
        body.level -= 1
        edges.extend(_edges(state, blocks[state], tails, tail_ends))
    for k, block in tails.items():
        # The body after line L's statement, shared by every state that reaches it.
        passed = "".join(f", {r.mangle(a)}" for a in sorted(storage.tail_args.get(k, ())))
        body.line("")
        if k >= 0:
            what = f"the rest of the body after the statement at line {body_stmts[k].line}"
        else:
            what = "the loop from its head, then what follows it: shared by its states"
        body.line(f"def {r.tail_names[k]}({names.m}, {names.w}{passed}):  # {what}")
        body.level += 1
        if has_inline_wait(block):
            body.line(
                f"{names.closing} = {names.w} is {names.CLOSING}  # closing: a wait must not poll"
            )
        for decl in r.declarations:
            body.line(r.code(decl).rstrip().rstrip(";"))
        r.last_line = -1
        r.control.reset()
        r.unchanged = storage.unchanged.get(("tail", k), frozenset())
        r.block(body, block)
        if not _returns(block):
            body.line(f"return {names.Ready}(None)")
        body.level -= 1
    nested.methods(r, body)
    body.line("")
    body.line(f"def _finished({names.m}, {names.w}):")
    body.line(
        f"{ind}raise RuntimeError({f'cannot poll {fname}(): it has finished (or is running)'!r})"
    )
    body.line("")
    body.line(
        "# poll() dispatches in O(1): state j runs _steps[j]; a finished machine is state -1."
    )
    body.line(f"_steps = ({', '.join(fn_names[s] for s, _, _, _ in states)}, _finished)")

    params = node.params
    param_names = [p.name.value for p in (*params.posonly_params, *params.params)]
    if isinstance(params.star_arg, cst.Param):
        param_names.append(params.star_arg.name.value)
    param_names += [p.name.value for p in params.kwonly_params]
    if params.star_kwarg is not None:
        param_names.append(params.star_kwarg.name.value)
    passed = [p for p in param_names if p in storage.needed.get(0, ()) or p in storage.cold]
    slots = {"_state", "_awaiting"} | {r.slot(v) for v in storage.cold}
    for needed in storage.needed.values():
        slots |= {r.slot(v) for v in needed}
    if r.uses_class:
        slots.add("_cls")
    ordered_slots = ["_state", "_awaiting"] + sorted(slots - {"_state", "_awaiting"})

    w = Writer(ind, base)
    # Header: the book's "we rewrite this / into this".
    w.line(f"# corofy: the coroutine {ctx.coroutine.qualname} (line {def_line}) was written as")
    original = ctx.source_text.rstrip("\r\n")
    for text in BREAKS.split(original):
        w.line(f"#     {text}".rstrip())
    w.line(f"# and is rewritten into this function, which builds the state machine {cls} below.")
    kept = [d for d in node.decorators if d is not ctx.coroutine.marker]
    first_line = ctx.line(kept[0]) if kept else def_line
    if r.enclosing:  # decorators, defaults and annotations run in the enclosing coroutine
        outer = Rename(r.enclosing[-1])
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
    init_args = (["__class__"] if r.uses_class else []) + passed
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
    w.line("")
    w.line("")
    w.line(f"class {cls}({names.Future}):")
    w.level += 1
    w.line(f'"""State machine of {ctx.coroutine.qualname}() from {filename}, line {def_line}."""')
    w.line("")
    w.line("# Only what lives across a wait is stored here; the rest stays in Python locals.")
    w.line("# A suspension stores only the locals its function changed: the rest are still here.")
    w.line(f"__slots__ = ({''.join(repr(s) + ', ' for s in ordered_slots).rstrip()})")
    w.line("# state -> (name, original line of its wait); 0 is the start, -1 finished.")
    w.line("_corofy_states_ = {" + ", ".join(f"{s}: ({n!r}, {ln})" for s, n, ln, _ in states) + "}")
    w.line("")
    w.line(f"def __init__({names.m}{''.join(', ' + a for a in init_args)}):")
    w.level += 1
    w.line(f"{names.m}._state = 0")
    w.line(f"{names.m}._awaiting = None")
    if r.uses_class:
        w.line(f"{names.m}._cls = __class__")
    for p in passed:
        w.line(f"{names.m}.{r.slot(p)} = {p}")
    w.level -= 1
    w.line("")
    w.line("def poll(self, waker):")
    if r.deferred or any(wait.guarded for wait in unit.waits):
        w.line(f"{ind}answer = self._steps[self._state](self, waker)")
        w.line(
            f"{ind}while answer is {names.AGAIN}:  # a wait left to its state: poll it from here"
        )
        w.line(f"{ind}{ind}answer = self._steps[self._state](self, waker)")
        w.line(f"{ind}return answer")
    else:
        w.line(f"{ind}return self._steps[self._state](self, waker)")
    w.line("")
    w.line("def close(self):")
    w.level += 1
    w.line("state = self._state")
    w.line("if state <= 0:  # not started, finished, or running")
    w.line(f"{ind}if state == 0:")
    w.line(f"{ind}{ind}self._state = -1")
    w.line(f"{ind}return")
    w.line("close = getattr(self._awaiting, 'close', None)")
    w.line("if close is not None:")
    w.line(f"{ind}close()")
    w.line("try:")
    w.line(f"{ind}answer = self._steps[state](self, {names.CLOSING})")
    w.line("except GeneratorExit:")
    w.line(f"{ind}return")
    w.line(f"if answer is {names.PENDING} or answer is {names.AGAIN}:")
    w.line(f"{ind}raise RuntimeError({'generator ignored GeneratorExit'!r})")
    w.level -= 1
    w.line("")
    w.line("def __del__(self):  # dropped while suspended: finalize, as a generator is")
    w.line(f"{ind}state = self._state")
    w.line(f"{ind}if state > 0:")
    w.line(f"{ind}{ind}try:")
    w.line(f"{ind}{ind}{ind}self._steps[state](self, {names.CLOSING})")
    w.line(f"{ind}{ind}except GeneratorExit:")
    w.line(f"{ind}{ind}{ind}pass")
    w.line(f"{ind}elif state == 0:  # never polled: a wait() forgotten, as asyncio warns")
    w.line(f"{ind}{ind}{names.Future}._never_waited(self, {fname!r})")
    if storage.cold:
        w.line("")
        w.line("def __getattr__(self, name):  # an unset slot: the local is unbound")
        # Read by the machine's own code, it is an unbound local; by a lambda, nested
        # function or comprehension frame, an unbound free variable (as Python says).
        w.line(f"{ind}reader = __import__('sys')._getframe(1).f_code")
        w.line(
            f"{ind}if any(getattr(f, '__code__', None) is reader for f in type(self).__dict__.values()):"
        )
        w.line(
            f"{ind}{ind}raise UnboundLocalError("
            "f'cannot access local variable {name!r} where it is not associated with a value')"
        )
        w.line(
            f"{ind}raise NameError(f'cannot access free variable {{name!r}} where it is not "
            "associated with a value in enclosing scope')"
        )
        w.line("")
        w.line("def __delattr__(self, name):  # del of an unset slot: the local is unbound")
        w.line(f"{ind}try:")
        w.line(f"{ind}{ind}return object.__delattr__(self, name)")
        w.line(f"{ind}except AttributeError:")
        w.line(f"{ind}{ind}pass")
        w.line(
            f"{ind}raise UnboundLocalError("
            "f'cannot access local variable {name!r} where it is not associated with a value')"
        )
    for slot in sorted(r.setters):
        w.line("")
        w.line(f"def _set_{slot}(self, value):  # {slot} := value, {slot} being kept here")
        w.line(f"{ind}self.{slot} = value")
        w.line(f"{ind}return value")
    w.level -= 1
    lines = w.lines + body.lines
    origin = w.origin + body.origin
    return MachineText(lines, origin, states, edges, cls)


def _future_of(returns: cst.Annotation | None, names: Names) -> cst.Annotation | None:
    """The wrapper's return annotation: ``T`` becomes ``runtime.Future[T]`` (SPEC §2.4), since
    calling it returns the machine; a type checker reading the output sees what callers get."""
    if returns is None:
        return None
    element = cst.SubscriptElement(cst.Index(returns.annotation))
    return returns.with_changes(annotation=cst.Subscript(cst.Name(names.Future), [element]))


def _returns(block: Block) -> bool:
    """Does ``block`` surely end in a ``return`` (so no ``return Ready(None)`` follows)?"""
    if not block:
        return False
    last = block[-1]
    return isinstance(last, (Return, TailCall)) or hands_off(last)


def _edges(
    state: int,
    block: Block,
    tails: dict[int, Block],
    memo: dict[tuple[int, str], dict[tuple[int, str], None]] | None = None,
) -> list[tuple[int, int, str]]:
    """Where a poll in ``state`` can end: another state (a wait), or done (-1). ``memo``
    keeps each tail's ends, which every state calling it shares."""
    memo = {} if memo is None else memo
    busy: set[tuple[int, str]] = set()

    def ends(block: Block, kind: str, found: dict[tuple[int, str], None]) -> bool:
        """Add the ends reachable in ``block`` to ``found``; False if a tail already being
        visited was reached (then what was found is not a tail's whole answer)."""
        whole = True
        for n in block:
            if isinstance(n, TailCall):
                key = (n.index, kind)
                if key in memo:
                    found.update(memo[key])
                elif key in busy:
                    whole = False  # its own visit, further up, adds its ends
                else:
                    busy.add(key)
                    tail: dict[tuple[int, str], None] = {}
                    if ends(tails[n.index], kind, tail):
                        memo[key] = tail
                    else:
                        whole = False
                    busy.discard(key)
                    found.update(tail)
            if isinstance(n, Wait):
                found[(n.id, kind)] = None
            elif isinstance(n, Resume):
                found[(n.wait.id, "normal")] = None
            elif isinstance(n, Return):
                found[(-1, kind)] = None
            elif isinstance(n, Try):
                whole &= ends(n.body, kind, found)
                for h in n.handlers:
                    whole &= ends(h.body, "exception", found)
                whole &= ends(n.orelse, kind, found)
                whole &= ends(n.finalbody, kind, found)
                continue
            for child in children(n):
                whole &= ends(child, kind, found)
        return whole

    found: dict[tuple[int, str], None] = {}
    ends(block, "normal", found)
    found[(-1, "normal")] = None
    found[(-1, "exception")] = None
    return [(state, dst, kind) for dst, kind in found]
