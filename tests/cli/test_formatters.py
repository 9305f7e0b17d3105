"""black, ruff format and ruff check leave generated files alone as they stand (SPEC §2.4).

The tools run as a user's repository would run them, with a configuration that would rewrite
or flag nearly everything: a short line length and every ruff rule (but PGH004, see below).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from corofy.transform import transform_source

ROOT = Path(__file__).resolve().parents[2]
INPUTS = sorted((ROOT / "tests" / "transform" / "golden" / "inputs").glob("*.py"))
SAMPLES = sorted(p for p in (ROOT / "samples").glob("*.py") if "@coroutine" in p.read_text())
BLACK, RUFF = shutil.which("black"), shutil.which("ruff")

HOSTILE_CONFIG = """\
[tool.black]
line-length = 60

[tool.ruff]
line-length = 60

[tool.ruff.lint]
select = ["ALL"]
# The one rule a generated file cannot satisfy: PGH004 asks a file-level `# ruff: noqa` to
# list rule codes, and a generated file must be exempt from every rule, whatever is selected.
ignore = ["PGH004"]
"""

pytestmark = pytest.mark.skipif(
    BLACK is None or RUFF is None, reason="black and ruff are in the test extra"
)


@pytest.fixture
def generated(tmp_path: Path) -> dict[Path, bytes]:
    (tmp_path / "pyproject.toml").write_text(HOSTILE_CONFIG)
    files: dict[Path, bytes] = {}
    for source in [*INPUTS, *SAMPLES]:
        out = tmp_path / "build" / f"{source.parent.name}_{source.name}"
        out.parent.mkdir(exist_ok=True)
        out.write_text(transform_source(source.read_text(), source.name))
        files[out] = out.read_bytes()
    return files


def _tool(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(args), cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )


def test_black_ruff_format_and_ruff_check_pass_generated_files_and_change_no_byte(
    generated, tmp_path
):
    checks = [
        (BLACK, "--check", "build"),
        (RUFF, "format", "--check", "build"),
        (RUFF, "check", "--no-cache", "build"),
    ]
    for command in checks:
        done = _tool(tmp_path, *command)  # type: ignore[arg-type]
        assert done.returncode == 0, f"{command}:\n{done.stdout}{done.stderr}"
    for command in [(BLACK, "-q", "build"), (RUFF, "format", "-q", "build")]:
        _tool(tmp_path, *command)  # type: ignore[arg-type]
    assert {path: path.read_bytes() for path in generated} == generated


def test_without_the_header_lines_the_tools_would_rewrite_and_flag_the_same_file(
    generated, tmp_path
):
    # The check above can fail: the header lines are what the tools honour.
    path = next(iter(generated))
    lines = path.read_text().splitlines(keepends=True)
    path.write_text(lines[0] + "".join(lines[5:]))
    assert _tool(tmp_path, BLACK, "--check", str(path)).returncode == 1  # type: ignore[arg-type]
    assert _tool(tmp_path, RUFF, "format", "--check", str(path)).returncode == 1  # type: ignore[arg-type]
    assert _tool(tmp_path, RUFF, "check", "--no-cache", str(path)).returncode == 1  # type: ignore[arg-type]
