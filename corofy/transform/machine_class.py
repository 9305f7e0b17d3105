"""The state-machine class: its slots, constructor, ``poll`` loop, ``close`` and finalizer.

Facts the fixed methods depend on (see ``emit.py`` for the resume functions they call):

- ``poll`` dispatches in O(1) on ``_state`` through the class's ``_steps`` tuple; when some
  wait is deferred (left to its state's function, which answers ``_AGAIN``) it loops until
  an answer is PENDING or Ready, so the deferred wait is polled in the same ``poll()``.
- ``close()`` and ``__del__`` re-enter the suspended state with the ``_CLOSING`` waker: the
  wait raises GeneratorExit there, so ``finally`` blocks and ``with`` exits run, as
  ``generator.close()`` does; a machine that suspends again instead is an error, as there.
- Only locals that live across a wait have slots; reading or deleting one that is unset is
  an unbound local (or, from a nested scope, an unbound free variable), as Python says.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from corofy.transform.writer import Writer

if TYPE_CHECKING:
    from corofy.transform.statements import Render


def write(
    w: Writer,
    r: Render,
    cls: str,
    states: list[tuple[int, str, int, str]],
    filename: str,
    init_args: list[str],
    passed: list[str],
) -> None:
    """The class ``cls``, after the resume functions were printed (they tell which slots
    and helpers it needs); its resume functions follow it in the same class body."""
    ctx, names, ind = r.ctx, r.names, r.indent
    def_line = ctx.line(ctx.coroutine.node)
    ordered_slots = _slots(r)
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
    if r.naming.uses_class:
        w.line(f"{names.m}._cls = __class__")
    for p in passed:
        w.line(f"{names.m}.{r.slot(p)} = {p}")
    w.level -= 1
    w.line("")
    _poll(w, r)
    _close(w, r)
    _finalizer(w, r, ctx.coroutine.node.name.value)
    if r.storage.cold:
        _unbound(w, r)
    for slot in sorted(r.naming.setters):
        w.line("")
        w.line(f"def _set_{slot}(self, value):  # {slot} := value, {slot} being kept here")
        w.line(f"{ind}self.{slot} = value")
        w.line(f"{ind}return value")
    w.level -= 1


def _slots(r: Render) -> list[str]:
    slots = {"_state", "_awaiting"} | {r.slot(v) for v in r.storage.cold}
    for needed in r.storage.needed.values():
        slots |= {r.slot(v) for v in needed}
    if r.naming.uses_class:
        slots.add("_cls")
    return ["_state", "_awaiting"] + sorted(slots - {"_state", "_awaiting"})


def _poll(w: Writer, r: Render) -> None:
    names, ind = r.names, r.indent
    w.line("def poll(self, waker):")
    if r.deferred or any(wait.guarded for wait in r.unit.waits):
        w.line(f"{ind}answer = self._steps[self._state](self, waker)")
        w.line(
            f"{ind}while answer is {names.AGAIN}:  # a wait left to its state: poll it from here"
        )
        w.line(f"{ind}{ind}answer = self._steps[self._state](self, waker)")
        w.line(f"{ind}return answer")
    else:
        w.line(f"{ind}return self._steps[self._state](self, waker)")
    w.line("")


def _close(w: Writer, r: Render) -> None:
    names, ind = r.names, r.indent
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


def _finalizer(w: Writer, r: Render, fname: str) -> None:
    names, ind = r.names, r.indent
    w.line("def __del__(self):  # dropped while suspended: finalize, as a generator is")
    w.line(f"{ind}state = self._state")
    w.line(f"{ind}if state > 0:")
    w.line(f"{ind}{ind}try:")
    w.line(f"{ind}{ind}{ind}self._steps[state](self, {names.CLOSING})")
    w.line(f"{ind}{ind}except GeneratorExit:")
    w.line(f"{ind}{ind}{ind}pass")
    w.line(f"{ind}elif state == 0:  # never polled: a wait() forgotten, as asyncio warns")
    w.line(f"{ind}{ind}{names.Future}._never_waited(self, {fname!r})")


def _unbound(w: Writer, r: Render) -> None:
    """``__getattr__``/``__delattr__``: an unset slot is an unbound local."""
    ind = r.indent
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
