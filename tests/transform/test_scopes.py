"""corofy's own scope pass (scopes.py) on Python's facts: a module exercising every kind of
binding and nested scope (checked against CPython's symtable and spelled out), markers by
binding, and the refusal of a parameter rebinding a marker. test_scan.py pins the same pass
to libcst's ScopeProvider on a corpus and on generated programs."""

from __future__ import annotations

import symtable
import textwrap

import libcst as cst
import pytest

from corofy.transform import CorofyError, find
from tests.transform.python_scopes import function_locals

NESTED = """
from corofy import coroutine, wait

G = 1

@coroutine
def outer(a, *rest, k=2, **kw):
    x = 1
    y = [x + i for i in range(a) if (z := i)]
    g = (x for _ in range(3))
    f = lambda q=x: q + y[0] + a
    def inner(p):
        nonlocal x
        x += p
        return G + k
    class Box:
        v = x
        def m(self):
            return self.v + a
    match a:
        case [first, *others]:
            w = first
        case {"k": kval, **more}:
            w = kval
        case _:
            w = wait(f())
    global G
    G = wait(g)
    del w
    with open(__file__) as fh, open(__file__) as (fh2):
        pass
    try:
        pass
    except OSError as err:
        pass
    import os.path, sys as system
    from json import dumps as dump
    for i2, (j2, *k2) in []:
        pass
    return inner, Box, os, system, dump, z
"""


def scan(source: str) -> find.Scan:
    return find.scan(cst.parse_module(source), "t.py")


def assert_locals_are_pythons(source: str) -> None:
    result = scan(source)
    table = symtable.symtable(source, "t.py", "exec")
    for coroutine in result.coroutines:
        found = _function_table(table, coroutine.qualname)
        if found is None:
            continue  # the same name defined twice: no single table to compare
        expected = function_locals(found)
        declared = {n.name.value for n in _declarations(coroutine.node)}
        assert coroutine.scope.locals - declared == expected


def _function_table(table: symtable.SymbolTable, qualname: str):
    for part in qualname.split("."):
        if part == "<locals>":
            continue
        matches = [c for c in table.get_children() if c.get_name() == part]
        if len(matches) != 1:
            return None
        table = matches[0]
    return table


def _declarations(node: cst.FunctionDef) -> list:
    found: list = []

    class Declarations(cst.CSTVisitor):
        def visit_FunctionDef(self, n: cst.FunctionDef) -> bool:
            return n is node

        def visit_ClassDef(self, n: cst.ClassDef) -> bool:
            return False

        def visit_Lambda(self, n: cst.Lambda) -> bool:
            return False

        def visit_Global(self, n: cst.Global) -> None:
            found.extend(n.names)

        def visit_Nonlocal(self, n: cst.Nonlocal) -> None:
            found.extend(n.names)

    node.visit(Declarations())
    return found


def test_scopes_follow_python_on_nested_scopes():
    assert_locals_are_pythons(NESTED)
    ours = scan(NESTED).coroutines[0].scope
    # Python's answers, spelled out: match captures and walrus targets are locals; x is
    # rebound by a nested def and read by a class and a genexp; y, a and k are read by a
    # lambda, a method or a nested def; z is bound from inside a comprehension.
    assert {
        "first",
        "others",
        "kval",
        "more",
        "z",
        "os",
        "system",
        "dump",
        "fh",
        "fh2",
        "err",
        "i2",
        "j2",
        "k2",
    } <= ours.locals
    assert "G" not in ours.locals and "i" not in ours.locals
    assert ours.captured == {"a", "k", "x", "y", "z"}


@pytest.mark.parametrize(
    "source, expected",
    [
        ("from corofy import wait as w, coroutine as c\n@c\ndef f(x):\n    return w(x)\n", 1),
        ("import corofy\n@corofy.coroutine\ndef f(x):\n    return corofy.wait(x)\n", 1),
        ("import corofy as k\n@k.coroutine\ndef f(x):\n    return k.wait(x)\n", 1),
        # a name imported from elsewhere, or a nested function's parameter: an ordinary call
        (
            "from corofy import coroutine\nfrom os import wait\n@coroutine\ndef f(x):\n"
            "    return wait(x)\n",
            0,
        ),
        (
            "from corofy import coroutine, wait\n@coroutine\ndef f(x):\n    def g(wait):\n"
            "        return wait(x)\n    return g\n",
            0,
        ),
    ],
)
def test_wait_is_recognised_by_binding(source, expected):
    result = scan(source)
    assert len(result.coroutines) == 1
    assert len(result.coroutines[0].waits) == expected


def test_a_marker_imported_after_the_function_is_still_recognised():
    source = textwrap.dedent("""
        def later():
            @coroutine
            def f(x):
                return wait(x)
            return f

        from corofy import coroutine, wait
    """)
    result = scan(source)
    assert [c.qualname for c in result.coroutines] == ["later.<locals>.f"]
    assert len(result.coroutines[0].waits) == 1


def test_a_coroutine_parameter_rebinding_the_marker_is_refused():
    with pytest.raises(
        CorofyError, match=r"t\.py:3:7: error: rebinding the corofy marker name 'wait'"
    ):
        scan("from corofy import wait, coroutine\n@coroutine\ndef f(wait):\n    return wait(1)\n")


def test_import_statements_are_the_imports_the_walk_finds() -> None:
    # scan takes the marker names from import statements before walking; it must see
    # every import the walk sees, nested ones included.
    from pathlib import Path

    from corofy.transform import nodes, scopes

    root = Path(__file__).resolve().parents[2]
    nested = textwrap.dedent("""
        import a
        if x:
            from b import c
        elif y:
            import d; import e
        else:
            while z: import f
        try:
            import g
        except E:
            import h
        finally:
            import i
        def m():
            class K:
                from j import k as l
        match v:
            case 1:
                import n
        with w: import o
        """)
    sources = [nested, NESTED, *(p.read_text() for p in (root / "samples").glob("*.py"))]
    for source in sources:
        module = cst.parse_module(source)
        walked = [node for node, _scope, _order in scopes.walk(module).imports]
        assert list(nodes.import_statements(module)) == walked
    assert len(list(nodes.import_statements(cst.parse_module(nested)))) == 11
