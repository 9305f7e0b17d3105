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
    required_version: str | None = None  # a version or specifier corofy must satisfy


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


def position_of(path: Path, key: str | None = None, error: Exception | None = None) -> str:
    """`path:line:col` of `key` in the `[tool.corofy]` table of the pyproject.toml at `path`
    (without `key`, of the table's header; of what tomllib reports for `error`), for errors
    read as `path:line:col: error: message`; 1:1 when it is not found. The path is shown
    relative to the current folder when that is shorter."""
    import re

    shown = os.path.relpath(path)
    shown = shown if not shown.startswith("..") else str(path)
    if error is not None:
        found = re.search(r"at line (\d+), column (\d+)", str(error))
        return f"{shown}:{found[1]}:{found[2]}" if found else f"{shown}:1:1"
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return f"{shown}:1:1"
    header = re.compile(r"\s*\[\s*tool\s*\.\s*corofy\s*\]")
    start = next((n for n, line in enumerate(lines) if header.match(line)), None)
    if start is None:
        return f"{shown}:1:1"
    if key is not None:
        named = re.compile(rf"(\s*)[\"']?{re.escape(key)}[\"']?\s*=")
        for n in range(start + 1, len(lines)):
            if lines[n].lstrip().startswith("["):
                break
            found = named.match(lines[n])
            if found:
                return f"{shown}:{n + 1}:{len(found[1]) + 1}"
    return f"{shown}:{start + 1}:{len(lines[start]) - len(lines[start].lstrip()) + 1}"


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
    raise ConfigError(
        f"{position_of(path, key)}: error: [tool.corofy] {key} must be a string or a list "
        "of strings"
    )


KEYS = ("src", "out", "exclude", "required-version")


def read_config(path: Path) -> Config | None:
    """`[tool.corofy]` of the pyproject.toml at `path`; None when it has no such table."""
    import tomllib

    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{position_of(path, error=exc)}: error: cannot read: {exc}") from None
    tool = data.get("tool", {})
    table = tool.get("corofy") if isinstance(tool, dict) else None
    if table is None:
        return None
    if not isinstance(table, dict):
        raise ConfigError(f"{position_of(path)}: error: [tool.corofy] must be a table")
    unknown = set(table) - set(KEYS)
    if unknown:
        raise ConfigError(
            f"{position_of(path, min(unknown))}: error: unknown [tool.corofy] keys: "
            f"{', '.join(sorted(unknown))} (known: {', '.join(KEYS)})"
        )
    base = path.parent
    src = tuple(base / s for s in _strings(table.get("src", []), "src", path))
    out = table.get("out")
    if out is not None and not isinstance(out, str):
        raise ConfigError(f"{position_of(path, 'out')}: error: [tool.corofy] out must be a string")
    exclude = _strings(table.get("exclude", []), "exclude", path)
    required = table.get("required-version")
    if required is not None and not isinstance(required, str | int):
        raise ConfigError(
            f"{position_of(path, 'required-version')}: error: [tool.corofy] required-version "
            "must be a string"
        )
    return Config(
        path,
        src,
        base / out if out is not None else None,
        exclude,
        str(required) if required is not None else None,
    )


def config_for(sources: list[Path], cwd: Path) -> Config | None:
    """The `[tool.corofy]` that governs SRC given on the command line, if any.

    As black does, it is the nearest pyproject.toml at or above the folder the sources have
    in common (the cwd for stdin), so `corofy src -o build` and a bare `corofy` run from the
    same project read the same `exclude` and `required-version`.
    """
    paths = [os.path.abspath(s) for s in sources if str(s) != "-"] or [str(cwd)]
    common = Path(os.path.commonpath(paths))
    if not common.is_dir():
        common = common.parent
    path = find_pyproject(common)
    return read_config(path) if path is not None else None


def load_config(start: Path) -> Config:
    """`[tool.corofy]` from the nearest pyproject.toml, for a run given no SRC."""
    path = find_pyproject(start)
    if path is None:
        raise ConfigError(
            "no SRC given and no pyproject.toml found; run `corofy SRC... -o OUT` or add "
            "[tool.corofy] with src and out to pyproject.toml"
        )
    config = read_config(path)
    if config is None:
        raise ConfigError(
            f"{position_of(path)}: error: no [tool.corofy] table; add one with src and out"
        )
    if not config.src:
        raise ConfigError(
            f"{position_of(path)}: error: [tool.corofy] needs src (a folder or a list of them)"
        )
    return config


_OPERATORS = ("===", "~=", "==", "!=", ">=", "<=", ">", "<")


def _release(version: str) -> tuple[int, ...] | None:
    """The numeric release of a version ("0.1.0rc1" -> (0, 1, 0)); None if it has none."""
    import re

    found = re.match(r"v?(\d+(?:\.\d+)*)", version.strip())
    return tuple(int(p) for p in found.group(1).split(".")) if found else None


def _padded(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    n = max(len(a), len(b))
    return a + (0,) * (n - len(a)), b + (0,) * (n - len(b))


def _clause(version: str, clause: str) -> bool:
    op = next((o for o in _OPERATORS if clause.startswith(o)), None)
    if op is None:  # a bare version: exactly it, or (like black's "22") a release prefix
        want = _release(clause)
        have = _release(version)
        if want is None:
            raise ValueError(clause)
        return version == clause or (have is not None and have[: len(want)] == want)
    text = clause[len(op) :].strip()
    if op == "===":
        return version == text
    if op in ("==", "!=") and text.endswith(".*"):
        prefix = _release(text[:-2])
        have = _release(version)
        match = prefix is not None and have is not None and have[: len(prefix)] == prefix
        return match if op == "==" else not match
    want, have = _release(text), _release(version)
    if want is None or have is None:
        raise ValueError(clause)
    have, want = _padded(have, want)
    if op == "~=":  # ~=1.4.2 means >=1.4.2 and ==1.4.*
        stem = _release(text)
        assert stem is not None
        if len(stem) < 2:
            raise ValueError(clause)
        return have >= want and have[: len(stem) - 1] == stem[:-1]
    return {
        "==": have == want,
        "!=": have != want,
        ">=": have >= want,
        "<=": have <= want,
        ">": have > want,
        "<": have < want,
    }[op]


def version_satisfies(version: str, required: str) -> bool:
    """Whether `version` meets `required`: a version ("0.1.0"), a release prefix ("0" as
    black's required-version takes a major), or PEP 440-style clauses (">=0.1,<0.2").

    ValueError for text that is none of these.
    """
    clauses = [c.strip() for c in required.split(",") if c.strip()]
    if not clauses:
        raise ValueError(required)
    return all(_clause(version, c) for c in clauses)


def check_required_version(config: Config | None, version: str) -> None:
    """ConfigError, saying what to install, when `config` requires another corofy."""
    if config is None or config.required_version is None:
        return
    required = config.required_version
    shown = position_of(config.path, "required-version")
    try:
        ok = version_satisfies(version, required)
    except ValueError:
        raise ConfigError(
            f"{shown}: error: [tool.corofy] required-version {required!r} is neither a "
            "version (0.1.0) nor specifiers (>=0.1,<0.2)"
        ) from None
    if not ok:
        pin = required if required[:1] in "=!<>~" else f"=={required}"
        raise ConfigError(
            f"{shown}: error: [tool.corofy] required-version is {required!r}, but this "
            f"is corofy {version}; install a matching one: pip install 'corofy{pin}'"
        )
