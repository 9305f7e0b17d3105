"""mypy --strict and pyright read corofy source and corofy output as a user's CI would (SPEC §3).

Both checkers see the packages of this checkout (``mypy_path`` / pyright's ``extraPaths``).
Generated files' headers tell both to report no error inside them, so the machines'
internals are not checked; their signatures (``-> runtime.Future[T]``) still type every
caller, and the user's code inside coroutines is checked in the source tree.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MYPY = shutil.which("mypy")
PYRIGHT = shutil.which("pyright")
STEP_TIMEOUT = 300  # one checker run (corofy's own runs here have 120 s)

# The first test of each checker pays for its module fixtures: two corofy runs and up to four
# checker runs. pytest's 120 s default (pyproject.toml) is for one ordinary test; on a loaded
# machine it would cut a fixture off though no step came near its own bound.
pytestmark = pytest.mark.timeout(2 * 120 + 4 * STEP_TIMEOUT)

APP = """\
from corofy import coroutine, wait
from runtime.http import Http


@coroutine
def fetch(path: str) -> str:
    response = wait(Http.get(path))
    return response.text
"""

MISTAKES = """\
from corofy import coroutine, wait
from runtime.http import Http

from app import fetch


def takes_str(text: str) -> None:
    print(text)


@coroutine
def mistakes() -> None:
    wait("not a future")  # MISTAKE: waiting a str
    text = wait(Http.get("/")).text
    print(text + 1)  # MISTAKE: adding an int to a waited str
    takes_str(fetch("/"))  # MISTAKE: a coroutine's Future where its value is expected
"""

CALLER = """\
from runtime import run
from runtime.http import Http

from app import fetch


def takes_str(text: str) -> None:
    print(text)


def main() -> None:
    reveal_type(fetch)
    reveal_type(run(fetch("/")))
    reveal_type(run(Http.get("/")))
    takes_str(fetch("/"))  # MISTAKE: a coroutine's Future where its value is expected
"""

REVEAL_WAIT = """\
from corofy import coroutine, wait
from runtime.http import Http


@coroutine
def probe() -> None:
    reveal_type(wait(Http.get("/")))
"""

BRIDGES = """\
from corofy import coroutine, wait
from runtime import from_asyncio, to_asyncio


async def answer() -> int:
    return 42


@coroutine
def probe() -> str:
    reveal_type(wait(from_asyncio(answer())))
    return "corofy"


async def caller() -> None:
    reveal_type(await to_asyncio(probe()))
"""


def _mistake_lines(text: str) -> set[int]:
    return {n for n, line in enumerate(text.splitlines(), 1) if "# MISTAKE" in line}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("typed")
    shutil.copytree(
        ROOT / "samples", root / "samples", ignore=shutil.ignore_patterns("__pycache__")
    )
    src = root / "src"
    src.mkdir()
    for name, text in {
        "app.py": APP,
        "mistakes.py": MISTAKES,
        "caller.py": CALLER,
        "reveal_wait.py": REVEAL_WAIT,
        "bridges.py": BRIDGES,
    }.items():
        (src / name).write_text(text)
    # corofy and runtime as mypy treats installed packages: their types used, their own
    # errors not reported (a wheel puts them in site-packages with their py.typed).
    (root / "mypy.ini").write_text(
        f"[mypy]\nmypy_path = {ROOT}\nstrict = True\n"
        "[mypy-corofy,corofy.*,runtime,runtime.*]\nignore_errors = True\n"
    )
    (root / "pyrightconfig.json").write_text(json.dumps({"extraPaths": [str(ROOT)]}))
    for tree in ("samples", "src"):
        subprocess.run(
            [sys.executable, "-m", "corofy", tree, "-o", f"build/{tree}", "-q"],
            cwd=root,
            check=True,
            timeout=120,
            env={"PYTHONPATH": str(ROOT), "COROFY_CACHE_DIR": str(root / ".cache")},
        )
    return root


def _run(cmd: list[str], cwd: Path) -> str:
    done = subprocess.run(
        cmd, cwd=cwd, capture_output=True, text=True, timeout=STEP_TIMEOUT, check=False
    )
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def mypy(project: Path) -> dict[str, str]:
    """mypy --strict's output on each tree (one run each: their module names collide)."""
    if MYPY is None:
        pytest.skip("mypy is not installed (test extra)")
    trees = {
        "samples": ["samples"],
        "build/samples": ["build/samples"],
        "src": ["src"],
        "build/src": ["build/src/caller.py"],
    }
    return {tree: _run([MYPY, "--strict", *paths], project) for tree, paths in trees.items()}


