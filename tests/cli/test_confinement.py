"""corofy writes only inside OUT: never through a symlink, never over a file it did not write.

Every way a path can lead back into SRC or out of OUT, tried with real files (SPEC §5,
issue 11). A refusal is a `path:1:1: error: ...` line (errors read path:line:col: error:
message), exit 2, and nothing written at all.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from cli_helpers import COROUTINE_FILE, tree, write

PLAIN = "def add(a, b):\n    return a + b\n"


@pytest.fixture
def project(corofy):
    """src/ with a coroutine module and a plain one, in a package."""
    write(corofy.cwd / "src", {"pkg/m.py": COROUTINE_FILE, "pkg/plain.py": PLAIN, "top.py": PLAIN})
    return corofy


def snapshot(root):
    """Every entry below root, links as links: what a refused run must leave as it was."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            if os.path.islink(path):
                found[rel] = ("link", os.readlink(path))
            elif os.path.isfile(path):
                with open(path, "rb") as f:
                    found[rel] = ("file", f.read())
            else:
                found[rel] = ("dir", None)
    return found


def refused(result, path, words):
    assert result.returncode == 2, result.stderr
    assert f"{path}:1:1: error: " in result.stderr, result.stderr
    assert words in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def refused_touching_nothing(corofy, args, path, words):
    """corofy run with `args` is refused (see refused) and leaves every entry as it was."""
    before = snapshot(corofy.cwd)
    refused(corofy(*args), path, words)
    assert snapshot(corofy.cwd) == before


def test_a_symlinked_folder_in_out_leading_into_src_is_refused_and_the_source_kept(project):
    cwd = project.cwd
    (cwd / "out").mkdir()
    (cwd / "out/pkg").symlink_to("../src/pkg")
    # the source kept, and nothing else written either
    refused_touching_nothing(
        project, ["src", "-o", "out"], "out/pkg", "is a symlink (to ../src/pkg)"
    )
    assert project("src", "-o", "out", "--check").returncode == 2


def test_a_symlinked_folder_in_out_leading_elsewhere_is_refused(project):
    cwd = project.cwd
    write(cwd / "elsewhere", {"keep.txt": "mine"})
    (cwd / "out").mkdir()
    (cwd / "out/pkg").symlink_to(cwd / "elsewhere")
    refused_touching_nothing(project, ["src", "-o", "out"], "out/pkg", "never through a symlink")


@pytest.mark.parametrize("link", ["../src/top.py", "../elsewhere.py"])
def test_a_symlinked_file_in_out_is_never_written_through(project, link):
    cwd = project.cwd
    write(cwd, {"elsewhere.py": "# mine\n"})
    (cwd / "out").mkdir()
    (cwd / "out/top.py").symlink_to(link)
    refused_touching_nothing(project, ["src", "-o", "out"], "out/top.py", "is a symlink")


@pytest.mark.parametrize("target", ["src", "src/pkg"])
def test_out_that_is_a_symlink_to_src_or_into_it_is_refused(project, target):
    cwd = project.cwd
    (cwd / "out").symlink_to(target)
    before = snapshot(cwd)
    result = project("src", "-o", "out")
    assert result.returncode == 2 and "inside SRC" in result.stderr
    assert snapshot(cwd) == before


def test_out_that_is_a_symlink_to_a_folder_outside_every_src_is_written_there(project):
    cwd = project.cwd
    (cwd / "scratch").mkdir()
    (cwd / "out").symlink_to("scratch")
    assert project("src", "-o", "out").returncode == 0
    assert (cwd / "scratch/pkg/plain.py").read_text() == PLAIN
    assert (cwd / "src/pkg/m.py").read_text() == COROUTINE_FILE


@pytest.mark.parametrize(
    ("src", "out", "words"),
    [
        ("src", "src/../src/gen", "inside SRC"),
        ("src", "out/../src", "inside SRC"),
        ("src/pkg/..", "src/pkg/../gen", "inside SRC"),
        ("out/../out/src", "out", "inside OUT"),
        ("out/src/..", "out", "inside SRC"),
    ],
)
def test_dotdot_spellings_of_out_inside_src_and_src_inside_out_are_refused(corofy, src, out, words):
    write(corofy.cwd / "src", {"pkg/m.py": COROUTINE_FILE})
    write(corofy.cwd / "out/src", {"x.py": PLAIN})
    before = snapshot(corofy.cwd)
    result = corofy(src, "-o", out)
    assert result.returncode == 2 and words in result.stderr, result.stderr
    assert snapshot(corofy.cwd) == before


