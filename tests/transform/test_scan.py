"""The scan's own scope walk (``corofy/transform/scopes.py``) against two oracles.

- libcst's ``ScopeProvider``, through a copy of what the transform computed with it before
  (``_reference``): for every coroutine of the golden inputs, the samples and hypothesis
  programs, the locals, the captured locals, the nested references and which Names are in
  its own scope or in another must be the same.
- Python's ``symtable`` for the locals of every coroutine, and for the cases where libcst
  and Python differ (documented below): there the scan follows Python.

And the markers are recognised by binding, not by spelling.
"""

from __future__ import annotations

import ast
import glob
import os
import symtable
import textwrap
from types import MappingProxyType

import libcst as cst
import pytest
from hypothesis import given
from libcst.metadata import (
    ClassScope,
    ComprehensionScope,
    ExpressionContextProvider,
    FunctionScope,
    ScopeProvider,
)

from corofy.transform import CorofyError, find, transform_source
from tests.transform.programs import programs
from tests.transform.python_scopes import function_locals

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = sorted(
    glob.glob(os.path.join(ROOT, "tests/transform/golden/inputs/*.py"))
    + glob.glob(os.path.join(ROOT, "samples/*.py"))
)


def _snippets() -> list[str]:
    """The coroutine sources written out in the construct and lowering tests."""
    found = []
    for path in sorted(glob.glob(os.path.join(ROOT, "tests/transform/test_*.py"))):
        if path.endswith("test_scan.py"):
            continue
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read())
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and "@coroutine" in node.value
            ):
                source = textwrap.dedent(node.value)
                if "import corofy" not in source and "from corofy" not in source:
                    source = "from corofy import coroutine, wait\n" + source
                try:
                    compile(source, "t.py", "exec")
                    module = cst.parse_module(source)
                    find.scan(module, "t.py")
                except (SyntaxError, CorofyError, cst.ParserSyntaxError):
                    continue  # a refusal case, or a fragment
                if module.code != source:
                    continue  # libcst reads other text (a lone backslash line): not for this oracle
                found.append(source)
    return found


SNIPPETS = _snippets()


# -- the oracle: what the transform computed with libcst's ScopeProvider ----------------------
def _libcst_scopes(module: cst.Module):
    contexts = ExpressionContextProvider()
    contexts.visit_Module(module)
    scopes = ScopeProvider()
    scopes.metadata = {ExpressionContextProvider: MappingProxyType(dict(contexts._computed))}
    scopes.visit_Module(module)
    return dict(scopes._computed)


def _reference(scope: FunctionScope, scopes) -> tuple[set[str], set[str], dict[int, str]]:
    """Locals, captured locals and nested references as ``analyse.captured`` had them."""
    names: set[str] = set()
    refs: dict[int, str] = {}
    for assignment in scope.assignments:
        node = getattr(assignment, "node", None)
        if isinstance(node, cst.Name) and scopes.get(node) is not scope:
            names.add(assignment.name)
            refs[id(node)] = assignment.name
        for access in assignment.references:
            s = access.scope
            if s is scope:
                continue
            refs[id(access.node)] = assignment.name
            while s is not None and s is not scope:
                if isinstance(s, (FunctionScope, ClassScope)) or (
                    isinstance(s, ComprehensionScope)
                    and isinstance(getattr(s, "node", None), cst.GeneratorExp)
                ):
                    names.add(assignment.name)
                    break
                s = s.parent
    # libcst also records ``a.b`` for ``import a.b`` (Python binds only ``a``).
    locals_ = {a.name for a in scope.assignments if "." not in a.name}
    return locals_, names, refs


