"""Where a poll in each state of the generated machine can end, read from its resume blocks.

An edge goes from the state a poll resumes to a state it may stop in (a wait reached) or to
done (-1), tagged ``normal`` or ``exception`` (reached through an ``except`` handler). Shared
tails and loop continuations are followed where the resume blocks call them.
"""

from __future__ import annotations

from corofy.transform.ir import Block, Resume, Return, TailCall, Try, Wait, children


def edges(
    state: int,
    block: Block,
    tails: dict[int, Block],
    memo: dict[tuple[int, str], tuple[dict, list]] | None = None,
) -> list[tuple[int, int, str]]:
    """Where a poll in ``state`` can end: another state (a wait), or done (-1). ``memo``
    keeps what each tail holds itself (its ends and the tails it calls), which every state
    calling it shares. Tails call each other in cycles (a loop's continuation calls itself
    and the continuations of the loops around it): the tails reachable from ``block`` are
    found once each, so nested loops cost time linear in their number."""
    memo = {} if memo is None else memo
    found, calls = _own_ends(block, "normal")
    seen: set[tuple[int, str]] = set()
    stack = list(reversed(calls))
    while stack:
        key = stack.pop()
        if key in seen:
            continue
        seen.add(key)
        if key not in memo:
            memo[key] = _own_ends(tails[key[0]], key[1])
        own, more = memo[key]
        found.update(own)
        stack.extend(reversed(more))
    found[(-1, "normal")] = None
    found[(-1, "exception")] = None
    return [(state, dst, kind) for dst, kind in found]


def _own_ends(block: Block, kind: str) -> tuple[dict[tuple[int, str], None], list[tuple[int, str]]]:
    """The ends in ``block`` itself, and the tails it calls (with the kind they are
    reached by), in order."""
    found: dict[tuple[int, str], None] = {}
    calls: list[tuple[int, str]] = []

    def ends(block: Block, kind: str) -> None:
        for n in block:
            if isinstance(n, TailCall):
                calls.append((n.index, kind))
            if isinstance(n, Wait):
                found[(n.id, kind)] = None
            elif isinstance(n, Resume):
                found[(n.wait.id, "normal")] = None
            elif isinstance(n, Return):
                found[(-1, kind)] = None
            elif isinstance(n, Try):
                ends(n.body, kind)
                for h in n.handlers:
                    ends(h.body, "exception")
                ends(n.orelse, kind)
                ends(n.finalbody, kind)
                continue
            for child in children(n):
                ends(child, kind)

    ends(block, kind)
    return found, calls
