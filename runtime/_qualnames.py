"""Qualified names of the functions and classes a coroutine's body defines, as Python's.

A ``def``, ``class``, lambda or comprehension written in a coroutine runs in one of its
machine's functions, so CPython names it after that function
(``main_machine._s0_start.<locals>.helper``), where the source names it
``main.<locals>.helper`` (and so does the generator of SPEC §2.1). When a machine class is
made, the code its functions define is renamed as the source names it: ``__qualname__`` of
functions and classes, their reprs, a nested coroutine's "never waited" warning.

Facts this depends on:

- A function's code object carries the code of what it defines among its constants, each
  with ``co_qualname`` (3.11+) spelled from the enclosing code's own qualname plus
  ``.<locals>.``; a function made from it takes its ``__qualname__`` from there.
- A class body's code stores ``__qualname__`` from a string constant equal to its
  ``co_qualname``; no other string constant starts with a generated qualname's prefix.
- Rewritten code is cached by code and new prefix: a nested coroutine's machine class is
  made again each time its ``def`` runs, from the same constants.
"""

from __future__ import annotations

from collections.abc import Container
from types import CodeType, FunctionType
from weakref import WeakKeyDictionary

# code -> {new prefix: renamed code}; weak: a process that compiles many programs keeps none
_cache: WeakKeyDictionary[CodeType, dict[str, CodeType | None]] = WeakKeyDictionary()


def requalify(cls: type, qualname: str, inherited: Container[object]) -> None:
    """Name what the functions of machine class ``cls`` define as the source does, inside
    the coroutine whose qualified name is ``qualname``; ``inherited`` are functions of the
    base class the generated class body refers to (left alone)."""
    new = qualname + ".<locals>."
    for function in vars(cls).values():
        if type(function) is not FunctionType or function in inherited:
            continue
        code = function.__code__
        if not any(type(c) is CodeType for c in code.co_consts):
            continue  # defines nothing
        known = _cache.setdefault(code, {})
        if new not in known:  # None: nothing to rename (the value must not hold its key)
            renamed = rename_inside(code, code.co_qualname + ".<locals>.", new)
            known[new] = renamed if renamed is not code else None
        renamed = known[new]
        if renamed is not None:
            function.__code__ = renamed


def rename_inside(code: CodeType, old: str, new: str) -> CodeType:
    """``code`` with the qualname prefix ``old`` of the code it defines replaced by ``new``."""
    consts = code.co_consts
    renamed = tuple(rename(c, old, new) if type(c) is CodeType else c for c in consts)
    if all(a is b for a, b in zip(renamed, consts)):
        return code
    return code.replace(co_consts=renamed)


def rename(code: CodeType, old: str, new: str) -> CodeType:
    """``code`` and the code it defines with the qualname prefix ``old`` replaced by
    ``new``: their ``co_qualname`` and the string constants that spell one (a class body's
    ``__qualname__``)."""
    consts = tuple(
        rename(c, old, new)
        if type(c) is CodeType
        else new + c[len(old) :]
        if type(c) is str and c.startswith(old)
        else c
        for c in code.co_consts
    )
    qualname = code.co_qualname
    if qualname.startswith(old):
        qualname = new + qualname[len(old) :]
    elif all(a is b for a, b in zip(consts, code.co_consts)):
        return code
    return code.replace(co_qualname=qualname, co_consts=consts)
