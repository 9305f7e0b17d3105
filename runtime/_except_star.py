"""``try/except*`` for a state machine whose except* clauses span several polls.

A native ``except*`` cannot be left half-run at a suspension and re-entered, so generated
code spells the clauses out (``corofy.transform.except_star``) and calls these two, which
are CPython's own steps in Python (Objects/exceptions.c, Python/ceval.c):

- ``match(exc, kind)``: CHECK_EG_MATCH — the type checked as ``except*`` checks it, then
  ``(match, rest)``: a naked exception that matches wrapped in ``ExceptionGroup("", (e,))``,
  a group split by ``kind`` (its ``split`` method, as CPython calls it), nothing matched
  ``(None, exc)``; ``exc`` None (all handled) gives ``(None, None)``.
- ``result(orig, excs)``: _PyExc_PrepReraiseStar — what leaves the try once every clause ran:
  ``excs`` holds what each handler raised and, last, the unhandled rest. A raised exception
  with ``orig``'s metadata (traceback, cause, context: a bare ``raise`` of its part)
  is a re-raise: those keep ``orig``'s shape (its projection on their leaves); new ones are
  grouped with them in ``ExceptionGroup("", [...])``.
"""

from __future__ import annotations

from typing import Any

_CANNOT_CATCH = "catching classes that do not inherit from BaseException is not allowed"
_CANNOT_CATCH_EG = "catching ExceptionGroup with except* is not allowed. Use except instead."


def _is_exception_class(kind: Any) -> bool:
    return isinstance(kind, type) and BaseException in kind.__mro__


def _check(kind: Any) -> tuple[type, ...]:
    kinds = tuple(kind) if isinstance(kind, tuple) else (kind,)
    for k in kinds:
        if not _is_exception_class(k):
            raise TypeError(_CANNOT_CATCH)
    for k in kinds:
        if issubclass(k, BaseExceptionGroup):
            raise TypeError(_CANNOT_CATCH_EG)
    return kinds


def match(exc: BaseException | None, kind: Any) -> tuple[Any, Any]:
    """``(match, rest)`` of ``exc`` for the clause ``except* kind`` (CHECK_EG_MATCH)."""
    kinds = _check(kind)
    if exc is None:
        return None, None
    mro = type(exc).__mro__
    if any(k in mro for k in kinds):
        if isinstance(exc, BaseExceptionGroup):
            return exc, None
        wrapped = BaseExceptionGroup("", (exc,))
        wrapped.__traceback__ = exc.__traceback__
        return wrapped, None
    if isinstance(exc, BaseExceptionGroup):
        pair = exc.split(kind)
        if type(pair) is not tuple:
            raise TypeError(
                f"{type(exc).__name__}.split must return a tuple, not {type(pair).__name__}"
            )
        if len(pair) < 2:
            raise TypeError(
                f"{type(exc).__name__}.split must return a 2-tuple, got tuple of size {len(pair)}"
            )
        return pair[0], pair[1]
    return None, exc


def _same_metadata(e: BaseException, orig: BaseException) -> bool:
    # (not the notes: split() copies them, and CPython does not compare them)
    return (
        e.__traceback__ is orig.__traceback__
        and e.__cause__ is orig.__cause__
        and e.__context__ is orig.__context__
    )


def _leaf_ids(exc: BaseException, ids: set[int]) -> None:
    if isinstance(exc, BaseExceptionGroup):
        for e in exc.exceptions:
            _leaf_ids(e, ids)
    else:
        ids.add(id(exc))


def _subset(orig: BaseExceptionGroup, excs: list[BaseException]) -> Any:
    # exceptiongroup_subset: derive(), then orig's metadata (its notes copied)
    if not excs:
        return None
    eg = orig.derive(excs)
    if not isinstance(eg, BaseExceptionGroup):
        raise TypeError("derive must return an instance of BaseExceptionGroup")
    if orig.__traceback__ is not None:
        eg.__traceback__ = orig.__traceback__
    eg.__context__ = orig.__context__
    eg.__cause__ = orig.__cause__
    notes = getattr(orig, "__notes__", None)
    if notes is not None and _is_sequence(notes):
        eg.__notes__ = list(notes)  # type: ignore[attr-defined]
    return eg


def _is_sequence(value: Any) -> bool:
    # PySequence_Check: has __getitem__ and is not a dict
    return not isinstance(value, dict) and hasattr(type(value), "__getitem__")


def _projection(orig: BaseExceptionGroup, ids: set[int]) -> Any:
    # exceptiongroup_split_recursive matching leaves by identity, no rest built
    kept = []
    for e in orig.exceptions:
        if isinstance(e, BaseExceptionGroup):
            sub = _projection(e, ids)
            if sub is not None:
                kept.append(sub)
        elif id(e) in ids:
            kept.append(e)
    return _subset(orig, kept)


def result(orig: BaseException, excs: list[Any]) -> Any:
    """What the try raises once its except* clauses ran (None: nothing)."""
    if not excs:
        return None
    if not isinstance(orig, BaseExceptionGroup):
        # A naked exception was wrapped: one clause at most ran, one exception at most.
        return excs[0]
    raised: list[BaseException] = []
    reraised: list[BaseException] = []
    for e in excs:
        if e is not None:
            (reraised if _same_metadata(e, orig) else raised).append(e)
    ids: set[int] = set()
    for e in reraised:
        _leaf_ids(e, ids)
    reraised_eg = _projection(orig, ids)
    if not raised:
        return reraised_eg
    if reraised_eg is not None:
        raised.append(reraised_eg)
    if len(raised) > 1:
        return BaseExceptionGroup("", raised)
    return raised[0]


def reraise(orig: BaseException, raised: list[Any], rest: Any) -> None:
    """Raise what leaves the try (``result`` of what the handlers raised and the unhandled
    rest), if anything, as CPython's RERAISE does: its ``__context__`` left as it was."""
    raised.append(rest)
    exc = result(orig, raised)
    if exc is None:
        return
    context = exc.__context__
    try:
        raise exc
    finally:
        exc.__context__ = context
        del exc, context
