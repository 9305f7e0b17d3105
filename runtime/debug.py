"""Debugging aids (SPEC §6): tracebacks in the user's lines, failed tasks, a future's chain.

It imports nothing of the runtime, so the runtime can import it (a task reports an unjoined
failure here); `runtime.dump_tasks()`, which lists the executors' tasks, is in runtime.tracing
and describes each with `describe_chain`.

A module written by the corofy command ends with `__corofy_source__` (the original file,
relative to the project root) and `__corofy_lines__` (generated line -> original line, read
by `line_table`); see docs/internals.md. A frame running such a module is shown at the
original file and line, with the original source line, and named after the coroutine rather than `poll`. Frames the
table does not cover (the machine's own plumbing) keep their generated location, which is
where the bug is if one of them fails.

Code compiled in memory by `corofy run` or the untransformed `@coroutine` already carries the
original file name and lines and no table, so it passes through unchanged.

Importing this module installs `excepthook` as `sys.excepthook` (and `thread_excepthook` as
`threading.excepthook`), but only while the default hook is in place: a hook the program set
itself is left alone. `import runtime` installs lazy forwarders to the same two hooks.

Facts: `traceback.walk_tb` and `traceback.extract_tb` visit the same frames in the same
order, so their results can be zipped; a `FrameSummary` given `line=` does not consult
`linecache`, and one without column numbers prints no carets.
"""

from __future__ import annotations

import functools
import linecache
import os
import sys
import traceback
import types
from typing import Any, TextIO

from runtime._line_table import line_table

_ROOT_MARKERS = (".git", ".hg", "pyproject.toml")  # as corofy/config.py records names


def _resolve_source(name: str, generated_file: str) -> str:
    """The original file as a user can open it from the cwd: below it, relative; else absolute."""
    try:
        cwd = os.getcwd()
    except OSError:  # the cwd was removed: paths can only be absolute
        cwd = None
    generated = os.path.join(cwd or "/", generated_file)
    found = _locate_source(name, os.path.normpath(generated), cwd or "/")
    if found is None:
        return name
    if cwd is None:
        return found
    shown = os.path.relpath(found, cwd)
    return found if shown.startswith("..") else shown


@functools.lru_cache(maxsize=256)
def _locate_source(name: str, generated: str, cwd: str) -> str | None:
    """The absolute path of the original file recorded as `name`, or None if it is gone.

    corofy records `name` relative to the source's project root (absolute when the source
    lies in no project). The generated file normally lives in that same project, so the name
    is looked up first against the nearest root above the generated file, then against each
    folder above it, then the cwd. The generated file itself is never taken for its source
    (`corofy src -o out/src` puts `src/x.py`'s output at `out/src/x.py`).
    """
    if os.path.isabs(name):
        return name if os.path.isfile(name) else None
    folders = [os.path.dirname(generated)]
    while os.path.dirname(folders[-1]) != folders[-1]:
        folders.append(os.path.dirname(folders[-1]))
    root = next(
        (f for f in folders if any(os.path.exists(os.path.join(f, m)) for m in _ROOT_MARKERS)),
        None,
    )
    for base in [*([root] if root else []), *folders, cwd]:
        candidate = os.path.normpath(os.path.join(base, name))
        if candidate != generated and os.path.isfile(candidate):
            return candidate
    return None


def _defined_in(cls: type, code: types.CodeType) -> bool:
    """Whether `code` is one of the class's methods (or state steps kept in a tuple), its
    own or inherited (`poll` and `close` are runtime.machine.Machine's)."""
    for value in (v for klass in cls.__mro__ for v in vars(klass).values()):
        for item in value if isinstance(value, tuple | list) else (value,):
            item = getattr(item, "__func__", item)
            if getattr(item, "__code__", None) is code:
                return True
    return False


def _machine_of(frame: types.FrameType) -> Any:
    """The state machine whose method `frame` runs, else None.

    Generated methods take the machine as their first argument, whatever it is called.
    """
    code = frame.f_code
    if code.co_argcount == 0:
        return None
    owner = frame.f_locals.get(code.co_varnames[0])
    cls = type(owner)
    if not hasattr(cls, "_corofy_states_") or not _defined_in(cls, code):
        return None  # e.g. runtime.run(machine): a machine handed to someone else's function
    return owner


def machine_name(machine: Any) -> str:
    """A machine named after its coroutine, as Python would name the function's frame."""
    name = type(machine).__qualname__
    return name.removesuffix("_machine") if name.endswith("_machine") else name


_trailer_cache: dict[str, tuple[str, dict[int, int]] | None] = {}


