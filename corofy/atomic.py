"""Writing output files so a reader never sees half of one.

Facts: `os.replace` is atomic on POSIX when source and target are on the same file system,
which a temporary file created in the target's own folder guarantees. The temporary name is
hidden (leading dot), so a concurrent walk of the output tree skips it.
"""

from __future__ import annotations

import os
from pathlib import Path


def write_atomic(path: Path, data: bytes, mode: int | None = None) -> None:
    """Replace `path` with `data` in one step; `mode` sets its permission bits."""
    import tempfile  # not needed by a --check, which writes nothing

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
