"""Where a logs request with line options starts and ends, in one task's files of one type.

Combines ``tail_lines`` and ``before`` (:class:`~outrider.stream.tail_lines.TailStart`)
with ``since``/``until``:

- with capture times (Outrider's own tasks), ``since`` starts at the line holding
  the first write captured at or after it (earlier lines are then dropped one by
  one by their time) and ``until`` is applied per line by the reader;
- without them (external allocations: Nomad's files), the window is bounded by
  file modification times, whole files at a time: a file last modified before
  ``since`` is skipped, and a file whose predecessor was last modified after
  ``until`` (so all of it was written later) is not read.

The later of the start points and the earlier of the stops win.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from outrider.fs.logfiles import LogFile
from outrider.stream.capture_times import CaptureTimes
from outrider.stream.logquery import LogQuery
from outrider.stream.tail_lines import TailStart, tail_start


class LogWindow:
    """A start chooser (:data:`outrider.stream.logs.StartChooser`); :attr:`stop` is where output ends."""

    def __init__(self, query: LogQuery, times: CaptureTimes | None) -> None:
        self._tail = None if query.tail_lines is None else TailStart(query.tail_lines, query.before)
        self._since = query.since
        self._until = query.until
        self._times = times
        self.stop: tuple[LogFile, int] | None = None
        self.log_end: tuple[LogFile, int] | None = None
        """Where the log ended when the request began (the newest file as listed, and its size)."""

    def __call__(self, dir_fd: int, files: Sequence[LogFile]) -> tuple[int, int]:
        self.log_end = (files[-1], files[-1].size)
        starts: list[tuple[int, int]] = []
        stops: list[tuple[LogFile, int]] = []
        if self._tail is not None:
            starts.append(self._tail(dir_fd, files))
            if self._tail.stop is not None:
                stops.append(self._tail.stop)
        if self._since is not None:
            starts.append(self._since_start(dir_fd, files, self._since))
        if self._until is not None and self._times is None:
            stop = _until_by_mtime(dir_fd, files, self._until)
            if stop is not None:
                stops.append(stop)
        self.stop = min(stops) if stops else None
        return max(starts) if starts else (0, 0)

    def _since_start(self, dir_fd: int, files: Sequence[LogFile], since: int) -> tuple[int, int]:
        times = self._times
        if times is None:
            for i, file in enumerate(files):
                if _mtime(dir_fd, file) >= since:
                    return i, 0
            return len(files) - 1, files[-1].size
        # The newest file whose first write came before ``since`` holds the window's start.
        pos = 0
        for i in range(len(files) - 1, -1, -1):
            first = times.time_of(files[i], 0)
            if first is None or first < since:
                pos = i
                break
        offset = times.first_at_or_after(files[pos], since)
        if offset is None:
            offset = files[pos].size
        # Start at the beginning of the line holding that write.
        return tail_start(dir_fd, files, 1, (pos, offset)) if offset > 0 else (pos, 0)


def _mtime(dir_fd: int, file: LogFile) -> int:
    try:
        return os.stat(file.name, dir_fd=dir_fd, follow_symlinks=False).st_mtime_ns
    except OSError:
        return 0  # gone since the listing: nothing of the window in it


def _until_by_mtime(dir_fd: int, files: Sequence[LogFile], until: int) -> tuple[LogFile, int] | None:
    for i in range(1, len(files)):
        if _mtime(dir_fd, files[i - 1]) > until:
            return files[i], 0
    return None
