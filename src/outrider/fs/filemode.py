"""File mode strings in Go's ``os.FileMode.String()`` format (Go ``io/fs``).

Exports the active :func:`file_mode_string` (native when built, else the pure
twin) and ``IMPLEMENTATIONS`` with every importable variant.
"""

from __future__ import annotations

from collections.abc import Callable

from outrider import _impl
from outrider.fs import filemode_py

__all__ = ["IMPLEMENTATIONS", "file_mode_string"]

_active, IMPLEMENTATIONS = _impl.select("filemode", filemode_py)

file_mode_string: Callable[[int], str] = _active.file_mode_string
