"""corofy's FastPositionProvider must give exactly libcst's PositionProvider ranges: the
transform's error positions, state names and line table all come from it, and it leans on
libcst internals that an upgrade could change."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

import corofy.transform
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
    assert recorded and all(some.some[n] == expected[n] for n in recorded)
    assert some.all is None, "the recorded kinds must not need the full pass"
    assert some.get(cst.Call(cst.Name("made_later"))) is None and some.all is None
    # Any other node: the exact range, from one full pass on demand.
    other = next(n for n in expected if isinstance(n, cst.Name) and n not in some.some)
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
    assert_node_positions_agree("from a import (b,\n    c)\nimport d.e as f, g\nfrom h import *\nx = (y)\n")


def assert_texts_are_printed_texts(source: str) -> int:
    """Every expression and small statement cut from the source reads as libcst prints it
    (what the transform copies into the machines instead of printing it again)."""
    module = cst.parse_module(source)
    positions = node_positions(module)
    starts = [0] + [k + 1 for k, char in enumerate(source) if char == "\n"]
    count = 0
    for node in positions.spans:
        text = positions.text(node, source, starts)
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
    assert node_positions(module).text(several_lines, source, [0]) is None


def test_node_texts_need_the_module_and_plain_newlines():
    module = cst.parse_module("x = (1)\n")
    positions = node_positions(module)
    assert positions.text(cst.Name("made_later"), "x = (1)\n", [0]) is None
    node = module.body[0].body[0]
    assert positions.text(node, "x = (1)\n", []) is None  # \r endings: no cutting
    assert positions.text(node, "x = (1)\n", [0]) == "x = (1)"
