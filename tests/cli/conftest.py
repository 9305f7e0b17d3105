"""The `corofy` fixture: the real executable, run in a temporary folder with its own cache."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import Corofy


@pytest.fixture
def corofy(tmp_path: Path) -> Corofy:
    work = tmp_path / "work"
    work.mkdir()
    return Corofy(work, tmp_path / "cache")