class _Names(cst.CSTVisitor):
    def __init__(self) -> None:
        self.names: list[cst.Name] = []
        self.differs = False  # a construct where libcst and Python disagree
        self.comprehensions = 0
        self.depth = 0
        self.captures: set[str] = set()
        self.keys: set[int] = set()
        self.nonlocals: set[str] = set()  # declared nonlocal in defs just inside

    def visit_Name(self, node: cst.Name) -> None:
        self.names.append(node)

    def visit_FunctionDef(self, node) -> None:
        self.depth += 1

    def leave_FunctionDef(self, node) -> None:
        self.depth -= 1

    visit_Lambda = visit_ClassDef = visit_FunctionDef
    leave_Lambda = leave_ClassDef = leave_FunctionDef

    def visit_Nonlocal(self, node) -> None:
        # libcst binds ``nonlocal x`` in the scope just above; Python in the nearest
        # function above that binds x (a def two deep rebinding the coroutine's x).
        if self.depth > 1:
            self.differs = True
        elif self.depth:
            self.nonlocals.update(item.name.value for item in node.names)

    def visit_MatchKeywordElement(self, node) -> None:
        self.keys.add(id(node.key))  # libcst gives the key a scope: it is no variable

    def _capture(self, name) -> None:
        # libcst does not see captures (the transform adds those of its own scope: unit.bound)
        if name is not None:
            self.captures.add(name.value)
            self.differs = self.differs or self.depth > 1 or self.comprehensions > 0

    def visit_MatchAs(self, node) -> None:
        self._capture(node.name)

    def visit_MatchStar(self, node) -> None:
        self._capture(node.name)

    def visit_MatchMapping(self, node) -> None:
        self._capture(node.rest)

    def visit_NamedExpr(self, node) -> None:
        self.differs = self.differs or self.comprehensions > 0

    def visit_TypeAlias(self, node) -> None:
        # Python evaluates ``type X = value`` lazily, in a scope of its own that captures the
        # function's locals it reads; libcst gives the value no scope (no capture).
        self.differs = True

    def visit_ListComp(self, node) -> None:
        self.comprehensions += 1

    def leave_ListComp(self, node) -> None:
        self.comprehensions -= 1

    visit_SetComp = visit_DictComp = visit_GeneratorExp = visit_ListComp
    leave_SetComp = leave_DictComp = leave_GeneratorExp = leave_ListComp


def _compare(source: str) -> int:
    """Compare on every coroutine of ``source``; return how many were compared."""
    module = cst.parse_module(source)
    scan = find.scan(module, "t.py")
    scopes = _libcst_scopes(module)
    compared = 0
    for co in scan.coroutines:
        fscope = scopes[co.node.body]
        locals_, captured, refs = _reference(fscope, scopes)
        under = _Names()
        co.node.body.visit(under)  # decorators and defaults are printed as written
        nested_values = {n.value for n in under.names if scopes.get(n) not in (None, fscope)}
        if under.differs or under.captures & nested_values:
            continue  # a capture read in a nested scope: libcst misses the reference
        if not under.nonlocals <= co.scope.locals:
            continue  # a nonlocal of a scope above: libcst may bind it here
        in_tree = {id(n) for n in under.names}
        # Only plain values in the asserts: pytest's explanation of a failing one prints every
        # object named in it, and a Coroutine or a libcst Scope prints its whole parsed tree
        # (minutes per failure when Hypothesis shrinks a generated program).
        qualname, mine = co.qualname, co.scope
        own_names, nested_names = mine.own_names, mine.nested_names
        mine_locals, mine_captured, mine_refs = mine.locals, mine.captured, mine.nested_refs
        assert mine_locals == locals_ | under.captures, qualname
        assert mine_captured == captured, qualname
        assert mine_refs == {k: v for k, v in refs.items() if k in in_tree}, qualname
        for n in under.names:
            if id(n) in under.keys:
                continue
            s = scopes.get(n)
            name, known, own = n.value, s is not None, s is fscope
            assert (id(n) in own_names) == own, (qualname, name)
            if id(n) in nested_names or id(n) in own_names:
                assert known, (qualname, name)
            if known and not own:
                assert id(n) in nested_names, (qualname, name)
        compared += 1
    return compared


