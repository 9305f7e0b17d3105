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
