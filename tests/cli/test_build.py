"""`corofy SRC... -o OUT` and friends, driven through the real executable (SPEC §5)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from cli_helpers import COROUTINE_FILE, tree, write

PLAIN = "def add(a, b):\n    return a + b\n"


def test_folder_is_mirrored_copying_data_and_skipping_hidden_ignored_and_pycache(corofy):
    write(
        corofy.cwd / "src",
        {
            "pkg/__init__.py": "",
            "pkg/plain.py": PLAIN,
            "pkg/data/table.csv": "a,b\n1,2\n",
            "script.sh": "#!/bin/sh\necho hi\n",
            ".hidden/x.py": PLAIN,
            ".env": "SECRET=1\n",
            "pkg/__pycache__/plain.cpython-311.pyc": b"\0\0",
            ".gitignore": "*.log\nscratch/\n",
            "debug.log": "noise\n",
            "scratch/notes.py": PLAIN,
        },
    )
    os.chmod(corofy.cwd / "src/script.sh", 0o755)
    result = corofy("src", "-o", "build")
    assert result.returncode == 0, result.stderr
    out = tree(corofy.cwd / "build")
    assert sorted(k for k in out if not k.startswith(".corofy")) == [
        "pkg/__init__.py",
        "pkg/data/table.csv",
        "pkg/plain.py",
        "script.sh",
    ]
    assert out["pkg/data/table.csv"] == b"a,b\n1,2\n"
    assert os.stat(corofy.cwd / "build/script.sh").st_mode & 0o111, "copies keep the exec bit"


def test_gitignore_is_asked_of_git_inside_a_work_tree(corofy):
    write(
        corofy.cwd,
        {
            "src/keep.py": PLAIN,
            "src/gen/made.py": PLAIN,
            "src/sub/.gitignore": "local_only.txt\n",
            "src/sub/local_only.txt": "x\n",
            "src/sub/kept.txt": "y\n",
            ".gitignore": "gen/\n",
        },
    )
    subprocess.run(["git", "init", "-q"], cwd=corofy.cwd, check=True, timeout=30)
    (corofy.cwd / ".git/info").mkdir(exist_ok=True)
    (corofy.cwd / ".git/info/exclude").write_text("keep_not.py\n")
    write(corofy.cwd, {"src/keep_not.py": PLAIN})
    result = corofy("src", "-o", "build")
    assert result.returncode == 0, result.stderr
    assert sorted(k for k in tree(corofy.cwd / "build") if not k.startswith(".")) == [
        "keep.py",
        "sub/kept.txt",
    ]


def test_gitignore_negation_and_anchoring_outside_git(corofy):
    write(
        corofy.cwd / "src",
        {
            ".gitignore": "*.txt\n!important.txt\n/top.py\ndeep/**/skip.py\n",
            "a.txt": "",
            "important.txt": "",
            "top.py": PLAIN,
            "sub/top.py": PLAIN,
            "deep/x/y/skip.py": PLAIN,
            "deep/x/keep.py": PLAIN,
        },
    )
    assert corofy("src", "-o", "build").returncode == 0
    assert sorted(k for k in tree(corofy.cwd / "build") if not k.startswith(".")) == [
        "deep/x/keep.py",
        "important.txt",
        "sub/top.py",
    ]


def test_deleted_source_removes_only_what_corofy_wrote(corofy):
    write(corofy.cwd / "src", {"a.py": PLAIN, "b/c.py": PLAIN})
    assert corofy("src", "-o", "build").returncode == 0
    write(corofy.cwd / "build", {"mine.txt": "user file\n", "b/notes.md": "mine\n"})
    (corofy.cwd / "src/b/c.py").unlink()
    result = corofy("src", "-o", "build", "-v")
    assert result.returncode == 0, result.stderr
    assert "removed build/b/c.py" in result.stderr
    files = tree(corofy.cwd / "build")
    assert "b/c.py" not in files
    assert files["mine.txt"] == b"user file\n" and files["b/notes.md"] == b"mine\n"
    manifest = json.loads(files[".corofy-manifest.json"])
    assert manifest["files"] == {"a.py": "../src/a.py"}


def test_verbose_names_unchanged_files_too(corofy):
    write(corofy.cwd / "src", {"a.py": PLAIN, "b.py": PLAIN})
    assert corofy("src", "-o", "build").returncode == 0
    write(corofy.cwd / "src", {"b.py": PLAIN + "# edited\n"})
    result = corofy("src", "-o", "build", "-v")
    assert result.returncode == 0, result.stderr
    assert "unchanged build/a.py" in result.stderr
    assert "build/b.py" in result.stderr and "unchanged build/b.py" not in result.stderr
    quiet = corofy("src", "-o", "build")
    assert "unchanged build/a.py" not in quiet.stderr


def test_emptied_folders_are_pruned_after_removal(corofy):
    write(corofy.cwd / "src", {"a.py": PLAIN, "only/one.py": PLAIN})
    assert corofy("src", "-o", "build").returncode == 0
    (corofy.cwd / "src/only/one.py").unlink()
    assert corofy("src", "-o", "build").returncode == 0
    assert not (corofy.cwd / "build/only").exists()


def test_check_exits_1_listing_changes_then_0_after_regenerating(corofy):
    write(corofy.cwd / "src", {"a.py": PLAIN, "b.py": PLAIN})
    first = corofy("src", "-o", "build", "--check")
    assert first.returncode == 1
    assert "would write build/a.py" in first.stderr
    assert not (corofy.cwd / "build").exists(), "--check writes nothing"
    assert corofy("src", "-o", "build").returncode == 0
    assert corofy("src", "-o", "build", "--check").returncode == 0
    write(corofy.cwd / "src", {"b.py": PLAIN + "X = 1\n"})
    (corofy.cwd / "src/a.py").unlink()
    stale = corofy("src", "-o", "build", "--check")
    assert stale.returncode == 1
    assert "would rewrite build/b.py" in stale.stderr
    assert "would remove build/a.py" in stale.stderr
    assert (corofy.cwd / "build/a.py").exists()


def test_quiet_check_prints_nothing_but_still_fails(corofy):
    write(corofy.cwd / "src", {"a.py": PLAIN})
    result = corofy("src", "-o", "build", "--check", "-q")
    assert (result.returncode, result.stdout, result.stderr) == (1, "", "")


def test_diff_prints_a_unified_diff_and_writes_nothing(corofy):
    write(corofy.cwd / "src", {"a.py": PLAIN})
    assert corofy("src", "-o", "build").returncode == 0
    write(corofy.cwd / "src", {"a.py": PLAIN.replace("a + b", "b + a")})
    result = corofy("src", "-o", "build", "--diff")
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "--- build/a.py",
        "+++ build/a.py",
        "@@ -1,2 +1,2 @@",
        " def add(a, b):",
        "-    return a + b",
        "+    return b + a",
    ]
    assert (corofy.cwd / "build/a.py").read_text() == PLAIN


def test_no_src_reads_tool_corofy_from_the_nearest_pyproject(corofy):
    write(
        corofy.cwd,
        {
            "pyproject.toml": (
                '[tool.corofy]\nsrc = ["lib"]\nout = "build/lib"\nexclude = ["lib/skip_*.py"]\n'
            ),
            "lib/m.py": PLAIN,
            "lib/skip_me.py": PLAIN,
            "lib/deeper/n.py": PLAIN,
        },
    )
    result = corofy(cwd=corofy.cwd / "lib/deeper")
    assert result.returncode == 0, result.stderr
    assert sorted(k for k in tree(corofy.cwd / "build/lib") if not k.startswith(".")) == [
        "deeper/n.py",
        "m.py",
    ]
    assert corofy("--check", cwd=corofy.cwd / "lib").returncode == 0


def test_no_src_and_no_config_is_a_usage_error(corofy):
    write(corofy.cwd, {"pyproject.toml": "[project]\nname = 'x'\n"})
    result = corofy()
    assert result.returncode == 2
    assert "[tool.corofy]" in result.stderr


def test_out_inside_src_is_refused(corofy):
    write(corofy.cwd / "src", {"a.py": PLAIN})
    for out in ("src", "src/build"):
        result = corofy("src", "-o", out)
        assert result.returncode == 2
        assert "inside SRC" in result.stderr
    assert sorted(tree(corofy.cwd / "src")) == ["a.py"]


def test_unreadable_file_is_an_error_while_the_others_are_written(corofy):
    write(corofy.cwd / "src", {"a.py": PLAIN, "z.py": PLAIN})
    bad = corofy.cwd / "src/bad.py"
    if os.geteuid() == 0:  # root reads through any mode bits; /proc/self/mem fails with EIO
        bad.symlink_to("/proc/self/mem")
    else:
        bad.write_text(PLAIN)
        bad.chmod(0)
    result = corofy("src", "-o", "build")
    assert result.returncode == 2
    assert result.stderr.startswith("src/bad.py:1:1: error: cannot read")
    assert "Traceback" not in result.stderr
    assert (corofy.cwd / "build/a.py").exists() and (corofy.cwd / "build/z.py").exists()


def test_missing_src_is_a_usage_error(corofy):
    result = corofy("nope.py")
    assert result.returncode == 2 and "nope.py" in result.stderr


def test_undecodable_coroutine_file_reports_the_position_of_the_bad_byte(corofy):
    write(
        corofy.cwd / "src",
        {"ok.py": PLAIN, "bad.py": b"from corofy import wait\nx = '\xe9t\xe9'\n"},
    )
    result = corofy("src", "-o", "build")
    assert result.returncode == 2
    assert result.stderr.startswith("src/bad.py:2:6: error: byte 0xe9 is not valid utf-8")
    assert (corofy.cwd / "build/ok.py").exists()
    assert not (corofy.cwd / "build/bad.py").exists()


def test_non_utf8_plain_file_is_copied_byte_for_byte(corofy):
    data = b"# -*- coding: latin-1 -*-\nNAME = '\xe9t\xe9'\n"
    write(corofy.cwd / "src", {"latin.py": data})
    assert corofy("src", "-o", "build").returncode == 0
    assert (corofy.cwd / "build/latin.py").read_bytes() == data


def test_file_without_out_writes_corofied_beside_it(corofy):
    write(corofy.cwd, {"prog.py": PLAIN})
    assert corofy("prog.py").returncode == 0
    assert (corofy.cwd / "prog_corofied.py").read_text() == PLAIN


def test_file_with_out_py_writes_that_file(corofy):
    write(corofy.cwd, {"prog.py": PLAIN})
    assert corofy("prog.py", "-o", "elsewhere/out.py").returncode == 0
    assert (corofy.cwd / "elsewhere/out.py").read_text() == PLAIN


def test_folder_without_out_is_a_usage_error(corofy):
    write(corofy.cwd / "src", {"a.py": PLAIN})
    result = corofy("src")
    assert result.returncode == 2 and "-o OUT" in result.stderr


@pytest.mark.parametrize("srcs", [("a", "b"), ("a/x.py", "b/x.py"), ("a", "b/x.py")])
def test_two_sources_bound_for_one_out_file_are_refused_before_anything_is_written(corofy, srcs):
    write(corofy.cwd, {"a/x.py": "A = 1\n", "b/x.py": "B = 1\n"})
    result = corofy(*srcs, "-o", "out")
    assert result.returncode == 2
    assert "would both be written to out/x.py" in result.stderr
    assert not (corofy.cwd / "out").exists()


@pytest.mark.parametrize("src", ["a", "a/x.py"])
def test_an_out_that_is_an_existing_file_is_a_usage_error(corofy, src):
    write(corofy.cwd, {"a/x.py": "A = 1\n", "taken": "mine\n"})
    result = corofy(src, "-o", "taken")
    assert result.returncode == 2 and "OUT taken is a file" in result.stderr
    assert (corofy.cwd / "taken").read_text() == "mine\n"


def test_an_out_that_cannot_be_created_is_an_error_line_not_a_traceback(corofy):
    write(corofy.cwd, {"a/x.py": "A = 1\n", "blocked/out": "a file\n"})
    result = corofy("a", "-o", "blocked/out/deeper")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if ": error: " in line]
    assert lines and all(line.startswith("blocked/out/deeper/") for line in lines), lines


def test_a_crash_inside_corofy_exits_2_not_1_which_would_mean_changed(
    tmp_path, monkeypatch, capsys
):
    import corofy.build
    from corofy.cli import main

    def crash(*args, **kwargs):
        raise KeyError("a bug")

    write(tmp_path, {"a/x.py": "A = 1\n"})
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COROFY_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(corofy.build, "apply", crash)
    with pytest.raises(SystemExit) as exit_info:
        main(["a", "-o", "out", "--check"], prog_name="corofy")
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "KeyError: 'a bug'" in err and "internal error in corofy" in err


def test_a_reader_that_leaves_early_ends_corofy_quietly(corofy):
    import subprocess

    from cli_helpers import COROFY

    write(corofy.cwd, {"big.py": PLAIN * 20000})
    proc = subprocess.Popen(
        [COROFY, "big.py", "-o", "-"],
        cwd=corofy.cwd,
        env=corofy.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.close()  # as `| head` does once it has what it wants
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert b"Traceback" not in err and b"Broken pipe" not in err, err


def test_ctrl_c_exits_130_not_1_which_would_mean_changed(tmp_path, monkeypatch, capsys):
    import corofy.build
    from corofy.cli import main

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    write(tmp_path, {"a/x.py": "A = 1\n"})
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COROFY_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(corofy.build, "apply", interrupted)
    with pytest.raises(SystemExit) as exit_info:
        main(["a", "-o", "out", "--check"], prog_name="corofy")
    assert exit_info.value.code == 130
    assert "interrupted" in capsys.readouterr().err


def test_stdin_to_stdout(corofy):
    result = corofy.raw("-", input=PLAIN.encode())
    assert (result.returncode, result.stdout) == (0, PLAIN.encode())


def test_file_to_stdout_with_dash_out(corofy):
    write(corofy.cwd, {"prog.py": PLAIN})
    result = corofy.raw("prog.py", "-o", "-")
    assert (result.returncode, result.stdout) == (0, PLAIN.encode())
    assert not (corofy.cwd / "prog_corofied.py").exists()


def test_version_and_exit_code_for_bad_options(corofy):
    version = corofy("--version")
    assert version.returncode == 0 and version.stdout.startswith("corofy ")
    assert corofy("--no-such-option").returncode == 2


def test_sources_are_never_modified(corofy):
    write(corofy.cwd / "src", {"a.py": PLAIN, "d.txt": "x"})
    before = tree(corofy.cwd / "src")
    for args in (
        ("src", "-o", "build"),
        ("src", "-o", "build", "--check"),
        ("src", "-o", "build", "--diff"),
    ):
        corofy(*args)
    assert tree(corofy.cwd / "src") == before


def test_no_temporary_files_are_left_in_out(corofy):
    write(corofy.cwd / "src", {f"m{i}.py": PLAIN for i in range(20)})
    assert corofy("src", "-o", "build").returncode == 0
    assert not [p for p in (corofy.cwd / "build").iterdir() if p.name.endswith(".tmp")]


# --- with the real transform ---------------------------------------------------------------


def test_coroutine_files_are_transformed_and_run_on_the_runtime(corofy):
    write(
        corofy.cwd / "src",
        {
            "job.py": COROUTINE_FILE,
            "main.py": "import runtime\nfrom job import double\n\n\nclass Now(runtime.Future):\n"
            "    def poll(self, waker):\n        return runtime.Ready(21)\n\n\n"
            "print(runtime.run(double(Now())))\n",
        },
    )
    assert corofy("src", "-o", "build").returncode == 0
    out = (corofy.cwd / "build/job.py").read_text()
    assert "from corofy" not in out and "poll" in out
    assert (corofy.cwd / "build/main.py").read_text() == (corofy.cwd / "src/main.py").read_text()
    ran = subprocess.run(
        [os.sys.executable, "main.py"],
        cwd=corofy.cwd / "build",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.stdout == "42\n", ran.stderr


def test_syntax_error_in_one_file_among_many_others_still_written_exit_2(corofy):
    write(
        corofy.cwd / "src",
        {
            "a.py": COROUTINE_FILE,
            "b.py": COROUTINE_FILE,
            "broken.py": "from corofy import coroutine\n\n@coroutine\ndef f(:\n    pass\n",
        },
    )
    result = corofy("src", "-o", "build", "-j", "2")
    assert result.returncode == 2
    first = result.stderr.splitlines()[0]
    assert first.startswith("src/broken.py:4:7: error: "), first
    try:
        compile((corofy.cwd / "src/broken.py").read_text(), "x", "exec")
    except SyntaxError as exc:
        assert exc.msg in first
    assert (corofy.cwd / "build/a.py").exists() and (corofy.cwd / "build/b.py").exists()
    assert not (corofy.cwd / "build/broken.py").exists()


def test_refusal_is_reported_with_position_and_nothing_written_for_that_file(corofy):
    write(
        corofy.cwd / "src",
        {"r.py": "from corofy import coroutine, wait\n\n@coroutine\ndef f(x):\n    yield x\n"},
    )
    result = corofy("src", "-o", "build")
    assert result.returncode == 2
    assert result.stderr.startswith("src/r.py:5:5: error: ")
    assert not (corofy.cwd / "build/r.py").exists()


def test_latin1_coroutine_file_is_decoded_and_written_back_in_latin1(corofy):
    src = ("# -*- coding: latin-1 -*-\n" + COROUTINE_FILE + "\nLABEL = 'été'\n").encode("latin-1")
    write(corofy.cwd / "src", {"latin.py": src})
    result = corofy("src", "-o", "build")
    assert result.returncode == 0, result.stderr
    out = (corofy.cwd / "build/latin.py").read_bytes()
    assert out.startswith(b"# -*- coding: latin-1 -*-\n")
    assert b"LABEL = '\xe9t\xe9'" in out
    namespace: dict = {}
    exec(compile(out, "latin.py", "exec"), namespace)
    assert namespace["LABEL"] == "été"


def test_stdin_coroutine_source_is_transformed_to_stdout(corofy):
    result = corofy.raw("-", "--stdin-filename", "job.py", input=COROUTINE_FILE.encode())
    assert result.returncode == 0, result.stderr
    assert b"class " in result.stdout and b"from corofy" not in result.stdout
    check = corofy.raw("-", "--check", input=COROUTINE_FILE.encode())
    assert check.returncode == 1
    named = corofy.raw("-", "--check", "--stdin-filename", "job.py", input=COROUTINE_FILE.encode())
    assert named.returncode == 1 and "would rewrite job.py" in named.stderr.decode()


def test_warm_run_reuses_the_cache_without_importing_libcst(corofy, tmp_path):
    write(
        corofy.cwd / "src",
        {f"c{i}.py": COROUTINE_FILE.replace("double", f"double{i}") for i in range(3)},
    )
    assert corofy("src", "-o", "build").returncode == 0
    expected = tree(corofy.cwd / "build")
    # A libcst that cannot be imported: any transform now fails, so success means none ran.
    poison = tmp_path / "poison"
    write(poison, {"libcst/__init__.py": "raise ImportError('libcst imported on the warm path')\n"})
    # The poison first, then the path the first run imported corofy from (a worktree's).
    env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(poison), os.environ.get("PYTHONPATH")]))}
    assert corofy("src", "-o", "build", "--check", env=env).returncode == 0
    for path in (corofy.cwd / "build").glob("c*.py"):
        path.unlink()
    rebuilt = corofy("src", "-o", "build", env=env)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert tree(corofy.cwd / "build") == expected
    # A change misses the cache: that file needs the transform again.
    write(corofy.cwd / "src", {"c0.py": COROUTINE_FILE + "\n# edited\n"})
    assert corofy("src", "-o", "build", env=env).returncode == 2


def test_parallel_and_serial_runs_write_the_same_bytes(corofy):
    files = {f"p{i}/m.py": COROUTINE_FILE.replace("double", f"d{i}") for i in range(12)}
    write(corofy.cwd / "src", files)
    assert corofy("src", "-o", "one", "-j", "1", "--no-cache").returncode == 0
    assert corofy("src", "-o", "two", "-j", "2", "--no-cache").returncode == 0
    assert tree(corofy.cwd / "one") == tree(corofy.cwd / "two")


def test_top_level_help_lists_every_option_of_the_default_command(corofy):
    result = corofy("--help")
    assert result.returncode == 0
    for option in ("--out", "--check", "--diff", "--quiet", "--verbose", "--jobs", "--version"):
        assert option in result.stdout, option
    for command in ("show", "graph", "run"):
        assert f"\n  {command} " in result.stdout, command


def test_a_bad_option_names_the_command_as_typed_on_stderr(corofy):
    implicit = corofy("--no-such-option")
    assert implicit.returncode == 2 and implicit.stdout == ""
    assert implicit.stderr.startswith("Usage: corofy [OPTIONS]")
    assert "Try 'corofy --help'" in implicit.stderr and "--no-such-option" in implicit.stderr
    explicit = corofy("build", "--no-such-option")
    assert explicit.returncode == 2 and explicit.stderr.startswith("Usage: corofy build ")


@pytest.mark.parametrize("name", ["show", "graph", "run"])
def test_subcommands_have_help(corofy, name):
    result = corofy(name, "--help")
    assert result.returncode == 0 and name in result.stdout


@pytest.mark.parametrize("out", ["prog.py", ".", "./"])
def test_a_file_is_never_overwritten_by_its_own_output(corofy, out):
    write(corofy.cwd, {"prog.py": PLAIN})
    result = corofy("prog.py", "-o", out)
    assert result.returncode == 2
    assert "would be overwritten by its own output" in result.stderr
    assert (corofy.cwd / "prog.py").read_text() == PLAIN


def test_src_folder_inside_out_is_refused(corofy):
    write(corofy.cwd / "build/src", {"src/x.py": PLAIN, "y.py": PLAIN})
    before = tree(corofy.cwd / "build")
    result = corofy("build/src", "-o", "build")
    assert result.returncode == 2 and "lies inside OUT" in result.stderr
    assert tree(corofy.cwd / "build") == before


# --- Ctrl-C while writing, and what an interrupted run leaves -------------------------------


def _restore_sigint() -> None:
    # A child of a backgrounded shell job inherits "ignore SIGINT", and Python installs its
    # KeyboardInterrupt handler only when SIGINT is not ignored at start-up.
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _interrupt_after(corofy, lines: int) -> tuple[int, bytes]:
    """Run a verbose build, send a real SIGINT after it reported `lines` writes.

    Its exit code and the rest of its stderr.
    """
    import signal

    proc = subprocess.Popen(
        [sys.executable, "-m", "corofy", "src", "-o", "out", "-v", "-j", "1"],
        cwd=corofy.cwd,
        env=corofy.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=_restore_sigint,
    )
    assert proc.stderr is not None
    seen = 0
    while seen < lines and proc.stderr.readline():
        seen += 1
    proc.send_signal(signal.SIGINT)
    rest = proc.stderr.read()
    return proc.wait(timeout=60), rest


def _leftovers(root) -> list[str]:
    return [p for p in tree(root) if p.rsplit("/", 1)[-1].startswith(".") and p.endswith(".tmp")]


# 14 rounds of a corofy process writing 300 files: about 40 s on a quiet machine, more than
# pytest's 120 s default at a load of 9 (seen once); the bound is for a hang, not for speed.
@pytest.mark.timeout(600)
def test_ctrl_c_during_the_write_phase_leaves_no_temporary_files_and_nothing_orphaned(corofy):
    import signal

    count = 300
    codes = []
    for i, lines in enumerate((1, 2, 3, 5, 8, 13, 30, 60, 100, 150, 200, 250, 290, 299)):
        # New bytes each round, so every round writes every file again.
        write(
            corofy.cwd / "src", {f"p{n // 50}/m{n}.py": f"N = {n}\nR = {i}\n" for n in range(count)}
        )
        code, err = _interrupt_after(corofy, lines)
        codes.append(code)
        assert _leftovers(corofy.cwd / "out") == [], (lines, codes)
        assert b"Traceback" not in err, err
    assert 130 in codes  # the signal did land mid-build, not only after it ended
    # 130: corofy stopped; 0: it had finished; -SIGINT: it was interrupted in Python's own
    # shutdown, after corofy had finished (Python then ends by the signal, as it should).
    assert set(codes) <= {0, 130, -signal.SIGINT}, codes
    # Whatever the stop left in OUT, corofy knows as its own: the next run rewrites it all.
    write(corofy.cwd / "src", {f"p{n // 50}/m{n}.py": f"N = {n}\nR = -1\n" for n in range(count)})
    result = corofy("src", "-o", "out")
    assert result.returncode == 0, result.stderr
    assert (corofy.cwd / "out/p5/m299.py").read_text() == "N = 299\nR = -1\n"


def _build_ends_by_the_signal_without_a_traceback(corofy, script: str) -> None:
    """Run ``script`` (a build of src into out, with a Ctrl-C arranged late): it must end by
    SIGINT, print no traceback, and leave its output written."""
    import signal

    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=corofy.cwd,
        env=corofy.env,
        capture_output=True,
        preexec_fn=_restore_sigint,
        timeout=60,
    )
    assert b"Traceback" not in done.stderr, done.stderr
    assert done.returncode == -signal.SIGINT, (done.returncode, done.stderr)
    assert (corofy.cwd / "out/m.py").read_text().startswith("# Generated by corofy ")


def test_ctrl_c_in_pythons_shutdown_after_a_build_ends_by_the_signal_without_a_traceback(corofy):
    # A Ctrl-C that lands after corofy's work, in the interpreter's own shutdown (here an atexit
    # callback, which runs there as threading's join does): the build is done and its output
    # written, so the process ends by the signal as an interrupted program does, and prints no
    # KeyboardInterrupt traceback from inside the interpreter.
    write(corofy.cwd / "src", {"m.py": COROUTINE_FILE})
    late_ctrl_c = (
        "import atexit, os, signal, time\n"
        "atexit.register(lambda: (os.kill(os.getpid(), signal.SIGINT), time.sleep(5)))\n"
        "from corofy.cli import main\n"
        "main(['src', '-o', 'out'], prog_name='corofy')\n"
    )
    _build_ends_by_the_signal_without_a_traceback(corofy, late_ctrl_c)


def test_ctrl_c_between_the_work_and_the_hand_over_ends_by_the_signal_without_a_traceback(corofy):
    # A whole-suite run once saw a Ctrl-C land after "corofy: 1 files written", in an import
    # made on the way out (before SIGINT was handed back to the default): a KeyboardInterrupt
    # traceback. Here the Ctrl-C lands at the first step of that hand-over.
    write(corofy.cwd / "src", {"m.py": COROUTINE_FILE})
    ctrl_c_on_the_way_out = (
        "import threading\n"
        "import corofy.cli as cli\n"
        "real = threading.current_thread\n"
        "def interrupted():\n"
        "    threading.current_thread = real\n"
        "    raise KeyboardInterrupt\n"
        "threading.current_thread = interrupted\n"
        "cli.main(['src', '-o', 'out'], prog_name='corofy')\n"
    )
    _build_ends_by_the_signal_without_a_traceback(corofy, ctrl_c_on_the_way_out)


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry))
    return found


def _running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's exit may wait to be reaped by init)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="finds workers through /proc")
def test_a_killed_parallel_build_leaves_no_worker_process_behind(corofy):
    import signal
    import time

    # Enough coroutine files for workers to be busy when corofy is killed outright.
    body = COROUTINE_FILE + "".join(
        f"\n\n@coroutine\ndef f{k}(a):\n    for i in range(3):\n        a = wait(a)\n    return a\n"
        for k in range(40)
    )
    write(corofy.cwd / "src", {f"m{n}.py": body.replace("double", f"double{n}") for n in range(60)})
    proc = subprocess.Popen(
        [sys.executable, "-m", "corofy", "src", "-o", "out", "-j", "2"],
        cwd=corofy.cwd,
        env=corofy.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    workers: list[int] = []
    while len(workers) < 2 and proc.poll() is None and time.monotonic() < deadline:
        workers = _children(proc.pid)
        time.sleep(0.05)
    assert len(workers) == 2, "the build ended before its two workers were seen"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 30
    while any(map(_running, workers)) and time.monotonic() < deadline:
        time.sleep(0.1)
    alive = [pid for pid in workers if _running(pid)]
    for pid in alive:  # do not leave them to the next test either
        os.kill(pid, signal.SIGKILL)
    assert alive == []


def test_temporaries_of_a_killed_corofy_are_removed_by_the_next_run(corofy):
    write(corofy.cwd / "src", {"a.py": PLAIN, "pkg/b.py": PLAIN})
    assert corofy("src", "-o", "out").returncode == 0
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    out = corofy.cwd / "out"
    stale = [
        out / f".a.py.corofy-{dead.pid}-0123abcd.tmp",
        out / f"pkg/.b.py.corofy-{dead.pid}-89abcdef.tmp",
    ]
    live = out / f".a.py.corofy-{os.getpid()}-0123abcd.tmp"  # a corofy still writing
    mine = [out / ".notes.tmp", out / "pkg/.b.py.1234.tmp"]  # not corofy's
    for path in [*stale, live, *mine]:
        path.write_bytes(b"")
    write(corofy.cwd / "src", {"a.py": PLAIN + "X = 1\n", "pkg/b.py": PLAIN + "X = 1\n"})
    assert corofy("src", "-o", "out").returncode == 0
    assert [p for p in stale if p.exists()] == []
    assert live.exists() and all(p.exists() for p in mine)


# A real SIGINT that the corofy process sends itself just after the nth call of a C function
# returns (a profile hook sees each `c_return`): Python then raises KeyboardInterrupt at that
# exact point. After `os.open` of a temporary that is the instant the file exists and nothing
# yet holds its name - where the tempfile.mkstemp this code replaced leaked it.
_SIGNAL_AT = """
import os, signal, sys
name, nth = sys.argv[1], int(sys.argv[2])
target = getattr(os, name[3:]) if name.startswith("os.") else None
seen = 0
def profile(frame, event, arg):
    global seen
    if event == "c_return" and (arg is target or getattr(arg, "__name__", None) == name):
        seen += 1
        if seen == nth:
            os.kill(os.getpid(), signal.SIGINT)
