"""The layout of corofy/ and runtime/ (issue 14): no import cycles, no module over 600 lines.

The import graph is read from the source with ``ast``, so it sees every import, also those a
run never reaches. Two checks, because a cycle can hurt in two ways:

- At import time: module-level imports only (not those under ``if TYPE_CHECKING:``), with
  every package's ``__init__`` as a module of its own. A cycle there can hand a module a
  partially initialised one.
- In the design: every import, also one deferred into a function and one only for type
  checkers, since moving an import into a function to break a cycle leaves the two modules
  depending on each other. Left out here are the edges into the two top-level packages,
  ``corofy`` and ``runtime``: their ``__init__`` is the public face that re-exports its
  submodules' names, Python runs it before any submodule anyway, and a submodule that reads
  ``corofy.__version__`` or recognises the ``corofy`` module object (``@corofy.coroutine``)
  depends on the package as a whole, not on one layer of it. A sub-package's ``__init__``
  (``corofy.transform``, the pipeline) is a module like any other.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("corofy", "runtime")
MAX_LINES = 600


@dataclass(frozen=True)
class Import:
    source: str
    target: str
    kind: str  # "module", "function" or "TYPE_CHECKING"
    where: str  # path:line of the import statement

    def __str__(self) -> str:
        return f"{self.source} -> {self.target} ({self.kind} import at {self.where})"


def _modules(root: Path, packages: tuple[str, ...]) -> dict[str, Path]:
    modules = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(name: str, path: Path, modules: dict[str, Path], root: Path) -> list[Import]:
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found: list[Import] = []

    def add(target: str | None, kind: str, node: ast.AST) -> None:
        # `import a.b.c` runs a.b.c; `from a.b import c` runs a.b.c when c is a module, else a.b.
        if target in modules and target != name:
            where = f"{path.relative_to(root)}:{node.lineno}"
            found.append(Import(name, target, kind, where))

    def visit(node: ast.AST, kind: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                for alias in child.names:
                    add(alias.name, kind, child)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package[: len(package) - child.level + 1]
                    module = ".".join([*base, *([child.module] if child.module else [])])
                else:
                    module = child.module or ""
                for alias in child.names:
                    submodule = f"{module}.{alias.name}"
                    add(submodule if submodule in modules else module, kind, child)
            elif (
                isinstance(child, ast.Call)
                and isinstance(child.func, ast.Attribute)
                and child.func.attr == "import_module"
                and child.args
                and isinstance(child.args[0], ast.Constant)
            ):
                add(child.args[0].value, kind, child)
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                visit(child, "function")
            elif isinstance(child, ast.If) and _is_type_checking(child.test) and kind == "module":
                for statement in child.body:
                    visit(ast.Module(body=[statement], type_ignores=[]), "TYPE_CHECKING")
                for statement in child.orelse:
                    visit(ast.Module(body=[statement], type_ignores=[]), kind)
            else:
                visit(child, kind)

    visit(ast.parse(path.read_text(encoding="utf-8"), str(path)), "module")
    return found


def _graph(root: Path, packages: tuple[str, ...]) -> tuple[dict[str, Path], list[Import]]:
    modules = _modules(root, packages)
    edges = [edge for name, path in modules.items() for edge in _imports(name, path, modules, root)]
    return modules, edges


MODULES, IMPORTS = _graph(ROOT, PACKAGES)


def _cycles(modules: dict[str, Path], edges: list[Import]) -> list[list[Import]]:
    """One cycle per strongly connected component of the graph (Tarjan's algorithm)."""
    graph: dict[str, list[Import]] = {name: [] for name in modules}
    for edge in edges:
        graph[edge.source].append(edge)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    components: list[set[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for edge in graph[node]:
            if edge.target not in index:
                connect(edge.target)
                low[node] = min(low[node], low[edge.target])
            elif edge.target in stack:
                low[node] = min(low[node], index[edge.target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(component)

    for node in graph:
        if node not in index:
            connect(node)
    return [_cycle_within(graph, component) for component in components]


def _cycle_within(graph: dict[str, list[Import]], component: set[str]) -> list[Import]:
    """A path from the component's first module back to it, through the component."""
    start = min(component)
    paths: dict[str, list[Import]] = {start: []}
    frontier = [start]
    while frontier:
        node = frontier.pop(0)
        for edge in graph[node]:
            if edge.target == start:
                return [*paths[node], edge]
            if edge.target in component and edge.target not in paths:
                paths[edge.target] = [*paths[node], edge]
                frontier.append(edge.target)
    raise AssertionError(f"{sorted(component)} is not strongly connected")


def _describe(cycles: list[list[Import]]) -> str:
    # One cycle per tangle; the others in it show once this one is broken.
    return "\n".join(
        f"cycle {' -> '.join([cycle[0].source, *(edge.target for edge in cycle)])}:\n"
        + "\n".join(f"    {edge}" for edge in cycle)
        for cycle in cycles
    )


def test_the_import_graph_sees_every_kind_of_import_and_finds_a_cycle_through_them(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("from pkg.a import A\n")
    (package / "a.py").write_text("from . import b\nA = 1\n")
    (package / "b.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from pkg.sub import c\n"
        "else:\n"
        "    import os\n"
    )
    (package / "sub" / "__init__.py").write_text("")
    (package / "sub" / "c.py").write_text(
        "import importlib\n"
        "def late():\n"
        "    from ..a import A\n"
        "    return importlib.import_module('pkg.b')\n"
    )
    modules, edges = _graph(tmp_path, ("pkg",))
    assert sorted((e.source, e.target, e.kind, e.where) for e in edges) == [
        ("pkg", "pkg.a", "module", "pkg/__init__.py:1"),
        ("pkg.a", "pkg.b", "module", "pkg/a.py:1"),
        ("pkg.b", "pkg.sub.c", "TYPE_CHECKING", "pkg/b.py:3"),
        ("pkg.sub.c", "pkg.a", "function", "pkg/sub/c.py:3"),
        ("pkg.sub.c", "pkg.b", "function", "pkg/sub/c.py:4"),
    ]
    assert _cycles(modules, [e for e in edges if e.kind == "module"]) == []
    (cycle,) = _cycles(modules, edges)
    assert [(e.source, e.target) for e in cycle] == [
        ("pkg.a", "pkg.b"),
        ("pkg.b", "pkg.sub.c"),
        ("pkg.sub.c", "pkg.a"),
    ]


def test_no_import_cycle_at_import_time():
    cycles = _cycles(MODULES, [edge for edge in IMPORTS if edge.kind == "module"])
    assert not cycles, "module-level import cycles:\n" + _describe(cycles)


def test_no_import_cycle_in_the_design_even_through_deferred_or_type_checking_imports():
    cycles = _cycles(MODULES, [edge for edge in IMPORTS if edge.target not in PACKAGES])
    assert not cycles, "import cycles (deferred ones too):\n" + _describe(cycles)


def test_no_module_is_over_600_lines():
    sizes = {
        name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in MODULES.items()
    }
    over = {name: lines for name, lines in sorted(sizes.items()) if lines > MAX_LINES}
    assert not over, f"modules over {MAX_LINES} lines: {over}"
