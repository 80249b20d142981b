"""Task log file names: ``<task>.<type>.<N>`` in ``alloc/logs``, built, parsed and listed in one place.

The rotator writes these names (``client/logmon/logging/rotator.go``) and the
logs endpoint reads them back (``client/fs_endpoint.go`` ``logIndexes``); both
parse the index with Go's ``strconv.Atoi``, so a sign is allowed and
``web.stdout.+1`` is index 1. A name with the task and type prefix but no
integer index (``web.stdout.gz``) is not a log file.

Listings go through :mod:`outrider.fs.listing` (native, with its pure twin):
one call names every entry with its ``lstat``, so only regular files are ever
taken for log files, never a symlink, FIFO or directory planted in their place.
"""

from __future__ import annotations

import errno
import os
import stat as stat_mod
from collections.abc import Iterable
from dataclasses import dataclass, field

from outrider.fs.listing import Entry, list_dir
from outrider.gostrconv import GoNumError, parse_atoi

LOG_DIR = "alloc/logs"
"""The directory of every task's logs, relative to the allocation directory."""

LOG_TYPES = ("stdout", "stderr")
"""The log types a task writes, in the order its descriptors 1 and 2 are set up."""


@dataclass(frozen=True, order=True)
class LogFile:
    """One rotated file as listed: ordered by index, then name (``web.stdout.1`` and ``.01`` may both exist)."""

    index: int
    name: str
    size: int = field(compare=False)

    @property
    def rel(self) -> str:
        """The file's path relative to the allocation directory, as frames and errors name it."""
        return f"{LOG_DIR}/{self.name}"


def log_name(task: str, log_type: str, index: int) -> str:
    """The file name of a task's log of one type with index ``index``: ``<task>.<type>.<index>``."""
    return f"{task}.{log_type}.{index}"


def parse_index(suffix: str) -> int | None:
    """The index of a file named ``<task>.<type>.<suffix>``: Go ``Atoi`` (a sign is allowed), else None."""
    try:
        return parse_atoi(suffix)
    except GoNumError:
        return None


def log_files(entries: Iterable[Entry], task: str, log_type: str) -> list[LogFile]:
    """The task's regular files of one type among listing ``entries``, sorted; names without an index are skipped."""
    prefix = f"{task}.{log_type}."
    files = []
    for name, mode, size, _mtime in entries:
        if name.startswith(prefix) and stat_mod.S_ISREG(mode):
            index = parse_index(name[len(prefix) :])
            if index is not None:
                files.append(LogFile(index, name, size))
    files.sort()
    return files


def list_log_files(dir_fd: int, task: str, log_type: str) -> list[LogFile]:
    """The task's log files of one type in the log directory open (readable) at ``dir_fd``, sorted by index.

    Raises OSError when the directory cannot be read or was removed.
    """
    return log_files(_list_log_dir(dir_fd), task, log_type)


def has_log_files(dir_fd: int, task: str) -> bool:
    """True when the directory open at ``dir_fd`` holds a log file of ``task`` of any type.

    Raises OSError when the directory cannot be read or was removed.
    """
    entries = _list_log_dir(dir_fd)
    return any(log_files(entries, task, log_type) for log_type in LOG_TYPES)


def _list_log_dir(dir_fd: int) -> list[Entry]:
    entries = list_dir(dir_fd)
    if os.fstat(dir_fd).st_nlink == 0:
        # A removed directory lists as empty through an open descriptor; Nomad, listing by
        # path, fails to open it (the allocation was garbage collected).
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT))
    return entries
