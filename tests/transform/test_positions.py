"""corofy's FastPositionProvider must give exactly libcst's PositionProvider ranges: the
transform's error positions, state names and line table all come from it, and it leans on
libcst internals that an upgrade could change."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

import corofy.transform
from corofy.transform import positions
from corofy.transform.positions import RECORDED, FastPositionProvider, node_positions

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = sorted((ROOT / "samples").glob("*.py"))
OWN = sorted(Path(corofy.transform.__file__).parent.glob("*.py"))


def assert_same_positions(source: str) -> None:
    wrapper = MetadataWrapper(cst.parse_module(source), unsafe_skip_copy=True)
    libcst_ranges = wrapper.resolve(PositionProvider)
    ours = wrapper.resolve(FastPositionProvider)
    assert set(ours) == set(libcst_ranges)
    for node, expected in libcst_ranges.items():
        assert ours[node] == expected, (type(node).__name__, ours[node], expected)


@pytest.mark.parametrize("path", SAMPLES + OWN[:4], ids=lambda p: p.name)
def test_positions_match_libcst_on_real_files(path):
    assert_same_positions(path.read_text())


@pytest.mark.parametrize("newline", ["\r\n", "\r"], ids=["crlf", "cr"])
def test_positions_match_libcst_with_other_line_endings(newline):
    source = (ROOT / "samples" / "c_async_await.py").read_text()
    assert_same_positions(source.replace("\n", newline))


def test_positions_match_libcst_on_strings_spanning_lines():
    assert_same_positions('x = """a\nb\r\nc"""\nif x:\n    y = (1,\n         2)  # c\n')


def assert_node_positions_agree(source: str) -> None:
    module = cst.parse_module(source)
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    some = node_positions(module)
    recorded = [n for n in expected if isinstance(n, RECORDED)]
    assert recorded and all(some[n] == expected[n] for n in recorded)
    assert some.all is None, "the recorded kinds must not need the full pass"
    assert some.get(cst.Call(cst.Name("made_later"))) is None and some.all is None
    # Any other node: the exact range, from one full pass on demand.
    other = next(n for n in expected if isinstance(n, cst.Name) and n not in some.ranges)
    assert some[other] == expected[other] and some.all is not None
    assert all(some[n] == r for n, r in expected.items())


@pytest.mark.parametrize("path", SAMPLES + OWN[:4], ids=lambda p: p.name)
def test_node_positions_match_libcst_on_real_files(path):
    assert_node_positions_agree(path.read_text())


@pytest.mark.parametrize("newline", ["\r\n", "\r"], ids=["crlf", "cr"])
def test_node_positions_match_libcst_with_other_line_endings(newline):
    source = (ROOT / "samples" / "c_async_await.py").read_text()
    assert_node_positions_agree(source.replace("\n", newline))


def test_node_positions_of_imports_in_parentheses():
    assert_node_positions_agree(
        "from a import (b,\n    c)\nimport d.e as f, g\nfrom h import *\nx = (y)\n"
    )


def assert_texts_are_printed_texts(source: str) -> int:
    """Every expression and small statement cut from the source reads as libcst prints it
    (what the transform copies into the machines instead of printing it again)."""
    module = cst.parse_module(source)
    ranges = node_positions(module)
    count = 0
    for node in ranges.spans:
        text = ranges.text(node)
        if text is not None:
            assert text == module.code_for_node(node), node
            count += 1
    return count


@pytest.mark.parametrize("path", SAMPLES + OWN[:4], ids=lambda p: p.name)
def test_node_texts_match_printing_on_real_files(path):
    assert assert_texts_are_printed_texts(path.read_text()) > 50


def test_node_texts_of_awkward_layouts():
    source = (
        "x = 1; y = (2 +\n"
        "  3)  # comment\n"
        "if x:\n"
        "    z = [a for a in (\n"
        "        # inside\n"
        "        b)] ; w = ((x)) \\\n"
        "        + 1\n"
        "    print(f'{x!r:>{y}}', *a, **{'k': (yield)})\n"
        "def f(a=(1), *, b: int = 2) -> (int): return lambda q=(3): q\n"
    )
    assert assert_texts_are_printed_texts(source) > 25
    module = cst.parse_module(source)
    several_lines = module.body[1].body.body[0].body[0].value  # printed dedented: not cut
    assert node_positions(module).text(several_lines) is None


@pytest.mark.parametrize("newline", ["\r\n", "\r"], ids=["crlf", "cr"])
def test_node_texts_with_other_line_endings(newline):
    source = (ROOT / "samples" / "c_async_await.py").read_text()
    assert assert_texts_are_printed_texts(source.replace("\n", newline)) > 50


def test_node_texts_only_of_the_module():
    module = cst.parse_module("x = (1)\n")
    ranges = node_positions(module)
    assert ranges.text(cst.Name("made_later")) is None
    assert ranges.text(module.body[0].body[0]) == "x = (1)"


def test_a_token_ending_in_cr_before_one_starting_with_lf_falls_back_to_the_full_pass():
    # libcst counts such a pair as two line breaks; the printed text reads it as one. A
    # parsed module never has it (the pair is one token), a built one may.
    module = cst.parse_module("x = 1\r\ny = 2\n")
    module = module.with_changes(
        body=[
            module.body[0].with_changes(
                trailing_whitespace=cst.TrailingWhitespace(newline=cst.Newline("\r"))
            ),
            module.body[1].with_changes(leading_lines=[cst.EmptyLine(newline=cst.Newline("\n"))]),
        ]
    )
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    ours = node_positions(module)
    assert all(ours[line] == expected[line] for line in module.body)
    assert ours.all is not None and expected[module.body[1]].start.line == 3


def test_a_hoist_from_an_unrecorded_kind_falls_back_to_the_full_pass(monkeypatch):
    # A libcst whose statements hoist their range from a kind the cheap pass skips.
    class WithoutSmallStatements(positions._What):
        def __init__(self) -> None:
            super().__init__()
            for kind in self:
                if issubclass(kind, cst.BaseSmallStatement):
                    self[kind] = 0

    monkeypatch.setattr(positions, "_what", WithoutSmallStatements())
    module = cst.parse_module("x = 1\nif x:\n    y = 2; z = 3\n")
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    ours = node_positions(module)
    assert ours.all is not None and not ours.ranges
    assert all(ours[n] == r for n, r in expected.items())
    assert ours.text(module.body[0].body[0]) is None  # printed, not cut, then


def test_lines_without_ranges_agree_with_the_ranges():
    for path in SAMPLES[:3]:
        module = cst.parse_module(path.read_text())
        expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
        ours = node_positions(module)
        assert all(ours.line(n) == r.start.line for n, r in expected.items())
        assert ours.line(cst.Name("made_later")) is None


AWKWARD_DEFS = (
    "import x\n"
    "class A:\n"
    "    # before\n"
    "    @dec(1,\n"
    "  2)\n"
    "    # between decorators\n"
    "    @other\n"
    "    def f(self, a=(1,\n"
    "# a comment at column 0 inside brackets\n"
    "            2), *, b: 'x' = 3) -> int:\n"
    "        s = '''a\n"
    "    b'''\n"
    "# a comment at column 0\n"
    "        if a: return \\\n"
    "  1\n"
    "        def g():\n"
    "            pass\n"
    "        return [a,\n"
    "                # inside\n"
    "            b]\n"
    "        # trailing comment of the body\n"
    "    def h(self): return 1\n"
    "    class B:\n"
    "        def i(self):\n"
    "            pass\n"
    "\n"
    "        # after i\n"
    "def top():\n"
    "    pass\n"
)


def assert_def_texts_are_printed_texts(source: str) -> int:
    """Every def cut from the module's text (less the indents of the blocks around it)
    reads as libcst prints it alone, without its leading lines: the header comment of a
    coroutine's generated code quotes a method so, instead of printing it again."""
    module = cst.parse_module(source)
    ranges = node_positions(module)
    defs: list[cst.FunctionDef] = []

    class Defs(cst.CSTVisitor):
        def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
            defs.append(node)

    module.visit(Defs())
    for node in defs:
        expected = module.code_for_node(node.with_changes(leading_lines=[]))
        assert ranges.def_text(node) == expected, node.name.value
    return len(defs)


