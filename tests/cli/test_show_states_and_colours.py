"""`corofy show`: colours readable on light and dark terminals, and `--states-only`."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from click.testing import CliRunner

from corofy.cli import main
from corofy.show import highlight

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "samples" / "b_async_await.py"

# SGR codes a light or a dark theme can make unreadable: white, black, yellow, blue (and
# their bright forms), grey, and dim.
UNSAFE = {"2", "30", "33", "34", "37", "90", "93", "94", "97"}


def test_show_colours_are_safe_on_light_and_dark_themes() -> None:
    code = SAMPLE.read_text()
    coloured = highlight(code + "\n# a comment\nx = 1  # another\n")
    codes = {part for seq in re.findall(r"\x1b\[([\d;]+)m", coloured) for part in seq.split(";")}
    assert codes, "nothing was coloured"
    assert not codes & UNSAFE, f"unsafe SGR codes used: {codes & UNSAFE}"
    assert "\x1b[36m# a comment\x1b[0m" in coloured  # comments are cyan, not dim white


def test_show_states_only_prints_the_state_functions_without_the_fixed_methods() -> None:
    result = CliRunner().invoke(main, ["show", "--states-only", str(SAMPLE), "async_main"])
    assert result.exit_code == 0, result.output
    out = result.output
    tree = ast.parse(out)  # still Python: the class with its states
    (cls,) = tree.body
    methods = [f.name for f in cls.body if isinstance(f, ast.FunctionDef)]
    assert methods == [
        "_s0_start",
        "_s1_line17",
        "_s2_line19",
        "_rest1_after_line17",
        "_rest2_after_line19",
    ]
    assert "_corofy_name_, _corofy_line_ = 'async_main', 15" in out
    for fixed in ("def __init__", "def poll", "def close", "def __del__", "def _finished"):
        assert fixed not in out


def test_show_without_states_only_keeps_the_fixed_parts() -> None:
    result = CliRunner().invoke(main, ["show", str(SAMPLE), "async_main"])
    assert result.exit_code == 0, result.output
    assert "def __init__" in result.output and "def async_main(" in result.output
    assert "_steps = (_s0_start," in result.output  # poll() and close() are runtime's
