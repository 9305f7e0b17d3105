"""docs/walkthrough.md runs as written: each `$ command` in it, in order, in a fresh folder
holding a copy of samples/, prints what the page shows (timings, task ids and the runtime's
own file paths and line numbers aside).

Markers in the page (HTML comments, invisible when rendered) say what is special:
``<!-- walkthrough: not run ... -->`` before a block leaves it out (the delay server runs
until stopped); ``<!-- walkthrough: lines in any order -->`` compares a block's lines as a
multiset (threads print in any order); ``<!-- walkthrough: abridged ... -->`` compares only the
lines before a ``...`` line with the run's first lines; ``<!-- walkthrough: run with python3 -->`` before a
python block runs it as a script, the next block being its output.

After a change to what the samples or corofy print, rewrite the page's outputs with
``COROFY_UPDATE_DOCS=1 python3 -m pytest tests/test_walkthrough.py`` and read the diff.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "walkthrough.md"
MARKER = re.compile(r"^<!-- walkthrough: (.*?) -->$")


@dataclass
class Block:
    start: int  # index of the line after the opening fence
    end: int  # index of the closing fence
    language: str
    marker: str


def _blocks(lines: list[str]) -> list[Block]:
    blocks, marker, i = [], "", 0
    while i < len(lines):
        found = MARKER.match(lines[i])
        if found:
            marker = found.group(1)
        elif lines[i].startswith("```"):
            end = lines.index("```", i + 1)
            blocks.append(Block(i + 1, end, lines[i][3:], marker))
            marker, i = "", end
        i += 1
    return blocks


def _normalise(text: str) -> list[str]:
    out = []
    for line in text.splitlines():
        if re.fullmatch(r"\s*[\^~]+\s*", line):
            continue  # CPython's error carets differ between versions
        line = re.sub(r"Finished in \d+\.\d+ s", "Finished in N s", line)
        line = re.sub(r"_machine-[0-9a-f]{6,}", "_machine-ID", line)
        line = re.sub(
            r'File "[^"]*/(runtime|build)/([^"]*)", line \d+', r'File ".../\1/\2", line N', line
        )
        out.append(line.rstrip())
    while out and not out[-1]:
        out.pop()
    return out


def _run(command: str, cwd: Path, env: dict[str, str], script: str | None = None) -> str:
    done = subprocess.run(
        ["bash", "-c", command] if script is None else [sys.executable, "-c", script],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=120,
        check=False,
    )
    return done.stdout


def test_the_walkthrough_commands_print_what_the_page_shows(tmp_path):
    shutil.copytree(
        ROOT / "samples", tmp_path / "samples", ignore=shutil.ignore_patterns("__pycache__")
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "COROFY"))},
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",  # stdout and stderr interleave as on a terminal
        "COROFY_CACHE_DIR": str(tmp_path / "cache"),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    lines = PAGE.read_text().split("\n")
    blocks = _blocks(lines)
    updates: dict[tuple[int, int], list[str]] = {}
    mismatches: list[str] = []
    checked = 0
    for k, block in enumerate(blocks):
        body = lines[block.start : block.end]
        if block.marker.startswith("not run"):
            continue
        if block.marker == "run with python3":
            expected_block = blocks[k + 1]
            actual = _run("", tmp_path, env, script="\n".join(body))
            spans = [(expected_block.start, expected_block.end, "python3 script", actual)]
        elif body and body[0].startswith("$ "):
            starts = [i for i, line in enumerate(body) if line.startswith("$ ")] + [len(body)]
            spans = []
            for a, b in itertools.pairwise(starts):
                command = body[a][2:]
                actual = _run(command, tmp_path, env)
                spans.append((block.start + a + 1, block.start + b, command, actual))
        else:
            continue
        for start, end, what, actual in spans:
            checked += 1
            expected = "\n".join(lines[start:end])
            updates[(start, end)] = actual.rstrip("\n").split("\n")
            want, got = _normalise(expected), _normalise(actual)
            if block.marker == "lines in any order":
                # The delay server numbers requests as they arrive (#1, #2, ...), and threads
                # send them in any order: only the multiset of the rest is fixed.
                want, got = (
                    sorted(re.sub(r"^#\d+ - ", "#N - ", line) for line in side)
                    for side in (want, got)
                )
            if block.marker.startswith("abridged") and "..." in want:
                want = want[: want.index("...")]
                got = got[: len(want)]
                updates[(start, end)] = [*updates[(start, end)][: len(want)], "..."]
            if want != got:
                mismatches.append(f"$ {what}\n--- the page\n{expected}\n--- the run\n{actual}")
    if os.environ.get("COROFY_UPDATE_DOCS"):
        for (start, end), new in sorted(updates.items(), reverse=True):
            lines[start:end] = [line.replace(f'File "{ROOT}/', 'File ".../') for line in new]
        PAGE.write_text("\n".join(lines))
        return
    assert checked >= 10, "the walkthrough's commands were not found"
    assert not mismatches, "\n\n".join(mismatches)
