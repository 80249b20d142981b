"""Positional reads that never move a file offset (compiled; twin of ``outrider.fs.readat_py``).

``pread`` runs with the GIL released and ``EINTR`` is retried after giving
signal handlers a chance to raise (PEP 475).
"""

DEFAULT_CHUNK_SIZE: int

def pread_full(fd: int, size: int, offset: int) -> bytes:
    """Read ``size`` bytes at ``offset``, looping on short reads; fewer only at end of file.

    Allocates ``size`` bytes up front, so callers bound it (one chunk of a
    response). Negative ``offset`` raises ``OSError(EINVAL)``; negative ``size``
    raises ``ValueError``.
    """

def pread_cached(fd: int, size: int, offset: int) -> bytes:
    """What the page cache holds now of ``size`` bytes at ``offset``: a prefix, possibly empty.

    ``preadv2`` with ``RWF_NOWAIT``: never waits for the disk. Raises
    ``OSError(EOPNOTSUPP)`` where the file system cannot tell.
    """

class ChunkReader:
    """Positional reads of one descriptor into a single reused buffer.

    The reader neither owns nor closes ``fd``. Not thread-safe: one reader per stream.
    """

    @property
    def fd(self) -> int:
        """The descriptor read from (not owned)."""

    @property
    def chunk_size(self) -> int:
        """Size of the internal buffer: the most one :meth:`read` returns."""

    def __init__(self, fd: int, chunk_size: int = 65536) -> None:
        """``chunk_size <= 0`` raises ``ValueError``."""

    def read(self, offset: int, max_bytes: int = -1) -> memoryview:
        """One ``pread`` of up to ``min(chunk_size, max_bytes)`` bytes at ``offset``.

        ``max_bytes < 0`` means ``chunk_size``. Returns a read-only view of the
        internal buffer, empty at end of file. The view is only valid until the
        next call, which overwrites it: copy it with ``bytes(view)`` to keep it.
        Negative ``offset`` raises ``OSError(EINVAL)``.
        """

    def read_bytes(self, offset: int, size: int) -> bytes:
        """Read up to ``size`` bytes at ``offset`` into a new ``bytes`` (see :func:`pread_full`)."""
