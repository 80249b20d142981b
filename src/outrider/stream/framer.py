"""Nomad ``StreamFrame`` encoding: the active implementation (native unless missing or ``OUTRIDER_PURE=1``).

``IMPLEMENTATIONS`` maps ``"native"``/``"pure"`` to every importable twin, for
parity tests and benchmarks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from outrider._impl import select
from outrider.stream import framer_py
from outrider.stream.framer_py import BytesLike, json_string

_active, IMPLEMENTATIONS = select("framer", framer_py)

if TYPE_CHECKING:
    from outrider.stream.framer_py import encode_frames
else:
    encode_frames = _active.encode_frames
HEARTBEAT: bytes = framer_py.HEARTBEAT
MAX_FRAME_DATA: int = framer_py.MAX_FRAME_DATA
EVENT_TRUNCATED = "file truncated"
EVENT_DELETED = "file deleted"

__all__ = [
    "EVENT_DELETED",
    "EVENT_TRUNCATED",
    "HEARTBEAT",
    "IMPLEMENTATIONS",
    "MAX_FRAME_DATA",
    "BytesLike",
    "encode_frames",
    "json_string",
]
