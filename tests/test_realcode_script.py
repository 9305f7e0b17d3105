"""scripts/realcode.py fetches each pinned library's sdist with pip as a user would."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "realcode.py"


def load_realcode():
    spec = importlib.util.spec_from_file_location("realcode", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["realcode"] = module  # its dataclasses look their module up
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules["realcode"]
    return module


def test_sdist_download_builds_no_build_dependency_from_source(tmp_path):
    # `--no-binary :all:` made pip compile asyncpg's Cython from source while preparing the
    # sdist's metadata, and the download never finished: only the library itself must be
    # refused as a wheel.
    realcode = load_realcode()
    command = realcode.download_command("asyncpg", "0.30.0", tmp_path)
    no_binary = [command[i + 1] for i, arg in enumerate(command) if arg == "--no-binary"]
    assert no_binary == ["asyncpg"]
    assert ":all:" not in command
    assert command[-1] == "asyncpg==0.30.0" and "--no-deps" in command


def test_realcode_covers_the_nine_libraries_of_issue_10_with_asyncpg():
    realcode = load_realcode()
    assert {
        "trio",
        "anyio",
        "httpcore",
        "httpx",
        "starlette",
        "redis",
        "aiohttp",
        "asyncpg",
        "elasticsearch",
    } <= set(realcode.LIBRARIES)


def test_a_nested_coroutine_is_counted_once_in_its_units_output():
    # A nested coroutine's machine is printed inside the enclosing one, its code renamed
    # there (_m_ for _m): counted again on its own, it took textual's
    # App._process_messages (1,094 lines) for 1,824, over its bound.
    realcode = load_realcode()
    text = (
        "async def outer(a):\n"
        "    async def inner(b):\n"
        "        return await b\n"
        "    x = await a\n"
        "    return await inner(x)\n"
    )
    result = realcode.check_file(("lib", "m.py", text, 60.0, 60.0))
    [verdict] = result.verdicts
    assert verdict.kind == "ok" and verdict.nested == 1
    from corofy.transform import transform

    ported, _ = realcode.port(realcode.cst.parse_module(text), text, set())
    outer = next(m for m in transform(ported, "m.py").machines if m.qualname == "outer")
    assert verdict.out_lines == outer.code.count("\n")
