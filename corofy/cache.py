"""The content-keyed cache: unchanged inputs are not transformed again.

An entry is keyed on the hash of the input bytes, corofy's version and code (see
`code_fingerprint`) and the source name handed to the transform (it is written into the
output as `__corofy_source__`), so any change to one of them misses. Entries are immutable
files named by their key; a lost race between two writers writes the same bytes twice. The
cache is an optimisation only: any failure to read or write it is ignored.

The folder marks itself as a cache the ways tools look for: a `CACHEDIR.TAG` (the Cache
Directory Tagging Specification: backup tools skip the folder) and a `.gitignore` of `*` (so
`git add -A` never commits it). It stays bounded: after a run that added entries, the least
recently used ones (by mtime, which a hit refreshes at most once a day, so a warm run costs
no writes) are removed until the total is under `COROFY_CACHE_SIZE` (default 256M).
"""

from __future__ import annotations

import functools
import os
import time
from pathlib import Path

try:  # hashlib would also load OpenSSL (several ms of start-up) for a hash it does not need
    from _blake2 import blake2b
except ImportError:  # another Python implementation
    from hashlib import blake2b

from corofy import __version__
from corofy.atomic import remove_stale_temporaries, write_atomic

# The payload's first byte says what the input became.
COPY = b"C"  # no coroutines: the output is the input, byte for byte
TRANSFORMED = b"T"  # followed by the output bytes


CACHEDIR_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by corofy.\n"
    "# For information about cache directory tags, see:\n"
    "#\thttps://bford.info/cachedir/\n"
)
DEFAULT_SIZE = 256 * 1024 * 1024
TOUCH_AFTER = 24 * 3600  # seconds: how stale a hit's mtime may get before it is refreshed
_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}


def size_limit(text: str | None) -> int:
    """`COROFY_CACHE_SIZE` in bytes: a number with an optional K, M or G suffix."""
    if not text:
        return DEFAULT_SIZE
    text = text.strip().upper().removesuffix("B").removesuffix("I")
    unit = text[-1:] if text[-1:] in _UNITS else ""
    try:
        return int(float(text[: len(text) - len(unit)]) * _UNITS[unit])
    except ValueError:
        return DEFAULT_SIZE


def default_cache_dir(project_root: Path) -> Path:
    env = os.environ.get("COROFY_CACHE_DIR")
    return Path(env) if env else project_root / ".corofy_cache"


@functools.cache
def code_fingerprint() -> bytes:
    """The size and mtime of every module of corofy itself, as bytes.

    The version alone does not change while corofy is developed or installed from a git
    checkout (`pip install -e .`), and a cache keyed on it would keep serving what an older
    transform produced. A stat per module costs well under a millisecond per run.
    """
    return fingerprint_of(os.path.dirname(os.path.abspath(__file__)))


def fingerprint_of(package: str) -> bytes:
    """`code_fingerprint` of the corofy package installed in folder `package`."""
    parts = []
    for folder in (package, os.path.join(package, "transform")):
        try:
            with os.scandir(folder) as entries:
                for entry in sorted(entries, key=lambda e: e.name):
                    if entry.name.endswith(".py"):
                        st = entry.stat()
                        parts.append(f"{entry.name}:{st.st_size}:{st.st_mtime_ns}")
        except OSError:
            parts.append(f"{folder}:?")
    return "\n".join(parts).encode()


def cache_key(data: bytes, source_name: str) -> str:
    h = blake2b(digest_size=20)
    h.update(__version__.encode())
    h.update(b"\0")
    h.update(code_fingerprint())
    h.update(b"\0")
    h.update(source_name.encode("utf-8", "surrogateescape"))
    h.update(b"\0")
    h.update(data)
    return h.hexdigest()


class Cache:
    def __init__(self, folder: Path | None, limit: int | None = None) -> None:
        self.root = folder
        self.folder = folder / __version__ if folder is not None else None
        self.limit = limit if limit is not None else size_limit(os.environ.get("COROFY_CACHE_SIZE"))
        self.added = 0  # entries written by this run

    def _path(self, key: str) -> Path:
        assert self.folder is not None
        return self.folder / key[:2] / key

    def get(self, key: str) -> bytes | None:
        if self.folder is None:
            return None
        try:
            with open(self._path(key), "rb") as f:
                mtime = os.fstat(f.fileno()).st_mtime
                data = f.read()
            if time.time() - mtime > TOUCH_AFTER:
                os.utime(self._path(key))  # used again: the last to be evicted
        except OSError:
            return None
        return data

    def put(self, key: str, payload: bytes) -> None:
        if self.folder is None:
            return
        try:
            if self.added == 0:
                self._mark()
            write_atomic(self._path(key), payload)
            self.added += 1
        except OSError:
            pass

    def _mark(self) -> None:
        """CACHEDIR.TAG and .gitignore at the cache's top, before its first entry."""
        assert self.root is not None
        self.root.mkdir(parents=True, exist_ok=True)
        for name, text in (("CACHEDIR.TAG", CACHEDIR_TAG), (".gitignore", "*\n")):
            if not (self.root / name).exists():
                write_atomic(self.root / name, text.encode())

    def trim(self) -> None:
        """Evict least recently used entries (of every version) down to the size limit."""
        if self.root is None or self.added == 0:
            return
        entries: list[tuple[float, int, str]] = []
        total = 0
        try:
            versions = [e.path for e in os.scandir(self.root) if e.is_dir(follow_symlinks=False)]
        except OSError:
            return
        for version in versions:
            for shard in _subfolders(version):
                remove_stale_temporaries(Path(shard))
                try:
                    with os.scandir(shard) as it:
                        for entry in it:
                            if entry.name.startswith("."):
                                continue
                            st = entry.stat(follow_symlinks=False)
                            entries.append((st.st_mtime, st.st_size, entry.path))
                            total += st.st_size
                except OSError:
                    continue
        if total <= self.limit:
            return
        entries.sort()
        goal = self.limit * 8 // 10  # a margin, so the next runs do not trim again at once
        for _, size, path in entries:
            if total <= goal:
                break
            try:
                os.unlink(path)
            except OSError:
                continue
            total -= size


def _subfolders(folder: str) -> list[str]:
    try:
        with os.scandir(folder) as it:
            return [e.path for e in it if e.is_dir(follow_symlinks=False)]
    except OSError:
        return []