def _symtable_locals(source: str, co: find.Coroutine, scan: find.Scan) -> set[str]:
    line = scan.positions[co.node.name].start.line
    todo = [symtable.symtable(source, "t.py", "exec")]
    while todo:
        table = todo.pop()
        if (
            table.get_type() == "function"
            and table.get_name() == co.node.name.value
            and table.get_lineno() == line
        ):
            names = function_locals(table)
            if co.class_name:  # symtable has private names mangled
                prefix = f"_{co.class_name.lstrip('_')}__"
                names = {"__" + n[len(prefix) :] if n.startswith(prefix) else n for n in names}
            return names
        todo.extend(table.get_children())
    raise AssertionError(f"no symbol table for {co.qualname}")


def _check_symtable(source: str) -> None:
    scan = find.scan(cst.parse_module(source), "t.py")
    for co in scan.coroutines:
        qualname, mine, pythons = co.qualname, co.scope.locals, _symtable_locals(source, co, scan)
        assert mine == pythons, qualname  # plain values only: see _compare


@pytest.mark.parametrize("path", CORPUS, ids=os.path.basename)
def test_scopes_agree_with_libcst_and_python_on_the_corpus(path: str) -> None:
    with open(path, encoding="utf-8") as f:
        source = f.read()
    _compare(source)
    _check_symtable(source)


def test_scopes_agree_with_libcst_and_python_on_the_tests_snippets() -> None:
    compared = 0
    for source in SNIPPETS:
        compared += _compare(source)
        _check_symtable(source)
    assert compared > 100


@given(source=programs())
def test_scopes_agree_with_libcst_and_python_on_generated_programs(source: str) -> None:
    _compare(source)
    _check_symtable(source)


# -- where libcst and Python differ: Python ------------------------------------------------
def _co(source: str, index: int = -1):
    source = textwrap.dedent(source)
    scan = find.scan(cst.parse_module(source), "t.py")
    return source, scan, scan.coroutines[index]


DIFFERENCES = {
    # libcst binds a comprehension's walrus in the comprehension; Python in the function.
    "walrus in a comprehension": """
        from corofy import coroutine, wait
        @coroutine
        def f(xs):
            ys = [last := x for x in xs]
            return last
    """,
    # libcst does not see match captures.
    "match captures": """
        from corofy import coroutine, wait
        @coroutine
        def f(v):
            match v:
                case [a, *rest]:
                    pass
                case {"k": b, **others}:
                    pass
                case str() as c:
                    pass
    """,
    # libcst puts a nested function's nonlocal in the coroutine even when an outer function
    # binds it.
    "nonlocal past the coroutine": """
        from corofy import coroutine, wait
        def outer():
            x = 1
            @coroutine
            def f():
                def g():
                    nonlocal x
                    x = 2
                g()
                return wait(x)
            return f
    """,
    # del binds (as a local the function can delete).
    "del": """
        from corofy import coroutine, wait
        @coroutine
        def f():
            del y
    """,
    # import a.b binds a.
    "dotted import": """
        from corofy import coroutine, wait
        @coroutine
        def f():
            import os.path
            return os.path.sep
    """,
}


@pytest.mark.parametrize("name", DIFFERENCES)
def test_locals_follow_python_where_libcst_differs(name: str) -> None:
    source, scan, co = _co(DIFFERENCES[name])
    assert co.scope.locals == _symtable_locals(source, co, scan)


def test_a_walrus_in_a_comprehension_is_captured_and_referenced() -> None:
    _, _, co = _co(DIFFERENCES["walrus in a comprehension"])
    assert "last" in co.scope.captured
    walrus_target = co.node.body.body[0].body[0].value.elt.target
    assert co.scope.nested_refs[id(walrus_target)] == "last"


def test_a_match_capture_read_in_a_nested_scope_is_referenced() -> None:
    _, _, co = _co("""
        from corofy import coroutine, wait
        @coroutine
        def f(v):
            match v:
                case int(m):
                    return [m for _ in range(2)], lambda: m
    """)
    assert sorted(co.scope.nested_refs.values()) == ["m", "m"]
    assert co.scope.captured == {"m"}  # the lambda's; the list's only references it


