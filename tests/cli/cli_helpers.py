"""Helpers for driving the real `corofy` executable over temporary trees."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

_BESIDE_PYTHON = Path(sys.executable).parent / "corofy"
COROFY = str(_BESIDE_PYTHON) if _BESIDE_PYTHON.exists() else shutil.which("corofy")


COROUTINE_FILE = """\
from corofy import coroutine, wait


@coroutine
def double(fut):
    value = wait(fut)
    return value * 2
"""


class Corofy:
    """Runs `corofy` in a folder with a private cache; every call has a short timeout."""

    def __init__(self, cwd: Path, cache: Path) -> None:
        self.cwd = cwd
        self.env = {**os.environ, "COROFY_CACHE_DIR": str(cache), "NO_COLOR": "1"}

    def __call__(
        self,
        *args: str,
        input: bytes | None = None,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        assert COROFY, "the corofy executable is not installed (pip install -e .)"
        proc = subprocess.run(
            [COROFY, *args],
            cwd=cwd or self.cwd,
            input=input,
            capture_output=True,
            timeout=60,
            env={**self.env, **(env or {})},
        )
        return subprocess.CompletedProcess(
            proc.args,
            proc.returncode,
            proc.stdout.decode("utf-8", "replace"),
            proc.stderr.decode("utf-8", "replace"),
        )

    def raw(
        self, *args: str, input: bytes | None = None, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        assert COROFY
        return subprocess.run(
            [COROFY, *args],
            cwd=cwd or self.cwd,
            input=input,
            capture_output=True,
            timeout=60,
            env=self.env,
        )


def write(root: Path, files: dict[str, str | bytes]) -> None:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def tree(root: Path) -> dict[str, bytes]:
    """Every file under root (hidden ones too) by posix relative path."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }
