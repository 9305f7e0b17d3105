"""Compiling generated code so that it runs under the user's file name and line numbers.

The in-memory paths (`corofy run`, the untransformed `@coroutine`) never write generated code
anywhere a traceback could show it, so they move every AST node of the generated module onto
the original line it came from (`__corofy_lines__`, see docs/internals.md) and compile with
the original file name: tracebacks, `linecache` and debuggers then show the user's source
with no remapping at print time.

Facts: CPython 3.11 prints carets under the span `(col_offset, end_col_offset)` of the failing
instruction, taken from the AST node. A span moved onto a different line would underline
nonsense, so a node keeps its columns only when its generated line is its original line
re-indented (shifted by the indentation difference); otherwise its span becomes the whole
original line, for which the traceback prints no carets at all.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence

from runtime._line_table import line_table

GENERATED_NAMES = ("__corofy_lines__", "__corofy_source__")


def pop_line_table(tree: ast.Module) -> dict[int, int]:
    """Remove the module-level `__corofy_lines__`/`__corofy_source__` assignments; return the table.

    Code compiled with original line numbers must not carry the table, or the traceback
    formatter of runtime.debug would map its lines a second time.
    """
    table: dict[int, int] = {}
    kept: list[ast.stmt] = []
    for stmt in tree.body:
        if (
            isinstance(stmt, ast.Assign)
            and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name)
            and stmt.targets[0].id in GENERATED_NAMES
        ):
            if stmt.targets[0].id == "__corofy_lines__":
                table = line_table(ast.literal_eval(stmt.value)) or {}
            continue
        kept.append(stmt)
    tree.body = kept
    return table


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def move_to_original_lines(
    tree: ast.AST,
    table: dict[int, int],
    generated: Sequence[str],
    original: Sequence[str],
    fallback: int,
    offset: int = 0,
) -> None:
    """Renumber every node: generated line g becomes `table[g] + offset` (else `fallback`).

    `generated` and `original` are the two texts' lines (index 0 is line 1); `original` is
    indexed by the final line numbers (after `offset`). Plumbing lines the table does not
    cover are placed on `fallback`, the line of the function's `def`.
    """

    def text(lines: Sequence[str], number: int) -> str:
        return lines[number - 1] if 0 < number <= len(lines) else ""

    for node in ast.walk(tree):
        if not hasattr(node, "lineno") or node.lineno is None:
            continue
        g_start = node.lineno
        g_end = node.end_lineno or g_start
        start = table[g_start] + offset if g_start in table else fallback
        end = table[g_end] + offset if g_end in table else start
        g_text, o_text = text(generated, g_start), text(original, start)
        same_text = g_text.strip() == o_text.strip() and o_text.strip() != ""
        single = g_start == g_end and end == start
        if same_text and single and node.col_offset is not None:
            shift = _indent(o_text) - _indent(g_text)
            node.lineno = node.end_lineno = start
            node.col_offset = max(0, node.col_offset + shift)
            node.end_col_offset = max(node.col_offset, (node.end_col_offset or 0) + shift)
        else:
            o_text = o_text.rstrip("\r\n")
            node.lineno = node.end_lineno = start
            node.col_offset = _indent(o_text)
            node.end_col_offset = max(node.col_offset, len(o_text.encode("utf-8")) if o_text else 0)


def parse_at_original_lines(
    generated_code: str, filename: str, original: Sequence[str], fallback: int = 1, offset: int = 0
) -> tuple[ast.Module, dict[int, int]]:
    """Parse generated code and move it onto the original lines; returns (tree, table)."""
    tree = ast.parse(generated_code, filename)
    table = pop_line_table(tree)
    move_to_original_lines(tree, table, generated_code.splitlines(), original, fallback, offset)
    return tree, table
