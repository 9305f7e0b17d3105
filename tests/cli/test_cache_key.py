"""The cache misses when corofy's own code changes, not only when its version does."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import corofy
from corofy.cache import cache_key, code_fingerprint, fingerprint_of


def test_editing_a_transform_module_changes_the_fingerprint_at_an_unchanged_version(
    tmp_path: Path,
) -> None:
    package = tmp_path / "corofy"
    shutil.copytree(Path(corofy.__file__).parent, package, ignore=shutil.ignore_patterns("*.pyc"))
    before = fingerprint_of(str(package))
    assert fingerprint_of(str(package)) == before

    module = package / "transform" / "lower.py"
    st = module.stat()
    module.write_text(module.read_text() + "# edited\n")
    os.utime(module, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert fingerprint_of(str(package)) != before


def test_the_key_covers_the_running_corofys_code() -> None:
    assert code_fingerprint() == fingerprint_of(str(Path(corofy.__file__).parent))
    assert b"lower.py" in code_fingerprint()
    assert cache_key(b"x", "a.py") != cache_key(b"x", "b.py") != cache_key(b"y", "b.py")