def test_a_hard_link_in_out_to_a_source_is_refused_and_the_source_kept(project):
    cwd = project.cwd
    assert project("src", "-o", "out").returncode == 0  # out/pkg/m.py now in the manifest
    (cwd / "out/pkg/m.py").unlink()
    os.link(cwd / "src/pkg/m.py", cwd / "out/pkg/m.py")
    refused_touching_nothing(
        project, ["src", "-o", "out"], "out/pkg/m.py", "is the source src/pkg/m.py itself"
    )


def test_a_file_in_out_that_corofy_did_not_write_is_not_overwritten(project):
    cwd = project.cwd
    write(cwd / "out", {"pkg/m.py": "# my own notes\n", "notes.txt": "mine"})
    refused_touching_nothing(
        project, ["src", "-o", "out"], "out/pkg/m.py", "was not written by corofy"
    )
    (cwd / "out/pkg/m.py").unlink()
    assert project("src", "-o", "out").returncode == 0
    assert (cwd / "out/notes.txt").read_text() == "mine"


def test_a_file_in_out_identical_to_the_output_is_adopted_not_refused(project):
    cwd = project.cwd
    write(cwd / "out", {"top.py": PLAIN})
    assert project("src", "-o", "out").returncode == 0
    manifest = json.loads((cwd / "out/.corofy-manifest.json").read_text())
    assert "top.py" in manifest["files"]


def test_a_generated_file_in_out_is_rewritten_even_without_a_manifest(project):
    cwd = project.cwd
    assert project("src", "-o", "out").returncode == 0
    (cwd / "out/.corofy-manifest.json").unlink()
    write(cwd / "src", {"pkg/m.py": COROUTINE_FILE + "\nX = 1\n"})
    assert project("src", "-o", "out").returncode == 0
    assert (cwd / "out/pkg/m.py").read_text().count("X = 1") == 1


def test_a_fifo_at_a_target_is_refused_without_blocking(project):
    cwd = project.cwd
    (cwd / "out").mkdir()
    os.mkfifo(cwd / "out/top.py")
    refused(project("src", "-o", "out"), "out/top.py", "is not a regular file")


def test_a_tampered_manifest_never_removes_anything_outside_out(project):
    cwd = project.cwd
    assert project("src", "-o", "out").returncode == 0
    manifest_path = cwd / "out/.corofy-manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["files"]["../src/top.py"] = "gone.py"
    manifest["files"][str(cwd / "src/pkg/plain.py")] = "gone.py"
    manifest_path.write_text(json.dumps(manifest))
    assert project("src", "-o", "out").returncode == 0
    assert (cwd / "src/top.py").read_text() == PLAIN
    assert (cwd / "src/pkg/plain.py").read_text() == PLAIN


def test_a_stale_output_behind_a_symlinked_folder_is_not_removed_through_it(project):
    cwd = project.cwd
    write(cwd / "src", {"old/gone.py": PLAIN})
    assert project("src", "-o", "out").returncode == 0
    shutil.rmtree(cwd / "src/old")
    shutil.rmtree(cwd / "out/old")
    write(cwd / "elsewhere", {"gone.py": "# mine\n"})
    (cwd / "out/old").symlink_to(cwd / "elsewhere")
    result = project("src", "-o", "out")
    refused(result, "out/old", "is a symlink")
    assert (cwd / "elsewhere/gone.py").read_text() == "# mine\n"


def test_corofied_file_beside_the_source_that_is_a_symlink_is_refused(corofy):
    write(corofy.cwd, {"prog.py": COROUTINE_FILE, "other.py": "# mine\n"})
    (corofy.cwd / "prog_corofied.py").symlink_to("other.py")
    refused_touching_nothing(corofy, ["prog.py"], "prog_corofied.py", "is a symlink (to other.py)")


def test_corofied_file_that_is_a_symlink_to_its_own_source_is_refused(corofy):
    write(corofy.cwd, {"prog.py": COROUTINE_FILE})
    (corofy.cwd / "prog_corofied.py").symlink_to("prog.py")
    result = corofy("prog.py")
    assert result.returncode == 2 and "overwritten by its own output" in result.stderr
    assert (corofy.cwd / "prog.py").read_text() == COROUTINE_FILE