def _trailer_of(filename: str) -> tuple[str, dict[int, int]] | None:
    """(`__corofy_source__`, `__corofy_lines__`) read from a generated file's text.

    Facts: the names are assigned at the very end of the module, so while the module's own
    top-level code runs — a script's `if __name__ == "__main__":` block — they are not yet
    in its globals. The file on disk has them, so they are read from there instead.
    """
    if filename in _trailer_cache:
        return _trailer_cache[filename]
    import ast

    found = None
    lines = linecache.getlines(filename)
    starts = [i for i, line in enumerate(lines) if line.startswith("__corofy_source__ =")]
    if starts:
        try:
            tail = ast.parse("".join(lines[starts[-1] :]))
            names = {
                stmt.targets[0].id: ast.literal_eval(stmt.value)
                for stmt in tail.body
                if isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name)
            }
            source = names.get("__corofy_source__")
            table = line_table(names.get("__corofy_lines__"))
            if isinstance(source, str) and table is not None:
                found = (source, table)
        except (SyntaxError, ValueError):
            pass
    _trailer_cache[filename] = found
    return found


def generated_info(
    module_globals: dict[str, Any], filename: str
) -> tuple[str, dict[int, int]] | None:
    """The original source name and line table of generated code, or None for other code."""
    table = line_table(module_globals.get("__corofy_lines__"))
    source = module_globals.get("__corofy_source__")
    if table is not None and isinstance(source, str):
        return source, table
    if "__corofy_lines__" in module_globals or not filename.endswith(".py"):
        return None
    return _trailer_of(filename)


def original_location(frame: types.FrameType, lineno: int) -> tuple[str, int] | None:
    """(original file, original line) of a frame in a corofy-generated module, else None."""
    info = generated_info(frame.f_globals, frame.f_code.co_filename)
    if info is None:
        return None
    source, table = info
    line = table.get(lineno)
    if line is None:
        return None
    return _resolve_source(source, frame.f_code.co_filename), line


def remapped_stack(tb: types.TracebackType | None) -> traceback.StackSummary:
    """The traceback's frames, each generated frame moved to its original file and line.

    A run of frames of one machine (`poll` -> the current state's step, and `poll` again
    where it polled the future its wait raised from) shows as one frame, as a function
    does: the last of them in generated code (a state's function, not runtime's `poll`),
    at its original line, else the last. Plumbing where the error itself arose is kept, at its generated location (no
    table entry) or at the `def` line (compiled in memory).
    """
    frames = list(traceback.walk_tb(tb))
    summaries = traceback.extract_tb(tb)
    machines = [_machine_of(frame) for frame, _ in frames]
    locations = [original_location(frame, lineno) for frame, lineno in frames]
    hidden = set()  # the machine dispatching to (or polling for) the frame it shows
    start = 0
    while start < len(frames):
        end = start
        while end + 1 < len(frames) and machines[end + 1] is machines[start]:
            end += 1
        if machines[start] is not None:
            generated = [
                i
                for i in range(start, end + 1)
                if not frames[i][0].f_code.co_filename.startswith(_RUNTIME_DIR)
            ]
            shown = generated[-1] if generated else end
            hidden.update(i for i in range(start, end + 1) if i != shown)
        start = end + 1
    out = []
    for index, summary in enumerate(summaries):
        if index in hidden:
            continue
        machine = machines[index]
        location = locations[index]
        name = machine_name(machine) if machine is not None else summary.name
        if location is None:
            if name != summary.name:
                # The unstripped line: 3.11 places carets by column on it.
                line = getattr(summary, "_original_line", None) or summary.line
                summary = traceback.FrameSummary(
                    summary.filename,
                    summary.lineno,
                    name,
                    line=line,
                    end_lineno=summary.end_lineno,
                    colno=summary.colno,
                    end_colno=summary.end_colno,
                )
            out.append(summary)
            continue
        filename, line = location
        text = linecache.getline(filename, line).strip()
        out.append(traceback.FrameSummary(filename, line, name, line=text))
    return traceback.StackSummary.from_list(out)


def _remap(te: traceback.TracebackException, exc: BaseException | None, seen: set[int]) -> None:
    if exc is None or id(te) in seen:
        return
    seen.add(id(te))
    te.stack = remapped_stack(exc.__traceback__)
    _remap_opt(te.__cause__, exc.__cause__, seen)
    _remap_opt(te.__context__, exc.__context__, seen)
    for sub_te, sub_exc in zip(
        getattr(te, "exceptions", None) or (), getattr(exc, "exceptions", ())
    ):
        _remap(sub_te, sub_exc, seen)


def _remap_opt(
    te: traceback.TracebackException | None, exc: BaseException | None, seen: set[int]
) -> None:
    if te is not None:
        _remap(te, exc, seen)


def format_exception(exc: BaseException) -> list[str]:
    """Like `traceback.format_exception(exc)`, with generated frames at their original lines."""
    te = traceback.TracebackException(type(exc), exc, exc.__traceback__, compact=True)
    _remap(te, exc, set())
    return list(te.format())


