"""Every file-system unit test, hypothesis examples included, must leave the descriptor table as it found it."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def fds_unchanged(no_fd_leak: None) -> None:
    """The root conftest's check, for every test here."""
