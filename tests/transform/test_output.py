"""Properties of the generated module itself (SPEC §2.4, docs/internals.md)."""

from __future__ import annotations

import ast
import inspect
import sys
import textwrap
from pathlib import Path

import pytest

import runtime
from corofy.transform import header, transform, transform_source
from runtime import PENDING
from runtime._line_table import line_table
from runtime.machine import Machine

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = sorted(p for p in (ROOT / "samples").glob("*.py") if "coroutine" in p.read_text())

EXAMPLE = textwrap.dedent('''\
    """A module with code around its coroutines."""
    import sys  # kept
    from corofy import coroutine, wait, transform_source as keep_me

    CONSTANT = {"a": [1, 2,
                      3]}   # odd spacing stays


    def plain(x):
        return x * 2


    @coroutine
    def fetch(a, /, b=2, *rest, key: int = 3, **options) -> int:
        """Fetch it."""
        first = wait(a)
        for item in rest:
            first += wait(item)
        return first + b + key


    class Holder:
        value = 1

        @staticmethod
        @coroutine
        def get(x):
            return wait(x)
    ''')


class Ready:
    def __init__(self, value):
        self.value = value


class Now:
    def __init__(self, value):
        self.value = value

    def poll(self, waker):
        from runtime import Ready

        return Ready(self.value)


def run_machine(machine):
    while True:
        answer = machine.poll(None)
        if answer is not PENDING:
            return answer.value


def load(code: str, name: str = "generated") -> dict:
    namespace: dict = {"__name__": name}
    exec(compile(code, f"{name}.py", "exec", dont_inherit=True), namespace)
    return namespace


def test_every_generated_module_compiles() -> None:
    for source in [EXAMPLE, *(p.read_text() for p in SAMPLES)]:
        compile(transform_source(source, "x.py"), "x.py", "exec")


def test_transforming_the_output_again_changes_nothing() -> None:
    for source in [EXAMPLE, *(p.read_text() for p in SAMPLES)]:
        once = transform_source(source, "x.py")
        assert transform_source(once, "x.py") == once


def test_output_is_deterministic() -> None:
    assert transform_source(EXAMPLE, "x.py") == transform_source(EXAMPLE, "x.py")


def test_code_outside_coroutines_is_kept_byte_for_byte() -> None:
    out = transform_source(EXAMPLE, "x.py")
    kept_before = EXAMPLE.split("@coroutine")[0].replace(
        "from corofy import coroutine, wait, transform_source as keep_me",
        "from corofy import transform_source as keep_me",
    )
    assert kept_before.split("CONSTANT")[1] in out
    assert "def plain(x):\n    return x * 2\n" in out
    assert "class Holder:\n    value = 1\n" in out
    assert out.startswith(header("x.py") + '"""A module with code around its coroutines."""\n')
    assert "\nimport sys  # kept\n" in out


def test_marker_import_is_removed_but_other_names_stay() -> None:
    out = transform_source(EXAMPLE, "x.py")
    assert "from corofy import transform_source as keep_me" in out
    assert "coroutine, wait" not in out
    plain = "from corofy import coroutine, wait\n\n@coroutine\ndef f():\n    return wait(g())\n"
    assert "corofy import" not in transform_source(plain)


