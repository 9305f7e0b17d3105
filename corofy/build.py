"""The build: from source files to the bytes their output should hold, then to the disk.

The warm path (nothing changed) reads each source, hashes it, finds the answer in the cache
and compares it with the output file: it never imports libcst or the transform. Only cache
misses are transformed, in worker processes when there are many.

Source encodings (PEP 263): a file is decoded with the encoding `tokenize.detect_encoding`
finds (declaration or BOM, else UTF-8) and its output is written in that same encoding, so
the declaration the transform keeps at the top stays true. Should the output not be
representable in it, or the declaration not survive in the first two lines, the output is
written as UTF-8 instead, which Python reads without a declaration.
"""

from __future__ import annotations

import io
import json
import os
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from corofy import __version__
from corofy.atomic import remove_stale_temporaries, write_atomic
from corofy.cache import COPY, TRANSFORMED, Cache, cache_key
from corofy.confine import Confinement, Unsafe, check_manifest_path
from corofy.progress import Progress

MANIFEST = ".corofy-manifest.json"
PARALLEL_THRESHOLD = 8  # below this many misses, starting worker processes costs more


@dataclass(frozen=True)
class Job:
    """One source file and where its output goes (None: standard output)."""

    source: Path | None  # None: standard input
    display: str  # the source as errors name it
    source_name: str  # handed to the transform; ends up in __corofy_source__
    target: Path | None
    target_display: str
    out_root: Path | None = None  # the OUT folder whose manifest records the target
    data: bytes | None = None  # stdin's bytes, read up front
    out_rel: str = ""  # with out_root: the target relative to it, posix
    manifest_source: str = ""  # with out_root: the source relative to it, posix


@dataclass
class Result:
    job: Job
    expected: bytes | None = None  # what the target should hold; None on error
    transformed: bool = False
    error: str | None = None


@dataclass
class Report:
    """What a run did or, under --check/--diff, would do."""

    written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)


def _position(data: bytes, offset: int) -> tuple[int, int]:
    line_start = data.rfind(b"\n", 0, offset) + 1
    return data.count(b"\n", 0, offset) + 1, offset - line_start + 1


def decode_source(data: bytes, display: str) -> tuple[str, str]:
    """(text, encoding) of Python source bytes per PEP 263; ValueError with a message."""
    import tokenize

    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        raise ValueError(f"{display}:1:1: error: {exc.msg}") from None
    try:
        return data.decode(encoding), encoding
    except UnicodeDecodeError as exc:
        line, col = _position(data, exc.start)
        raise ValueError(
            f"{display}:{line}:{col}: error: byte 0x{data[exc.start]:02x} is not valid "
            f"{encoding}; declare the file's encoding (PEP 263) or save it as UTF-8"
        ) from None


def _encode_output(code: str, encoding: str) -> bytes:
    import codecs
    import tokenize

    def declared(data: bytes) -> str | None:
        try:
            return codecs.lookup(tokenize.detect_encoding(io.BytesIO(data).readline)[0]).name
        except SyntaxError:
            return None

    try:
        data = code.encode(encoding)
        if declared(data) == codecs.lookup(encoding).name:
            return data
    except UnicodeEncodeError:
        pass
    data = code.encode("utf-8")
    if declared(data) != "utf-8":
        raise ValueError("the output cannot be encoded as its source's declared encoding")
    return data


def might_hold_coroutines(name: str, data: bytes) -> bool:
    """Only a .py file that names corofy can import its markers; everything else is copied."""
    return name.endswith(".py") and b"corofy" in data


def transform_payload(
    data: bytes, source_name: str, display: str
) -> tuple[bytes | None, str | None]:
    """(cache payload, None) or (None, error line) for one source file's bytes."""
    try:
        text, encoding = decode_source(data, display)
    except ValueError as exc:
        return None, str(exc)
    try:
        from corofy.transform import CorofyError, transform
    except Exception as exc:  # a broken installation: say so once per file, not a traceback
        return None, f"{display}:1:1: error: cannot load corofy's transform: {exc}"
    try:
        result = transform(text, source_name)
    except CorofyError as exc:
        return None, f"{display}:{exc.line}:{exc.col}: error: {exc.message}"
    except RecursionError:
        return None, f"{display}:1:1: error: the source nests too deeply to transform"
    except Exception as exc:  # a bug in corofy: report it against the file that triggered it
        return (
            None,
            f"{display}:1:1: error: internal error in corofy "
            f"({type(exc).__name__}: {exc}); please report it",
        )
    if not result.machines:
        return COPY, None
    try:  # a safety net on cache misses only: never write a file Python would reject
        compile(result.code, display, "exec", flags=0, dont_inherit=True)
    except SyntaxError as exc:
        return None, (
            f"{display}:1:1: error: internal error in corofy: the generated code does not "
            f"compile ({exc.msg}, generated line {exc.lineno}); please report it"
        )
    try:
        return TRANSFORMED + _encode_output(result.code, encoding), None
    except ValueError as exc:
        return None, f"{display}:1:1: error: {exc}"


