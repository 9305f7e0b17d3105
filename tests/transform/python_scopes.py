"""A function's locals as CPython's ``symtable`` states them, the same on every Python.

Since Python 3.12 (PEP 709) a list, set or dict comprehension is compiled inline in its
function, and ``symtable`` lists the comprehension's iteration variables among the function's
locals. The language is unchanged: those variables stay invisible to the function (a
comprehension keeps its own scope), so corofy's scan does not count them, and neither does
this reference. They are the symbols carrying CPython's ``DEF_COMP_ITER`` flag
(``Include/internal/pycore_symtable.h``), which ``symtable.Symbol`` has no method for; a name
also bound by the function itself does not carry it.
"""

from __future__ import annotations

import symtable

DEF_COMP_ITER = 2 << 8


def comprehension_only(symbol: symtable.Symbol) -> bool:
    """Bound only as a comprehension's iteration variable (inlined there since 3.12)."""
    return bool(symbol._Symbol__flags & DEF_COMP_ITER)  # type: ignore[attr-defined]


def function_locals(table: symtable.SymbolTable) -> set[str]:
    """The names local to ``table``'s function, as Python's scoping rules define them."""
    return {
        symbol.get_name()
        for symbol in table.get_symbols()
        if symbol.is_local() and not comprehension_only(symbol)
    }
