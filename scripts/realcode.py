#!/usr/bin/env python3
"""The real-code check of issue 10: corofy on real asyncio libraries, as a new user tries it.

For each pinned library (an sdist from PyPI, cached in ``.realcode_cache/``), every ``.py``
file holding an ``async def`` is converted the way a user would port it — each ``async def``
becomes ``@coroutine def``, each ``await e`` becomes ``wait(e)``, with ``from corofy import
coroutine, wait`` added — and transformed. The unit of work is the file (a user transforms
files); each outermost coroutine of a file (with the coroutines nested in it) is also counted:

- ``ok``: it transformed, the file's output compiles and transforming it again changes nothing;
- ``refused``: a ``CorofyError`` (grouped by message, numbers and names blanked);
- ``internal``: a ``CorofyError`` that says "internal error";
- ``crash``: any other exception out of the transform (grouped by type and message);
- ``nocompile``: the output does not compile; ``notidem``: transforming the output changes it;
- ``timeout``: the transform of the file took longer than ``--timeout`` seconds.

A failing coroutine is found by its error's line when it has one, else by bisection over the
file's coroutines; it is then left as ``async def`` and the file is transformed again, so one
bad coroutine does not hide the verdict on the others. For the coroutines that transform, the
output lines of each (its header comment included) are compared with its source lines
(ratio median, p95, max) and with SPEC §2.4's bound: 4 x source lines + 45 x waits + 100.
The transform time of the ok files is set against libcst's own parse-and-print of the same
converted source (``speed`` = libcst time / transform time, summed over the library's files).

    python3 scripts/realcode.py                 # all libraries, table on stdout
    python3 scripts/realcode.py -l trio -l anyio --details details.json
    python3 scripts/realcode.py --show trio src/trio/_core/_run.py:1234   # the converted file

Slow (minutes): not part of the default test run. Runs at most ``-j 2`` processes.
"""

from __future__ import annotations

import argparse
import ast
import collections
import json
import multiprocessing
import re
import signal
import statistics
import subprocess
import sys
import tarfile
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import libcst as cst

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".realcode_cache"

# Pinned: the table in the README is only comparable between runs on the same versions.
LIBRARIES = {
    "trio": "0.27.0",
    "anyio": "4.6.2",
    "httpcore": "1.0.7",
    "httpx": "0.28.1",
    "starlette": "0.41.3",
    "redis": "5.2.0",
    "aiohttp": "3.11.10",
    "elasticsearch": "8.16.0",
    "asyncpg": "0.30.0",
    "websockets": "14.1",
}

CO, WAIT = "coroutine", "wait"


# ---------------------------------------------------------------------------------------
# Fetching the sources
# ---------------------------------------------------------------------------------------


def sdist(name: str, version: str) -> Path:
    """The cached sdist of ``name==version``, fetched with pip on first use."""
    folder = CACHE / "sdists"
    folder.mkdir(parents=True, exist_ok=True)
    (CACHE / ".gitignore").write_text("*\n")
    for path in folder.iterdir():
        if _sdist_matches(path.name, name, version):
            return path
    subprocess.run(download_command(name, version, folder), check=True)
    for path in folder.iterdir():
        if _sdist_matches(path.name, name, version):
            return path
    raise SystemExit(f"realcode: pip did not leave an sdist of {name}=={version} in {folder}")


def download_command(name: str, version: str, folder: Path) -> list[str]:
    """pip's command that leaves the sdist of ``name==version`` in ``folder``.

    ``--no-binary`` names the library alone: pip still builds the sdist's metadata, and
    ``:all:`` would make it build the build dependencies from source too (asyncpg's Cython
    compiles for longer than any run waits), where their wheels do.
    """
    return [
        sys.executable,
        "-m",
        "pip",
        "download",
        "-q",
        "--no-deps",
        "--no-binary",
        name,
        "-d",
        str(folder),
        f"{name}=={version}",
    ]


def _sdist_matches(filename: str, name: str, version: str) -> bool:
    norm = re.sub(r"[-_.]+", "_", name).lower()
    stem = re.sub(r"[-_.]+", "_", filename.lower())
    return stem.startswith(f"{norm}_{version.replace('.', '_')}_tar_gz") or stem == (
        f"{norm}_{version.replace('.', '_')}_zip"
    )


