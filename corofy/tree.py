"""Walking source trees: which files a folder SRC contributes, honouring .gitignore.

Facts this module relies on:

- gitignore semantics (gitignore(5)): the last matching pattern wins; `!` re-includes; a
  trailing `/` matches directories only; a pattern with a `/` anywhere but at its end is
  anchored to the folder of its `.gitignore`, otherwise it matches a name at any depth; `*` and
  `?` never match `/`, `**` does. A file under an ignored directory cannot be re-included, so
  pruning a directory as soon as it is ignored is exact, not an approximation.
- Inside a git work tree git itself is the authority (global excludes, `.git/info/exclude`,
  nested `.gitignore` files, tracked files never counting as ignored): we ask
  `git check-ignore --stdin -z` once per depth of the walk, so ignored folders are pruned
  before we descend and the number of processes grows with depth, not with file count.
- Outside a work tree, the small matcher below reads the `.gitignore` files of SRC and its
  subfolders.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

SKIPPED_NAMES = frozenset({"__pycache__"})


def is_skipped_name(name: str) -> bool:
    """Hidden entries and bytecode caches are never part of a source tree."""
    return name.startswith(".") or name in SKIPPED_NAMES


@dataclass(frozen=True)
class _Rule:
    regex: re.Pattern[str]
    negate: bool
    dir_only: bool


def _translate(body: str) -> str:
    """Translate the path part of a gitignore pattern into a regular expression."""
    out: list[str] = []
    i, n = 0, len(body)
    while i < n:
        c = body[i]
        if body.startswith("**/", i) and (i == 0 or body[i - 1] == "/"):
            out.append("(?:.*/)?")
            i += 3
        elif body.startswith("**", i) and i + 2 == n and (i == 0 or body[i - 1] == "/"):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[":
            j = body.find("]", i + 2 if body[i + 1 : i + 2] in ("!", "]") else i + 1)
            if j < 0:
                out.append(re.escape(c))
                i += 1
                continue
            inner = body[i + 1 : j]
            if inner.startswith("!"):
                inner = "^" + inner[1:]
            out.append("[" + inner.replace("\\", "\\\\") + "]")
            i = j + 1
        elif c == "\\" and i + 1 < n:
            out.append(re.escape(body[i + 1]))
            i += 2
        else:
            out.append(re.escape(c))
            i += 1
    return "".join(out)


def compile_pattern(line: str) -> _Rule | None:
    """One gitignore line as a rule, or None for blanks and comments."""
    line = line.rstrip("\n").rstrip("\r")
    # Trailing spaces are ignored unless escaped with a backslash.
    stripped = line.rstrip(" ")
    if stripped.endswith("\\") and len(stripped) < len(line):
        stripped += " "
    line = stripped
    if not line or line.startswith("#"):
        return None
    negate = line.startswith("!")
    if negate or line.startswith(("\\!", "\\#")):
        line = line[1:]
    dir_only = line.endswith("/")
    line = line.rstrip("/")
    if not line:
        return None
    anchored = "/" in line
    line = line.lstrip("/")
    prefix = "" if anchored else "(?:.*/)?"
    return _Rule(re.compile(prefix + _translate(line) + r"\Z"), negate, dir_only)


@dataclass
class Matcher:
    """gitignore rules that apply below one folder (`base`, a posix path relative to the walk)."""

    base: str
    rules: list[_Rule] = field(default_factory=list)

    @classmethod
    def from_lines(cls, base: str, lines: Iterable[str]) -> Matcher:
        rules = [rule for rule in map(compile_pattern, lines) if rule is not None]
        return cls(base, rules)

    def decide(self, rel: str, is_dir: bool) -> bool | None:
        """True: ignored; False: re-included; None: no rule here speaks about `rel`."""
        if self.base:
            if not rel.startswith(self.base + "/"):
                return None
            rel = rel[len(self.base) + 1 :]
        verdict = None
        for rule in self.rules:
            if rule.dir_only and not is_dir:
                continue
            if rule.regex.match(rel):
                verdict = not rule.negate
        return verdict


def _ignored_by(matchers: Sequence[Matcher], rel: str, is_dir: bool) -> bool:
    verdict = False
    for matcher in matchers:  # outermost first, so deeper files override
        decided = matcher.decide(rel, is_dir)
        if decided is not None:
            verdict = decided
    return verdict


def excluded(matchers: Sequence[Matcher], rel: str, is_dir: bool) -> bool:
    """Is `rel` (a posix path relative to the matchers' root) excluded, itself or through a
    folder above it? For a path named on the command line, which no walk reached."""
    parts = rel.split("/")
    return any(
        _ignored_by(matchers, "/".join(parts[:k]), is_dir or k < len(parts))
        for k in range(1, len(parts) + 1)
    )


def git_work_tree(path: Path) -> bool:
    """Whether `path` lies in a git work tree (a `.git` folder or file in it or above)."""
    return any((folder / ".git").exists() for folder in (path, *path.parents))


def _git_ignored(root: Path, rels: list[str]) -> set[str] | None:
    """The subset of `rels` (relative to `root`) git ignores, or None when git cannot say."""
    if not rels:
        return set()
    import subprocess

    try:
        proc = subprocess.run(
            ["git", "check-ignore", "--stdin", "-z"],
            cwd=root,
            input="\0".join(rels).encode() + b"\0",
            capture_output=True,
            check=False,
        )
    except OSError:
        return None
    if proc.returncode not in (0, 1):  # 128: not a repository, dubious ownership, …
        return None
    return {p.decode(errors="surrogateescape") for p in proc.stdout.split(b"\0") if p}


class _GitRefused(Exception):
    pass


@dataclass
class Walk:
    """What a SRC folder contributes: its files, and the folders that could not be read."""

    files: list[str]  # sorted posix paths relative to the SRC folder
    unreadable: list[tuple[str, str]]  # (folder relative to SRC, or "" for SRC; the reason)


def walk(root: Path, excludes: Sequence[Matcher] = (), exclude_prefix: str = "") -> Walk:
    """Every file SRC folder `root` contributes, and every folder in it that cannot be read.

    `excludes` are extra rules (the config's `exclude`, `--exclude`); they see each path as
    `exclude_prefix` + its path relative to `root`, so they can be written relative to the
    project rather than to each SRC. Symlinked folders are not followed (they could loop);
    symlinked files are.
    """
    if git_work_tree(root.resolve()):
        try:
            return _walk(root, excludes, exclude_prefix, use_git=True)
        except _GitRefused:
            pass
    return _walk(root, excludes, exclude_prefix, use_git=False)


def _walk(root: Path, excludes: Sequence[Matcher], exclude_prefix: str, use_git: bool) -> Walk:
    files: list[str] = []
    unreadable: list[tuple[str, str]] = []
    level: list[str] = [""]  # folders to list at this depth, relative to root
    matchers: list[Matcher] = []
    while level:
        entries: list[tuple[str, bool]] = []
        for folder in level:
            fpath = root / folder if folder else root
            # A folder that cannot be listed (or whose .gitignore cannot be read) is reported,
            # not skipped: its outputs in OUT must not look like outputs of deleted sources.
            try:
                if not use_git:
                    ignore_file = fpath / ".gitignore"
                    if ignore_file.is_file():
                        with open(ignore_file, encoding="utf-8", errors="surrogateescape") as f:
                            matchers.append(Matcher.from_lines(folder, f))
                found: list[tuple[str, bool]] = []
                with os.scandir(fpath) as it:
                    for entry in it:
                        if is_skipped_name(entry.name):
                            continue
                        rel = f"{folder}/{entry.name}" if folder else entry.name
                        if entry.is_dir(follow_symlinks=False):
                            found.append((rel, True))
                        else:
                            try:
                                is_file = entry.is_file()
                            except OSError:  # a symlink into an unreadable folder
                                is_file = True  # reading it then reports the error
                            if is_file:
                                found.append((rel, False))
            except OSError as exc:
                unreadable.append((folder, exc.strerror or str(exc)))
                continue
            entries.extend(found)
        ignored: set[str] = set()
        if use_git:
            answer = _git_ignored(root, [r for r, _ in entries])
            if answer is None:
                raise _GitRefused
            ignored = answer
        next_level: list[str] = []
        for rel, is_dir in entries:
            if rel in ignored or _ignored_by(matchers, rel, is_dir):
                continue
            if excludes and _ignored_by(excludes, exclude_prefix + rel, is_dir):
                continue
            (next_level if is_dir else files).append(rel)
        level = next_level
    files.sort()
    return Walk(files, unreadable)
