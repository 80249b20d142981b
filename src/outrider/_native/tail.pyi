"""Reading the growing end of an open file (compiled twin of ``outrider.stream.tail_py``)."""

from collections.abc import Callable

from outrider.stream.tail_py import CheckResult

DEFAULT_CHUNK_SIZE: int
FINGERPRINT_SIZE: int

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

    Raises:
        ValueError: a negative ``offset``, a ``chunk_size`` below 1 or an empty ``buffer``.
        OSError: ``fd`` cannot be examined.
    """

    def __init__(
        self,
        fd: int,
        parent_fd: int,
        name: str | bytes,
        offset: int,
        chunk_size: int = ...,
        buffer: bytearray | None = None,
        release: Callable[[int], None] | None = None,
    ) -> None: ...
    @property
    def fd(self) -> int:
        """The file's descriptor."""
    @property
    def parent_fd(self) -> int:
        """The ``O_PATH`` descriptor of the directory the file was found in."""
    @property
    def offset(self) -> int:
        """The file offset of the next byte to read."""
    @property
    def eof(self) -> bool:
        """True when the last :meth:`read` stopped at the end of the file."""
    @property
    def identity(self) -> tuple[int, int]:
        """``(st_dev, st_ino)`` of the open file."""
    @property
    def chunk_size(self) -> int:
        """Capacity of the read buffer."""
    @property
    def fingerprint(self) -> bytes:
        """The last bytes read before :attr:`offset` (at most ``FINGERPRINT_SIZE``; empty when unknown)."""
    def read(self, budget: int = -1) -> memoryview:
        """Read up to ``budget`` bytes (all the buffer holds when negative) and advance the offset.

        The returned view aliases the reader's buffer and is valid until the next
        call. Fewer bytes than asked for means the end of the file was reached.
        Raises OSError on a read error and ValueError once closed.
        """
    def check(self) -> CheckResult:
        """Compare the open file and its name with what was read so far.

        Returns ``"deleted"`` when the name no longer exists, ``"replaced"`` when it
        names another file, ``"truncated"`` when the file became shorter than the
        offset already read (or, for a reader started past the end, than the size
        last seen) or when the bytes just before the offset are no longer those
        read there, else ``"ok"``. Raises OSError when the file or its directory
        cannot be examined.
        """
    def skip(self, offset: int, fingerprint: bytes | None = None) -> None:
        """Move forward to ``offset`` without reading: another reader of this file read those bytes.

        The file is known to have held ``offset`` bytes, which later truncation
        checks rely on. ``fingerprint`` is that reader's :attr:`fingerprint` at
        ``offset``; without it the bytes before ``offset`` are read again here.
        Raises ValueError when ``offset`` is behind the current one or the
        fingerprint is longer than ``FINGERPRINT_SIZE`` or ``offset``, TypeError
        when it is not bytes.
        """
    def rewind(self, offset: int = 0) -> None:
        """Continue reading from ``offset`` (0 after a truncation)."""
    def close(self) -> None:
        """Close (or release) both descriptors; later calls do nothing."""
    def __enter__(self) -> TailReader: ...
    def __exit__(self, *exc: object) -> None: ...
