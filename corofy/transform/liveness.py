"""Liveness: which locals live across a wait, and where each one is kept.

A resume function keeps the coroutine's locals as Python locals while it runs, loads those
it needs when it starts, and stores them on the machine only when it suspends. Facts:

- A local is *needed* at wait ``j`` when the resume function for ``j`` may read it before
  assigning it (the upward-exposed reads of that function: liveness on entry).
- A suspension stores only what may have changed since the resume function loaded it:
  a local loaded on entry (or passed to a shared tail by callers that had not changed it)
  and bound nowhere in the function still equals its slot (``Storage.unchanged``).
- A resume function loads only what its own code reads: a needed local it merely hands on,
  unchanged, to a tail is passed there from its slot (``Storage.own_reads``).
- Storing ``self.x = x`` at a suspension is itself a read of ``x``: it fails when ``x`` is
  unbound. So a needed local must be *definitely assigned* at the wait (on every path from
  the start, as CPython's compiler reasons). Locals that are needed somewhere without
  being definitely assigned there, and locals a nested function, lambda, class or
  generator expression captures (late binding: they must see later assignments), live on
  the machine instead — "cold" locals, read and written as ``self.x`` everywhere; an unset
  slot then raises ``UnboundLocalError`` as Python does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from corofy.transform.assigned import Flow
from corofy.transform.ir import Block, Unit
from corofy.transform.reenter import ResumeBlocks
from corofy.transform.uses import UseTable


@dataclass
class Summary:
    """A block's exposed reads as a function of what states and tails need: one Flow pass
    finds the reads of its own code and what is assigned before each suspension and tail
    call; a local read there and not surely assigned is exposed too."""

    own: frozenset[str]
    before_wait: dict[int, frozenset[str]]
    before_tail: dict[int, frozenset[str]]
    bound: set[str]  # what the block may bind or unbind (``Storage.unchanged``)

    @staticmethod
    def of(block: Block, locals_: frozenset[str], uses: UseTable) -> Summary:
        flow = Flow(locals_, uses)
        flow.block(block, frozenset())
        return Summary(frozenset(flow.exposed), flow.before_wait, flow.before_tail, flow.bound)

    def exposed(
        self, needed: dict[int, frozenset[str]], args: dict[int, frozenset[str]]
    ) -> frozenset[str]:
        found = set(self.own)
        for j, da in self.before_wait.items():
            found |= needed[j] - da
        for k, da in self.before_tail.items():
            found |= args[k] - da
        return frozenset(found)


@dataclass
class Storage:
    """Where each local lives: ``cold`` on the machine; the rest in resume-function locals,
    loaded (``needed[j]``) when state ``j`` resumes and stored when it suspends."""

    locals: frozenset[str]
    cold: frozenset[str]
    needed: dict[int, frozenset[str]]  # state -> hot locals loaded on resume / stored at suspend
    tail_args: dict[int, frozenset[str]]  # statement index -> hot locals its tail receives
    nested_refs: dict[int, str]  # id(Name) in a nested scope -> the coroutine local it names
    # ("state", j) or ("tail", k) -> the hot locals that function never changes and that
    # equal their slots throughout it: its suspensions need not store them
    unchanged: dict[tuple[str, int], frozenset[str]] = field(default_factory=dict)
    # ("state", j) or ("tail", k) -> the locals that function's own code reads (not counting
    # what it passes on to a tail or stores at a suspension)
    own_reads: dict[tuple[str, int], frozenset[str]] = field(default_factory=dict)


def _unchanged(
    summaries: dict[tuple[str, int], Summary],
    needed: dict[int, frozenset[str]],
    args: dict[int, frozenset[str]],
) -> dict[tuple[str, int], frozenset[str]]:
    """``Storage.unchanged``: a state's function loads ``needed[j]`` from the slots; a tail
    receives its arguments from its callers, equal to the slots where every caller had
    them unchanged. A function keeps what it loads or receives unchanged unless it binds it."""
    bound = {key: summary.bound for key, summary in summaries.items()}
    callers: dict[int, list[tuple[str, int]]] = {k: [] for k in args}
    for key, summary in summaries.items():
        for k in summary.before_tail:
            callers[k].append(key)
    entry = {
        key: (needed if key[0] == "state" else args).get(key[1], frozenset()) for key in summaries
    }
    changed = True
    while changed:  # entries only shrink: this ends
        changed = False
        for k in args:
            narrowed = entry["tail", k]
            for caller in callers[k]:
                narrowed = narrowed & (entry[caller] - bound[caller])
            if narrowed != entry["tail", k]:
                entry["tail", k], changed = narrowed, True
    return {key: frozenset(entry[key] - bound[key]) for key in summaries}


def place_locals(
    unit: Unit,
    resumes: ResumeBlocks,
    params: list[str],
    local_names: set[str],
    captured: set[str],
    nested_refs: dict[int, str],
    uses: UseTable,
) -> Storage:
    """Decide where each local lives (see the module docstring)."""
    locals_ = frozenset(local_names | unit.temps)
    blocks, tails = resumes.blocks, resumes.tails
    needed: dict[int, frozenset[str]] = {w.id: frozenset() for w in unit.waits}
    args: dict[int, frozenset[str]] = {k: frozenset() for k in tails}
    # Stores and tail calls are reads: iterate to the fixpoint. Each block is walked once
    # (``Summary``); when an entry grows only the blocks holding that wait or tail call
    # are summed up again.
    entries = [
        *((needed, w.id, blocks[w.id]) for w in unit.waits),
        *((args, k, tails[k]) for k in tails),
    ]
    summaries = [Summary.of(block, locals_, uses) for _, _, block in entries]
    readers: dict[tuple[int, int], list[int]] = {}
    for e, summary in enumerate(summaries):
        for j in summary.before_wait:
            readers.setdefault((id(needed), j), []).append(e)
        for k in summary.before_tail:
            readers.setdefault((id(args), k), []).append(e)
    pending = list(range(len(entries)))[::-1]  # later code first: earlier blocks read its entries
    queued = set(pending)
    while pending:
        e = pending.pop(0)
        queued.discard(e)
        table, key, _ = entries[e]
        found = summaries[e].exposed(needed, args)
        if not found <= table[key]:
            table[key] = found | table[key]
            for r in readers.get((id(table), key), ()):
                if r not in queued:
                    queued.add(r)
                    pending.append(r)
    start = Summary.of(blocks[0], locals_, uses)
    start_exposed = start.exposed(needed, args)
    start_needed = start_exposed & frozenset(params)
    whole = Flow(locals_, uses)
    da = frozenset(params)
    cold = set(captured & locals_)
    # A local the start function may read unbound but never binds itself (its binding is in
    # a tail, after a wait): there the name would be a global, NameError instead of
    # UnboundLocalError. On the machine, an unset slot raises UnboundLocalError.
    cold |= (start_exposed - frozenset(params) - start.bound) & locals_ - unit.temps
    for k, stmt in enumerate(unit.body):
        da = whole.node(stmt, da)
        if k in args and da is not None:
            cold |= args[k] - da  # a tail receives only what is surely bound
    for key, loop in resumes.loops.items():
        # A loop's continuation is called where an iteration ended: at its head.
        head = whole.heads.get(id(loop))
        if head is not None:
            cold |= args[key] - head
    for wait in unit.waits:
        at = whole.at_wait.get(wait.id)
        if at is None:
            continue
        cold |= needed[wait.id] - at
    hot_needed = {j: frozenset(v - cold) for j, v in needed.items()}
    hot_needed[0] = frozenset(start_needed - cold)
    hot_args = {k: frozenset(v - cold) for k, v in args.items()}
    by_function = {
        ("state" if table is needed else "tail", key): summary
        for (table, key, _), summary in zip(entries, summaries)
    }
    by_function["state", 0] = start
    return Storage(
        locals_,
        frozenset(cold),
        hot_needed,
        hot_args,
        nested_refs,
        _unchanged(by_function, hot_needed, hot_args),
        {key: summary.own for key, summary in by_function.items()},
    )
