"""`.corofy_cache/`: tagged as a cache, ignored by git, and bounded (SPEC §5, issue 12)."""

from __future__ import annotations

import os
import subprocess
import time

from cli_helpers import COROUTINE_FILE, write

from corofy.cache import CACHEDIR_TAG, TOUCH_AFTER, Cache, size_limit


def _entries(root):
    return [
        os.path.join(d, f)
        for d, _, files in os.walk(root)
        for f in files
        if f not in ("CACHEDIR.TAG", ".gitignore")
    ]


def test_the_default_cache_is_tagged_and_git_ignores_it(corofy):
    cwd = corofy.cwd
    subprocess.run(["git", "init", "-q", str(cwd)], check=True)
    write(cwd, {"pyproject.toml": "[project]\nname = 'x'\n", "src/co.py": COROUTINE_FILE})
    env = {k: v for k, v in corofy.env.items() if k != "COROFY_CACHE_DIR"}
    proc = subprocess.run(
        [*corofy_command(), "src", "-o", "build"],
        cwd=cwd,
        env=env,
        capture_output=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    cache = cwd / ".corofy_cache"
    assert (cache / "CACHEDIR.TAG").read_text() == CACHEDIR_TAG
    assert (
        (cache / "CACHEDIR.TAG")
        .read_bytes()
        .startswith(b"Signature: 8a477f597d28d172789f06886806bc55")
    )
    assert (cache / ".gitignore").read_text() == "*\n"
    assert _entries(cache)  # it did cache something
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert ".corofy_cache" not in status and "build/co.py" in status


def corofy_command():
    import sys

    return [sys.executable, "-m", "corofy"]


def test_the_cache_stays_under_its_size_limit(corofy, tmp_path):
    files = {f"src/m{n}.py": COROUTINE_FILE + f"\nN = {n}\n" for n in range(24)}
    write(corofy.cwd, files)
    result = corofy("src", "-o", "build", env={"COROFY_CACHE_SIZE": "20K"})
    assert result.returncode == 0, result.stderr
    sizes = [os.path.getsize(p) for p in _entries(tmp_path / "cache")]
    assert 0 < sum(sizes) <= 20 * 1024
    assert len(sizes) < 24  # some were evicted
    # Without the limit (the default is far larger) every entry stays.
    write(corofy.cwd, {rel: text + "X = 1\n" for rel, text in files.items()})
    assert corofy("src", "-o", "build").returncode == 0
    assert len(_entries(tmp_path / "cache")) >= 24


def test_eviction_removes_the_least_recently_used_entries_first(tmp_path):
    cache = Cache(tmp_path / "c", limit=3000)
    old = time.time() - 10 * TOUCH_AFTER
    for n, key in enumerate(("aa01", "bb02", "cc03")):
        cache.put(key, b"x" * 1000)
        os.utime(cache._path(key), (old + n, old + n))  # aa01 oldest, cc03 newest
    assert cache.get("aa01") == b"x" * 1000  # a hit: aa01 becomes the most recent
    cache.put("dd04", b"x" * 1000)  # 4000 bytes > 3000: trim down to 80%
    cache.trim()
    left = {key for key in ("aa01", "bb02", "cc03", "dd04") if cache._path(key).exists()}
    assert left == {"aa01", "dd04"}
    assert (tmp_path / "c/CACHEDIR.TAG").exists() and (tmp_path / "c/.gitignore").exists()


def test_a_recent_hit_costs_no_write(tmp_path):
    cache = Cache(tmp_path / "c")
    cache.put("ee05", b"payload")
    before = os.stat(cache._path("ee05")).st_mtime_ns
    time.sleep(0.01)
    assert cache.get("ee05") == b"payload"
    assert os.stat(cache._path("ee05")).st_mtime_ns == before


def test_cache_size_accepts_units():
    assert size_limit("20K") == 20 * 1024
    assert size_limit("1.5M") == int(1.5 * 1024**2)
    assert size_limit("2GiB") == 2 * 1024**3
    assert size_limit("4096") == 4096
    assert size_limit(None) == size_limit("nonsense") == 256 * 1024**2
