"""Linux inotify (compiled twin of ``outrider.stream.inotify_py``)."""

from outrider.stream.inotify_py import Event

IN_MODIFY: int
IN_ATTRIB: int
IN_CLOSE_WRITE: int
IN_MOVED_FROM: int
IN_MOVED_TO: int
IN_CREATE: int
IN_DELETE: int
IN_DELETE_SELF: int
IN_MOVE_SELF: int
IN_UNMOUNT: int
IN_Q_OVERFLOW: int
IN_IGNORED: int
IN_ONLYDIR: int
IN_DONT_FOLLOW: int
IN_EXCL_UNLINK: int
IN_MASK_ADD: int
IN_ISDIR: int
IN_NONBLOCK: int
IN_CLOEXEC: int
READ_SIZE: int
"""Bytes read from the inotify descriptor at once."""

def init() -> int:
    """Create a non-blocking, close-on-exec inotify instance and return its descriptor.

    Raises OSError (e.g. EMFILE when ``fs.inotify.max_user_instances`` is reached).
    """

def add_watch(ifd: int, path: str | bytes, mask: int) -> int:
    """Watch ``path`` for the events in ``mask``; return the watch descriptor.

    The same inode always yields the same watch descriptor. Raises OSError
    (ENOSPC when ``fs.inotify.max_user_watches`` is reached).
    """

def rm_watch(ifd: int, wd: int) -> None:
    """Remove a watch; the kernel then queues an ``IN_IGNORED`` event for it. Raises OSError."""

def parse_events(data: bytes | bytearray | memoryview) -> list[Event]:
    """Split raw ``struct inotify_event`` records into ``(wd, mask, name)`` tuples.

    ``name`` stops at its first NUL and is empty for events about the watched
    object itself. Raises ValueError when the records are cut short.
    """

def read_events(ifd: int) -> list[Event]:
    """Read and parse every pending event; an empty list when none are queued. Raises OSError."""
