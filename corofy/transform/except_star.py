"""Lower a ``try/except*`` whose except* clauses wait (in a handler or in a type).

A native ``except*`` runs its clauses as one block that no resume function can re-enter
half-way, so such a try becomes a plain try whose one ``except BaseException`` spells out
what CPython compiles ``except*`` to (Python/compile.c, ``compiler_try_star_except``),
every step an IR node the rest of the transform already suspends inside and re-enters:

    try: BODY                              try: BODY
    except* T1 as n: H1          ->        except BaseException as _e:
    else: ELSE / finally: FIN                  _tb = _e.__traceback__; _cur = _rest = _e; _rs = []
                                               (each clause:)
                                               raise _cur again; in its handler (Python
                                                 evaluates a clause's type while the last part
                                                 handled is the handled exception):
                                                 _k = T1; _m, _rest = match(_rest, _k)
                                               if _m is not None:
                                                   _cur = _m; raise _m again; in its handler:
                                                       try: n = _m; H1 (n unbound after)
                                                       except BaseException as _y: _rs.append(_y)
                                               _rs.append(_rest); _r = result(_e, _rs)
                                               if _r is not None: raise _r (its __context__ kept)
                                           else: ELSE / finally: FIN

``match`` and ``result`` are CPython's CHECK_EG_MATCH and _PyExc_PrepReraiseStar
(``runtime/_except_star.py``, reached as ``Future._star_match`` / ``Future._star_result``).
Facts this relies on:

- ``result`` tells a bare ``raise`` of a handled part (a re-raise: the group keeps the
  original's shape) from ``raise eg`` (a new exception) by the traceback, which a bare
  ``raise`` leaves alone. A resume function re-enters a handler by raising its exception
  again, which changes the traceback: every exception raised again here has its traceback
  put back (``ir.Handler.traceback``), so the parts keep the one the original was caught with.
- Raising an exception again sets its ``__context__``: it is kept and put back, as for every
  handler a resume function re-enters (``exits.raise_again``).
- ``return``, ``break`` and ``continue`` cannot stand in an except* clause (CPython's
  SyntaxError), so a handler ends normally or by an exception.
"""

from __future__ import annotations

import libcst as cst

from corofy.transform.expressions import Spill, name
from corofy.transform.ir import Block, Gen, Handler, If, Raw, Try, Wait

_BASE = "BaseException"


def _gen(line: int, text: str, reads=(), writes=(), ends: bool = False) -> Gen:
    return Gen(line, text, reads=frozenset(reads), writes=frozenset(writes), ends=ends)


def _not_none(temp: str) -> cst.Comparison:
    return cst.Comparison(name(temp), [cst.ComparisonTarget(cst.IsNot(), name("None"))])


def _raised_again(ctx, line: int, exc: str, body, first: str = "") -> Block:
    """``exc`` raised and caught, so the block ``body(held)`` makes runs with it as the
    handled exception (held in the temporary ``held``). Its context and traceback are kept
    before and put back first, and again whenever a resume function re-enters the handler:
    the exception leaves as it came (a part a handler raised keeps the traceback that
    raise gave it). ``first``: an assignment ``a = b`` made with the keeping."""
    held, saved, tb = ctx.temp("_e"), ctx.temp("_ctx"), ctx.temp("_tb")
    restore = f"{held}.__context__, {held}.__traceback__ = {saved}, {tb}"
    handler = Handler(
        line, name(_BASE), held, [_gen(line, restore, (held, saved, tb)), *body(held)], traceback=tb
    )
    raising = [_gen(line, f"raise {exc}", (exc,), ends=True)]
    targets, values, reads, writes = (
        [saved, tb],
        [f"{exc}.__context__", f"{exc}.__traceback__"],
        [exc],
        [saved, tb],
    )
    if first:
        target, value = first.split(" = ")
        targets.insert(0, target)
        values.insert(0, value)
        reads.append(value)
        writes.append(target)
    keep = f"{', '.join(targets)} = {', '.join(values)}"
    return [
        _gen(line, keep, reads, writes),
        Try(line, raising, [handler], [], [], saved=ctx.temp("_ctx")),
    ]


