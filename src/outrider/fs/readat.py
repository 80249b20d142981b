"""Positional reads for ``cat``, ``readat`` and ``stream`` (``client/allocdir/alloc_dir.go`` ``ReadAt``).

Exports the active implementation (native when built, unless ``OUTRIDER_PURE=1``)
and ``IMPLEMENTATIONS``, the map of every importable twin.

- ``ChunkReader(fd, chunk_size=65536)``: ``read(offset, max_bytes=-1) -> memoryview``
  does one ``pread`` into a buffer reused across calls (the view is valid until the
  next read; empty at EOF); ``read_bytes(offset, size) -> bytes`` loops on short reads.
- ``pread_full(fd, size, offset) -> bytes``: the same loop as a function.
- ``pread_cached(fd, size, offset) -> bytes``: only what the page cache holds now
  (``preadv2`` with ``RWF_NOWAIT``), a prefix of the range, possibly empty.

Negative offsets raise ``OSError(EINVAL)``; ``EINTR`` is retried; the native twin
releases the GIL around ``pread``.
"""

from __future__ import annotations

from outrider import _impl
from outrider.fs import readat_py

_active, IMPLEMENTATIONS = _impl.select("readat", readat_py)

ChunkReader: type[readat_py.ChunkReader] = _active.ChunkReader
pread_full = _active.pread_full
pread_cached = _active.pread_cached
DEFAULT_CHUNK_SIZE: int = readat_py.DEFAULT_CHUNK_SIZE

__all__ = ["DEFAULT_CHUNK_SIZE", "IMPLEMENTATIONS", "ChunkReader", "pread_cached", "pread_full"]
