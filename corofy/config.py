"""`[tool.corofy]` in the nearest pyproject.toml, and the project root paths are relative to."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ROOT_MARKERS = (".git", ".hg", "pyproject.toml")


class ConfigError(Exception):
    """A pyproject.toml that cannot be used; the message says what to fix."""


@dataclass(frozen=True)
class Config:
    path: Path  # the pyproject.toml it came from
    src: tuple[Path, ...]
    out: Path | None
    exclude: tuple[str, ...]  # gitignore-style, relative to path.parent


def find_project_root(start: Path) -> Path:
    """The nearest folder at or above `start` holding `.git`, `.hg` or `pyproject.toml`.

    The cache and `--exclude` patterns live relative to it; without a marker, `start` itself.
    """
    return marked_root(start.resolve()) or start.resolve()


def marked_root(start: Path) -> Path | None:
    """The nearest folder at or above `start` holding a root marker, or None if there is none."""
    for folder in (start, *start.parents):
        if any((folder / marker).exists() for marker in ROOT_MARKERS):
            return folder
    return None


def recorded_name(path: Path, root: Path | None = None, target: Path | None = None) -> str:
    """The name `__corofy_source__` records for the source `path`, written to `target`.

    Relative (posix) to `root` — by default the project root of the source itself, never of
    the folder corofy runs from — so the output does not depend on the cwd. A source outside
    any project (or outside the configured root) is recorded by its absolute path: a name
    like `../../tmp/x.py` would only open from the one folder it was computed against. So is
    a source whose output goes outside its project: runtime.debug looks a relative name up
    from the generated file, which would then search another project for it.
    """
    # abspath, not resolve(): a symlinked source keeps the name it was given.
    path = Path(os.path.abspath(path))
    base = Path(os.path.abspath(root)) if root is not None else marked_root(path.parent)
    inside = base is not None and (base == path or base in path.parents)
    if inside and (target is None or base in Path(os.path.abspath(target)).parents):
        return path.relative_to(base).as_posix()
    return path.as_posix()


def find_pyproject(start: Path) -> Path | None:
    start = start.resolve()
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def _strings(value: object, key: str, path: Path) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ConfigError(f"{path}: [tool.corofy] {key} must be a string or a list of strings")


def load_config(start: Path) -> Config:
    """Read `[tool.corofy]` (`src`, `out`, `exclude`) from the nearest pyproject.toml."""
    import tomllib

    path = find_pyproject(start)
    if path is None:
        raise ConfigError(
            "no SRC given and no pyproject.toml found; run `corofy SRC... -o OUT` or add "
            "[tool.corofy] with src and out to pyproject.toml"
        )
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    table = data.get("tool", {}).get("corofy")
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: no [tool.corofy] table; add one with src and out")
    unknown = set(table) - {"src", "out", "exclude"}
    if unknown:
        raise ConfigError(f"{path}: unknown [tool.corofy] keys: {', '.join(sorted(unknown))}")
    if "src" not in table:
        raise ConfigError(f"{path}: [tool.corofy] needs src (a folder or a list of them)")
    base = path.parent
    src = tuple(base / s for s in _strings(table["src"], "src", path))
    out = table.get("out")
    if out is not None and not isinstance(out, str):
        raise ConfigError(f"{path}: [tool.corofy] out must be a string")
    exclude = _strings(table.get("exclude", []), "exclude", path)
    return Config(path, src, base / out if out is not None else None, exclude)