def sources(archive: Path) -> list[tuple[str, str]]:
    """(path inside the sdist, text) of each Python file with an ``async def``."""
    out = []
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            if not member.isfile() or not member.name.endswith(".py"):
                continue
            data = tar.extractfile(member)
            if data is None:
                continue
            try:
                text = data.read().decode("utf-8")
            except UnicodeDecodeError:
                continue
            if "async def" in text:
                out.append((member.name.split("/", 1)[-1], text))
    return sorted(out)


# ---------------------------------------------------------------------------------------
# Porting asyncio code to corofy source
# ---------------------------------------------------------------------------------------


class _Port(cst.CSTTransformer):
    """``async def`` -> ``@coroutine def`` and ``await e`` -> ``wait(e)``, except in the
    outermost coroutines (units) numbered in ``skip``, left as asyncio code."""

    def __init__(self, skip: set[int], co: str, wait: str) -> None:
        super().__init__()
        self.skip, self.co, self.wait = skip, co, wait
        self.count = 0  # units seen
        self.converted: list[bool] = []  # per enclosing def: are its awaits converted?
        self.in_unit: list[bool] = []  # per enclosing async def of the current unit

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if node.asynchronous is None:
            self.converted.append(False)  # no await can stand in a plain def
            return
        if not self.in_unit:
            self.count += 1
            self.in_unit.append(self.count - 1 not in self.skip)
        else:  # a coroutine nested anywhere in a unit goes with its unit
            self.in_unit.append(self.in_unit[0])
        self.converted.append(self.in_unit[0])

    def leave_FunctionDef(
        self, original: cst.FunctionDef, updated: cst.FunctionDef
    ) -> cst.FunctionDef:
        converted = self.converted.pop()
        if original.asynchronous is None:
            return updated
        self.in_unit.pop()
        if not converted:
            return updated
        deco = cst.Decorator(cst.Name(self.co))
        return updated.with_changes(asynchronous=None, decorators=[*updated.decorators, deco])

    def leave_Await(self, original: cst.Await, updated: cst.Await) -> cst.BaseExpression:
        if not (self.converted and self.converted[-1]):
            return updated
        return cst.Call(
            cst.Name(self.wait), [cst.Arg(updated.expression)], lpar=updated.lpar, rpar=updated.rpar
        )


def _markers(text: str) -> tuple[str, str]:
    """Names for the markers that the file does not already use."""
    taken = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text))
    co = CO if CO not in taken else "_corofy_coroutine"
    wait = WAIT if WAIT not in taken else "_corofy_wait"
    return co, wait


def port(module: cst.Module, text: str, skip: set[int]) -> tuple[str, int]:
    """The corofy source of ``module`` (and its number of outermost coroutines)."""
    co, wait = _markers(text)
    porter = _Port(skip, co, wait)
    new = module.visit(porter)
    names = [
        cst.ImportAlias(cst.Name(CO), asname=None if co == CO else cst.AsName(cst.Name(co))),
        cst.ImportAlias(
            cst.Name(WAIT), asname=None if wait == WAIT else cst.AsName(cst.Name(wait))
        ),
    ]
    line = cst.SimpleStatementLine([cst.ImportFrom(module=cst.Name("corofy"), names=names)])
    body = list(new.body)
    at = 0  # after the docstring and the __future__ imports, which must stay first
    for index, stmt in enumerate(body):
        if not isinstance(stmt, cst.SimpleStatementLine):
            break
        small = stmt.body[0]
        docstring = (
            index == 0
            and isinstance(small, cst.Expr)
            and isinstance(small.value, (cst.SimpleString, cst.ConcatenatedString))
        )
        future = (
            isinstance(small, cst.ImportFrom)
            and isinstance(small.module, cst.Name)
            and (small.module.value == "__future__")
        )
        if docstring or future:
            at = index + 1
        else:
            break
    body.insert(at, line)
    return new.with_changes(body=body).code, porter.count


@dataclass
class Unit:
    """One outermost coroutine of a ported file (its nested coroutines included)."""

    name: str
    first: int  # first line (decorators included) in the ported file
    last: int
    waits: int
    nested: int


