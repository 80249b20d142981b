"""Reading the growing end of an open file, pure-Python reference (twin of ``outrider._native.tail``).

The reader owns an open file and an ``O_PATH`` descriptor of the directory it
was found in. It reads forward from its own offset into one reused buffer, and
on every wake-up :meth:`TailReader.check` compares the file with that offset and
the name with the inode, so truncation, replacement and deletion are told apart
without racing a poll interval. Nomad's follower (``client/fs_endpoint.go``
``streamFile``, through the polling watcher of ``hpcloud/tail``) compares sizes
only, so a file truncated and written past the old offset between two polls
looks like one that grew, and the new bytes before that offset are lost.

To see that case too, the reader remembers the last :data:`FINGERPRINT_SIZE`
bytes before its offset and reads them again (one short ``pread``) on every
check: bytes that changed mean the file was rewritten from an earlier point,
which is reported as a truncation. A rewrite that puts back exactly the same
bytes just before the offset cannot be told from an append, and needs none:
the bytes the reader goes on with follow the ones it already delivered.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Literal

CheckResult = Literal["ok", "truncated", "replaced", "deleted"]

DEFAULT_CHUNK_SIZE = 65536

FINGERPRINT_SIZE = 32
"""How many bytes just before the offset a reader remembers (and reads again on each check)."""


class TailReader:
    """Follow one open file from ``offset``.

    Args:
        fd: a readable descriptor of the file; owned by the reader from now on.
        parent_fd: an ``O_PATH`` descriptor of the directory holding the file
            (after symlinks were resolved); owned by the reader from now on.
        name: the file's name inside ``parent_fd``.
        offset: where reading starts; it may lie past the end of the file, in
            which case reads return nothing until the file grows past it.
        chunk_size: size of the reused read buffer, the most one :meth:`read` returns.
        buffer: read into this bytearray instead of allocating ``chunk_size`` bytes.
            Readers that consume each read before the next may share one buffer.
        release: called with each descriptor when the reader closes, instead of
            closing it (descriptors shared with other readers).
    """

    def __init__(
        self,
        fd: int,
        parent_fd: int,
        name: str | bytes,
        offset: int,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        buffer: bytearray | None = None,
        release: Callable[[int], None] | None = None,
    ) -> None:
        if offset < 0:
            raise ValueError(f"negative offset {offset}")
        if buffer is None:
            if chunk_size < 1:
                raise ValueError(f"chunk size must be positive, got {chunk_size}")
            buffer = bytearray(chunk_size)
        elif not buffer:
            raise ValueError("the read buffer must not be empty")
        st = os.fstat(fd)
        self._fd = fd
        self._parent_fd = parent_fd
        self._name = os.fsencode(name)
        self._identity = (st.st_dev, st.st_ino)
        self._last_size = st.st_size
        self._offset = offset
        self._eof = False
        self._closed = False
        self._release = os.close if release is None else release
        self._buf = buffer
        self._view = memoryview(buffer)
        # Always the len(_fingerprint) bytes just before _offset; empty when unknown.
        self._fingerprint = self._read_fingerprint(st.st_size)

    @property
    def fd(self) -> int:
        """The file's descriptor."""
        return self._fd

    @property
    def parent_fd(self) -> int:
        """The ``O_PATH`` descriptor of the directory the file was found in."""
        return self._parent_fd

    @property
    def offset(self) -> int:
        """The file offset of the next byte to read."""
        return self._offset

    @property
    def eof(self) -> bool:
        """True when the last :meth:`read` stopped at the end of the file."""
        return self._eof

    @property
    def identity(self) -> tuple[int, int]:
        """``(st_dev, st_ino)`` of the open file."""
        return self._identity

    @property
    def chunk_size(self) -> int:
        """Capacity of the read buffer."""
        return len(self._buf)

    @property
    def fingerprint(self) -> bytes:
        """The last bytes read before :attr:`offset` (at most :data:`FINGERPRINT_SIZE`; empty when unknown)."""
        return self._fingerprint

    def read(self, budget: int = -1) -> memoryview:
        """Read up to ``budget`` bytes (all the buffer holds when negative) and advance the offset.

        The returned view aliases the reader's buffer: it is valid until the next
        call. Fewer bytes than asked for means the end of the file was reached.
        """
        self._check_open()
        want = len(self._buf) if budget < 0 else min(budget, len(self._buf))
        got = 0
        while got < want:
            n = os.preadv(self._fd, [self._view[got:want]], self._offset + got)
            if n == 0:
                break
            got += n
        self._eof = got < want
        self._offset += got
        if got >= FINGERPRINT_SIZE:
            self._fingerprint = bytes(self._view[got - FINGERPRINT_SIZE : got])
        elif got:
            self._fingerprint = (self._fingerprint + self._view[:got])[-FINGERPRINT_SIZE:]
        return self._view[:got]

    def check(self) -> CheckResult:
        """Compare the open file and its name with what was read so far.

        Returns:
            ``"deleted"`` when the name no longer exists; ``"replaced"`` when it
            names another file (the caller reopens it and starts over from 0);
            ``"truncated"`` when the file became shorter than the offset already
            read (or, for a reader started past the end, than the size last seen),
            or when the bytes just before the offset are no longer those read
            there (the file was truncated and written past the offset again);
            ``"ok"`` otherwise.

        Raises:
            OSError: the file or its directory cannot be examined (e.g. the
                directory lost its search permission).
        """
        self._check_open()
        st = os.fstat(self._fd)
        try:
            named = os.stat(self._name, dir_fd=self._parent_fd, follow_symlinks=False)
        except FileNotFoundError:
            return "deleted"
        if (named.st_dev, named.st_ino) != self._identity:
            return "replaced"
        expected = min(self._offset, self._last_size)
        self._last_size = st.st_size
        if st.st_size < expected:
            return "truncated"
        fingerprint = self._fingerprint
        if fingerprint:
            if st.st_size < self._offset:
                return "truncated"
            if os.pread(self._fd, len(fingerprint), self._offset - len(fingerprint)) != fingerprint:
                return "truncated"
        return "ok"

    def skip(self, offset: int, fingerprint: bytes | None = None) -> None:
        """Move forward to ``offset`` without reading: another reader of this file read those bytes.

        The file is known to have held ``offset`` bytes, which later truncation
        checks rely on. ``fingerprint`` is that reader's :attr:`fingerprint` at
        ``offset``; without it the bytes before ``offset`` are read again here.
        """
        self._check_open()
        if offset < self._offset:
            raise ValueError(f"cannot skip backwards from {self._offset} to {offset}")
        if fingerprint is not None:
            if not isinstance(fingerprint, bytes):
                raise TypeError(f"the fingerprint must be bytes, not {type(fingerprint).__name__}")
            if len(fingerprint) > min(offset, FINGERPRINT_SIZE):
                raise ValueError(f"a fingerprint of {len(fingerprint)} bytes cannot end at offset {offset}")
        self._offset = offset
        self._last_size = max(self._last_size, offset)
        if fingerprint is None:
            self._fingerprint = self._read_fingerprint(os.fstat(self._fd).st_size)
        else:
            self._fingerprint = fingerprint

    def rewind(self, offset: int = 0) -> None:
        """Continue reading from ``offset`` (0 after a truncation)."""
        if offset < 0:
            raise ValueError(f"negative offset {offset}")
        self._check_open()
        self._offset = offset
        self._last_size = os.fstat(self._fd).st_size
        self._eof = False
        self._fingerprint = self._read_fingerprint(self._last_size)

    def _read_fingerprint(self, size: int) -> bytes:
        """The bytes just before the offset, read now; empty at 0 or past ``size`` (the end of the file)."""
        if self._offset == 0 or self._offset > size:
            return b""
        want = min(self._offset, FINGERPRINT_SIZE)
        got = os.pread(self._fd, want, self._offset - want)
        # A file that shrank since ``size`` was taken gives a short read: nothing is known.
        return got if len(got) == want else b""

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError("I/O operation on a closed TailReader")

    def close(self) -> None:
        """Close (or release) both descriptors; later calls do nothing."""
        if self._closed:
            return
        self._closed = True
        try:
            self._release(self._fd)
        finally:
            self._release(self._parent_fd)

    def __enter__(self) -> TailReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
