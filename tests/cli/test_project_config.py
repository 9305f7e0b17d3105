"""The command line on par with black and ruff (SPEC §5, issue 12): [tool.corofy] however SRC
is given, required-version, SRC names that spell commands, the manifest's version stamp,
--check naming its fix, a progress line on a terminal, and help for every parameter."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time

import click
import pytest
from cli_helpers import COROUTINE_FILE, write

from corofy import __version__
from corofy.config import version_satisfies

PLAIN = "A = 1\n"


def pyproject(corofy, **keys):
    lines = ["[tool.corofy]"] + [
        f"{k.replace('_', '-')} = {json.dumps(v)}" for k, v in keys.items()
    ]
    write(corofy.cwd, {"pyproject.toml": "\n".join(lines) + "\n"})


# --- exclude, however SRC is given -----------------------------------------------------------


def test_exclude_from_pyproject_applies_when_src_is_given_on_the_command_line(corofy):
    pyproject(corofy, src="src", out="build", exclude=["src/legacy/**", "*.tmpl.py"])
    write(corofy.cwd / "src", {"a.py": PLAIN, "legacy/old.py": PLAIN, "pkg/x.tmpl.py": PLAIN})
    bare, given = corofy("--check"), corofy("src", "-o", "build", "--check")
    assert bare.returncode == given.returncode == 1
    listed = [line for line in given.stderr.splitlines() if line.startswith("would ")]
    assert listed == ["would write build/a.py"]
    assert [line for line in bare.stderr.splitlines() if line.startswith("would ")] == listed
    assert corofy("src", "-o", "build").returncode == 0
    assert corofy("--check").returncode == 0  # the two spellings agree
    assert sorted(os.listdir(corofy.cwd / "build")) == [".corofy-manifest.json", "a.py"]


@pytest.mark.parametrize(
    "args",
    [
        ("src/legacy/old.py", "-o", "build"),
        ("src/legacy", "-o", "build"),
        ("src/legacy/deep/older.py", "-o", "build"),
        ("src/legacy/old.py",),
        ("src/pkg/x.tmpl.py", "-o", "build/one.py"),
    ],
    ids=["file", "folder", "file-below-an-excluded-folder", "file-beside-itself", "file-to-file"],
)
def test_exclude_from_pyproject_applies_to_an_excluded_path_named_as_src(corofy, args):
    pyproject(corofy, src="src", out="build", exclude=["src/legacy", "*.tmpl.py"])
    files = {"legacy/old.py": COROUTINE_FILE, "legacy/deep/older.py": COROUTINE_FILE}
    write(corofy.cwd / "src", {**files, "pkg/x.tmpl.py": COROUTINE_FILE})
    before = sorted(p for p in os.listdir(corofy.cwd / "src/legacy"))
    result = corofy(*args)
    assert result.returncode == 0, result.stderr
    assert not (corofy.cwd / "build").exists()
    assert sorted(os.listdir(corofy.cwd / "src/legacy")) == before


def test_exclude_is_read_from_the_project_of_the_sources_not_of_the_cwd(corofy):
    pyproject(corofy, src="src", exclude=["src/legacy/**"])
    write(corofy.cwd / "src", {"a.py": PLAIN, "legacy/old.py": PLAIN})
    (corofy.cwd / "elsewhere").mkdir()
    result = corofy("../src", "-o", "../build", cwd=corofy.cwd / "elsewhere")
    assert result.returncode == 0, result.stderr
    assert not (corofy.cwd / "build/legacy").exists() and (corofy.cwd / "build/a.py").exists()


def test_a_bad_tool_corofy_table_is_an_error_also_with_src_given(corofy):
    write(corofy.cwd, {"pyproject.toml": "[tool.corofy]\nexclud = ['x']\n", "src/a.py": PLAIN})
    result = corofy("src", "-o", "build")
    assert result.returncode == 2 and "unknown [tool.corofy] keys: exclud" in result.stderr


# --- required-version ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("required", "ok"),
    [
        (__version__, True),
        ("0.0.1", False),
        (__version__.split(".")[0], True),  # a major, as black's required-version takes
        (f">={__version__},<99", True),
        (f">{__version__}", False),
        (f"=={__version__.rsplit('.', 1)[0]}.*", True),
        (f"~={__version__}", True),
        (f"!={__version__}", False),
    ],
)
def test_required_version_lets_only_a_matching_corofy_run(corofy, required, ok):
    pyproject(corofy, src="src", out="build", required_version=required)
    write(corofy.cwd / "src", {"a.py": PLAIN})
    for args in ((), ("src", "-o", "build")):
        result = corofy(*args)
        if ok:
            assert result.returncode == 0, result.stderr
        else:
            assert result.returncode == 2
            assert result.stderr.startswith(
                f"pyproject.toml:4:1: error: [tool.corofy] required-version is {required!r}, "
                f"but this is corofy {__version__}; install a matching one: pip install"
            )
            assert not (corofy.cwd / "build").exists()


@pytest.mark.parametrize(
    ("text", "where", "says"),
    [
        (
            "[project]\nname = 'x'\n\n[tool.corofy]\nsrc = 'src'\n  exclud = ['x']\n",
            "6:3",
            "exclud",
        ),
        ("[tool.corofy]\nsrc = 'src'\nout = 3\n", "3:1", "out must be a string"),
        ("[tool.corofy]\nsrc = 'src'\nexclude = [1]\n", "3:1", "exclude must be"),
        ("[tool.corofy]\nsrc = 'src'\n", "1:1", "needs out"),
        ("[tool]\ncorofy = 1\n", "1:1", "must be a table"),
        ("[tool.corofy]\nsrc = 'src'\nout = \n", "3:7", "cannot read"),
        ("# none\n[tool.black]\n", "1:1", "no [tool.corofy] table"),
    ],
    ids=[
        "unknown-key",
        "out-not-a-string",
        "exclude-not-strings",
        "no-out",
        "not-a-table",
        "bad-toml",
        "no-table",
    ],
)
def test_a_bad_pyproject_is_an_error_at_its_line_and_column(corofy, text, where, says):
    write(corofy.cwd, {"pyproject.toml": text, "src/a.py": PLAIN})
    result = corofy()
    assert result.returncode == 2
    assert result.stderr.startswith(f"pyproject.toml:{where}: error: "), result.stderr
    assert says in result.stderr
    assert not (corofy.cwd / "build").exists()


def test_a_required_version_that_is_no_version_is_a_clear_error(corofy):
    pyproject(corofy, src="src", out="build", required_version="banana")
    write(corofy.cwd / "src", {"a.py": PLAIN})
    result = corofy()
    assert result.returncode == 2 and "is neither a version" in result.stderr


def test_version_satisfies_reads_versions_prefixes_and_specifiers():
    assert version_satisfies("1.4.2", "1.4.2") and version_satisfies("1.4.2", "1")
    assert version_satisfies("1.4.2", "1.4") and not version_satisfies("1.4.2", "1.5")
    assert version_satisfies("1.4.2", "~=1.4.0") and not version_satisfies("1.5.0", "~=1.4.0")
    assert version_satisfies("1.5.0", "~=1.4") and not version_satisfies("2.0", "~=1.4")
    assert version_satisfies("1.4.2", ">=1.4, <2") and not version_satisfies("2.0.0", ">=1.4,<2")
    assert version_satisfies("1.4", "==1.4.0") and not version_satisfies("1.4.1", "===1.4")
    with pytest.raises(ValueError):
        version_satisfies("1.0", ">=x")


# --- a SRC that spells a command -------------------------------------------------------------


@pytest.mark.parametrize("name", ["build", "show", "graph", "run"])
def test_a_src_folder_named_like_a_command_is_a_source(corofy, name):
    write(corofy.cwd / name, {"a.py": PLAIN})
    result = corofy(name, "-o", "out")
    assert result.returncode == 0, result.stderr
    assert (corofy.cwd / "out/a.py").read_text() == PLAIN


def test_a_command_name_that_is_no_path_is_still_the_command(corofy):
    write(corofy.cwd, {"prog.py": PLAIN})
    shown = corofy("show", "prog.py")
    assert shown.returncode == 2 and "no @coroutine functions" in shown.stderr
    assert corofy("build", "--help").stdout.startswith("Usage: corofy build")


# --- the manifest's version stamp ------------------------------------------------------------


def test_the_manifest_records_the_corofy_version_that_wrote_it(corofy):
    write(corofy.cwd / "src", {"a.py": PLAIN})
    assert corofy("src", "-o", "build").returncode == 0
    path = corofy.cwd / "build/.corofy-manifest.json"
    manifest = json.loads(path.read_text())
    assert manifest == {"corofy": __version__, "files": {"a.py": "../src/a.py"}}
    manifest["corofy"] = "0.0.1"
    path.write_text(json.dumps(manifest))
    assert corofy("src", "-o", "build").returncode == 0  # nothing else changed: restamped
    assert json.loads(path.read_text())["corofy"] == __version__


# --- --check names the command that fixes it -------------------------------------------------


def test_check_says_which_command_updates_the_output(corofy):
    write(corofy.cwd / "my src", {"a.py": PLAIN})
    result = corofy("my src", "-o", "build", "--exclude", "*.txt", "--check")
    assert result.returncode == 1
    assert result.stderr.endswith(
        "corofy: run `corofy 'my src' -o build --exclude '*.txt'` to update\n"
    )
    pyproject(corofy, src="my src", out="build")
    assert corofy("--diff").stderr.endswith("corofy: run `corofy` to update\n")
    assert corofy("--check", "-q").stderr == ""
    assert corofy().returncode == 0
    assert "to update" not in corofy("--check").stderr


# --- progress on a terminal ------------------------------------------------------------------


def _run_on_a_pty(args, cwd, env):
    """Run corofy with stderr on a pseudo-terminal; everything it wrote there."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "corofy", *args],
        cwd=cwd,
        env={**env, "TERM": "xterm"},
        stdout=subprocess.DEVNULL,
        stderr=follower,
    )
    os.close(follower)
    seen = b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # EIO: the process closed its end
                break
            if not chunk:
                break
            seen += chunk
        elif proc.poll() is not None:
            break
    proc.wait(timeout=60)
    os.close(leader)
    return proc.returncode, seen.decode()


