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
