"""`corofy show`, `graph` and `run` in process, with the stand-in transform injected.

End-to-end runs of the same commands with the real transform are in test_end_to_end.py.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import textwrap

import cli_fake_transform
import pytest
from click.testing import CliRunner

from corofy.cli import main
from corofy.show import highlight

SOURCE = textwrap.dedent("""\
    from corofy import coroutine, wait
    import runtime


    @coroutine
    def fetch(fut):
        first = wait(fut)
        second = wait(fut)
        return first + second


    @coroutine
    def other(fut):
        return wait(fut)
""")


@pytest.fixture
def fake(monkeypatch):
    monkeypatch.setitem(sys.modules, "corofy.transform", cli_fake_transform)


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "prog.py"
    path.write_text(SOURCE)
    return path


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_show_prints_every_machine_plain_when_piped(fake, source):
    result = invoke("show", str(source))
    assert result.exit_code == 0
    assert "class _fetch_machine" in result.stdout and "class _other_machine" in result.stdout
    assert "\x1b[" not in result.stdout


def test_show_func_selects_one_machine_and_colour_can_be_forced(fake, source):
    result = invoke("show", str(source), "other", "--color")
    assert result.exit_code == 0
    assert "_other_machine" in result.stdout and "_fetch_machine" not in result.stdout
    assert "\x1b[1;35mclass\x1b[0m" in result.stdout


def test_show_unknown_func_lists_what_exists(fake, source):
    result = invoke("show", str(source), "nope")
    assert result.exit_code == 2
    assert "no coroutine named 'nope'; coroutines here: fetch, other" in result.stderr


def test_show_reports_transform_errors_with_position(fake, tmp_path):
    path = tmp_path / "bad.py"
    path.write_text("from corofy import coroutine\nx = 'SYNTAX ERROR'\n")
    result = invoke("show", str(path))
    assert result.exit_code == 2
    assert result.stderr == f"{path}:2:6: error: invalid syntax\n"


def test_highlight_keeps_the_text_and_resets_every_colour():
    code = 'def f(x):\n    """doc\n    more"""\n    return x + 1  # note\n'
    coloured = highlight(code)
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured) == code
    assert coloured.count("\x1b[0m") == len(
        re.findall(r"\x1b\[[0-9;]+m", coloured)
    ) - coloured.count("\x1b[0m")


def test_mermaid_graph_has_one_node_per_state_and_labels_its_edges(fake, source):
    result = invoke("graph", str(source), "fetch", "--format", "mermaid")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "stateDiagram-v2"
    nodes = [line for line in lines if line.strip().startswith("state ")]
    assert len(nodes) == 3  # start and two waits
    assert 'state "1: wait_line_7 (line 7)<br>first = wait(fut)" as s1' in result.stdout
    assert "    s1 --> s2 : pending" in lines
    assert "    s2 --> [*] : exception escapes" in lines
    assert "    s2 --> [*] : return" in lines
    assert "    s0 --> [*] : return" not in lines  # the start cannot return: a wait comes first


@pytest.mark.skipif(
    shutil.which("dot") is None, reason="Graphviz dot is not installed (scripts/install-test-tools)"
)
def test_dot_graph_is_accepted_by_graphviz(fake, source):
    result = invoke("graph", str(source), "fetch", "--format", "dot")
    assert result.exit_code == 0
    rendered = subprocess.run(
        ["dot", "-Tsvg"], input=result.stdout, capture_output=True, text=True, timeout=60
    )
    assert rendered.returncode == 0, rendered.stderr
    assert rendered.stdout.count('class="node"') == 3 + 2  # states, start point, done
    assert "style=dashed" in result.stdout


@pytest.fixture
def isolated_main():
    """run_file replaces __main__, argv, sys.path and meta_path: put them back."""
    saved = (sys.modules["__main__"], list(sys.argv), list(sys.path), list(sys.meta_path))
    yield
    sys.modules["__main__"], sys.argv[:], sys.path[:], sys.meta_path[:] = saved
    for name in ("helper_mod",):
        sys.modules.pop(name, None)


def test_run_transforms_the_file_and_its_corofy_imports_in_memory(
    fake, tmp_path, isolated_main, capsys
):
    (tmp_path / "helper_mod.py").write_text(SOURCE)
    main_file = tmp_path / "main_prog.py"
    main_file.write_text(
        textwrap.dedent("""\
        import sys
        import runtime
        from corofy import coroutine, wait
        from helper_mod import fetch

        class Now(runtime.Future):
            def poll(self, waker):
                return runtime.Ready(int(sys.argv[1]))

        @coroutine
        def main():
            return wait(fetch(Now()))

        print(__name__, sys.argv[1:], main().poll(None).value)
    """)
    )
    from corofy.runner import CorofyLoader, run_file

    cli_fake_transform.CALLS.clear()
    run_file(str(main_file), ["20", "--flag"])
    assert capsys.readouterr().out == "__main__ ['20', '--flag'] 40\n"
    assert sorted(cli_fake_transform.CALLS) == sorted(
        [str(main_file), str(tmp_path / "helper_mod.py")]
    )
    assert isinstance(sys.modules["helper_mod"].__loader__, CorofyLoader)
    assert not list(tmp_path.glob("__pycache__/helper_mod*")), "no bytecode of transformed code"


def test_mermaid_labels_escape_what_mermaid_would_read_as_html_or_quotes():
    from types import SimpleNamespace

    from corofy.graph import to_mermaid

    state = SimpleNamespace(id=1, name="s1_line5", line=5, wait_source='wait(f("<b>" > x#1))')
    machine = SimpleNamespace(qualname="g", line=4, states=[state], edges=[])
    (label,) = [line for line in to_mermaid(machine, []).splitlines() if "as s1" in line]
    inner = label.split('"', 1)[1].rsplit('"', 1)[0]
    assert not set('<>"') & set(inner.replace("<br>", "")), label
    assert "#quot;#lt;b#gt;#quot; #gt; x#35;1" in inner
