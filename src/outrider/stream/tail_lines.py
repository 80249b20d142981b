"""Where ``tail_lines=N`` starts: the N-th line from the end of a task's log, across its rotated files.

The files of one log type, in index order, are one byte stream; a line is what
ends with a newline, and a last line without one (still being written) counts
too. The newest files are scanned backwards in blocks
(:func:`outrider.stream.linescan.scan_back`, native with its pure twin) until N
newlines are found, so the cost grows with N, not with the size of the log.
"""

from __future__ import annotations

import errno
import os
import stat as stat_mod
from collections.abc import Sequence

from outrider.fs.logfiles import LogFile
from outrider.gostrconv import quote
from outrider.stream.linescan import scan_back
from outrider.stream.logquery import Cursor, LogQueryError

_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
# Rotated out (or replaced by something that is not a file) since the listing: nothing to scan.
_GONE = frozenset({errno.ENOENT, errno.ELOOP, errno.ENXIO})


def tail_start(
    dir_fd: int, files: Sequence[LogFile], lines: int, end: tuple[int, int] | None = None
) -> tuple[int, int]:
    """The position in ``files`` and the offset in that file where the last ``lines`` lines start.

    ``end`` is ``(position, offset)`` where the log is taken to end (a ``before``
    cursor); by default the end of the newest file as listed. Fewer lines than
    asked: the start of the oldest file. ``lines == 0``: the end itself.

    Raises OSError when a file cannot be opened or read (other than gone since the listing).
    """
    if not files:
        raise ValueError("no log files to scan")
    pos, offset = end if end is not None else (len(files) - 1, files[-1].size)
    if lines == 0:
        return pos, offset
    remaining = lines
    last_byte_skipped = False
    for i in range(pos, -1, -1):
        limit = offset if i == pos else files[i].size
        if limit > 0 and not last_byte_skipped:
            # The newline ending the last line is not the start of another one.
            limit -= 1
            last_byte_skipped = True
        found, at = _scan_file(dir_fd, files[i].name, limit, remaining)
        if found == remaining:
            return i, at + 1
        remaining -= found
    return 0, 0


def _scan_file(dir_fd: int, name: str, end: int, count: int) -> tuple[int, int]:
    if end <= 0:
        return 0, -1
    try:
        fd = os.open(name, _READ_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno in _GONE:
            return 0, -1
        raise
    try:
        if not stat_mod.S_ISREG(os.fstat(fd).st_mode):
            return 0, -1
        return scan_back(fd, end, count)
    finally:
        os.close(fd)


class TailStart:
    """The start chooser of a ``tail_lines`` request (see :data:`outrider.stream.logs.StartChooser`).

    With a ``before`` cursor the lines counted are those before it, and
    :attr:`stop` is then where the output must end: the cursor's file as listed
    and the offset there.
    """

    def __init__(self, lines: int, before: Cursor | None = None) -> None:
        self.lines = lines
        self.before = before
        self.stop: tuple[LogFile, int] | None = None

    def __call__(self, dir_fd: int, files: Sequence[LogFile]) -> tuple[int, int]:
        """Raises LogQueryError when the cursor names no listed file or lies past its end."""
        end = None
        before = self.before
        if before is not None:
            pos = next((i for i, f in enumerate(files) if f.rel == before.file), -1)
            if pos < 0:
                raise LogQueryError(f"before names no log file of this task and type: {quote(before.file)}")
            size = files[pos].size
            if before.offset > size:
                raise LogQueryError(
                    f"before offset {before.offset} is past the end of {quote(before.file)} ({size} bytes)"
                )
            end = (pos, before.offset)
            self.stop = (files[pos], before.offset)
        return tail_start(dir_fd, files, self.lines, end)
