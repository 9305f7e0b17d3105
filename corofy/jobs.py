"""From the command line's SRC and OUT to the jobs: which file goes where (`list_jobs`).

Names are worked out once per folder, not per file: on a warm `--check` of a large tree,
per-file path arithmetic (`relpath`, `Path.absolute`) would cost more than the check itself.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from corofy.build import Job
from corofy.config import recorded_name
from corofy.tree import Matcher, excluded, walk


class UsageError(Exception):
    """SRC/OUT that cannot work together; the message says what to give instead."""


@dataclass
class JobList:
    jobs: list[Job]
    folders: list[Path]  # SRC folders: their stale outputs may be removed
    files: list[Path]  # SRC files
    # Folders in SRC that could not be read: an error each, and their old outputs are kept.
    errors: list[str] = field(default_factory=list)
    unread: list[tuple[Path, str]] = field(default_factory=list)  # (OUT, folder below it)


def corofied_name(path: Path) -> Path:
    """`FILE_corofied.py` beside FILE: the book's corofy default."""
    return path.with_name(f"{path.stem}_corofied.py")


def shown(path: Path) -> str:
    """A path as messages show it: as given, or relative to the cwd when it lies below."""
    if not path.is_absolute():
        return str(path)
    relative = os.path.relpath(path)
    return str(path) if relative.startswith("..") else relative


def _prefix(folder: str) -> str:
    """A posix folder path as a prefix for the names below it ("" for the folder itself)."""
    return "" if folder == "." else folder.rstrip("/") + "/"


def _rel(path: Path, base: Path) -> str:
    return os.path.relpath(path.absolute(), base).replace(os.sep, "/")


def _excluded(excludes: Sequence[Matcher], path: Path, root: Path, is_dir: bool) -> bool:
    rel = _rel(path, root)
    inside = rel != "." and rel != ".." and not rel.startswith("../")
    return inside and excluded(excludes, rel, is_dir)


def list_jobs(
    sources: Sequence[Path],
    out: str | None,
    root: Path,
    exclude: Sequence[str] = (),
    stdin_filename: str | None = None,
    name_root: Path | None = None,
) -> JobList:
    """The jobs for `corofy SRC... [-o OUT]`.

    `exclude` patterns are relative to `root`. Source names are recorded relative to
    `name_root` (the `[tool.corofy]` folder) or, without one, to each source's own project
    root (see `recorded_name`), so the output does not depend on the folder corofy runs from.
    """
    if any(str(s) == "-" for s in sources):
        if len(sources) != 1:
            raise UsageError("- (stdin) cannot be mixed with other SRC")
        name = stdin_filename or "<stdin>"
        # Recorded as the file it stands for would be, so tracebacks find it from anywhere.
        target = None if out in (None, "-") else Path(out)
        recorded = recorded_name(Path(name), name_root, target) if stdin_filename else name
        data = sys.stdin.buffer.read()
        return JobList([Job(None, name, recorded, target, out or "<stdout>", data=data)], [], [])

    folders = [s for s in sources if s.is_dir()]
    files = [s for s in sources if not s.is_dir()]
    for missing in (s for s in files if not s.exists()):
        raise UsageError(f"{missing}: no such file or folder")
    excludes = [Matcher.from_lines("", exclude)] if exclude else []
    if excludes:  # `exclude` applies however SRC is given, also to a path named as SRC
        folders = [f for f in folders if not _excluded(excludes, f, root, True)]
        files = [f for f in files if not _excluded(excludes, f, root, False)]
    if folders and out is None:
        raise UsageError(f"{folders[0]} is a folder: give the output folder with -o OUT")
    if folders and out == "-":
        raise UsageError("-o - (stdout) takes files, not folders")
    out_path = None if out in (None, "-") else Path(out)
    one_py_file = not folders and len(files) == 1 and str(out).endswith(".py")
    if out_path is not None and out_path.exists() and not out_path.is_dir() and not one_py_file:
        raise UsageError(
            f"OUT {out} is a file, not a folder; name a folder "
            "(or a .py file when SRC is a single file)"
        )
    if out_path is not None:
        out_resolved = out_path.resolve()
        for folder in folders:
            resolved = folder.resolve()
            if out_resolved == resolved or resolved in out_resolved.parents:
                raise UsageError(
                    f"OUT {out} lies inside SRC {folder}; "
                    "choose an output folder outside the sources"
                )

    if out_path is not None:
        out_resolved = out_path.resolve()
        for source in sources:
            if out_resolved in source.resolve().parents and source.resolve() != out_resolved:
                if source.is_dir():
                    raise UsageError(
                        f"SRC {source} lies inside OUT {out}; its outputs could overwrite "
                        "its sources. Choose an output folder outside the sources"
                    )
    alone = len(files) == 1 and not folders
    jobs = [_file_job(f, out, out_path, name_root, alone) for f in files]
    for job in jobs:  # SRC is never modified, whatever the spelling of OUT
        if job.target is not None and job.source is not None:
            if job.target.resolve() == job.source.resolve():
                raise UsageError(f"{job.display} would be overwritten by its own output")
    errors: list[str] = []
    unread: list[tuple[Path, str]] = []
    for folder in folders:
        assert out_path is not None
        name_prefix = _prefix(recorded_name(folder, name_root, out_path))
        exclude_prefix = _prefix(_rel(folder, root))
        manifest_prefix = _prefix(_rel(folder, out_path))
        shown_src, shown_out = _prefix(shown(folder)), _prefix(shown(out_path))
        found = walk(folder, excludes, exclude_prefix)
        for rel, reason in found.unreadable:
            errors.append(
                f"{shown_src + rel if rel else shown(folder)}:1:1: error: cannot read folder: "
                f"{reason}"
            )
            unread.append((out_path, rel))
        for rel in found.files:
            jobs.append(
                Job(
                    folder / rel,
                    shown_src + rel,
                    name_prefix + rel,
                    out_path / rel,
                    shown_out + rel,
                    out_path,
                    out_rel=rel,
                    manifest_source=manifest_prefix + rel,
                )
            )
    _refuse_shared_targets(jobs)
    return JobList(jobs, folders, files, errors, unread)


def _refuse_shared_targets(jobs: Sequence[Job]) -> None:
    """Two sources written to one OUT file would overwrite each other, the last one winning.

    Every target is built on the same OUT path, so comparing the strings is exact enough.
    """
    seen: dict[str, Job] = {}
    for job in jobs:
        if job.target is None:
            continue
        first = seen.setdefault(str(job.target), job)
        if first is not job:
            raise UsageError(
                f"{first.display} and {job.display} would both be written to "
                f"{job.target_display}; give them separate OUT folders (or rename one)"
            )


def _file_job(
    f: Path, out: str | None, out_path: Path | None, name_root: Path | None, alone: bool
) -> Job:
    """One SRC file: beside it (no OUT), to stdout (-o -), to OUT.py, or into folder OUT."""
    if out is None:
        target, out_root = corofied_name(f), None
    elif out_path is None:
        target, out_root = None, None
    elif alone and out.endswith(".py") and not out_path.is_dir():
        target, out_root = out_path, None
    else:
        target, out_root = out_path / f.name, out_path
    return Job(
        f,
        shown(f),
        recorded_name(f, name_root, target),
        target,
        shown(target) if target is not None else "<stdout>",
        out_root,
        out_rel=f.name,
        manifest_source=_rel(f, out_path) if out_root is not None and out_path else "",
    )
