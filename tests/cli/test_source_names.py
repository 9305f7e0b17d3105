"""Where generated code says its source is: the same bytes from any cwd, a path that opens.

SPEC §2.4 (deterministic output) and §6 (tracebacks name the original file) meet here:
`__corofy_source__` must not depend on the folder corofy was run from, yet a traceback
printed from any folder must name a file the user can open from there.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import Corofy, write

from corofy.config import marked_root

PROGRAM = """\
from corofy import coroutine, wait
import runtime


@coroutine
def inner(x):
    wait(runtime.sleep(0))
    return 10 // x


@coroutine
def outer():
    return wait(inner(0))


if __name__ == "__main__":
    runtime.run(outer())
"""


def _traceback_files(program: Path, cwd: Path) -> list[str]:
    proc = subprocess.run(
        [sys.executable, str(program)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "ZeroDivisionError" in proc.stderr, proc.stderr
    return [
        line.split('"')[1]
        for line in proc.stderr.splitlines()
        if line.startswith('  File "') and "/runtime/" not in line
    ]


def test_a_source_outside_any_project_is_named_by_its_absolute_path(
    corofy: Corofy, tmp_path: Path
) -> None:
    loose = tmp_path / "loose"
    write(loose, {"t.py": PROGRAM})
    if marked_root(loose) is not None:
        pytest.skip("the temporary folder lies inside a project")
    project = tmp_path / "project"
    write(project, {"pyproject.toml": "", "sub/keep.txt": ""})

    for n, cwd in enumerate([project, project / "sub", loose, tmp_path]):
        result = corofy(str(loose / "t.py"), "-o", str(loose / f"out{n}.py"), cwd=cwd)
        assert result.returncode == 0, result.stderr
    outputs = {(loose / f"out{n}.py").read_bytes() for n in range(4)}
    assert len(outputs) == 1, "the output depends on the folder corofy ran from"
    assert f"__corofy_source__ = {str(loose / 't.py')!r}".encode() in outputs.pop()

    # From a folder the source does not lie under: absolute, never "../../…".
    files = _traceback_files(loose / "out0.py", project)
    assert files and set(files) == {str(loose / "t.py")}
    # From the source's own folder: relative to the cwd.
    assert set(_traceback_files(loose / "out0.py", loose)) == {"t.py"}


def test_a_project_source_is_named_relative_to_its_project_from_any_cwd(
    corofy: Corofy, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    write(project, {"pyproject.toml": "", "src/app/prog.py": PROGRAM})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    runs = [
        (project, "src", "build0"),
        (project / "src", ".", "../build1"),
        (elsewhere, str(project / "src"), str(project / "build2")),
    ]
    for cwd, src, out in runs:
        result = corofy(src, "-o", out, cwd=cwd)
        assert result.returncode == 0, result.stderr
    outputs = {(project / f"build{n}/app/prog.py").read_bytes() for n in range(3)}
    assert len(outputs) == 1, "the output depends on the folder corofy ran from"
    assert b"__corofy_source__ = 'src/app/prog.py'" in outputs.pop()

    generated = project / "build0/app/prog.py"
    assert set(_traceback_files(generated, project)) == {os.path.join("src", "app", "prog.py")}
    assert set(_traceback_files(generated, project / "src")) == {os.path.join("app", "prog.py")}
    assert set(_traceback_files(generated, elsewhere)) == {str(project / "src/app/prog.py")}


def test_an_output_mirrored_at_its_sources_path_is_not_taken_for_its_source(
    corofy: Corofy, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    write(project, {"pyproject.toml": "", "src/prog.py": PROGRAM})
    result = corofy("src", "-o", "out/src", cwd=project)
    assert result.returncode == 0, result.stderr
    files = _traceback_files(project / "out/src/prog.py", project)
    assert set(files) == {os.path.join("src", "prog.py")}


def test_stdin_filename_is_recorded_as_the_file_itself_would_be(
    corofy: Corofy, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    write(project, {"pyproject.toml": "", "src/prog.py": PROGRAM})
    data = PROGRAM.encode()
    from_root = corofy.raw("-", "--stdin-filename", "src/prog.py", input=data, cwd=project)
    from_src = corofy.raw("-", "--stdin-filename", "prog.py", input=data, cwd=project / "src")
    assert from_root.returncode == from_src.returncode == 0
    assert from_root.stdout == from_src.stdout
    assert b"__corofy_source__ = 'src/prog.py'" in from_root.stdout


def test_a_source_written_into_another_project_is_named_by_its_absolute_path(
    corofy: Corofy, tmp_path: Path
) -> None:
    mine = tmp_path / "mine"
    theirs = tmp_path / "theirs"
    # `theirs` holds a file at the same relative path: it must not be taken for the source.
    write(mine, {"pyproject.toml": "", "src/prog.py": PROGRAM})
    write(theirs, {"pyproject.toml": "", "src/prog.py": "# another project's file\n"})
    result = corofy("src", "-o", str(theirs / "build"), cwd=mine)
    assert result.returncode == 0, result.stderr
    generated = theirs / "build/prog.py"
    assert f"__corofy_source__ = {str(mine / 'src/prog.py')!r}" in generated.read_text()
    assert set(_traceback_files(generated, theirs)) == {str(mine / "src/prog.py")}
