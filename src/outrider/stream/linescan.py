"""Backward newline scanning for ``tail_lines``: the active implementation (native unless missing or ``OUTRIDER_PURE=1``).

``scan_back(fd, end, count, block_size=65536) -> (found, position)``; see
:mod:`outrider.stream.linescan_py`. ``IMPLEMENTATIONS`` maps ``"native"``/``"pure"``
to every importable twin.
"""

from __future__ import annotations

from outrider._impl import select
from outrider.stream import linescan_py

_active, IMPLEMENTATIONS = select("linescan", linescan_py)

scan_back = _active.scan_back
DEFAULT_BLOCK_SIZE: int = linescan_py.DEFAULT_BLOCK_SIZE

__all__ = ["DEFAULT_BLOCK_SIZE", "IMPLEMENTATIONS", "scan_back"]
