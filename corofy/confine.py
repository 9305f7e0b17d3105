"""Where corofy may write: only inside OUT, never through a symlink, never over a file it
did not write (SPEC §5).

Facts this module relies on:

- `os.replace` replaces the directory entry it names. A symlink or a hard link at the
  target is replaced, never written through, so the file it led to keeps its bytes. What
  it does follow are symlinked *folders* on the way: with `out/pkg -> ../src/pkg`, the
  target `out/pkg/m.py` is the source `src/pkg/m.py`. So every folder between OUT and a
  target is looked at with `lstat` (once per folder per run) and a symlink there is refused.
- OUT itself is taken as the folder it resolves to (a symlinked `build` on a scratch disk
  is fine); jobs.py refuses an OUT that resolves into a SRC folder, or around one.
- A target's old bytes are read through one `open` with O_NOFOLLOW (a symlink fails with
  ELOOP) and O_NONBLOCK (a FIFO planted there would otherwise block the open forever), then
  `fstat` of the open file says whether it is a regular one.
- "Written by corofy" means listed in OUT's manifest (see build.py, which records a file
  there before writing it), or recognisably generated output (it sets `__corofy_source__`).
  Identical bytes are never a conflict: nothing would be written.
- A check and then a write are two steps; a process that plants a symlink in between wins.
  This guards users' trees against mistakes, not against an attacker sharing the tree.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

GENERATED_MARK = b"__corofy_source__ = "
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_READ_FLAGS = os.O_RDONLY | _NOFOLLOW | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)


def looks_generated(data: bytes) -> bool:
    """Whether `data` is a file corofy generated (a transformed module records its source)."""
    return GENERATED_MARK in data


class Unsafe(Exception):
    """A path corofy must not write or remove; str() is the `path:1:1: error: ...` line."""


def _shown(path: Path) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if rel.startswith("..") else rel


def _link_text(path: Path) -> str:
    try:
        return f" (to {os.readlink(path)})"
    except OSError:
        return ""


def _unsafe(path: Path, problem: str) -> Unsafe:
    return Unsafe(f"{_shown(path)}:1:1: error: {problem}")


class Confinement:
    """Checks paths below OUT folders before anything is written or removed there."""

    def __init__(self) -> None:
        # Keyed by path text: a warm --check of a large tree asks once per file, and hashing
        # strings costs far less than hashing Path objects.
        self._folders: dict[str, Unsafe | None] = {}

    def check_folders(self, out_root: Path | str, folder: Path | str) -> None:
        """Raise Unsafe unless every existing folder from OUT down to `folder` is a real one."""
        root, path = os.fspath(out_root), os.fspath(folder)
        if path in self._folders:
            problem = self._folders[path]
        elif path == root or (path == "" and root == "."):
            return
        else:
            parent = os.path.dirname(path)
            if parent == path or (parent == "" and root != "."):
                raise _unsafe(Path(path), "lies outside OUT; corofy writes only inside OUT")
            self.check_folders(root, parent)
            problem = self._check_one(Path(path))
            self._folders[path] = problem
        if problem is not None:
            raise problem

    def _check_one(self, folder: Path) -> Unsafe | None:
        try:
            st = os.lstat(folder)
        except FileNotFoundError:
            return None  # it and everything below will be created
        except OSError as exc:
            return _unsafe(folder, f"cannot look at this folder: {exc.strerror or exc}")
        if stat.S_ISLNK(st.st_mode):
            return _unsafe(
                folder,
                f"is a symlink{_link_text(folder)}; corofy writes only inside OUT and never "
                "through a symlink: remove the link (or point -o elsewhere) and run again",
            )
        if not stat.S_ISDIR(st.st_mode):
            return _unsafe(folder, "is a file where corofy needs a folder: move it away")
        return None

    def current(
        self,
        target: Path,
        expected: bytes,
        recorded: bool,
        source: Path | None,
    ) -> bytes | None:
        """The bytes at `target` now (None: no file), or Unsafe if corofy must not write it.

        `recorded`: the manifest lists the target as corofy's. `source`: the file the target
        is made from, which it must never be.
        """
        # One open that refuses a symlink (O_NOFOLLOW) and never waits on a FIFO (O_NONBLOCK),
        # then fstat of what was opened: no window between looking and reading.
        if not _NOFOLLOW and os.path.islink(target):  # no O_NOFOLLOW here (Windows)
            raise _unsafe(target, f"is a symlink{_link_text(target)}; corofy never writes over one")
        try:
            fd = os.open(target, _READ_FLAGS)
        except FileNotFoundError:
            return None
        except OSError as exc:
            if os.path.islink(target):
                raise _unsafe(
                    target,
                    f"is a symlink{_link_text(target)} that corofy did not make; corofy never "
                    "writes through or over one: remove it and run again",
                ) from None
            raise _unsafe(target, f"cannot read: {exc.strerror or exc}") from None
        with open(fd, "rb") as f:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise _unsafe(target, "is not a regular file: move it away and run again")
            try:
                data = f.read()
            except OSError as exc:
                raise _unsafe(target, f"cannot read: {exc.strerror or exc}") from None
        if data == expected:
            return data
        if source is not None:
            try:
                src = os.stat(source)
            except OSError:
                src = None
            if src is not None and (src.st_dev, src.st_ino) == (st.st_dev, st.st_ino):
                raise _unsafe(
                    target,
                    f"is the source {_shown(source)} itself (a hard link or a symlinked "
                    "source); corofy never writes over a source: remove it and run again",
                )
        if not recorded and not looks_generated(data):
            raise _unsafe(
                target,
                "exists and was not written by corofy; it will not be overwritten: move it "
                "away (or delete it) and run again",
            )
        return data

    def removable(self, out_root: Path, rel: str) -> Path | None:
        """The file `rel` (a manifest entry) names below OUT, if corofy may remove it.

        None for an entry that names no regular file inside OUT (a tampered or foreign
        manifest may name `../src/x.py`); Unsafe for a symlinked folder on the way.
        """
        parts = rel.split("/")
        if not rel or rel.startswith("/") or any(p in ("", ".", "..") for p in parts):
            return None
        target = out_root.joinpath(*parts)
        self.check_folders(out_root, target.parent)
        try:
            st = os.lstat(target)
        except OSError:
            return None
        return target if stat.S_ISREG(st.st_mode) else None


def check_manifest_path(path: Path) -> None:
    """OUT's manifest is corofy's own file: refuse a symlink or a folder in its place."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise _unsafe(path, f"cannot look at this file: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise _unsafe(path, "is not a regular file; corofy keeps its manifest here: remove it")
