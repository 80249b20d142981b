"""Counting newlines backwards through a file in blocks (compiled; twin of ``outrider.stream.linescan_py``)."""

DEFAULT_BLOCK_SIZE: int

def scan_back(fd: int, end: int, count: int, block_size: int = 65536) -> tuple[int, int]:
    """Find up to ``count`` newlines in ``[0, end)``, nearest to ``end`` first.

    Returns ``(found, position)``: how many were found (at most ``count``) and the
    offset of the last one found, or -1 when none was. Reads ``block_size`` bytes
    at a time with ``pread`` (the descriptor's offset never moves), so the cost
    grows with the distance scanned, not with the file's size. Negative ``end`` or
    ``count`` raises ``OSError(EINVAL)``; ``block_size <= 0`` raises ``ValueError``.
    """