def test_corofied_file_beside_the_source_is_rewritten_only_if_corofy_wrote_it(corofy):
    write(corofy.cwd, {"prog.py": COROUTINE_FILE, "prog_corofied.py": "# my own\n"})
    refused(corofy("prog.py"), "prog_corofied.py", "was not written by corofy")
    assert (corofy.cwd / "prog_corofied.py").read_text() == "# my own\n"
    (corofy.cwd / "prog_corofied.py").unlink()
    assert corofy("prog.py").returncode == 0
    write(corofy.cwd, {"prog.py": COROUTINE_FILE + "\nX = 1\n"})
    assert corofy("prog.py").returncode == 0  # its own earlier output: rewritten
    assert (corofy.cwd / "prog_corofied.py").read_text().count("X = 1") == 1


@pytest.mark.parametrize("how", ["symlink", "hardlink"])
def test_out_file_that_is_the_source_under_another_name_is_refused(corofy, how):
    write(corofy.cwd, {"prog.py": COROUTINE_FILE})
    other = corofy.cwd / "alias.py"
    if how == "symlink":
        other.symlink_to("prog.py")
    else:
        os.link(corofy.cwd / "prog.py", other)
    result = corofy("prog.py", "-o", "alias.py")
    assert result.returncode == 2
    assert "overwritten by its own output" in result.stderr or "is the source" in result.stderr
    assert (corofy.cwd / "prog.py").read_text() == COROUTINE_FILE


def test_a_symlinked_source_file_pointing_into_out_is_not_overwritten(corofy):
    """src/link.py -> ../out/link.py: writing out/link.py would rewrite the source itself."""
    write(corofy.cwd, {"out/link.py": COROUTINE_FILE, "src/a.py": PLAIN})
    (corofy.cwd / "src/link.py").symlink_to("../out/link.py")
    refused_touching_nothing(
        corofy, ["src", "-o", "out"], "out/link.py", "is the source src/link.py itself"
    )


# --- an unreadable folder, read as a user who cannot read it ---------------------------------


def _unprivileged(args, cwd, env):
    """Run `python -m corofy ARGS` without the right to read others' folders.

    As root, drop the capabilities that bypass permission checks (CAP_DAC_OVERRIDE,
    CAP_DAC_READ_SEARCH) from a real process, with setpriv: the kernel then checks mode bits
    as for any user, while the interpreter under /root stays reachable. As a plain user,
    the mode bits already apply.
    """
    cmd = [sys.executable, "-m", "corofy", *args]
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("setpriv (util-linux) is needed to drop root's read override")
        drop = "-dac_override,-dac_read_search"
        cmd = [setpriv, f"--inh-caps={drop}", f"--bounding-set={drop}", "--", *cmd]
    return subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize("git", [False, True])
def test_an_unreadable_folder_in_src_is_an_error_line_and_its_outputs_are_kept(corofy, git):
    cwd = corofy.cwd
    write(cwd / "src", {"a.py": PLAIN, "secret/b.py": PLAIN, "secret/deep/c.py": PLAIN})
    if git:
        subprocess.run(["git", "init", "-q", str(cwd)], check=True)
    assert corofy("src", "-o", "out").returncode == 0
    os.chmod(cwd / "src/secret", 0)
    try:
        write(cwd / "src", {"a.py": PLAIN + "X = 1\n"})
        probe = _unprivileged(["src", "-o", "out"], cwd, corofy.env)
    finally:
        os.chmod(cwd / "src/secret", 0o755)
    assert probe.returncode == 2, probe.stderr
    assert probe.stderr.startswith("src/secret:1:1: error: cannot read folder: Permission denied")
    assert "Traceback" not in probe.stderr and "internal error" not in probe.stderr
    assert (cwd / "out/a.py").read_text() == PLAIN + "X = 1\n"  # the rest is written
    # What was built from the folder is not taken for the output of deleted sources.
    assert (cwd / "out/secret/b.py").exists() and (cwd / "out/secret/deep/c.py").exists()
    assert set(tree(cwd / "out")) >= {"secret/b.py", "secret/deep/c.py"}


def test_a_symlinked_src_into_out_or_an_out_path_through_a_link_into_src_is_refused(corofy):
    write(corofy.cwd, {"out/gen/a.py": PLAIN, "src/b.py": PLAIN})
    (corofy.cwd / "srclink").symlink_to("out/gen")
    (corofy.cwd / "outlink").symlink_to("src")
    before = snapshot(corofy.cwd)
    inside_out = corofy("srclink", "-o", "out")
    assert inside_out.returncode == 2 and "lies inside OUT" in inside_out.stderr
    inside_src = corofy("src", "-o", "outlink/x")
    assert inside_src.returncode == 2 and "lies inside SRC" in inside_src.stderr
    assert snapshot(corofy.cwd) == before