def print_exception(exc: BaseException, file: TextIO | None = None) -> None:
    print("".join(format_exception(exc)), end="", file=file if file is not None else sys.stderr)


def excepthook(
    exc_type: type[BaseException], exc: BaseException, tb: types.TracebackType | None
) -> None:
    """A `sys.excepthook` printing tracebacks through generated code in the user's lines."""
    try:
        if exc.__traceback__ is None:
            exc = exc.with_traceback(tb)
        print_exception(exc)
    except Exception:  # never lose the original error to a bug in the remapping
        sys.__excepthook__(exc_type, exc, tb)


def thread_excepthook(args: Any) -> None:
    """A `threading.excepthook` printing like `excepthook`, under Python's thread header."""
    import threading

    if args.exc_type is SystemExit or args.exc_value is None:
        return threading.__excepthook__(args)
    try:
        name = args.thread.name if args.thread is not None else threading.get_ident()
        exc = args.exc_value
        if exc.__traceback__ is None:
            exc = exc.with_traceback(args.exc_traceback)
        print(f"Exception in thread {name}:", file=sys.stderr)
        print_exception(exc)
    except Exception:  # never lose the original error to a bug in the remapping
        threading.__excepthook__(args)


def install_excepthook() -> None:
    """Make `excepthook` the interpreter's hook unless the program installed its own."""
    import threading

    if sys.excepthook is sys.__excepthook__:
        sys.excepthook = excepthook
    if threading.excepthook is threading.__excepthook__:
        threading.excepthook = thread_excepthook


_RUNTIME_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def report_task_failure(task_name: str, exc: BaseException) -> None:
    """Print the traceback of a task that failed and was never joined, to stderr.

    The executor frames that polled the task come first and say nothing about the user's
    program, so the traceback starts at the task's own future, as asyncio's "exception was
    never retrieved" does; a failure inside the runtime itself keeps its frames.
    """
    tb = exc.__traceback__
    while (
        tb is not None
        and tb.tb_next is not None
        and tb.tb_frame.f_code.co_filename.startswith(_RUNTIME_DIR)
    ):
        tb = tb.tb_next
    print(f"runtime: task {task_name} failed and was never joined:", file=sys.stderr)
    print_exception(exc.with_traceback(tb), file=sys.stderr)


# --- a future's chain, as dump_tasks shows it ---------------------------------------------


def _machine_source_file(machine: Any) -> str:
    cls = type(machine)
    module = sys.modules.get(cls.__module__)
    start = (getattr(cls, "_steps", None) or (None,))[0]  # generated: poll is Machine's
    code_file = getattr(getattr(start, "__code__", None), "co_filename", None) or "?"
    info = generated_info(vars(module) if module is not None else {}, code_file)
    if info is not None:
        return _resolve_source(info[0], code_file)
    return code_file  # compiled in memory at the original file and lines


def describe_chain(future: Any) -> list[str]:
    """One line per future from `future` down its `_awaiting` chain of generated machines.

    A combinator (`join_all`, `select`, `timeout`) is a fork in the chain: each future it
    still waits on follows it, one level deeper, as returned by its `_waiting_on()`.
    """
    lines: list[str] = []
    _describe(future, 1, lines, set())
    return lines


def _describe(future: Any, depth: int, lines: list[str], seen: set[int]) -> None:
    while future is not None and id(future) not in seen:
        seen.add(id(future))
        pad = "  " * depth
        states = getattr(type(future), "_corofy_states_", None)
        if states is None:  # a leaf: shown by type, plus its repr if it has a telling one
            detail = _short_repr(future) if type(future).__repr__ is not object.__repr__ else ""
            lines.append(f"{pad}{type(future).__qualname__} {detail}".rstrip())
            waiting_on = getattr(future, "_waiting_on", None)
            for child in waiting_on() if callable(waiting_on) else ():
                _describe(child, depth + 1, lines, seen)
            return
        state = getattr(future, "_state", None)
        # A machine marks itself -1 while its poll runs (re-entry guard) and once finished;
        # a finished machine is no longer anyone's `_awaiting`, so -1 here means running.
        name, line = states.get(state, ("running" if state == -1 else f"state {state}", 0))
        filename = _machine_source_file(future)
        func = machine_name(future)
        if state == -1:
            lines.append(f"{pad}{func} (running) in {filename}")
        else:
            where = f"{filename}:{line}" if line else filename
            lines.append(f"{pad}{func} in state {name} at {where}")
        text = linecache.getline(filename, line).strip() if line else ""
        if text:
            lines.append(f"{pad}    {text}")
        future = getattr(future, "_awaiting", None)
        depth += 1


def _short_repr(obj: Any) -> str:
    try:
        text = repr(obj)
    except Exception:
        return ""
    return text if len(text) <= 80 else text[:77] + "..."


install_excepthook()