def unit_labels(text: str) -> list[str]:
    """``qualname:line`` in the original file of each unit, in the order ``_Port`` counts."""
    out: list[str] = []

    def walk(node: ast.AST, prefix: str, in_unit: bool) -> None:
        for child in ast.iter_child_nodes(node):
            name = getattr(child, "name", None)
            inner = f"{prefix}{name}." if isinstance(name, str) else prefix
            if isinstance(child, ast.AsyncFunctionDef) and not in_unit:
                out.append(f"{prefix}{child.name}:{child.lineno}")
                walk(child, inner, True)
            else:
                walk(child, inner, in_unit)

    walk(ast.parse(text), "", False)
    return out


def units(ported: str, co: str, wait: str) -> list[Unit]:
    tree = ast.parse(ported)
    out: list[Unit] = []

    def is_co(node: ast.AST) -> bool:
        return isinstance(node, ast.FunctionDef) and any(
            isinstance(d, ast.Name) and d.id == co for d in node.decorator_list
        )

    def walk(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if is_co(child):
                assert isinstance(child, ast.FunctionDef)
                first = min([d.lineno for d in child.decorator_list] + [child.lineno])
                waits = sum(
                    isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == wait
                    for n in ast.walk(child)
                )
                nested = sum(is_co(n) for n in ast.walk(child)) - 1
                out.append(
                    Unit(prefix + child.name, first, child.end_lineno or first, waits, nested)
                )
            else:
                name = getattr(child, "name", None)
                walk(child, f"{prefix}{name}." if isinstance(name, str) else prefix)

    walk(tree, "")
    return sorted(out, key=lambda u: u.first)


# ---------------------------------------------------------------------------------------
# Transforming one file
# ---------------------------------------------------------------------------------------


class _Timeout(Exception):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise _Timeout


@dataclass
class Verdict:
    unit: str
    kind: str  # ok refused internal crash nocompile notidem timeout
    reason: str = ""
    src_lines: int = 0
    out_lines: int = 0
    waits: int = 0
    nested: int = 0


@dataclass
class FileResult:
    library: str
    path: str
    verdicts: list[Verdict] = field(default_factory=list)
    transform_s: float = 0.0  # the last (successful) transform of the file
    libcst_s: float = 0.0
    note: str = ""


def _group(message: str) -> str:
    """A refusal or crash message with its specifics blanked, to count like with like."""
    message = re.sub(r"^.*?:\d+:\d+: error: ", "", message)
    message = re.sub(r"'[^']*'", "'…'", message)
    message = re.sub(r"\b\d+\b", "N", message)
    return message[:160]


class _FileCheck:
    def __init__(
        self, library: str, path: str, text: str, timeout: float, idem_timeout: float
    ) -> None:
        self.library, self.path, self.text, self.timeout = library, path, text, timeout
        self.idem_timeout = idem_timeout
        self.module = cst.parse_module(text)
        self.co, self.wait = _markers(text)
        self.result = FileResult(library, path)
        self.labels = unit_labels(text)

    def attempt(self, skip: set[int]) -> tuple[str, list[Unit], dict[str, Any]]:
        """Port without the ``skip`` units and transform; describe what happened."""
        from corofy.transform import CorofyError, transform

        ported, _ = port(self.module, self.text, skip)
        found = units(ported, self.co, self.wait)
        outcome: dict[str, Any] = {}
        signal.setitimer(signal.ITIMER_REAL, self.timeout)
        start = time.perf_counter()
        try:
            result = transform(ported, self.path)
        except _Timeout:
            outcome = {"kind": "timeout", "reason": f"over {self.timeout:g}s"}
        except CorofyError as exc:
            kind = "internal" if "internal error" in exc.message else "refused"
            outcome = {"kind": kind, "reason": _group(str(exc)), "line": exc.line}
        except RecursionError as exc:
            outcome = {"kind": "crash", "reason": f"RecursionError: {_group(str(exc))}"}
        except Exception as exc:
            frame = traceback.extract_tb(exc.__traceback__)[-1]
            where = f"{Path(frame.filename).name}:{frame.name}"
            outcome = {
                "kind": "crash",
                "reason": f"{type(exc).__name__}: {_group(str(exc))} [{where}]",
            }
        finally:
            elapsed = time.perf_counter() - start
            signal.setitimer(signal.ITIMER_REAL, 0)
        if outcome:
            return ported, found, outcome
        outcome = {"kind": "ok", "elapsed": elapsed, "result": result}
        code = result.code
        try:
            compile(code, self.path, "exec", dont_inherit=True)
        except SyntaxError as exc:
            return (
                ported,
                found,
                {
                    "kind": "nocompile",
                    "line_out": exc.lineno,
                    "code": code,
                    "reason": f"{type(exc).__name__}: {_group(exc.msg)}",
                    "result": result,
                },
            )
        except (RecursionError, MemoryError, ValueError) as exc:
            return (
                ported,
                found,
                {"kind": "nocompile", "reason": type(exc).__name__, "code": code, "result": result},
            )
        signal.setitimer(signal.ITIMER_REAL, self.idem_timeout)
        try:
            again = transform(code, self.path).code
        except _Timeout:  # SPEC 2.4: corofy output is recognised at once
            again = None
            outcome = {"kind": "notidem", "reason": f"re-transform over {self.idem_timeout:g}s"}
        except Exception as exc:
            again = None
            outcome = {
                "kind": "notidem",
                "reason": f"re-transform raises {type(exc).__name__}: {_group(str(exc))}",
            }
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        if again is not None and again != code:
            outcome = {"kind": "notidem", "reason": "output transformed again changes"}
        outcome.setdefault("result", result)
        outcome.setdefault("elapsed", elapsed)
        return ported, found, outcome

    def run(self) -> FileResult:
        _, total = port(self.module, self.text, set())
        self.total = total
        skip: set[int] = set()
        failed: dict[int, tuple[str, str]] = {}
        while True:
            _, found, outcome = self.attempt(skip)
            live = [i for i in range(total) if i not in skip]
            if outcome["kind"] == "ok":
                self._record_ok(found, live, skip, outcome)
                break
            index = self._locate(found, live, outcome)
            if index is None:
                index = self._bisect(live, outcome["kind"])
            if index is None:  # the failure needs several coroutines together
                for i in live:
                    failed[i] = (outcome["kind"], outcome["reason"] + " (whole file)")
                skip.update(live)
                break
            failed[index] = (outcome["kind"], outcome["reason"])
            skip.add(index)
            if len(skip) == total:
                break
        all_units = units(port(self.module, self.text, set())[0], self.co, self.wait)
        for index, (kind, reason) in sorted(failed.items()):
            unit = all_units[index] if index < len(all_units) else Unit("?", 0, 0, 0, 0)
            self.result.verdicts.append(
                Verdict(
                    self.labels[index],
                    kind,
                    reason,
                    unit.last - unit.first + 1,
                    0,
                    unit.waits,
                    unit.nested,
                )
            )
        return self.result

    def _locate(self, found: list[Unit], live: list[int], outcome: dict[str, Any]) -> int | None:
        line = outcome.get("line")
        if line is None and "line_out" in outcome:
            line = _source_line(outcome["result"], outcome["code"], outcome["line_out"])
        if line is None:
            return None
        best = None
        for position, unit in enumerate(found):
            if unit.first <= line <= unit.last:
                best = live[position]
        return best

    def _bisect(self, live: list[int], kind: str) -> int | None:
        """A single unit that fails alone with the same kind of failure, by halving."""
        candidates = live
        while len(candidates) > 1:
            half = candidates[: len(candidates) // 2]
            rest = [i for i in candidates if i not in half]
            _, _, outcome = self.attempt(set(range(self.total)) - set(half))
            if outcome["kind"] == kind:
                candidates = half
                continue
            _, _, outcome = self.attempt(set(range(self.total)) - set(rest))
            if outcome["kind"] == kind:
                candidates = rest
                continue
            return None
        if candidates:
            _, _, outcome = self.attempt(set(range(self.total)) - set(candidates))
            if outcome["kind"] == kind:
                return candidates[0]
        return None

    def _record_ok(
        self, found: list[Unit], live: list[int], skip: set[int], outcome: dict[str, Any]
    ) -> None:
        result = outcome["result"]
        by_line: dict[int, list[Any]] = collections.defaultdict(list)
        for machine in result.machines:
            by_line[machine.line].append(machine)
        for index, unit in zip(live, found, strict=False):
            inside = [m for line in range(unit.first, unit.last + 1) for m in by_line.get(line, [])]
            # A nested coroutine's machine is printed inside its enclosing one (its code there
            # renamed, _m_ for _m, so not a substring of it): only the outermost count.
            codes = [
                m.code
                for m in inside
                if not any(m.qualname.startswith(o.qualname + ".<locals>.") for o in inside)
            ]
            out_lines = sum(c.count("\n") + (not c.endswith("\n")) for c in codes)
            self.result.verdicts.append(
                Verdict(
                    self.labels[index],
                    "ok",
                    "",
                    unit.last - unit.first + 1,
                    out_lines,
                    unit.waits,
                    unit.nested,
                )
            )
        self.result.transform_s = outcome["elapsed"]
        ported, _ = port(self.module, self.text, skip)
        start = time.perf_counter()
        cst.parse_module(ported).code  # noqa: B018 - the round trip is what is timed
        self.result.libcst_s = time.perf_counter() - start


def _source_line(result: Any, code: str, line_out: int | None) -> int | None:
    """The source line of the machine holding output line ``line_out``."""
    if line_out is None:
        return None
    for machine in result.machines:
        at = code.find(machine.code)
        if at < 0:
            continue
        first = code.count("\n", 0, at) + 1
        if first <= line_out < first + machine.code.count("\n") + 1:
            return machine.line
    return None


def check_file(job: tuple[str, str, str, float, float]) -> FileResult:
    library, path, text, timeout, idem_timeout = job
    signal.signal(signal.SIGALRM, _alarm)
    sys.setrecursionlimit(10_000)
    try:
        compile(text, path, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        return FileResult(library, path, note=f"source does not compile here: {exc}")
    try:
        return _FileCheck(library, path, text, timeout, idem_timeout).run()
    except Exception as exc:
        return FileResult(library, path, note=f"harness failed: {type(exc).__name__}: {exc}")


# ---------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------

KINDS = ("ok", "refused", "crash", "internal", "nocompile", "notidem", "timeout")


def bound(v: Verdict) -> int:
    """SPEC 2.4's budget, summed over the unit's coroutines (its nested ones included)."""
    return 4 * v.src_lines + 45 * v.waits + 100 * (1 + v.nested)


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def table(results: list[FileResult]) -> str:
    libs = sorted({r.library for r in results}, key=list(LIBRARIES).index)
    head = (
        "| library | files ok/all | coroutines | ok | refused | crash | internal | "
        "not compiling | not idempotent | timeout | ratio median/p95/max | over bound | "
        "speed vs libcst |"
    )
    rows = [head, "|" + "---|" * (head.count("|") - 1)]
    totals: collections.Counter[str] = collections.Counter()
    all_ratios: list[float] = []
    over_all = 0
    t_all = l_all = 0.0
    files_all = files_ok_all = 0
    for lib in libs + ["all"]:
        chosen = [r for r in results if lib == "all" or r.library == lib]
        verdicts = [v for r in chosen for v in r.verdicts]
        counts = collections.Counter(v.kind for v in verdicts)
        oks = [v for v in verdicts if v.kind == "ok"]
        ratios = [v.out_lines / max(1, v.src_lines) for v in oks]
        over = sum(v.out_lines > bound(v) for v in oks)
        done = [r for r in chosen if r.transform_s > 0]
        t = sum(r.transform_s for r in done)
        lc = sum(r.libcst_s for r in done)
        files_ok = sum(bool(r.verdicts) and all(v.kind == "ok" for v in r.verdicts) for r in chosen)
        if lib != "all":
            totals.update(counts)
            all_ratios += ratios
            over_all += over
            t_all += t
            l_all += lc
            files_all += len(chosen)
            files_ok_all += files_ok
        rows.append(
            f"| {lib}{'' if lib == 'all' else ' ' + LIBRARIES[lib]} | {files_ok}/{len(chosen)} | "
            f"{len(verdicts)} | "
            + " | ".join(str(counts.get(k, 0)) for k in KINDS)
            + f" | {statistics.median(ratios) if ratios else 0:.1f} / {_pct(ratios, 0.95):.1f} / "
            f"{max(ratios, default=0):.1f} | {over} | {lc / t if t else 0:.2f}x |"
        )
    return "\n".join(rows)


def reasons(results: list[FileResult]) -> str:
    out = []
    for kind in KINDS[1:]:
        groups: dict[str, list[str]] = collections.defaultdict(list)
        for r in results:
            for v in r.verdicts:
                if v.kind == kind:
                    groups[v.reason].append(f"{r.library}:{r.path}:{v.unit}")
        if not groups:
            continue
        out.append(f"\n## {kind}")
        for reason, where in sorted(groups.items(), key=lambda kv: -len(kv[1])):
            out.append(f"{len(where):6d}  {reason}\n        e.g. {where[0]}")
    oks = [
        (v.out_lines, bound(v), r.library, r.path, v)
        for r in results
        for v in r.verdicts
        if v.kind == "ok" and v.out_lines > bound(v)
    ]
    if oks:
        out.append("\n## over the size bound (output lines > 4*src + 45*waits + 100 per coroutine)")
        for out_lines, limit, lib, path, v in sorted(oks, key=lambda x: -x[0] / x[1])[:25]:
            out.append(
                f"  {out_lines:7d} > {limit:6d}  {lib}:{path}:{v.unit} "
                f"({v.src_lines} lines, {v.waits} waits)"
            )
    notes = [f"  {r.library}:{r.path}: {r.note}" for r in results if r.note]
    if notes:
        out.append("\n## files not checked")
        out.extend(notes)
    return "\n".join(out)


def _result(item: dict[str, Any]) -> FileResult:
    verdicts = [Verdict(**v) for v in item.pop("verdicts")]
    return FileResult(**item, verdicts=verdicts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-l", "--library", action="append", choices=list(LIBRARIES))
    parser.add_argument("-j", "--jobs", type=int, default=2, help="processes (at most 2)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per transform")
    parser.add_argument(
        "--idem-timeout",
        type=float,
        default=20.0,
        help="seconds for transforming an output again (it should be instant)",
    )
    parser.add_argument("--details", type=Path, help="write every verdict as JSON here")
    parser.add_argument(
        "--report",
        nargs="+",
        type=Path,
        metavar="DETAILS",
        help="print the table again from --details files of earlier runs",
    )
    parser.add_argument(
        "--show",
        nargs=2,
        metavar=("LIB", "PATH"),
        help="print the ported (corofy source) text of one file and stop",
    )
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    if args.show:
        lib, path = args.show
        for name, text in sources(sdist(lib, LIBRARIES[lib])):
            if name == path:
                sys.stdout.write(port(cst.parse_module(text), text, set())[0])
                return 0
        raise SystemExit(f"realcode: no {path} in {lib}")
    if args.report:
        loaded = [_result(item) for path in args.report for item in json.loads(path.read_text())]
        print(table(loaded))
        print(reasons(loaded))
        return 0
    libs = args.library or list(LIBRARIES)
    jobs = [
        (lib, path, text, args.timeout, args.idem_timeout)
        for lib in libs
        for path, text in sources(sdist(lib, LIBRARIES[lib]))
    ]
    jobs.sort(key=lambda j: -len(j[2]))  # big files first: the pool ends together
    start = time.perf_counter()
    results: list[FileResult] = []
    with multiprocessing.get_context("fork").Pool(
        max(1, min(2, args.jobs)), maxtasksperchild=20
    ) as pool:
        for done, result in enumerate(pool.imap_unordered(check_file, jobs), 1):
            results.append(result)
            if sys.stderr.isatty():
                print(f"\r{done}/{len(jobs)} files", end="", file=sys.stderr, flush=True)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    results.sort(key=lambda r: (r.library, r.path))
    print(table(results))
    print(
        f"\n{len(jobs)} files in {time.perf_counter() - start:.0f}s "
        f"(python {sys.version.split()[0]}, {min(2, args.jobs)} processes)"
    )
    print(reasons(results))
    if args.details:
        args.details.write_text(json.dumps([asdict(r) for r in results], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
