"""The docs a newcomer reads are current: the API reference and the leaf-future tutorial."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
sys.path.insert(0, str(ROOT / "scripts"))

import gen_api_docs

# What a user imports, by module: every name there must be in docs/api.md.
PUBLIC = {
    "corofy": [n for n in importlib.import_module("corofy").__all__ if n != "__version__"],
    "runtime": importlib.import_module("runtime").__all__,
    "runtime.reactor": importlib.import_module("runtime.reactor").__all__,
    "runtime.net": ["TcpListener", "TcpStream"],
    "runtime.http": ["Http", "Response"],
}


def _fenced(text: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```$", text, re.MULTILINE | re.DOTALL)


def test_api_reference_is_what_the_docstrings_say_now():
    assert (DOCS / "api.md").read_text() == gen_api_docs.render(), (
        "docs/api.md is stale: run python3 scripts/gen_api_docs.py"
    )


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_api_reference_names_every_public_name(module):
    text = (DOCS / "api.md").read_text()
    section = text.split(f"## `{module}`\n", 1)[1].split("\n## ", 1)[0]
    missing = [
        n for n in PUBLIC[module] if not re.search(rf"^### .*`{n}[`(]", section, re.MULTILINE)
    ]
    assert not missing, f"docs/api.md does not document {module}.{missing}"


def test_the_leaf_future_tutorial_runs_and_prints_what_it_shows(tmp_path):
    text = (DOCS / "leaf-future.md").read_text()
    program = "\n\n".join(_fenced(text, "python"))
    (expected,) = _fenced(text, "text")
    script = tmp_path / "leaf.py"  # a file: the untransformed @coroutine reads its source
    script.write_text(program)
    done = subprocess.run(
        [sys.executable, str(script)],
        env={"PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == expected


def _modules_on_the_map() -> set[str]:
    text = (DOCS / "internals.md").read_text()
    layout = text.split("\n## Layout\n", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"`((?:corofy|runtime)/[\w/]+\.py)`", layout))


def test_the_internals_map_names_every_module_and_none_that_is_gone():
    modules = {
        path.relative_to(ROOT).as_posix()
        for package in ("corofy", "runtime")
        for path in (ROOT / package).rglob("*.py")
    }
    on_the_map = _modules_on_the_map()
    assert sorted(modules - on_the_map) == [], "modules docs/internals.md's Layout does not name"
    assert sorted(on_the_map - modules) == [], (
        "docs/internals.md's Layout names modules that are gone"
    )
