"""The `corofy` command line (SPEC §5).

`corofy SRC... -o OUT` is the default command (also reachable as `corofy build`); `show`,
`graph` and `run` are subcommands. A first argument that is not a subcommand's name, or
that names an existing file or folder, belongs to the default command: `corofy build -o
out` transforms a folder named build.

Start-up stays lean: libcst and the transform are imported only when a file must actually be
transformed, so a warm `--check` costs a walk, a hash per file and the cache.
"""

from __future__ import annotations

import os
import signal
import sys
import threading  # imported here: an import is where a late Ctrl-C would land (see below)
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from corofy import __version__

if TYPE_CHECKING:  # imported lazily at run time, to keep start-up lean
    from corofy.build import Mode, Report

EXIT_OK, EXIT_CHANGED, EXIT_ERROR = 0, 1, 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it: neither "fine" nor "changed"


_IMPLICIT = "corofy.implicit_build"  # ctx.meta key: `build` was not typed


class _BuildContext(click.Context):
    """`corofy --bogus` names `corofy` in its usage message, as the user typed it."""

    @property
    def command_path(self) -> str:
        if self.meta.get(_IMPLICIT) and self.parent is not None:
            return self.parent.command_path
        return super().command_path


def _end_by_ctrl_c_from_here() -> None:
    """From here on, a Ctrl-C ends the process by the signal, as an interrupted program ends.

    Called once corofy's work and output are done and the process exits: a SIGINT that lands
    later, in Python's own shutdown (threading's join, atexit callbacks), would otherwise print
    a KeyboardInterrupt traceback from inside the interpreter. Output is flushed first, so
    nothing is lost. A handler someone else installed is left alone.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        return
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed or broken stream: nothing left to lose
            pass
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class _DefaultGroup(click.Group):
    """A group whose unnamed invocation runs the `build` command."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        try:
            try:
                return super().main(*args, **kwargs)
            except SystemExit:  # how click ends a command line run: the process is ending
                _end_by_ctrl_c_from_here()
                raise
        except KeyboardInterrupt:
            # A Ctrl-C outside the command's own work (which answers it with exit 130): in
            # click's parsing or its exit, before the hand-over above. The process ends by
            # the signal, as an interrupted program does, without a traceback.
            _end_by_ctrl_c_from_here()
            if signal.getsignal(signal.SIGINT) is signal.SIG_DFL:
                os.kill(os.getpid(), signal.SIGINT)
            raise

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # A first argument naming an existing path is a SRC even when it spells a command:
        # `corofy build -o out` transforms the folder build (SPEC §5).
        if (
            not args
            or (args[0] not in self.commands and args[0] not in ("--help", "-h"))
            or (args[0] in self.commands and os.path.lexists(args[0]))
        ):
            ctx.meta[_IMPLICIT] = True
            args = ["build", *args]
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> object:
        # Exit 1 tells a --check caller "would change": a crash must not say that. Like ruff,
        # an internal error exits 2, with the traceback kept for the bug report.
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            # click would say "Aborted!" and exit 1, which a hook reads as "changed".
            click.echo("corofy: interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except BrokenPipeError:
            # `corofy --diff | head`: the reader left. Facts: Python flushes stdout again at
            # exit and would print a second error, so stdout is pointed at /dev/null first.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(EXIT_ERROR)
        except Exception:
            import traceback

            traceback.print_exc()
            click.echo("corofy: error: internal error in corofy; please report it", err=True)
            sys.exit(EXIT_ERROR)

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # `corofy --help` lists the options of the default command, as black's does.
        build = self.commands["build"]
        records = [r for p in build.get_params(ctx) if (r := p.get_help_record(ctx))]
        with formatter.section("Options"):
            formatter.write_dl(records)
        self.format_commands(ctx, formatter)

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        formatter.write_usage(
            "corofy", "[OPTIONS] [SRC]... [-o OUT]\n       corofy show|graph|run ..."
        )


@click.group(cls=_DefaultGroup, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Rewrite @coroutine functions with wait() into explicit state machines.

    \b
    corofy SRC... -o OUT     mirror each SRC folder into OUT, transforming coroutine files
    corofy FILE              write FILE_corofied.py beside FILE
    corofy                   use src, out and exclude from [tool.corofy] in pyproject.toml
    corofy show|graph|run    read or run a file's state machines (COMMAND --help for more)

    \b
    SRC is files or folders (- reads stdin); a SRC naming an existing path is a source even
    when it spells a command. The cache is .corofy_cache/ at the project root
    ($COROFY_CACHE_DIR moves it, $COROFY_CACHE_SIZE bounds it, default 256M).
    """


def _fail(message: str) -> NoReturn:
    """Exit 2 with `message`; one that names its path (`path: error: ...`) is shown as is."""
    click.echo(message if ": error: " in message else f"corofy: error: {message}", err=True)
    sys.exit(EXIT_ERROR)


@main.command(
    "build",
    cls=type("_Build", (click.Command,), {"context_class": _BuildContext}),
    short_help="The default command, spelled out (options above).",
)
@click.argument("src", nargs=-1, type=click.Path(path_type=str))
@click.option(
    "-o", "--out", metavar="OUT", help="Output folder (or file for one FILE; - for stdout)."
)
@click.option(
    "--check", is_flag=True, help="Write nothing; exit 1 if anything would change, listing it."
)
@click.option(
    "--diff",
    is_flag=True,
    help="Write nothing; print a unified diff; exit 1 if anything would change.",
)
@click.option("-q", "--quiet", is_flag=True, help="Print errors only.")
@click.option(
    "-v", "--verbose", is_flag=True, help="Name every file written, removed or left unchanged."
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    metavar="N",
    default=None,
    help="Worker processes [default: CPUs].",
)
@click.option(
    "--exclude",
    multiple=True,
    metavar="PATTERN",
    help="gitignore-style pattern to skip, relative to the project root (repeatable).",
)
@click.option(
    "--stdin-filename", metavar="NAME", help="The name stdin's source is reported and recorded as."
)
@click.option(
    "--exit-non-zero-on-change",
    is_flag=True,
    help="Exit 1 when files were written or removed (for hooks).",
)
@click.option("--no-cache", is_flag=True, help="Transform everything, ignoring the cache.")
@click.version_option(__version__, "--version", prog_name="corofy", message="%(prog)s %(version)s")
def build(
    src: tuple[str, ...],
    out: str | None,
    check: bool,
    diff: bool,
    quiet: bool,
    verbose: bool,
    jobs: int | None,
    exclude: tuple[str, ...],
    stdin_filename: str | None,
    exit_non_zero_on_change: bool,
    no_cache: bool,
) -> None:
    """Transform SRC files and folders (default: [tool.corofy] in pyproject.toml).

    \b
    SRC  files or folders to transform (- reads stdin); each folder is mirrored into OUT.
         Without SRC: src, out and exclude from [tool.corofy] in pyproject.toml.
    """
    from corofy.build import Mode, apply, compute
    from corofy.cache import Cache, default_cache_dir
    from corofy.config import (
        ConfigError,
        check_required_version,
        config_for,
        find_project_root,
        load_config,
        position_of,
    )
    from corofy.jobs import UsageError, list_jobs
    from corofy.progress import Progress

    cwd = Path.cwd()
    patterns = list(exclude)
    name_root = None  # each source's own project root
    fix = _fix_command(src, out, exclude)
    try:
        if src:
            sources = [Path(s) for s in src]
            # [tool.corofy] governs SRC given here too: its exclude and required-version.
            config = config_for(sources, cwd)
            root = config.path.parent if config is not None else find_project_root(cwd)
        else:
            config = load_config(cwd)
            sources = list(config.src)
            root = name_root = config.path.parent
            if out is None:
                if config.out is None:
                    _fail(
                        f"{position_of(config.path)}: error: [tool.corofy] needs out "
                        "(the folder to write)"
                    )
                out = str(config.out)
        check_required_version(config, __version__)
    except ConfigError as exc:
        _fail(str(exc))
    if config is not None:
        patterns += config.exclude
    try:
        listed = list_jobs(sources, out, root, patterns, stdin_filename, name_root)
    except UsageError as exc:
        _fail(str(exc))
    job_list, folders, files = listed.jobs, listed.folders, listed.files

    mode = Mode(check=check, diff=diff, verbose=-1 if quiet else (1 if verbose else 0))
    cache = Cache(None if no_cache else default_cache_dir(root))
    progress = Progress(enabled=False) if quiet else Progress()
    results = compute(job_list, cache, jobs or os.cpu_count() or 1, progress)
    report = apply(results, mode, folders, files, unread=listed.unread)
    report.errors[:0] = listed.errors
    for error in report.errors:
        click.echo(error, err=True)
    to_stdout_only = all(job.target is None for job in job_list)
    if not quiet and not (mode.writes and to_stdout_only):
        _summary(report, mode)
    if report.errors:
        sys.exit(EXIT_ERROR)
    changed = bool(report.written or report.removed)
    if changed and not mode.writes and not quiet and fix is not None:
        click.echo(f"corofy: run `{fix}` to update", err=True)
    if changed and (not mode.writes or exit_non_zero_on_change):
        sys.exit(EXIT_CHANGED)
    sys.exit(EXIT_OK)


def _fix_command(src: tuple[str, ...], out: str | None, exclude: tuple[str, ...]) -> str | None:
    """The command that writes what --check found missing: this one, without the check.

    None for stdin, whose output goes nowhere a re-run could update.
    """
    import shlex

    if "-" in src or out == "-":
        return None
    words = ["corofy", *src]
    if out is not None:
        words += ["-o", out]
    for pattern in exclude:
        words += ["--exclude", pattern]
    return shlex.join(words)


def _summary(report: Report, mode: Mode) -> None:
    def n(count: int, noun: str) -> str:
        return f"{count} {noun}{'' if count == 1 else 's'}"

    would = "" if mode.writes else "would be "
    parts = [f"{n(len(report.written), 'file')} {would}written"]
    if report.removed:
        parts.append(f"{len(report.removed)} {would}removed")
    parts.append(f"{report.unchanged} unchanged")
    if report.errors:
        parts.append(n(len(report.errors), "error"))
    click.echo("corofy: " + ", ".join(parts), err=True)


def _transform_file(file: str) -> object:
    """TransformResult of FILE, or exit 2 with the error in `path:line:col: error:` form."""
    from corofy.build import decode_source

    try:
        with open(file, "rb") as f:
            data = f.read()
    except OSError as exc:
        click.echo(f"{file}:1:1: error: cannot read: {exc.strerror or exc}", err=True)
        sys.exit(EXIT_ERROR)
    try:
        text, _ = decode_source(data, file)
    except ValueError as exc:
        click.echo(str(exc), err=True)
        sys.exit(EXIT_ERROR)
    from corofy.transform import CorofyError, transform

    try:
        return transform(text, file)
    except CorofyError as exc:
        click.echo(f"{file}:{exc.line}:{exc.col}: error: {exc.message}", err=True)
        sys.exit(EXIT_ERROR)


def _machines(file: str, func: str | None) -> list:
    from corofy.show import select_machines

    result = _transform_file(file)
    machines = result.machines  # type: ignore[attr-defined]
    if not machines:
        _fail(f"{file}: no @coroutine functions here")
    try:
        return select_machines(machines, func, file)
    except ValueError as exc:
        _fail(str(exc))
    raise AssertionError("unreachable")


@main.command("show")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=str))
@click.argument("func", required=False)
@click.option("--color/--no-color", default=None, help="Colour the code [default: on a terminal].")
@click.option(
    "--states-only",
    is_flag=True,
    help="Print only the state functions, without the methods every machine has.",
)
def show(file: str, func: str | None, color: bool | None, states_only: bool) -> None:
    """Print the state machine(s) generated for FILE (or only FUNC's).

    \b
    FILE  a Python file with @coroutine functions
    FUNC  one coroutine's name (Class.method for a method) [default: all of them]
    """
    from corofy.show import render

    machines = _machines(file, func)
    if color is None:
        color = sys.stdout.isatty() and os.environ.get("NO_COLOR") is None
    click.echo(render(machines, color, states_only), nl=False, color=color)


@main.command("graph", short_help="Print FUNC's state graph (Mermaid or Graphviz dot).")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=str))
@click.argument("func")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["mermaid", "dot"]),
    default="mermaid",
    show_default=True,
    help="Mermaid stateDiagram (paste into Markdown) or Graphviz dot (dot -Tsvg).",
)
def graph(file: str, func: str, fmt: str) -> None:
    """Print FUNC's state graph: its states with their source lines, and every way a poll in
    each state can end (pending, ready at once, return, exception caught or escaping, loop).

    \b
    FILE  a Python file with @coroutine functions
    FUNC  the coroutine's name (Class.method for a method)
    """
    from corofy.graph import to_dot, to_mermaid
    from corofy.stateflow import transitions

    (machine,) = _machines(file, func)
    with open(file, "rb") as f:
        from corofy.build import decode_source

        source, _ = decode_source(f.read(), file)
    edges = transitions(source, machine)
    click.echo((to_dot if fmt == "dot" else to_mermaid)(machine, edges), nl=False)


@main.command(
    "run",
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
    short_help="Run FILE as __main__, transformed in memory with what it imports.",
)
@click.option(
    "--trace",
    is_flag=True,
    help="Print one line per task poll (coroutine, state, original line, outcome) and per wake "
    "to stderr, as RUNTIME_TRACE=1 does.",
)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=str))
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def run(file: str, args: tuple[str, ...], trace: bool) -> None:
    """Transform FILE and the corofy modules it imports in memory; run FILE as __main__.

    \b
    FILE  the program to run
    ARGS  its command-line arguments (sys.argv[1:]), options included
    """
    from corofy.runner import run_file
    from corofy.transform import CorofyError

    if trace:
        from runtime.tracing import TracePrinter, instrument

        instrument(TracePrinter())

    try:
        run_file(file, args)
    except SystemExit:
        raise
    except CorofyError as exc:
        click.echo(str(exc), err=True)
        sys.exit(EXIT_ERROR)
    except BaseException as exc:
        from runtime import debug

        # Drop the frames of corofy itself: the traceback starts in the user's FILE.
        tb = exc.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename != file:
            tb = tb.tb_next
        debug.print_exception(exc.with_traceback(tb) if tb is not None else exc)
        sys.exit(EXIT_INTERRUPTED if isinstance(exc, KeyboardInterrupt) else 1)