def _slow_file(n: int) -> str:
    """A file whose transform takes real time: 12 coroutines with loops, try and waits each."""
    body = "".join(
        f"""

@coroutine
def work{k}(futs, log):
    total = 0
    for f in futs:
        try:
            total += wait(f)
        except ValueError:
            log.append(wait(f))
        finally:
            log.append({k})
    while total > {n}:
        total -= wait(futs[0])
    return total
"""
        for k in range(12)
    )
    return COROUTINE_FILE + body + f"\nN = {n}\n"


def test_a_long_build_shows_progress_on_a_terminal_and_erases_it(corofy):
    # Long enough on any machine to pass the line's half-second delay (about 700 coroutines).
    files = {f"src/m{n}.py": _slow_file(n) for n in range(60)}
    write(corofy.cwd, files)
    code, seen = _run_on_a_pty(
        ["src", "-o", "build", "-j", "1", "--no-cache"], corofy.cwd, corofy.env
    )
    assert code == 0, seen
    assert "\r\x1b[Kcorofy: transformed " in seen and "/60 files" in seen
    summary = seen.rsplit("\r\x1b[K", 1)[1]  # the line is erased before the summary
    assert summary.replace("\r\n", "\n") == "corofy: 60 files written, 0 unchanged\n"


def test_no_progress_line_when_stderr_is_no_terminal_or_the_build_is_quick(corofy):
    files = {f"src/m{n}.py": COROUTINE_FILE + f"\nN = {n}\n" for n in range(60)}
    write(corofy.cwd, files)
    piped = corofy("src", "-o", "build", "-j", "1")  # cold: as long as the one above
    assert piped.returncode == 0 and "\r" not in piped.stderr and "\x1b" not in piped.stderr
    code, seen = _run_on_a_pty(["src", "-o", "build", "--check"], corofy.cwd, corofy.env)
    assert code == 0 and "\x1b" not in seen  # warm: done before the line would appear


# --- help for every argument and option ------------------------------------------------------


def _commands():
    from corofy.cli import main

    return [("", main.commands["build"]), *((name, cmd) for name, cmd in main.commands.items())]


@pytest.mark.parametrize(("name", "command"), _commands(), ids=lambda v: getattr(v, "name", v))
def test_help_of_each_command_documents_every_parameter(corofy, name, command):
    result = corofy(*([name] if name else []), "--help")
    assert result.returncode == 0
    usage, _, body = result.stdout.partition("\n\n")
    for param in command.params:
        if isinstance(param, click.Option):
            if param.hidden:
                continue
            assert param.help, f"{name or 'corofy'} {param.opts[0]} has no help text"
            assert param.opts[-1] in body, param.opts
            assert " ".join(param.help.split())[:30] in " ".join(body.split()), param.opts
        else:
            metavar = param.human_readable_name.upper()
            assert f"{metavar}" in usage, (name, metavar)
            # Described in the text, not only named in the usage line.
            assert metavar in body, f"{name or 'corofy'} --help does not describe {metavar}"
