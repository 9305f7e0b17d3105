"""Print the IR of a coroutine's states as Python statements (``Render``).

``Render`` holds what printing one coroutine needs (its names, storage and the state of the
function being printed) and prints each IR node: user statements as written (cold locals
renamed, see ``rename.py``) and simple control flow here; waits in ``waits.py``, loops and
re-entered iterations in ``loops.py``, ``try`` and every exit through a waiting ``finally``
in ``exits.py``.
"""

from __future__ import annotations

import re
from typing import Any

import libcst as cst

from corofy.transform import nested
from corofy.transform.exits import (
    Control,
    Exit,
    FinallyFrame,
    exits_through,
    not_suspending,
    suspends,
)
from corofy.transform.generated import Names
from corofy.transform.ir import (
    Assign,
    Block,
    Break,
    Continue,
    Gen,
    Handler,
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
)
from corofy.transform.liveness import Storage
from corofy.transform.loops import write_loop, write_reentered
from corofy.transform.rename import Naming, Rename, spliced
from corofy.transform.scopes import is_private
from corofy.transform.uses import pattern_names, uses
from corofy.transform.waits import write_resume, write_wait
from corofy.transform.writer import Writer, leading_lines_dropped

_WORD = re.compile(r"\w+")
_GROUP = 4  # locals loaded or stored per line


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


def _raises(n: Node) -> bool:
    """Is ``n`` a raise (the user's, or a generated one)?"""
    if isinstance(n, Gen):
        return n.ends
    return isinstance(n, Raw) and isinstance(n.stmt, cst.Raise)