signal.signal(signal.SIGINT, signal.default_int_handler)
from corofy.cli import main
sys.setprofile(profile)
main(sys.argv[3:], prog_name="corofy")
"""


@pytest.mark.parametrize(
    ("event", "nth"),
    [
        ("os.open", 1),
        ("os.open", 2),
        ("os.open", 9),
        ("write", 3),
        ("os.chmod", 4),
        ("os.replace", 6),
        ("os.replace", 13),  # the manifest, after every file
    ],
)
def test_ctrl_c_at_each_step_of_an_atomic_write_leaves_no_temporary(corofy, event, nth):
    files = {f"pkg/m{n}.py": f"N = {n}\n" for n in range(12)}
    write(corofy.cwd / "src", files)
    proc = subprocess.run(
        [sys.executable, "-c", _SIGNAL_AT, event, str(nth), "src", "-o", "out", "-j", "1"],
        cwd=corofy.cwd,
        env=corofy.env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 130, proc.stderr
    assert _leftovers(corofy.cwd / "out") == []
    write(corofy.cwd / "src", {rel: text + "X = 1\n" for rel, text in files.items()})
    assert corofy("src", "-o", "out").returncode == 0
    assert (corofy.cwd / "out/pkg/m11.py").read_text() == "N = 11\nX = 1\n"


# --- line endings: bytes in, bytes out --------------------------------------------------------


def test_crlf_sources_pass_through_the_cli_without_newline_translation(corofy):
    from corofy.transform import transform

    coroutine = COROUTINE_FILE.replace("\n", "\r\n").encode()
    plain = PLAIN.replace("\n", "\r\n").encode()
    write(corofy.cwd, {"pyproject.toml": "[project]\nname = 'x'\n"})  # names relative to here
    write(corofy.cwd / "src", {"co.py": coroutine, "plain.py": plain, "cr.py": b"A = 1\rB = 2\r"})
    assert corofy("src", "-o", "out").returncode == 0
    # What the transform made of the text, to the byte: the CLI adds no translation of its own.
    expected = transform(coroutine.decode(), "src/co.py").code.encode()
    assert (corofy.cwd / "out/co.py").read_bytes() == expected
    assert (corofy.cwd / "out/plain.py").read_bytes() == plain
    assert (corofy.cwd / "out/cr.py").read_bytes() == b"A = 1\rB = 2\r"
    check = corofy("src", "-o", "out", "--check")
    assert (check.returncode, check.stderr) == (
        0,
        "corofy: 0 files would be written, 3 unchanged\n",
    )
    piped = corofy.raw("-", "--stdin-filename", "src/plain.py", input=plain)
    assert (piped.returncode, piped.stdout) == (0, plain)
