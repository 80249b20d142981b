"""One open descriptor per followed object, however many streams follow it.

Every stream reader needs the file it reads and the directory it was found in
(to tell truncation, replacement and deletion apart). A thousand followers of
one log file would otherwise hold two thousand descriptors for two objects.
Readers only ever use positional reads (``pread``) and ``fstat``/``fstatat``,
which share nothing between users of one descriptor, so a descriptor of the
same object opened the same way serves them all.
"""

from __future__ import annotations

import contextlib
import fcntl
import os

# (st_dev, st_ino, open file status flags): O_PATH and readable descriptors are never mixed.
_Key = tuple[int, int, int]


class SharedDescriptors:
    """Reference-counted descriptors keyed by the object they are open on."""

    __slots__ = ("_entries", "_key_of")

    def __init__(self) -> None:
        self._entries: dict[_Key, list[int]] = {}  # key -> [fd, users]
        self._key_of: dict[int, _Key] = {}

    def share(self, fd: int) -> int:
        """Take ownership of ``fd``; return the descriptor to use instead.

        When a descriptor of the same object (same device, inode and status
        flags) is already shared, ``fd`` is closed and that one is returned;
        otherwise ``fd`` itself becomes the shared one. Give it back with
        :meth:`release`. ``fd`` is closed on error too.
        """
        try:
            st = os.fstat(fd)
            flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        except BaseException:
            with contextlib.suppress(OSError):
                os.close(fd)
            raise
        # An object that is still open cannot have its inode number reused, so a
        # live entry names exactly one object.
        key = (st.st_dev, st.st_ino, flags)
        entry = self._entries.get(key)
        if entry is None:
            self._entries[key] = [fd, 1]
            self._key_of[fd] = key
            return fd
        os.close(fd)
        entry[1] += 1
        return entry[0]

    def release(self, fd: int) -> None:
        """Give back one use of ``fd``; the last one closes it. An unshared ``fd`` is just closed."""
        key = self._key_of.get(fd)
        if key is None:
            os.close(fd)
            return
        entry = self._entries[key]
        entry[1] -= 1
        if entry[1] == 0:
            del self._entries[key]
            del self._key_of[fd]
            os.close(fd)

    def stats(self) -> dict[str, int]:
        """Descriptors held, and the uses they serve (for metrics)."""
        return {"descriptors": len(self._entries), "uses": sum(e[1] for e in self._entries.values())}

    def __len__(self) -> int:
        return len(self._entries)
