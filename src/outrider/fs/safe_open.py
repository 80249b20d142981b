"""Open files beneath an allocation directory without a check-then-open race (``helper/escapingfs``).

Exports the active ``open_beneath`` (native when built, unless ``OUTRIDER_PURE=1``),
``IMPLEMENTATIONS`` and :func:`is_secret_path`, shared by both twins.
"""

from __future__ import annotations

import os

from outrider import _impl
from outrider.fs import safe_open_py
from outrider.fs.errors import PathEscapesError

_active, IMPLEMENTATIONS = _impl.select("safe_open", safe_open_py)

_TASK_PRIVATE_DIRS = {"secrets": "secret", "private": "private"}


def open_beneath(root_fd: int, root_real: str, rel: str, flags: int = os.O_RDONLY) -> tuple[int, str]:
    """Open ``rel`` beneath the directory ``root_fd``; return ``(fd, resolved_rel)``.

    ``root_fd`` is a directory fd of the allocation dir (``O_PATH`` is enough) and
    ``root_real`` its realpath. ``rel`` is already lexically cleaned by the caller
    (``""`` is the root, no ``.``/``..`` components, no leading ``/``); it may hold
    surrogate-escaped bytes. Symlinks are followed, the final one included, as
    long as they stay inside the root: relative targets may use ``..`` without
    climbing above it, absolute targets must equal ``root_real`` or start with
    ``root_real + "/"``.

    The returned fd is opened with ``flags | O_CLOEXEC`` (pass ``O_NONBLOCK`` when
    the object may be a FIFO, or ``O_PATH`` to only inspect it); ``resolved_rel`` is
    the final object's path below the root with every symlink resolved (``""``
    for the root). ``O_CREAT``, ``O_TMPFILE`` and ``O_NOFOLLOW`` raise ``ValueError``.

    Raises :class:`PathEscapesError` when the path leaves the root,
    ``ValueError`` for a NUL byte, otherwise the usual ``OSError`` subclass
    (``FileNotFoundError``, ``NotADirectoryError``, ``ELOOP`` after 40 links...)
    whose ``filename`` is ``rel``, never a host path. No fd leaks on any error.
    """
    result: tuple[int, str] = _active.open_beneath(root_fd, root_real, rel, flags)
    return result


def is_secret_path(resolved_rel: str) -> str | None:
    """``"secret"`` or ``"private"`` when ``resolved_rel`` lies in a task's ``secrets/`` or ``private/``.

    Checks the *resolved* path with component boundaries and exact case, so a
    symlink elsewhere that leads into another task's secrets is caught while
    ``web/secretsX`` is not (Nomad's ``ReadAt`` checks a case-insensitive prefix). The shared ``alloc/`` dir
    is not a task.
    """
    parts = [p for p in resolved_rel.split("/") if p and p != "."]
    if len(parts) < 2 or parts[0] == "alloc":
        return None
    return _TASK_PRIVATE_DIRS.get(parts[1])


__all__ = ["IMPLEMENTATIONS", "PathEscapesError", "is_secret_path", "open_beneath"]