def _next_clause(ctx, line: int) -> Wait:
    """A deferred wait on a future ready at once (``Future._star_next``): the clauses from
    here run in a state function of their own, so the resume functions of the waits before
    (in the try body, in an earlier clause) stop here instead of each copying the rest of
    the clauses (output linear in the clauses, SPEC 2.4). Never a suspension: ``poll()``
    and ``close()`` go straight on to that state."""
    future = cst.Attribute(name(ctx.future), cst.Name("_star_next"))
    wait = Wait(
        line, len(ctx.unit.waits) + 1, None, future, "the next except* clause", True, step=True
    )
    ctx.unit.waits.append(wait)
    return wait


def lower_try_star(lowering, s: cst.TryStar, line: int) -> tuple[Block, Block]:
    """``s``'s try (its body and else, the exception caught kept in a temporary) and the
    except* clauses that run after it when one was caught: the statements standing for the
    try without its finally, and the lowered else (for the finally's bookkeeping)."""
    ctx = lowering.ctx
    exc, caught = ctx.temp("_e"), ctx.temp("_e")
    body = lowering.block(s.body.body)
    keep = Handler(line, name(_BASE), caught, [_gen(line, f"{exc} = {caught}", (caught,), (exc,))])
    clauses = _clauses(lowering, s, line, exc)
    orelse = lowering.block(s.orelse.body.body) if s.orelse else []
    tried = Try(line, body, [keep], orelse, [], saved=ctx.temp("_ctx"))
    return [
        _gen(line, f"{exc} = None", (), (exc,)),
        tried,
        If(line, _not_none(exc), clauses, []),
    ], orelse


def _clauses(lowering, s: cst.TryStar, line: int, exc: str) -> Block:
    """The except* clauses for the exception in ``exc``, run outside its handler: each
    part is made the handled exception by raising it again (CPython replaces the handled
    exception by the part, so nothing else differs)."""
    ctx = lowering.ctx
    future = ctx.future
    cur, rest, raised = (ctx.temp(b) for b in ("_cur", "_rest", "_rs"))
    ctx.guard += 1
    body: Block = []
    if lowering.has(s.body) or (s.orelse is not None and lowering.has(s.orelse)):
        body.append(_next_clause(ctx, line))  # the resume functions there copy no clause
    body.append(
        _gen(line, f"{cur}, {rest}, {raised} = {exc}, {exc}, []", (exc,), (cur, rest, raised))
    )
    for k, h in enumerate(s.handlers):
        hline = ctx.line(h)
        if any(lowering.has(before) for before in s.handlers[:k]):
            body.append(_next_clause(ctx, hline))
        matched = ctx.temp("_m")

        # The type, evaluated and checked with the last part handled (the exception caught
        # at first) as the handled exception (what it raises chains onto that), then split.
        def typed(_held: str, h=h, hline=hline, matched=matched) -> Block:
            block: Block = []
            kind = Spill(ctx, hline).expr(h.type, block)
            split = cst.Assign(
                [
                    cst.AssignTarget(
                        cst.Tuple(
                            [cst.Element(name(matched)), cst.Element(name(rest))], lpar=[], rpar=[]
                        )
                    )
                ],
                cst.Call(
                    cst.Attribute(name(future), cst.Name("_star_match")),
                    [cst.Arg(name(rest)), cst.Arg(kind)],
                ),
            )
            block.append(Raw(hline, split))
            return block

        body.extend(_raised_again(ctx, hline, cur, typed))

        # The handler, its part the handled exception; what it raises is kept.
        def handled(held: str, h=h, hline=hline) -> Block:
            caught = ctx.temp("_e")
            keep = _gen(hline, f"{raised}.append({caught})", (raised, caught))
            return [
                Try(
                    hline,
                    lowering._handler_body(h, held),
                    [Handler(hline, name(_BASE), caught, [keep])],
                    [],
                    [],
                    saved=ctx.temp("_ctx"),
                )
            ]

        entered = _raised_again(ctx, hline, matched, handled, f"{cur} = {matched}")
        body.append(If(hline, _not_none(matched), entered, []))
    # What leaves: raised as CPython re-raises it, its __context__ left as it was.
    end = f"{future}._star_raise({exc}, {raised}, {rest})"
    body.append(_gen(line, end, (exc, raised, rest)))
    ctx.guard -= 1
    return body
