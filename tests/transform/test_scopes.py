"""corofy's own scope pass (scopes.py) against two oracles: libcst's ScopeProvider, which the
transform used before (its locals, captured names and nested references must be the same),
and CPython's symtable (the locals of every coroutine must be Python's)."""

from __future__ import annotations

import symtable
import textwrap
from pathlib import Path

import libcst as cst
import pytest
from hypothesis import given, settings
from libcst.metadata import (
    ClassScope,
    ComprehensionScope,
    FunctionScope,
    MetadataWrapper,
    ScopeProvider,
)
from programs import programs

from corofy.transform import CorofyError, markers

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CORPUS = sorted((HERE / "golden" / "inputs").glob("*.py")) + sorted((ROOT / "samples").glob("*.py"))

NESTED = '''
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
'''


def scan(source: str) -> markers.Scan:
    return markers.scan(cst.parse_module(source), "t.py")


def libcst_facts(module: cst.Module, node: cst.FunctionDef):
    """What the transform computed with libcst's ScopeProvider before scopes.py existed."""
    scopes = MetadataWrapper(module, unsafe_skip_copy=True).resolve(ScopeProvider)
    scope = scopes[node.body]
    names: set[str] = set()
    refs: dict[int, str] = {}
    for assignment in scope.assignments:
        bound = getattr(assignment, "node", None)
        if isinstance(bound, cst.Name) and scopes.get(bound) is not scope:
            names.add(assignment.name)
            refs[id(bound)] = assignment.name
        for access in assignment.references:
            s = access.scope
            if s is scope:
                continue
            refs[id(access.node)] = assignment.name
            while s is not None and s is not scope:
                if isinstance(s, (FunctionScope, ClassScope)) or (
                    isinstance(s, ComprehensionScope) and isinstance(getattr(s, "node", None), cst.GeneratorExp)
                ):
                    names.add(assignment.name)
                    break
                s = s.parent
    local_names = {a.name for a in scope.assignments}
    return scopes, scope, local_names, names, refs


def python_only(node: cst.CSTNode) -> set[str]:
    """Locals libcst's scopes miss or misplace: match captures, and walrus targets inside
    a comprehension (Python binds them in the function)."""
    found: set[str] = set()

    class Captures(cst.CSTVisitor):
        depth = 0

        def visit_ListComp(self, n: cst.ListComp) -> None:
            self.depth += 1

        def leave_ListComp(self, n: cst.ListComp) -> None:
            self.depth -= 1

        visit_SetComp = visit_DictComp = visit_GeneratorExp = visit_ListComp
        leave_SetComp = leave_DictComp = leave_GeneratorExp = leave_ListComp

        def visit_NamedExpr(self, n: cst.NamedExpr) -> None:
            if self.depth and isinstance(n.target, cst.Name):
                found.add(n.target.value)

        def visit_MatchAs(self, n: cst.MatchAs) -> None:
            if n.name is not None:
                found.add(n.name.value)

        def visit_MatchStar(self, n: cst.MatchStar) -> None:
            if n.name is not None:
                found.add(n.name.value)

        def visit_MatchMapping(self, n: cst.MatchMapping) -> None:
            if n.rest is not None:
                found.add(n.rest.value)

    node.visit(Captures())
    return found


def assert_agrees_with_libcst(source: str) -> None:
    result = scan(source)
    assert result.coroutines
    for coroutine in result.coroutines:
        ours = coroutine.scope
        scopes, fscope, local_names, captured, refs = libcst_facts(result.module, coroutine.node)
        declared = {n.name.value for n in _declarations(coroutine.node)}
        skip = declared | python_only(coroutine.node)
        # libcst names ``import a.b`` by its dotted name; it binds ``a``.
        local_names = {n.split(".")[0] for n in local_names}
        assert ours.locals - skip == local_names - skip
        assert ours.captured - skip == captured - skip
        assert {k: v for k, v in ours.nested_refs.items() if v not in skip} == \
            {k: v for k, v in refs.items() if v not in skip}
        for node in _names(coroutine.node.body):
            where = ours.where(node)
            if where == "own":
                assert scopes.get(node) is fscope, node.value
            elif where == "nested":
                assert scopes.get(node) is not fscope, node.value


def assert_locals_are_pythons(source: str) -> None:
    result = scan(source)
    table = symtable.symtable(source, "t.py", "exec")
    for coroutine in result.coroutines:
        found = _function_table(table, coroutine.qualname)
        if found is None:
            continue  # the same name defined twice: no single table to compare
        expected = {s.get_name() for s in found.get_symbols() if s.is_local()}
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


def _names(node: cst.CSTNode) -> list[cst.Name]:
    found: list[cst.Name] = []

    class Names(cst.CSTVisitor):
        def visit_Name(self, n: cst.Name) -> None:
            found.append(n)

    node.visit(Names())
    return found


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_scopes_agree_with_libcst_on_the_corpus(path):
    source = path.read_text()
    if "@coroutine" not in source:
        pytest.skip("no coroutine")
    assert_agrees_with_libcst(source)
    assert_locals_are_pythons(source)


def test_scopes_agree_with_libcst_and_python_on_nested_scopes():
    assert_agrees_with_libcst(NESTED)
    assert_locals_are_pythons(NESTED)
    ours = scan(NESTED).coroutines[0].scope
    # Python's answers, spelled out: match captures and walrus targets are locals; x is
    # rebound by a nested def and read by a class and a genexp; y, a and k are read by a
    # lambda, a method or a nested def; z is bound from inside a comprehension.
    assert {"first", "others", "kval", "more", "z", "os", "system", "dump", "fh", "fh2",
            "err", "i2", "j2", "k2"} <= ours.locals
    assert "G" not in ours.locals and "i" not in ours.locals
    assert ours.captured == {"a", "k", "x", "y", "z"}


@settings(max_examples=10)
@given(programs())
def test_scopes_agree_with_libcst_and_python_on_generated_programs(source):
    assert_agrees_with_libcst(source)
    assert_locals_are_pythons(source)


@pytest.mark.parametrize("source, expected", [
    ("from corofy import wait as w, coroutine as c\n@c\ndef f(x):\n    return w(x)\n", 1),
    ("import corofy\n@corofy.coroutine\ndef f(x):\n    return corofy.wait(x)\n", 1),
    ("import corofy as k\n@k.coroutine\ndef f(x):\n    return k.wait(x)\n", 1),
    # a name imported from elsewhere, or a nested function's parameter: an ordinary call
    ("from corofy import coroutine\nfrom os import wait\n@coroutine\ndef f(x):\n"
     "    return wait(x)\n", 0),
    ("from corofy import coroutine, wait\n@coroutine\ndef f(x):\n    def g(wait):\n"
     "        return wait(x)\n    return g\n", 0),
])
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
    with pytest.raises(CorofyError, match="t.py:3:7: error: rebinding the corofy marker name 'wait'"):
        scan("from corofy import wait, coroutine\n@coroutine\ndef f(wait):\n    return wait(1)\n")