@pytest.fixture(scope="module")
def pyright(project: Path) -> dict[str, str]:
    """pyright's output on each tree (its import resolution is per file: one run for all)."""
    if PYRIGHT is None:
        pytest.skip("pyright is not installed (test extra)")
    out = _run([PYRIGHT, "samples", "build/samples", "src", "build/src"], project)
    by_tree: dict[str, str] = {
        tree: "" for tree in ("samples", "build/samples", "src", "build/src")
    }
    for line in out.splitlines():
        for tree in sorted(by_tree, key=len, reverse=True):
            if f"{project}/{tree}/" in line:
                by_tree[tree] += line.replace(f"{project}/", "") + "\n"
                break
    return by_tree


def _errors(output: str, path: str) -> set[int]:
    """Lines of ``path`` with an error, from mypy's or pyright's output."""
    pattern = rf"^\s*{re.escape(path)}:(\d+):(?:\d+ -)? error:"
    return {int(m) for m in re.findall(pattern, output, re.MULTILINE)}


@pytest.mark.parametrize("tree", ["samples", "build/samples"])
def test_mypy_strict_finds_no_error_in_the_samples_and_their_generated_code(mypy, tree):
    assert "Success: no issues found" in mypy[tree], mypy[tree]


@pytest.mark.parametrize("tree", ["samples", "build/samples"])
def test_pyright_finds_no_error_in_the_samples_and_their_generated_code(pyright, tree):
    assert " - error:" not in pyright[tree], pyright[tree]


@pytest.mark.parametrize("tree", ["src", "build/src"])
def test_mypy_infers_through_coroutine_wait_run_and_http(mypy, tree):
    reveals = re.findall(
        rf'^{tree}/caller.py:\d+: note: Revealed type is "(.*)"', mypy[tree], re.MULTILINE
    )
    assert reveals == [
        "def (path: str) -> runtime.future.Future[str]",
        "str",
        "runtime.http.Response",
    ], mypy[tree]
    assert 'reveal_wait.py:7: note: Revealed type is "runtime.http.Response"' in mypy["src"]


def test_mypy_infers_through_the_asyncio_bridges_both_ways(mypy):
    assert 'bridges.py:11: note: Revealed type is "int"' in mypy["src"], mypy["src"]
    assert 'bridges.py:16: note: Revealed type is "str"' in mypy["src"], mypy["src"]


def test_pyright_infers_through_the_asyncio_bridges_both_ways(pyright):
    assert 'Type of "wait(from_asyncio(answer()))" is "int"' in pyright["src"], pyright["src"]
    assert 'Type of "await to_asyncio(probe())" is "str"' in pyright["src"], pyright["src"]


@pytest.mark.parametrize("tree", ["src", "build/src"])
def test_pyright_infers_through_coroutine_wait_run_and_http(pyright, tree):
    reveals = re.findall(
        rf'^\s*{tree}/caller.py:.* Type of ".*" is "(.*)"$', pyright[tree], re.MULTILINE
    )
    assert reveals == ["(path: str) -> Future[str]", "str", "Response"], pyright[tree]
    assert 'Type of "wait(Http.get("/"))" is "Response"' in pyright["src"], pyright["src"]


def test_mypy_catches_the_planted_mistakes_in_source_and_in_callers_of_generated_code(mypy):
    assert _errors(mypy["src"], "src/mistakes.py") == _mistake_lines(MISTAKES), mypy["src"]
    assert _errors(mypy["src"], "src/caller.py") == _mistake_lines(CALLER), mypy["src"]
    assert _errors(mypy["build/src"], "build/src/caller.py") == _mistake_lines(CALLER)


def test_pyright_catches_the_planted_mistakes_in_source_and_in_callers_of_generated_code(pyright):
    assert _errors(pyright["src"], "src/mistakes.py") == _mistake_lines(MISTAKES), pyright["src"]
    assert _errors(pyright["src"], "src/caller.py") == _mistake_lines(CALLER), pyright["src"]
    assert _errors(pyright["build/src"], "build/src/caller.py") == _mistake_lines(CALLER)