@pytest.mark.parametrize("path", SAMPLES + OWN, ids=lambda p: p.name)
def test_def_texts_match_printing_on_real_files(path):
    assert_def_texts_are_printed_texts(path.read_text())


def test_def_texts_of_awkward_layouts():
    assert assert_def_texts_are_printed_texts(AWKWARD_DEFS) == 5
    assert assert_def_texts_are_printed_texts(AWKWARD_DEFS.replace("\n", "\r")) == 5
    tabs = "class A:\n\tdef f(self):\n\t\tx = (1,\n\t\t\t2)\n\t\tdef g(): return x\n"
    assert assert_def_texts_are_printed_texts(tabs) == 2
    module = cst.parse_module(AWKWARD_DEFS)
    assert (
        node_positions(module).def_text(
            cst.FunctionDef(cst.Name("f"), cst.Parameters(), cst.SimpleStatementSuite([cst.Pass()]))
        )
        is None
    )


def assert_alone_texts_are_printed_texts(source: str) -> int:
    """Every expression and small statement cut from the module's text, over several lines
    too, reads as libcst prints it alone (continuation lines less the block's indent)."""
    module = cst.parse_module(source)
    ranges = node_positions(module)
    several = 0
    for node in ranges.spans:
        text = ranges.alone(node)
        assert text == module.code_for_node(node), node
        several += "\n" in text or "\r" in text
    return several


@pytest.mark.parametrize("path", SAMPLES + OWN, ids=lambda p: p.name)
def test_alone_texts_match_printing_on_real_files(path):
    assert_alone_texts_are_printed_texts(path.read_text())


def test_alone_texts_of_awkward_layouts():
    assert assert_alone_texts_are_printed_texts(AWKWARD_DEFS) > 5
    assert assert_alone_texts_are_printed_texts(AWKWARD_DEFS.replace("\n", "\r\n")) > 5
    assert node_positions(cst.parse_module("x = 1\n")).alone(cst.Name("made_later")) is None


def test_def_and_alone_texts_without_the_cheap_pass_are_none(monkeypatch):
    # When the cheap pass is given up (see the test above), the texts are printed, not cut.
    class WithoutSmallStatements(positions._What):
        def __init__(self) -> None:
            super().__init__()
            for kind in self:
                if issubclass(kind, cst.BaseSmallStatement):
                    self[kind] = 0

    monkeypatch.setattr(positions, "_what", WithoutSmallStatements())
    module = cst.parse_module(AWKWARD_DEFS)
    ours = node_positions(module)
    method = module.body[1].body.body[0]
    assert ours.def_text(method) is None and ours.alone(method.body.body[0].body[0]) is None
