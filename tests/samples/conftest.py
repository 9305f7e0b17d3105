"""Fixtures for the samples: the tree corofy's CLI generates from samples/, and delay servers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from samples_harness import SAMPLES, DelayServer, corofy


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``corofy samples -o OUT``: the generated samples, ready for ``python3 OUT/x.py``."""
    out = tmp_path_factory.mktemp("build") / "samples"
    corofy(str(SAMPLES), "-o", str(out))
    return out


@pytest.fixture
def delay_server(built: Path, tmp_path: Path) -> Iterator[DelayServer]:
    """A fresh delay server for one test, so its request numbers start at 1."""
    server = DelayServer(built / "delayserver.py", tmp_path)
    try:
        yield server
    finally:
        server.stop()