def _die_with_parent(parent: int) -> None:
    """In a worker process: exit as soon as corofy is gone. A worker waits on a pipe whose
    other end its forked siblings hold too, so a corofy killed outright (SIGKILL, a timeout)
    would leave its workers waiting for ever."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(1)

    threading.Thread(target=watch, name="corofy-parent-watch", daemon=True).start()


def _transform_many(
    items: list[tuple[bytes, str, str]], jobs: int, progress: Progress
) -> list[tuple[bytes | None, str | None]]:
    answers: list[tuple[bytes | None, str | None]] = []
    if jobs > 1 and len(items) >= PARALLEL_THRESHOLD:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(
            max_workers=min(jobs, len(items)),
            initializer=_die_with_parent,
            initargs=(os.getpid(),),
        ) as pool:
            chunk = max(1, len(items) // (jobs * 4))
            for answer in pool.map(transform_payload, *zip(*items), chunksize=chunk):
                answers.append(answer)
                progress.update("transformed", len(answers), len(items))
        return answers
    for item in items:
        answers.append(transform_payload(*item))
        progress.update("transformed", len(answers), len(items))
    return answers


def compute(
    jobs: list[Job], cache: Cache, workers: int, progress: Progress | None = None
) -> list[Result]:
    """The bytes each job's target should hold, from the cache where possible."""
    progress = progress or Progress(enabled=False)
    results = [Result(job) for job in jobs]
    misses: list[tuple[int, str, bytes]] = []
    for i, (job, result) in enumerate(zip(jobs, results)):
        progress.update("read", i, len(jobs))
        data = job.data
        if data is None:
            assert job.source is not None
            try:
                with open(job.source, "rb") as f:
                    data = f.read()
            except OSError as exc:
                result.error = f"{job.display}:1:1: error: cannot read: {exc.strerror or exc}"
                continue
        name = job.source.name if job.source is not None else job.source_name
        if job.source is None:
            name = name if name.endswith(".py") else name + ".py"
        if not might_hold_coroutines(name, data):
            result.expected = data
            continue
        key = cache_key(data, job.source_name)
        payload = cache.get(key)
        if payload is None:
            misses.append((i, key, data))
            continue
        _settle(result, data, payload)
    answers = _transform_many(
        [(data, jobs[i].source_name, jobs[i].display) for i, _, data in misses], workers, progress
    )
    for (i, key, data), (payload, error) in zip(misses, answers):
        if payload is None:
            results[i].error = error
            continue
        cache.put(key, payload)
        _settle(results[i], data, payload)
    cache.trim()
    progress.clear()
    return results


def _settle(result: Result, data: bytes, payload: bytes) -> None:
    if payload[:1] == TRANSFORMED:
        result.expected = payload[1:]
        result.transformed = True
    else:
        result.expected = data


def _read(path: Path) -> bytes | None:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


