"""Writing output files so a reader never sees half of one, and Ctrl-C leaves no debris.

Facts:

- `os.replace` is atomic on POSIX when source and target are on the same file system,
  which a temporary file created in the target's own folder guarantees. The temporary name
  is hidden (leading dot), so a concurrent walk of the output tree skips it.
- Python raises KeyboardInterrupt between any two bytecodes, also right after `os.open`
  created the temporary file and before its result is stored. So the temporary's name is
  chosen first and removed by name on any exception: no instant leaves it unaccounted for.
- What no handler can clean (SIGKILL, a power cut) is named `.NAME.corofy-PID-XXXX.tmp`,
  and a later run removes such files whose process is gone (`remove_stale_temporaries`).
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

_TEMPORARY = re.compile(r"\..*\.corofy-(\d+)-[0-9a-f]{8}\.tmp\Z", re.DOTALL)


def _temporary_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.corofy-{os.getpid()}-{secrets.token_hex(4)}.tmp")


def write_atomic(path: Path, data: bytes, mode: int | None = None) -> None:
    """Replace `path` with `data` in one step; `mode` sets its permission bits."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary_name(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(tmp, flags, 0o666 if mode is None else 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:  # never created, or already renamed into place
            pass
        raise


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True  # someone else's process, or not a pid we can judge: leave its file be
    return True


def remove_stale_temporaries(folder: Path) -> None:
    """Remove the temporaries an interrupted corofy left in `folder`; ignore any failure."""
    try:
        with os.scandir(folder) as entries:
            names = [e.name for e in entries if e.name.endswith(".tmp")]
    except OSError:
        return
    for name in names:
        found = _TEMPORARY.match(name)
        if found is None or _alive(int(found.group(1))):
            continue
        try:
            os.unlink(folder / name)
        except OSError:
            pass
