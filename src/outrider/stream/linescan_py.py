"""Pure-Python twin of ``outrider._native.linescan``: counting newlines backwards through a file in blocks.

Finding where the last N lines of a log start costs a read of those lines, not
of the whole file: blocks are read from the end towards the start until enough
newlines were seen.
"""

from __future__ import annotations

import errno
import operator
import os

from outrider.fs.readat_py import pread_full

DEFAULT_BLOCK_SIZE = 65536


def scan_back(fd: int, end: int, count: int, block_size: int = DEFAULT_BLOCK_SIZE) -> tuple[int, int]:
    """Find up to ``count`` newlines in ``[0, end)``, nearest to ``end`` first.

    Returns ``(found, position)``: how many were found (at most ``count``) and the
    offset of the last one found (the ``found``-th from ``end``), or -1 when none was.
    An ``end`` past the file's size means its size.
    """
    fd, end, count, block_size = map(operator.index, (fd, end, count, block_size))
    if end < 0 or count < 0:
        raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))
    if block_size <= 0:
        raise ValueError("block_size must be > 0")
    found = 0
    position = -1
    hi = min(end, os.fstat(fd).st_size)
    while found < count and hi > 0:
        block_start = max(hi - block_size, 0)
        block = pread_full(fd, hi - block_start, block_start)
        n = len(block)
        while found < count:
            n = block.rfind(b"\n", 0, n)
            if n < 0:
                break
            found += 1
            position = block_start + n
        hi = block_start
    return found, position
