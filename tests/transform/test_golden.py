"""Golden tests: the exact generated text for small representative inputs and the samples.

A change in the output shows up here as a diff to review. To accept new output, run
``COROFY_UPDATE_GOLDEN=1 python3 -m pytest tests/transform/test_golden.py`` and commit the
changed files under ``tests/transform/golden/expected/``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import corofy
from corofy.transform import GENERATED_MARK, transform_source

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
EXPECTED = HERE / "golden" / "expected"
INPUTS = sorted((HERE / "golden" / "inputs").glob("*.py"))
SAMPLES = sorted(p for p in (ROOT / "samples").glob("*.py") if "@coroutine" in p.read_text())


def _check(source_path: Path, expected: Path, filename: str) -> None:
    # The header names corofy's version; golden files say VERSION, so a release touches none.
    generated = transform_source(source_path.read_text(), filename).replace(
        f"{GENERATED_MARK}{corofy.__version__} ", f"{GENERATED_MARK}VERSION ", 1
    )
    if os.environ.get("COROFY_UPDATE_GOLDEN"):
        expected.parent.mkdir(parents=True, exist_ok=True)
        expected.write_text(generated)
    assert expected.exists(), f"no golden file {expected}: run with COROFY_UPDATE_GOLDEN=1"
    assert generated == expected.read_text()


@pytest.mark.parametrize("path", INPUTS, ids=lambda p: p.stem)
def test_small_input_generates_its_golden_output(path: Path) -> None:
    _check(path, EXPECTED / f"{path.stem}.py.out", f"golden/{path.name}")


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
def test_sample_generates_its_golden_output(path: Path) -> None:
    _check(path, EXPECTED / "samples" / f"{path.stem}.py.out", f"samples/{path.name}")
