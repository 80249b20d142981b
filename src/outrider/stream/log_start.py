"""Where a logs request starts reading: Nomad's ``findClosest`` over a task's rotated files.

From ``client/fs_endpoint.go`` (``logsImpl``, ``findClosest``): ``origin=start``
counts ``offset`` bytes forward from the oldest file, ``origin=end`` counts them
back from the newest, across the listed sizes of the files in between.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

from outrider.fs.logfiles import LogFile

MAX_INDEX = 2**63 - 1
"""The index ``origin=end`` asks for: Go's ``math.MaxInt64``, so the newest file."""

_MIN_INT64 = -(2**63)


def find_closest(files: Sequence[LogFile], desired_index: int, desired_offset: int) -> tuple[int, int]:
    """Nomad's ``findClosest``: the position in ``files`` and the offset to start reading at.

    Starts at the first file whose index is at least ``desired_index`` (else the
    last file) and walks ``desired_offset`` bytes forward (positive) or backward
    (negative) across the listed sizes, clamping at the ends. An offset of 0
    means the start of that file. Raises ValueError when ``files`` is empty.
    """
    if not files:
        raise ValueError("no log files to choose from")
    last = len(files) - 1
    pos = min(bisect.bisect_left(files, desired_index, key=lambda f: f.index), last)
    offset = desired_offset
    while offset != 0:
        size = files[pos].size
        if offset < 0:
            if size + offset >= 0:
                offset += size
                break
            if pos == 0:
                offset = 0
                break
            offset += size
            pos -= 1
        else:
            if offset <= size:
                break
            if pos == last:
                offset = size
                break
            offset -= size
            pos += 1
    return pos, offset


def start_point(origin_end: bool, offset: int) -> tuple[int, int]:
    """``(desired_index, desired_offset)`` for a request's ``origin`` and ``offset``.

    ``origin=start`` counts forward from index 0; ``origin=end`` counts backward
    from the newest file, so ``origin=end&offset=0`` is the whole newest file
    (Nomad's CLI relies on that form). Negation wraps like Go's int64
    (``-MinInt64`` is ``MinInt64``).
    """
    if not origin_end:
        return 0, offset
    return MAX_INDEX, offset if offset == _MIN_INT64 else -offset
