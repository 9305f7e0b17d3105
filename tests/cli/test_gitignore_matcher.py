"""Our gitignore matcher (used outside git work trees) agrees with git itself.

Random `.gitignore` files over a small alphabet of names and pattern pieces, random trees;
the files corofy's walk keeps must be exactly the untracked files git does not ignore.
Example counts come from the hypothesis profile in tests/conftest.py (`ci` by default).
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from corofy.tree import _walk

NAMES = ["a", "b", "ab", "a.py", "b.txt"]
PIECES = ["a", "b", "*", "?", "a*", "*.py", "[ab]", "**"]

segment = st.sampled_from(NAMES)
paths = st.lists(segment, min_size=1, max_size=3).map("/".join)


@st.composite
def patterns(draw) -> str:
    parts = draw(st.lists(st.sampled_from(PIECES), min_size=1, max_size=3))
    text = "/".join(parts)
    if draw(st.booleans()):
        text = "/" + text
    if draw(st.booleans()):
        text += "/"
    if draw(st.integers(0, 4)) == 0:
        text = "!" + text
    return text


def git_kept(root: Path) -> list[str]:
    subprocess.run(["git", "init", "-q"], cwd=root, check=True, timeout=30)
    listed = subprocess.run(
        ["git", "ls-files", "--others", "--exclude-standard", "-z"],
        cwd=root,
        capture_output=True,
        check=True,
        timeout=30,
    ).stdout
    return sorted(p for p in listed.decode().split("\0") if p and p != ".gitignore")


@given(
    st.lists(patterns(), min_size=1, max_size=4),
    st.lists(paths, min_size=1, max_size=6),
    st.lists(st.tuples(paths, patterns()), max_size=2),
)
def test_matcher_keeps_exactly_what_git_keeps(root_rules, files, nested_rules):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        created = []
        for rel in files:
            path = root / rel
            if any(parent.is_file() for parent in path.parents) or path.is_dir():
                continue  # a name already used as a file (or folder) on this path
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("x")
            created.append(rel)
        (root / ".gitignore").write_text("\n".join(root_rules) + "\n")
        for folder, rule in nested_rules:
            if (root / folder).is_dir():
                (root / folder / ".gitignore").write_text(rule + "\n")
        ours = _walk(root, (), "", use_git=False).files
        theirs = [p for p in git_kept(root) if not p.endswith("/.gitignore")]
        assert ours == theirs, (root_rules, nested_rules, created)
