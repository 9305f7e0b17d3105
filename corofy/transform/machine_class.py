"""The state-machine class: its slots, constructor and the tuple of its resume functions.

What every machine does the same way (``poll``, ``close``, the finalizer, the finished
state, unbound locals) is ``runtime.machine.Machine``, which the class subclasses: compiled
once there instead of once per coroutine (compile time of generated code, issue 10). Facts
those methods depend on are in runtime/machine.py's docstring; the class supplies
``_steps`` (printed after the resume functions), ``_corofy_name_`` and ``_corofy_line_``
(its ``_corofy_states_`` runtime makes from the names in ``_steps``).
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
    w.line(f"class {cls}({names.Machine}):")
    w.level += 1
    w.line(f'"""State machine of {ctx.coroutine.qualname}() from {filename}, line {def_line}."""')
    w.line(
        "# poll(), close() and __del__ are runtime.machine.Machine's: the same in every machine;"
    )
    w.line("# poll() runs _steps[_state], the function of the state this machine is in (below).")
    w.line("")
    w.line("# Only what lives across a wait is stored here; the rest stays in Python locals.")
    w.line("# A suspension stores only the locals its function changed: the rest are still here.")
    w.line(f"__slots__ = ({''.join(repr(s) + ', ' for s in ordered_slots).rstrip()})")
    # No table of the states: runtime's Machine._corofy_states_ reads each state's name and
    # line from its function's name in _steps (a dict display per class cost 2% of a
    # generated module's compile time, issue 10).
    w.line("# the coroutine's name and the line of its def (the start, state 0)")
    w.line(f"_corofy_name_, _corofy_line_ = {ctx.coroutine.node.name.value!r}, {def_line}")
    if r.storage.cold:  # a local that may be unset: reading it is an unbound local
        w.line(
            f"__getattr__, __delattr__ = {names.Machine}._unbound_read, "
            f"{names.Machine}._unbound_delete"
        )
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
