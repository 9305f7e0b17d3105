"""Fixtures for the runtime tests."""

from __future__ import annotations

import pytest
from runtime_helpers import open_fds


@pytest.fixture
def no_fd_leak():
    """Fails the test if it leaves new fds open."""
    before = open_fds()
    yield
    leaked = open_fds() - before
    assert not leaked, f"fds left open: {leaked}"
