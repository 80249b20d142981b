"""Exceptions raised by the alloc-dir file-system layer."""

from __future__ import annotations

import errno

ESCAPE_MESSAGE = "Path escapes the alloc directory"


class PathEscapesError(PermissionError):
    """A path (or a symlink on it) resolves outside the allocation directory (``helper/escapingfs``).

    ``str()`` is exactly Nomad's message; ``filename`` keeps the alloc-relative
    path the user asked for, never a host path (Nomad's messages include it). ``errno`` is
    ``EXDEV``, the value Linux's ``openat2(RESOLVE_BENEATH)`` reports for an escape.
    """

    def __init__(self, path: str | None = None) -> None:
        super().__init__(errno.EXDEV, ESCAPE_MESSAGE, path)

    def __str__(self) -> str:
        return ESCAPE_MESSAGE

    def __reduce__(self) -> tuple[type[PathEscapesError], tuple[str | None]]:
        return (type(self), (self.filename,))
