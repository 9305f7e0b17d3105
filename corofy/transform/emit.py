"""Print a lowered coroutine as its wrapper function and state-machine class.

``machine()`` prints the state functions (``state_functions``: each state's block printed
statement by statement by ``statements.Render``, with ``waits``, ``loops`` and ``exits``),
then the header and wrapper (``wrapper``) and the class (``machine_class``) above them.

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
  the machine and a suspension stores them back (``liveness.py`` says which).
- To be "inside" an ``except`` block again after a wait, a resume function raises the
  handled exception anew inside ``try: ... except BaseException:``: bare ``raise``,
  ``sys.exc_info()`` and the ``__context__`` of new exceptions then match the original.
- A ``finally`` that waits can be left mid-way by a suspension while a ``return``,
  ``break``, ``continue`` or exception is pending, which Python cannot resume. So every
  exit through such a ``try`` first records its kind (``exits.Exit``) and value
  (``_pk``/``_pv``); the resume function that finishes the ``finally`` then carries the
  pending exit out. A ``return``/``break`` inside the ``finally`` itself simply happens
  first, which is Python's "finally overrides" rule (``exits.py`` holds all of it).
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
  (``loops.delegate_loops``); so do the start function and the tails, so each waiting loop
  is printed once (one call per entry into the loop). Inside a ``try`` or waiting ``with``
  a call (a ``return``) would run its handlers, ``finally`` or ``__exit__`` too early: there
  the loop is *handed off* instead, by a wait deferred to ``poll()`` on runtime's
  ``Machine.NOW`` (ready at once), to a state of its own whose function calls the
  continuation, which re-enters the ``try`` itself. A ``try`` or ``if`` every branch of
  which ends (a return, raise, deferred wait or call) ends its block: what followed it is
  not printed again in each resume function. The start function,
  the tails and the continuations keep their waits inline: the fast path pays no deferral. What is still per state: the
  loads of what its own code reads (what it only hands on to a tail unchanged is passed
  from its slot; the future it waited on was polled by runtime's ``poll``), and the re-entry of each enclosing ``try``/``with`` (so a wait nested
  in many of them costs lines in proportion to their depth). tests/transform/test_size.py
  holds the bound on each shape; benchmarks/bench_output.py measures compile time.
"""

from __future__ import annotations

import libcst as cst

from corofy.transform import machine_class, state_functions, wrapper
from corofy.transform.generated import MachineText, Names
from corofy.transform.ir import Block, Loop
from corofy.transform.statements import Render
from corofy.transform.writer import Writer

__all__ = ["MachineText", "Names", "Render", "machine"]


def machine(
    r: Render,
    blocks: dict[int, Block],
    tails: dict[int, Block],
    base: str,
    filename: str,
    loops: dict[int, Loop] | None = None,
) -> MachineText:
    """The header comment, the wrapper function and the class, indented by ``base``."""
    ctx, unit, storage = r.ctx, r.unit, r.storage
    node = ctx.coroutine.node
    cls = wrapper.class_name_for(node.name.value)
    while cls in ctx.module_taken:  # a user's name, or another machine's, stays theirs
        cls += "_"
    ctx.module_taken.add(cls)
    def_line = ctx.line(node)
    states = [(0, "start", def_line, "")]
    fn_names = {0: "_s0_start"}
    for wait in unit.waits:
        state = f"s{wait.id}_{'loop_' if wait.handoff else ''}line{wait.line}"
        states.append((wait.id, state, wait.line, wait.source))
        fn_names[wait.id] = f"_{state}"
    body_stmts = unit.body
    loops = loops or {}
    r.tail_names = {
        k: f"_rest{n}_after_line{body_stmts[k].line}"
        for n, k in enumerate((k for k in tails if k >= 0), 1)
    }
    r.tail_names.update({k: f"_loop{-k}_line{loops[k].line}" for k in tails if k < 0})
    r.naming.reserved = {
        "_state",
        "_awaiting",
        "_cls",
        "_steps",
        "_corofy_states_",
        "_corofy_name_",
        "_corofy_line_",
        "poll",
        "close",
        "_finished",
        "_unbound_read",
        "_unbound_delete",
        *fn_names.values(),
        *r.tail_names.values(),
    }

    # The state functions first: printing them tells whether super()/__class__ or walrus on
    # a machine slot need support in the class.
    body, edges = state_functions.write(r, blocks, tails, states, fn_names, base)

    params = node.params
    param_names = [p.name.value for p in (*params.posonly_params, *params.params)]
    if isinstance(params.star_arg, cst.Param):
        param_names.append(params.star_arg.name.value)
    param_names += [p.name.value for p in params.kwonly_params]
    if params.star_kwarg is not None:
        param_names.append(params.star_kwarg.name.value)
    passed = [p for p in param_names if p in storage.needed.get(0, ()) or p in storage.cold]
    init_args = (["__class__"] if r.naming.uses_class else []) + passed

    w = Writer(r.indent, base)
    wrapper.write(w, r, cls, init_args)
    machine_class.write(w, r, cls, states, filename, init_args, passed)
    return MachineText(w.lines + body.lines, w.origin + body.origin, states, edges, cls)
