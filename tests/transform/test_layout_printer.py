"""The layout printer keeps the program: same syntax tree, every layout CPython accepts."""

import ast

import pytest
from hypothesis import find, given
from hypothesis import strategies as st
from layouts import FEATURES, laid_out, relayout, shown
from programs import programs


class _FoldConstantFStrings(ast.NodeTransformer):
    # 'ab' may be printed f'ab' or f'a' 'b': the same string, another node
    def visit_JoinedStr(self, node: ast.JoinedStr) -> ast.AST:
        self.generic_visit(node)
        if all(isinstance(value, ast.Constant) for value in node.values):
            return ast.Constant("".join(value.value for value in node.values))
        return node


def _tree(source: str) -> str:
    return ast.dump(_FoldConstantFStrings().visit(ast.parse(source)))


@given(source=programs(), data=st.data())
def test_a_program_laid_out_anew_parses_to_the_same_tree(source: str, data: st.DataObject) -> None:
    laid = relayout(data.draw, source)
    assert _tree(laid) == _tree(source), shown(laid)


SOURCE = (
    "def f(n):\n"
    "    if n:\n"
    "        if n:\n"
    "            n = 2\n"
    "        return print('ab', f'{n}:{n + 1}')\n"
    "    x = (n +\n"
    "         1)\n"
    "    return x\n"
)
MARKS = {
    "breaks": lambda s: "(\n" in s or ",\n" in s or "+\n" in s,
    "backslash": lambda s: "\\\n" in s,
    "lone_backslash": lambda s: "\n\\\n" in s or "    \\\n" in s,
    "suites": lambda s: ": return" in s or ";" in s,
    "indent": lambda s: "\n\t" in s or "\n  i" in s,
    "mixed_indent": lambda s: " \t" in s,
    "eol": lambda s: "\r" in s,
    "strings": lambda s: "'ab'" not in s,
    "fstrings": lambda s: "f'{n}:{n + 1}'" not in s,
    "comments": lambda s: "#" in s,
    "formfeed": lambda s: "\n\f" in s,
}


def test_every_layout_feature_is_checked_below() -> None:
    assert set(MARKS) == FEATURES


@pytest.mark.parametrize("feature", sorted(MARKS))
def test_each_layout_feature_shows_in_its_output(feature: str) -> None:
    example = find(laid_out(st.just(SOURCE), {feature}), MARKS[feature])
    compile(example, "prog.py", "exec")
