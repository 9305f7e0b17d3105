"""The content-keyed cache: unchanged inputs are not transformed again.

An entry is keyed on the hash of the input bytes, corofy's version and code (see
`code_fingerprint`) and the source name handed to the transform (it is written into the
output as `__corofy_source__`), so any change to one of them misses. Entries are immutable files named by their key; a lost race between two
writers writes the same bytes twice. The cache is an optimisation only: any failure to read
or write it is ignored.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

try:  # hashlib would also load OpenSSL (several ms of start-up) for a hash it does not need
    from _blake2 import blake2b
except ImportError:  # another Python implementation
    from hashlib import blake2b

from corofy import __version__
from corofy.atomic import write_atomic

# The payload's first byte says what the input became.
COPY = b"C"  # no coroutines: the output is the input, byte for byte
TRANSFORMED = b"T"  # followed by the output bytes


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
    def __init__(self, folder: Path | None) -> None:
        self.folder = folder / __version__ if folder is not None else None

    def _path(self, key: str) -> Path:
        assert self.folder is not None
        return self.folder / key[:2] / key

    def get(self, key: str) -> bytes | None:
        if self.folder is None:
            return None
        try:
            with open(self._path(key), "rb") as f:
                return f.read()
        except OSError:
            return None

    def put(self, key: str, payload: bytes) -> None:
        if self.folder is None:
            return
        try:
            write_atomic(self._path(key), payload)
        except OSError:
            pass