def test_nonlocal_past_the_coroutine_is_not_its_local() -> None:
    _, _, co = _co(DIFFERENCES["nonlocal past the coroutine"])
    assert "x" not in co.scope.locals and not co.scope.captured and not co.scope.nested_refs


def test_scope_rules() -> None:
    source, scan, co = _co("""
        from corofy import coroutine, wait
        d = 0
        @coroutine
        def f(a, /, b=d, *c, k: int = 0, **kw):
            global g
            g = 1
            class K:
                z = a            # a class body reads the coroutine's a
                b = 0            # the class's own b
                def m(self):
                    return b     # class scope skipped: the coroutine's b
            h = lambda q=b: q    # the default is read in f: not a nested ref
            gen = (a for _ in c)  # first iterable in f, the rest in the genexp
            lst = [kw for _ in c]
            return wait(h)
    """)
    names = co.scope
    assert names.locals == _symtable_locals(source, co, scan)
    assert names.locals == {"a", "b", "c", "k", "kw", "K", "h", "gen", "lst"}
    assert names.captured == {"a", "b"}  # class body, method, genexp; lst only references kw
    assert sorted(names.nested_refs.values()) == ["a", "a", "b", "kw"]


# -- markers by binding ----------------------------------------------------------------------
def _coroutines(source: str) -> list[str]:
    scan = find.scan(cst.parse_module(textwrap.dedent(source)), "t.py")
    return [c.qualname for c in scan.coroutines]


def _waits(source: str) -> int:
    scan = find.scan(cst.parse_module(textwrap.dedent(source)), "t.py")
    return sum(len(c.waits) for c in scan.coroutines)


def test_markers_under_an_alias() -> None:
    assert (
        _waits("""
        from corofy import coroutine as co, wait as w
        @co
        def f(x):
            return w(x)
    """)
        == 1
    )


def test_markers_through_the_module_and_markers_submodule() -> None:
    assert (
        _waits("""
        import corofy
        @corofy.coroutine
        def f(x):
            return corofy.wait(x)
    """)
        == 1
    )
    assert (
        _waits("""
        import corofy as c
        from corofy.markers import wait
        @c.coroutine
        def f(x):
            return wait(x) + c.wait(x)
    """)
        == 2
    )


def test_a_wait_from_elsewhere_is_an_ordinary_call() -> None:
    assert (
        _waits("""
        from corofy import coroutine
        from os import wait
        @coroutine
        def f(x):
            return wait()
    """)
        == 0
    )
    assert (
        _coroutines("""
        from mylib import coroutine
        @coroutine
        def f(x):
            pass
    """)
        == []
    )


def test_a_local_named_wait_shadows_the_marker() -> None:
    # in a nested function: its own local, a parameter, a comprehension variable
    assert (
        _waits("""
        from corofy import coroutine, wait
        @coroutine
        def f(x):
            def g(wait):
                return wait(1)
            def h():
                wait = print
                return wait(2)
            return [wait(3) for wait in x]
    """)
        == 0
    )


def test_a_global_declaration_sees_the_marker() -> None:
    with pytest.raises(CorofyError, match=r"t\.py:6:16: .*wait"):
        transform_source(
            textwrap.dedent("""\
            from corofy import coroutine, wait
            @coroutine
            def f(x):
                def g():
                    global wait
                    return wait(x)
                return g
        """),
            "t.py",
        )


def test_refusals_carry_the_exact_position() -> None:
    with pytest.raises(CorofyError, match=r"^t\.py:4:9: "):
        transform_source(
            "from corofy import coroutine, wait as w\n@coroutine\ndef f(x):\n    y = w\n", "t.py"
        )
    with pytest.raises(CorofyError, match=r"^t\.py:2:1: "):  # wait outside a coroutine
        transform_source("from corofy import wait\nwait(1)\n", "t.py")
    with pytest.raises(CorofyError, match=r"^t\.py:3:1: "):  # rebinding the marker
        transform_source("from corofy import coroutine, wait\nx = 1\nwait = 2\n", "t.py")