class Render:
    """Prints the functions of one coroutine's machine, node by node, and keeps the state
    of the function being printed (its control frames, line marks, budget)."""

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
        self.coroutine = coroutine = ctx.coroutine
        params = coroutine.node.params
        ordered = [*params.posonly_params, *params.params]
        # What Rename reads of this machine (and what it finds out: uses_class, setters).
        self.naming = Naming(
            m=names.m,
            cold=storage.cold,
            locals=storage.locals,
            nested_refs=storage.nested_refs,
            where=coroutine.scope.where,
            positions=ctx.positions,
            class_name=coroutine.class_name,
            sees_class=coroutine.sees_class,
            first_param=ordered[0].name.value if ordered else None,
            private_owner=coroutine.private_owner,
            global_privates=coroutine.global_privates,
            future=names.Future,
            globals=names.builtin("globals"),
        )
        self.tail_names: dict[int, str] = {}
        # Nested functions that use the machine close over _m: then it stays set.
        self.clear_m = not (set(storage.nested_refs.values()) & storage.cold)
        # The finally blocks open where printing is that test ``_m`` (``not_suspending``):
        # a suspension clears ``_m`` only inside one (elsewhere nothing reads it after).
        self.guarding = 0
        self.control = Control()
        self.cache: dict[tuple[int, bool], str] = {}
        self.keep: list[cst.CSTNode] = []
        # The identifiers Rename may change: cold locals, and in a method __class__, super
        # and private names (those are added as the text shows them: any __x).
        in_class = bool(
            coroutine.class_name or coroutine.private_owner or coroutine.global_privates
        )
        self.fast = not storage.cold and not in_class
        self.renamed = _RenameTriggers(storage.cold, in_class)
        self.last_line = -1
        self.unchanged: frozenset[str] = frozenset()  # of the function being printed
        # locals the state function being printed did not load: its tail calls pass them
        # from their slots (state_functions._resume_function)
        self.through: frozenset[str] = frozenset()
        # Nested coroutines (see nested.py): the enclosing coroutines' Renders (outermost
        # first) and the statements holding coroutines generated inside this one.
        self.enclosing: list[Render] = []
        self.holds_nested: frozenset[int] = frozenset()
        self.generate: Any = None  # nested coroutine -> its MachineText (from the splice)
        self.factories: dict[int, Any] = {}  # id(statement) -> the method that runs it
        self.budget: int | None = None  # in a resume function: the line its copying stops at
        self.ended = False  # a deferred wait was just printed: its block goes no further
        self.inline_waits = 0  # waits printed inline in the function being printed
        self.deferred = False  # some wait is deferred: poll() loops on _AGAIN
        self.inline_allowed = 0  # waits a resume function may still print inline
        self.blocks = 0  # CPython blocks (try, with, loop...) open where printing is

    # -- names ---------------------------------------------------------------------------
    def mangle(self, ident: str) -> str:
        """``ident`` as Python names it in the user's class (a private name is mangled)."""
        return self.naming.mangle(ident)

    def slot(self, local: str) -> str:
        """The machine's slot of ``local``."""
        return self.naming.slot(local)

    def code(self, node: cst.CSTNode) -> str:
        key = (id(node), self.naming.as_target_ok)
        found = self.cache.get(key)
        if found is None and id(node) in self.holds_nested:  # Rename leaves placeholders
            self.keep.append(node)
            found = self.cache[key] = self.module.code_for_node(node.visit(Rename(self.naming)))
        if found is None:
            self.keep.append(node)
            found = self.ctx.text_of(node)
            # Rename (a whole libcst visitor walk) changes only Names it is told about: run
            # it only where the text holds one of them (strings and comments may give false
            # alarms, which cost a walk and change nothing).
            if not self.fast and self.renamed.mentioned(found):
                renamed = spliced(self.naming, node, found)
                found = (
                    renamed
                    if renamed is not None
                    else self.module.code_for_node(node.visit(Rename(self.naming)))
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

    def store(self, w: Writer, state: int) -> None:
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
            if self.ended or isinstance(n, (TailCall, Return)) or _raises(n):
                # A deferred wait or a call of what follows returned, a raise, or a try or
                # if every branch of which ended so: the rest is dead.
                self.ended = False
                return True
        return False

    def mark(self, w: Writer, line: int, said: bool = False) -> None:
        """Mark a run of user code with its original line (``said``: the next line does)."""
        if line and line != self.last_line and line != self.last_line + 1 and not said:
            w.line(f"# line {line}")
        if line:
            self.last_line = line

    def line_note(self, line: int) -> str:
        """``mark`` as a comment ending a header line of generated code (``try:``, the
        ``with`` of a waiting with): its own line for it doubled the cost of re-entering
        nested blocks in every resume function."""
        note = ""
        if line and line != self.last_line and line != self.last_line + 1:
            note = f"  # line {line}"
        if line:
            self.last_line = line
        return note

    def node(self, w: Writer, n: Node) -> None:
        m, names = self.names.m, self.names
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
        elif isinstance(n, Wait):
            write_wait(self, w, n)
        elif isinstance(n, Resume):
            write_resume(self, w, n)
        elif isinstance(n, If):
            self._if(w, n, "if")
        elif isinstance(n, Loop):
            write_loop(self, w, n)
        elif isinstance(n, Reenter):
            write_reentered(self, w, n)
        elif isinstance(n, Try):
            self._try(w, n)
        elif isinstance(n, With) and n.entered is not None:
            note = self.line_note(n.line)
            # Items of one with statement re-entered together, in one header as written
            # (``with A, B:`` is ``with A: with B:``): a line per with statement, not per
            # item, in each resume function inside it.
            items = [n]
            while (
                len(items[-1].body) == 1
                and isinstance(inner := items[-1].body[0], With)
                and inner.entered is not None
                and inner.line == n.line
            ):
                items.append(inner)
            exits = ", ".join(
                f"{names.Future}._with_exit({m}, {self.slotted(i.entered[0])}, "
                f"{self.slotted(i.entered[1])})"
                for i in items
                if i.entered is not None
            )
            w.line(f"with {exits}:{note}", n.line)
            self.indented(w, items[-1].body, blocks=len(items))
        elif isinstance(n, With):
            self.mark(w, n.line)
            self.naming.as_target_ok = True
            items = ", ".join(
                self.code(item.with_changes(comma=cst.MaybeSentinel.DEFAULT)) for item in n.items
            )
            self.naming.as_target_ok = False
            w.line(f"with {items}:", n.line)
            self.indented(w, n.body, blocks=len(n.items))
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
                        self.naming.setters.update(self.slot(c) for c in kept)
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
                f", {m}.{self.slot(a)}" if a in self.through else f", {self.mangle(a)}"
                for a in sorted(self.storage.tail_args.get(n.index, ()))
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
        self.naming.as_target_ok = True
        try:
            return self.code(t)
        finally:
            self.naming.as_target_ok = False

    def _cold_bindings(self, w: Writer, n: Raw) -> None:
        if self.fast or not isinstance(
            n.stmt, (cst.FunctionDef, cst.ClassDef, cst.Import, cst.ImportFrom)
        ):
            return
        # A def or class binds its name; a walrus in its decorators or defaults has already
        # stored its target through the machine's setter (rename.py).
        if isinstance(n.stmt, (cst.FunctionDef, cst.ClassDef)):
            bound_here = {n.stmt.name.value}
        else:
            bound_here = uses(n.stmt)[1]
        for bound in sorted(bound_here & self.storage.cold):
            w.line(f"{self.names.m}.{self.slot(bound)} = {self.mangle(bound)}", n.line)

    def indented(self, w: Writer, block: Block, blocks: int = 0) -> bool:
        """``block`` one level in, inside ``blocks`` more CPython blocks; True if it
        surely ended (nothing after it runs)."""
        w.level += 1
        self.blocks += blocks
        ended = self.block(w, block)
        self.blocks -= blocks
        w.level -= 1
        return ended

    def _if(self, w: Writer, n: If, keyword: str) -> bool:
        """Print the if; True (and ``ended`` set) when every branch surely ended."""
        self.mark(w, n.line)
        w.line(f"{keyword} {self.expr(n.test)}:", n.line)
        ended = self.indented(w, n.body)
        if len(n.orelse) == 1 and isinstance(n.orelse[0], If):
            ended = self._if(w, n.orelse[0], "elif") and ended
        elif n.orelse:
            w.line("else:")
            ended = self.indented(w, n.orelse) and ended
        else:
            ended = False
        self.ended = ended
        return ended

    def temp(self, base: str) -> str:
        """A fresh name for a generated local."""
        return self.ctx.temp(base)

    # -- try: its exits through a waiting finally are exits.py's ----------------------------
    # ``blocks`` counts CPython's blocks open where printing is (a try body is in one, two
    # with both except and finally; an except clause in two more; else and finally in the
    # finally's one; a loop and each with item one): CPython compiles at most 20.
    def _try(self, w: Writer, n: Try) -> None:
        """Print the try; ``ended`` is set when its body and every handler surely end (by
        a return, a raise, a deferred wait or a tail call): the code after it is dead.
        A resume function re-enters a try around a rest that ends in a deferred wait:
        what followed the try there is not printed again in each state."""
        note = self.line_note(n.line)
        if n.fin is None:
            ended = self._try_clauses(w, n, with_finally=True, note=note)
            self.ended = ended
            return
        kind, value = n.fin
        frame = FinallyFrame(self.slotted(kind), self.slotted(value))
        if not exits_through(n):
            # Only an exception leaves the try but by its end: no clause of its own to
            # record it (see exits.py), the try costs CPython's blocks as written.
            with self.control.inside(frame):
                ended = self._try_clauses(w, n, with_finally=True, raising=frame, note=note)
            self.ended = ended
            return
        w.line(f"try:{note}", n.line)
        w.level += 1
        self.blocks += 2  # try/except/finally: CPython's blocks for a try and an except
        self.guarding += 1
        with self.control.inside(frame):
            if n.handlers or n.orelse:
                ended = self._try_clauses(w, n, with_finally=False)
            else:
                ended = self.block(w, n.body)
        self.guarding -= 1
        self.blocks -= 2
        w.level -= 1
        frame.write_pending_raise(w, self.names.x)
        self._finally(w, n)
        self.ended = ended

    def _finally(self, w: Writer, n: Try, raising: FinallyFrame | None = None) -> None:
        w.line("finally:")
        w.level += 1
        self.blocks += 1
        guarded = suspends([*n.body, *(x for h in n.handlers for x in h.body), *n.orelse])
        if guarded:
            # A suspension returns through this finally: it must not run then.
            w.line(not_suspending(self.names.m, self.clear_m))
            w.level += 1
        if raising is not None:
            w.line(f"if {raising.kind} == {Exit.RAISE.value}:  # the exception leaving the try")
            w.line(
                f"{self.indent}{raising.value} = {self.names.builtin('__import__')}('sys').exc_info()[1]"
            )
        self.block(w, n.finalbody)
        if guarded:
            w.level -= 1
        self.blocks -= 1
        w.level -= 1

    def _try_clauses(
        self,
        w: Writer,
        n: Try,
        with_finally: bool,
        raising: FinallyFrame | None = None,
        note: str = "",
    ) -> bool:
        """Print the try's clauses; True when its body and every handler surely end."""
        in_finally = int(with_finally and bool(n.finalbody))
        self.guarding += in_finally
        w.line(f"try:{note}", n.line)
        w.level += 1
        self.blocks += in_finally + bool(n.handlers)
        if raising is not None:
            raising.record(w, Exit.RAISE)
        ended = self.block(w, n.body)  # then the else never runs: only handlers go on
        self.blocks -= in_finally + bool(n.handlers)
        w.level -= 1
        star = "*" if n.star else ""
        self.blocks += in_finally + 2
        for h in n.handlers:
            clause = f"except{star}"
            if h.type is not None:
                clause += f" {self.expr(h.type)}"
            own = self._own_name(h)
            if own is not None:
                # ``except E as N``: N bound for the body and unbound after it, as in the
                # source, by CPython's own cleanup instead of the lowered try/finally (one
                # CPython block more than the source). A handler lowering entered sets the
                # temporary keeping the exception from N (in place of N = temporary); one
                # a resume function re-enters (by raising the exception again) binds N to
                # that same exception, which the body never rebinds.
                *before, unbinding = h.body
                assert isinstance(unbinding, Try)
                w.line(f"{clause} as {own}:", h.line)
                w.level += 1
                if h.name:
                    w.line(f"{self.slotted(h.name)} = {own}", h.line)
                    done = False
                else:
                    done = self.block(w, before)
                done = self.block(w, unbinding.body) or done
                ended = ended and done
                w.level -= 1
                continue
            if h.name:
                clause += f" as {h.name}"
            w.line(clause + ":", h.line)
            w.level += 1
            if h.name and h.name in self.storage.cold:
                # Python unbinds N when the clause ends, however it ends: its slot too,
                # or a later read sees the exception instead of UnboundLocalError. (The
                # body has no wait: it leaves by a native jump, return or raise.)
                slot = f"{self.names.m}.{self.slot(h.name)}"
                w.line(f"{slot} = {h.name}", h.line)
                w.line("try:")
                ended = self.indented(w, h.body, blocks=1) and ended
                w.line("finally:")
                w.line(f"{self.indent}{slot} = None")
                w.line(f"{self.indent}del {slot}")
                w.level -= 1
                continue
            ended = self.block(w, h.body) and ended
            w.level -= 1
        self.blocks -= in_finally + 2
        if n.orelse:
            w.line("else:")
            self.indented(w, n.orelse, blocks=in_finally)
        self.guarding -= in_finally
        if with_finally and n.finalbody:
            self._finally(w, n, raising)
        if not n.handlers and not (with_finally and n.finalbody):
            w.line("finally:")
            w.line(f"{self.indent}pass")
        return ended

    def _own_name(self, h: Handler) -> str | None:
        """The ``as`` name of a waiting handler's body (``lower._handler_body``), when
        Python's own ``except E as N`` can bind and unbind it: a local of the function
        (not kept on the machine) and, in a handler re-entered, one the body leaves alone.
        The body is the name bound from the kept exception (the restore of its context,
        re-entered), then the try/finally unbinding it."""
        if not h.body or not isinstance(h.body[-1], Try):
            return None
        unbinding = h.body[-1]
        own = unbinding.unbinds
        if own is None or own in self.storage.cold:
            return None
        if h.name:  # entered: [N = the temporary, the try/finally]
            return self.mangle(own) if len(h.body) == 2 and isinstance(h.body[0], Raw) else None
        if unbinding.rebinds or len(h.body) != 2 or not isinstance(h.body[0], Gen):
            return None
        return self.mangle(own)  # re-entered: [restore the context, the try/finally]

    def _return(self, w: Writer, n: Return) -> None:
        self.mark(w, n.line)
        value = self.expr(n.value) if n.value is not None else "None"
        if isinstance(n.value, cst.Tuple) and not n.value.lpar:
            value = f"({value})"
        self.control.write_return(w, value, n.line, self.names.Ready)