def _diff(old: bytes | None, new: bytes | None, name: str, out: TextIO) -> None:
    import difflib  # only --diff pays for it

    def lines(data: bytes | None) -> list[str]:
        if data is None:
            return []
        try:
            text, _ = decode_source(data, name)
        except ValueError:
            text = data.decode("utf-8", "replace")
        return text.splitlines(keepends=True)

    if (old is not None and b"\0" in old) or (new is not None and b"\0" in new):
        out.write(f"Binary files {name} differ\n")
        return
    a = "/dev/null" if old is None else f"{name}"
    b = "/dev/null" if new is None else f"{name}"
    for line in difflib.unified_diff(lines(old), lines(new), a, b):
        out.write(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")


# --- the manifest: which files in OUT corofy wrote, so only those are ever removed ---------


def _load_manifest(out_root: Path) -> tuple[dict[str, str], str | None]:
    try:
        with open(out_root / MANIFEST, encoding="utf-8") as f:
            data = json.load(f)
        files, version = data.get("files", {}), data.get("corofy")
        files = {k: v for k, v in files.items() if isinstance(k, str) and isinstance(v, str)}
    except (OSError, ValueError, AttributeError):
        return {}, None
    return files, version if isinstance(version, str) else None


def read_manifest(out_root: Path) -> dict[str, str]:
    """{target path relative to OUT: its source, relative to OUT}."""
    return _load_manifest(out_root)[0]


def write_manifest(out_root: Path, files: dict[str, str]) -> None:
    """Record `files` and the version of corofy that wrote them."""
    data = {"corofy": __version__, "files": dict(sorted(files.items()))}
    write_atomic(out_root / MANIFEST, (json.dumps(data, indent=1) + "\n").encode())


def _inside(path: Path, folders: Iterable[Path]) -> bool:
    return any(path == folder or folder in path.parents for folder in folders)


def _prune_empty(folder: Path, stop: Path) -> None:
    while folder != stop and stop in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent


@dataclass
class Mode:
    check: bool = False
    diff: bool = False
    verbose: int = 0  # -1 quiet, 0 normal, 1 verbose

    @property
    def writes(self) -> bool:
        return not (self.check or self.diff)


@dataclass
class _Out:
    """One OUT folder during `apply`: what its manifest said, what this run makes of it."""

    old: dict[str, str]
    old_version: str | None
    produced: dict[str, str] = field(default_factory=dict)  # target -> source, this run
    failed: set[str] = field(default_factory=set)  # targets whose source had an error
    unread: list[str] = field(default_factory=list)  # folders in SRC that could not be read
    recorded: dict[str, str] = field(default_factory=dict)  # what the manifest on disk says

    def __post_init__(self) -> None:
        self.recorded = self.old


def apply(
    results: list[Result],
    mode: Mode,
    src_folders: list[Path],
    src_files: list[Path],
    stdout: io.BufferedIOBase | None = None,
    unread: Iterable[tuple[Path, str]] = (),
) -> Report:
    """Write (or compare) every target; remove stale files corofy wrote earlier.

    Every target is checked (confine.py) before any is written: one that would write
    outside OUT, through a symlink or over a file corofy did not write refuses the whole
    run, so a mistake in the tree never leaves it half rewritten.
    """
    report = Report()
    outs: dict[Path, _Out] = {}
    for root, folder in unread:
        _out_of(outs, root).unread.append(folder)
    confinement = Confinement()
    refusals: dict[str, None] = {}  # ordered, each problem once
    to_write: list[tuple[Result, bytes | None]] = []
    for result in results:
        job = result.job
        out = _out_of(outs, job.out_root) if job.out_root is not None else None
        if result.error is not None:
            report.errors.append(result.error)
            if out is not None:
                out.failed.add(job.out_rel)  # its old output stays, untouched
            continue
        if job.target is None:
            to_write.append((result, None))
            continue
        assert result.expected is not None
        try:
            if job.out_root is not None:
                confinement.check_folders(job.out_root, os.path.dirname(job.target))
            recorded = out is not None and job.out_rel in out.old
            current = confinement.current(job.target, result.expected, recorded, job.source)
        except Unsafe as exc:
            refusals[str(exc)] = None
            continue
        if out is not None:
            out.produced[job.out_rel] = job.manifest_source
        to_write.append((result, current))
    for root in outs:
        try:
            check_manifest_path(root / MANIFEST)
        except Unsafe as exc:
            refusals[str(exc)] = None
    if refusals:
        report.errors.extend(refusals)
        return report
    if mode.writes:
        if not _record_intent(outs, report):
            return report
        # Temporaries a killed run left behind, in every folder this run writes to.
        folders = {job.target.parent for r, _ in to_write if (job := r.job).target is not None}
        for folder in folders | set(outs):
            remove_stale_temporaries(folder)
    for result, current in to_write:
        if result.job.target is None:
            _to_stdout(result, mode, report, stdout or sys.stdout.buffer)
        else:
            _to_target(result, current, mode, report)
    sources = _SourceSet(src_folders, src_files)
    for out_root, out in outs.items():
        _remove_stale(out_root, out, sources, confinement, mode, report)
    return report


def _out_of(outs: dict[Path, _Out], root: Path) -> _Out:
    if root not in outs:
        outs[root] = _Out(*_load_manifest(root))
    return outs[root]


def _record_intent(outs: dict[Path, _Out], report: Report) -> bool:
    """List every file about to be written in its OUT's manifest before writing any.

    An interrupted run then leaves no file in OUT that corofy wrote but does not know as
    its own (which the next run would refuse to overwrite). False, with an error reported,
    when a manifest cannot be written.
    """
    for root, out in outs.items():
        intent = {**out.old, **out.produced}
        if intent == out.old:
            continue
        try:
            write_manifest(root, intent)
        except OSError as exc:
            shown = _display(root / MANIFEST)
            report.errors.append(f"{shown}:1:1: error: cannot write: {exc.strerror or exc}")
            return False
        out.recorded, out.old_version = intent, __version__
    return True


def _to_stdout(result: Result, mode: Mode, report: Report, out: io.BufferedIOBase) -> None:
    assert result.expected is not None
    if mode.writes:
        out.write(result.expected)
        out.flush()
    elif result.job.data != result.expected:
        report.written.append(result.job.target_display)
        if mode.check and mode.verbose >= 0:
            # stdin has no target file: name the input, as --stdin-filename (or '-') gives it
            print(f"would rewrite {result.job.display}", file=sys.stderr)
        if mode.diff:
            _diff(result.job.data, result.expected, result.job.display, sys.stdout)
    else:
        report.unchanged += 1
        if mode.verbose > 0:
            print(f"unchanged {result.job.display}", file=sys.stderr)


def _to_target(result: Result, current: bytes | None, mode: Mode, report: Report) -> None:
    job, expected = result.job, result.expected
    assert job.target is not None and expected is not None
    if current == expected:
        report.unchanged += 1
        if mode.verbose > 0:
            print(f"unchanged {job.target_display}", file=sys.stderr)
        return
    if mode.diff:
        _diff(current, expected, job.target_display, sys.stdout)
    if not mode.writes:
        report.written.append(job.target_display)
        if mode.check and mode.verbose >= 0:
            verb = "rewrite" if current is not None else "write"
            print(f"would {verb} {job.target_display}", file=sys.stderr)
        return
    try:
        mode_bits = os.stat(job.source).st_mode & 0o777 if job.source is not None else None
        write_atomic(job.target, expected, mode_bits)
    except OSError as exc:
        report.errors.append(
            f"{job.target_display}:1:1: error: cannot write: {exc.strerror or exc}"
        )
        return
    report.written.append(job.target_display)
    if mode.verbose > 0:
        verb = "transformed" if result.transformed else "copied"
        print(f"{verb} {job.display} -> {job.target_display}", file=sys.stderr)


class _SourceSet:
    """This run's SRC folders and files, to tell a vanished output from another run's."""

    def __init__(self, folders: list[Path], files: list[Path]) -> None:
        self.folders = [f.resolve() for f in folders]
        self.files = {f.resolve() for f in files}

    def covers(self, source: Path) -> bool:
        resolved = source.resolve()
        return resolved in self.files or _inside(resolved, self.folders)


def _remove_stale(
    out_root: Path,
    out: _Out,
    sources: _SourceSet,
    confinement: Confinement,
    mode: Mode,
    report: Report,
) -> None:
    """Remove what the manifest says corofy wrote and this run no longer produces.

    An entry is stale when its source is gone, or when the source lies in this run's SRC
    yet produced nothing (deleted, now ignored or excluded). Outputs of other runs into the
    same OUT, outputs whose source failed this time, and outputs below a SRC folder that
    could not be read are kept. Only regular files inside OUT are removed (see confine.py).
    """
    keep = dict(out.produced)
    for rel_target, rel_source in out.old.items():
        if rel_target in out.produced:
            continue
        source = Path(os.path.normpath(out_root / rel_source))
        unread = any(f == "" or rel_target.startswith(f + "/") for f in out.unread)
        if unread or rel_target in out.failed or (_exists(source) and not sources.covers(source)):
            keep[rel_target] = rel_source
            continue
        try:
            target = confinement.removable(out_root, rel_target)
        except Unsafe as exc:
            report.errors.append(str(exc))
            keep[rel_target] = rel_source
            continue
        if target is None:  # gone already, or never corofy's to remove
            continue
        shown = _display(target)
        if mode.diff:
            _diff(_read(target), None, shown, sys.stdout)
        if not mode.writes:
            report.removed.append(shown)
            if mode.check and mode.verbose >= 0:
                print(f"would remove {shown}", file=sys.stderr)
            continue
        try:
            target.unlink()
        except OSError as exc:
            report.errors.append(f"{shown}:1:1: error: cannot remove: {exc.strerror or exc}")
            keep[rel_target] = rel_source
            continue
        report.removed.append(shown)
        _prune_empty(target.parent, out_root)
        if mode.verbose > 0:
            print(f"removed {shown}", file=sys.stderr)
    if mode.writes and (keep != out.recorded or out.old_version != __version__):
        if not keep and not out.recorded and not (out_root / MANIFEST).exists():
            return  # nothing written, nothing to record: leave no manifest behind
        try:
            write_manifest(out_root, keep)
        except OSError as exc:
            shown = _display(out_root / MANIFEST)
            report.errors.append(f"{shown}:1:1: error: cannot write: {exc.strerror or exc}")


def _exists(path: Path) -> bool:
    """Whether `path` may exist: a source corofy cannot look at counts as still there."""
    try:
        os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError:
        return True
    return True


def _display(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)
