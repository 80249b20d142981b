"""Reading the growing end of an open file: the active implementation (native unless missing or ``OUTRIDER_PURE=1``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from outrider._impl import select
from outrider.stream import tail_py
from outrider.stream.tail_py import DEFAULT_CHUNK_SIZE, FINGERPRINT_SIZE, CheckResult

_active, IMPLEMENTATIONS = select("tail", tail_py)

if TYPE_CHECKING:
    # Both twins have this interface; type checkers see the documented pure one.
    from outrider.stream.tail_py import TailReader
else:
    TailReader = _active.TailReader

__all__ = ["DEFAULT_CHUNK_SIZE", "FINGERPRINT_SIZE", "IMPLEMENTATIONS", "CheckResult", "TailReader"]