def test_generated_modules_import_only_runtime_and_the_standard_library() -> None:
    for source in [
        EXAMPLE.replace(", transform_source as keep_me", ""),
        *(p.read_text() for p in SAMPLES),
    ]:
        tree = ast.parse(transform_source(source, "x.py"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                roots = {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and not node.level:
                roots = {node.module.split(".")[0]}
            else:
                continue
            for root in roots:
                local = (ROOT / "samples" / f"{root}.py").exists()  # a sample's sibling
                assert root == "runtime" or root in sys.stdlib_module_names or local, root


@pytest.mark.parametrize(
    ("imports", "left"),
    [
        ("import corofy, sys\n", "import sys\n"),
        ("import sys, corofy  # why\n", "import sys  # why\n"),
        ("import os, corofy as c, sys\n", "import os, sys\n"),
    ],
    ids=["first", "last-with-comment", "aliased-in-the-middle"],
)
def test_import_corofy_beside_other_modules_loses_only_corofy(imports: str, left: str) -> None:
    name = "c" if " as c" in imports else "corofy"
    source = imports + f"\n@{name}.coroutine\ndef f(g):\n    return {name}.wait(g()), sys.argv\n"
    out = transform_source(source, "x.py")
    assert left in out
    assert not any(
        root == "corofy"
        for node in ast.walk(ast.parse(out))
        if isinstance(node, ast.Import)
        for root in (a.name.split(".")[0] for a in node.names)
    )


def test_generated_function_keeps_signature_name_doc_and_annotations() -> None:
    ns = load(transform_source(EXAMPLE.replace(", transform_source as keep_me", ""), "x.py"))
    fetch = ns["fetch"]
    assert str(inspect.signature(fetch)) == (
        "(a, /, b=2, *rest, key: int = 3, **options) -> runtime.future.Future[int]"
    )
    assert fetch.__name__ == "fetch" and fetch.__qualname__ == "fetch"
    assert fetch.__doc__ == "Fetch it."
    assert fetch.__annotations__ == {"key": int, "return": runtime.Future[int]}
    assert ns["Holder"].get.__qualname__ == "Holder.get"


def test_calling_runs_nothing_and_polling_runs_to_the_end() -> None:
    ns = load(transform_source(EXAMPLE.replace(", transform_source as keep_me", ""), "x.py"))
    machine = ns["fetch"](Now(1), 2, Now(10), Now(100), key=4)
    assert machine._state == 0 and machine._awaiting is None
    assert run_machine(machine) == 117
    assert machine._state == -1
    with pytest.raises(RuntimeError):
        machine.poll(None)
    assert run_machine(ns["Holder"].get(Now(5))) == 5


def test_generated_class_honours_the_contract_with_debug_and_cli() -> None:
    result = transform(EXAMPLE, "pkg/x.py")
    ns = load(result.code)
    cls = type(ns["fetch"](Now(1)))
    assert cls.__name__ == "fetch_machine"
    assert {"_state", "_awaiting"} <= set(cls.__slots__)
    assert cls._corofy_states_[0][0] == "start"
    assert {line for _, line in cls._corofy_states_.values()} == {14, 16, 18}
    assert ns["__corofy_source__"] == "pkg/x.py"
    lines = line_table(ns["__corofy_lines__"])
    generated = result.code.split("\n")
    # Generated lines of user code point at the line they came from.
    for gen_line, text in enumerate(generated, 1):
        if text.strip() == "for item in rest:":
            assert lines[gen_line] == 17
        if text.strip() == "return _Ready(first + b + key)":
            assert lines[gen_line] == 19
        if text.strip() == "def plain(x):":
            assert lines[gen_line] == 9


def test_the_line_table_is_one_string_constant_so_compile_does_not_pay_per_line() -> None:
    code = transform(EXAMPLE, "pkg/x.py").code
    table = next(
        stmt.value
        for stmt in ast.parse(code).body
        if isinstance(stmt, ast.Assign) and getattr(stmt.targets[0], "id", "") == "__corofy_lines__"
    )
    assert isinstance(table, ast.Constant) and isinstance(table.value, str)
    assert line_table(table.value) == line_table(load(code)["__corofy_lines__"])


def test_line_table_reads_the_string_and_the_dict_of_older_output() -> None:
    assert line_table("11:2 12:3 ") == {11: 2, 12: 3}
    assert line_table("") == {}
    assert line_table({5: 1}) == {5: 1}
    assert line_table("11:x") is None
    assert line_table(None) is None


def test_machines_metadata_lists_states_and_edges() -> None:
    result = transform(EXAMPLE, "x.py")
    fetch = next(m for m in result.machines if m.name == "fetch")
    assert fetch.qualname == "fetch" and fetch.line == 14
    assert [(s.id, s.line, s.wait_source) for s in fetch.states] == [
        (0, 14, ""),
        (1, 16, "wait(a)"),
        (2, 18, "wait(item)"),
    ]
    edges = {(e.src, e.dst, e.kind) for e in fetch.edges}
    assert {
        (0, 1, "normal"),
        (1, 2, "normal"),
        (2, 2, "normal"),
        (1, -1, "normal"),
        (2, -1, "exception"),
    } <= edges
    assert "class fetch_machine" in fetch.code
    holder = next(m for m in result.machines if m.name == "get")
    assert holder.qualname == "Holder.get"


def test_state_dispatch_is_a_tuple_indexed_by_state() -> None:
    ns = load(transform_source(EXAMPLE.replace(", transform_source as keep_me", ""), "x.py"))
    cls = type(ns["fetch"](Now(1)))
    assert isinstance(cls._steps, tuple) and len(cls._steps) == len(cls._corofy_states_) + 1


def test_the_methods_every_machine_shares_are_runtimes_not_compiled_per_coroutine() -> None:
    code = transform(EXAMPLE, "x.py").code
    cls = type(load(code)["fetch"](Now(1)))
    assert issubclass(cls, runtime.Future)
    for shared in ("poll", "close", "__del__", "_finished"):
        assert shared not in vars(cls) and getattr(cls, shared) is getattr(Machine, shared)
        assert f"def {shared}(" not in code


def test_an_inline_wait_handles_a_missing_poll_without_binding_a_name() -> None:
    # A name bound by 'except ... as' costs CPython a cleanup block at every wait (compile
    # time, issue 10): the handler is nameless and the machine still runs and explains.
    code = transform(EXAMPLE, "x.py").code
    assert "except AttributeError:  # no poll()" in code
    assert "except AttributeError as" not in code
    ns = load(code)
    assert run_machine(ns["fetch"](Now(1), 2, Now(3))) == 1 + 3 + 2 + 3
    with pytest.raises(TypeError, match=r"needs a runtime\.Future, got int"):
        run_machine(ns["fetch"](5))


def test_the_table_of_states_is_made_by_runtime_from_the_state_functions_names() -> None:
    # No dict display per class (compile time, issue 10): each state's name and line are in
    # its function's name, the start's line is _corofy_line_.
    code = transform(EXAMPLE, "x.py").code
    assert "_corofy_states_ =" not in code
    cls = type(load(code)["fetch"](Now(1)))
    assert "_corofy_states_" not in vars(cls)
    assert cls._corofy_states_ == {0: ("start", 14), 1: ("s1_line16", 16), 2: ("s2_line18", 18)}
    assert vars(cls)["_corofy_states_"] is cls._corofy_states_  # made once, kept on the class
    assert Machine._corofy_states_ == {}


def test_only_locals_living_across_a_wait_get_a_slot() -> None:
    source = textwrap.dedent("""\
        from corofy import coroutine, wait

        @coroutine
        def f(x):
            scratch = x * 2
            kept = scratch + 1
            got = wait(x)
            return got + kept
        """)
    ns = load(transform_source(source))
    slots = set(type(ns["f"](Now(1)))._steps and ns["f_machine"].__slots__)
    assert "kept" in slots and "scratch" not in slots and "got" not in slots


NESTED_LOOPS = textwrap.dedent("""\
    from corofy import coroutine, wait

    @coroutine
    def grid(rows, cols, cell):
        total = 0
        for r in range(rows):
            for c in range(cols):
                total += wait(cell(r, c))
            total += wait(cell(r, -1))
        try:
            for k in range(rows):
                total += wait(cell(k, k))
        finally:
            total += 1
        return total
    """)


def test_each_waiting_loop_is_written_once_not_once_per_state_inside_a_try_at_most_twice() -> None:
    # A state inside a loop continues the loop by calling one shared function per loop,
    # not by repeating the loop (and every enclosing loop) in its own resume function; the
    # start function calls it too (compile time, issue 10).
    code = transform_source(NESTED_LOOPS, "grid.py")
    assert "def _loop1_line" in code and "def _loop2_line" in code
    headers = [line.strip() for line in code.splitlines() if line.strip().startswith("for ")]
    outer = [h for h in headers if h.startswith("for r in")]
    inner = [h for h in headers if h.startswith("for c in")]
    # One continuation each: the outer loop's continuation calls the inner loop's instead
    # of holding a copy of it, and the start function calls the outer one's.
    assert len(outer) == 1 and len(inner) == 1, headers
    # Inside a try a call would leave the try: the start function and the states inside
    # the loop would hand off to one state (runtime's Machine.NOW, ready at once) that
    # calls the loop's continuation, which re-enters the try (SPEC 2.4, issue 10); but
    # the last wait of its iteration keeps a copy (the steady state of a server loop: no
    # detour), and this loop has no other: nothing hands it off but the start function,
    # its one entry, which holds it instead (no state, no continuation of its own).
    assert len([h for h in headers if h.startswith("for k in")]) == 2, headers
    assert "_Machine.NOW" not in code and "def _s4_loop" not in code
    ns = load(code)
    assert run_machine(ns["grid"](3, 2, lambda r, c: Later(r + c))) == 1 + 9 + 0 + 6
    # With two waits in its iteration, the first one's state hands the loop off.
    code = transform_source(
        NESTED_LOOPS.replace(
            "total += wait(cell(k, k))", "total += wait(cell(k, k)) + wait(cell(k, 0))"
        ),
        "grid.py",
    )
    headers = [line.strip() for line in code.splitlines() if line.strip().startswith("for ")]
    assert len([h for h in headers if h.startswith("for k in")]) == 2, headers
    assert "_Machine.NOW" in code
    ns = load(code)
    assert run_machine(ns["grid"](3, 2, lambda r, c: Later(r + c))) == 1 + 9 + 0 + 6 + 3


def test_resume_functions_take_the_answer_runtime_polled_and_do_not_poll_themselves() -> None:
    # poll() of runtime.Machine polls the future of the wait a machine is suspended at,
    # once for every machine, instead of a prologue in each resume function (compile
    # time, issue 10): the function gets the answer, or the exception to raise again.
    code = transform_source(NESTED_LOOPS, "grid.py")
    assert "_awaiting.poll(" not in code
    assert "def _s1_line8(_m, _w, _r, _thrown):" in code
    ns = load(code)
    assert run_machine(ns["grid"](2, 2, lambda r, c: Later(r + c))) == 6


def test_a_tail_that_only_runs_a_waiting_loop_is_not_a_function_of_its_own() -> None:
    # After the statement at line 7 comes only a waiting loop: whoever would call the
    # tail after line 7 calls the loop's continuation directly (compile time, issue 10).
    source = textwrap.dedent("""\
        from corofy import coroutine, wait

        @coroutine
        def f(n, get):
            total = wait(get(0))
            total += 1
            with open(get.__code__.co_filename) as fh:
                total += wait(get(1))
            while total < n:
                total += wait(get(total))
            return total
        """)
    code = transform_source(source, "f.py")
    assert "_after_line7(" not in code, code
    assert "def _loop1_line9(" in code
    ns = load(code)
    assert run_machine(ns["f"](5, lambda v: Later(v + 1))) == 9


class Later:
    """Pending at the first poll, then ready: every wait suspends once."""

    def __init__(self, value):
        self.value, self.polled = value, False

    def poll(self, waker):
        from runtime import Ready

        if not self.polled:
            self.polled = True
            return PENDING
        return Ready(self.value)


def test_a_resume_function_passes_what_it_only_hands_on_to_a_tail_from_its_slot() -> None:
    # State 1 reads none of a, b, get: it hands them on to the tail after line 5 as they
    # are in their slots, instead of loading each into a local first (compile time,
    # issue 10). x, which it binds, is passed as its local.
    source = textwrap.dedent("""\
        from corofy import coroutine, wait

        @coroutine
        def f(a, b, get):
            x = wait(get(1))
            for i in range(2):
                x += wait(get(i))
            return a + b + x
        """)
    code = transform_source(source, "f.py")
    tree = ast.parse(code)
    resume = next(
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.name.startswith("_s1_")
    )
    text = ast.get_source_segment(code, resume)
    assert "= _m.a" not in text and ", _m.a, _m.b, _m.get, x)" in text, text
    ns = load(code)
    assert run_machine(ns["f"](10, 20, lambda v: Later(v + 1))) == 35


def test_a_suspension_clears_m_only_where_a_finally_tests_it() -> None:
    # The finally blocks a suspension returns through test _m to know they must not run;
    # elsewhere nothing reads it after the return, and the line cost compile time at every
    # wait (issue 10).
    code = transform(EXAMPLE, "x.py").code
    assert "_m = None" not in code
    source = textwrap.dedent("""\
        from corofy import coroutine, wait

        @coroutine
        def f(a, log):
            x = wait(a)
            try:
                x += wait(a)
            finally:
                log.append(x)
            return x + wait(a)
        """)
    code = transform_source(source)
    assert code.count("_m = None") == 1
    log: list = []
    assert run_machine(load(code)["f"](Later(2), log)) == 6
    assert log == [4]


def test_a_waiting_loop_in_a_with_entered_from_one_place_is_printed_there() -> None:
    # bench_output's shape: a waiting comprehension inside a with after a waiting loop.
    # Nothing hands the comprehension's loop off but the one function entering it, which
    # holds it (no state or continuation of its own: compile time, issue 10).
    source = textwrap.dedent("""\
        from corofy import coroutine, wait

        @coroutine
        def f(a, cm, log):
            for p in [1, 2]:
                log.append(wait(a(p)))
            with cm:
                sizes = [wait(a(p)) for p in [3, 4] if p]
            return sizes
        """)
    code = transform_source(source)
    assert "_Machine.NOW" not in code and "_loop_line" not in code  # no _sN_loop_lineK state

    class Manager:
        def __enter__(self):
            log.append("enter")

        def __exit__(self, *exc):
            log.append(("exit", exc[0]))

    log: list = []
    assert run_machine(load(code)["f"](Later, Manager(), log)) == [3, 4]
    assert log == [1, 2, "enter", ("exit", None)]
    for polls in range(1, 5):  # closed at each wait: __exit__ runs once, for GeneratorExit
        log = []
        machine = load(code)["f"](Later, Manager(), log)
        for _ in range(polls):
            machine.poll(None)
        machine.close()
        assert [e for e in log if isinstance(e, tuple)] == (
            [("exit", GeneratorExit)] if polls > 2 else []
        ), polls
