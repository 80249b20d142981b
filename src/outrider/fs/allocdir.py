"""The allocation directory: its layout and safe access beneath it (``client/allocdir/alloc_dir.go``).

Every path a request names goes through :func:`clean_rel` (lexical) and then
``open_beneath`` (the resolution and the open are one step), so no check can be
raced by a task that swaps a symlink. Errors carry the alloc-relative path, never the host path
(Nomad's messages include it).
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat as stat_mod
from collections.abc import Iterator

from outrider.allocs import Allocation
from outrider.fs.errors import PathEscapesError
from outrider.fs.logfiles import LOG_DIR
from outrider.fs.safe_open import is_secret_path, open_beneath

SHARED_ALLOC_DIR = "alloc"
TASK_DIRS = ("local", "secrets", "private", "tmp")


class InvalidPathError(ValueError):
    """A path that no file system accepts (a NUL byte); a 400 for the client."""


class NotRegularFileError(OSError):
    """A read of something other than a regular file (a directory, FIFO, device...)."""

    def __init__(self, user_path: str, is_dir: bool) -> None:
        from outrider.gostrconv import quote

        kind = "a directory" if is_dir else "not a regular file"
        super().__init__(errno.EISDIR if is_dir else errno.EINVAL, f"file {quote(user_path)} is {kind}")


class SecretPathError(PermissionError):
    """A read that resolves into a task's ``secrets/`` or ``private/`` directory."""

    def __init__(self, kind: str, user_path: str) -> None:
        super().__init__(f"Reading {kind} file prohibited: {user_path}")


def clean_rel(path: str) -> str:
    """Lexically clean ``path`` relative to the alloc dir, the way Go's ``filepath.Join`` + ``Clean`` do.

    A leading ``/`` is not absolute (``/alloc/logs`` is ``<allocDir>/alloc/logs``).
    Climbing above the root raises :class:`PathEscapesError`; a name that merely
    starts with ``..`` (``..foo``) is a legal name (Nomad's ``PathEscapesAllocViaRelative`` rejects it).
    """
    if "\x00" in path:
        raise InvalidPathError("invalid path: contains a NUL byte")
    parts: list[str] = []
    for comp in path.split("/"):
        if comp in ("", "."):
            continue
        if comp == "..":
            if not parts:
                raise PathEscapesError()
            parts.pop()
        else:
            parts.append(comp)
    return "/".join(parts)


def display(rel: str) -> str:
    """How a cleaned alloc-relative path appears in error messages."""
    return rel or "/"


def go_strerror(err: int) -> str:
    """The OS error text as Go prints it (lower-case first letter)."""
    text = os.strerror(err)
    return text[:1].lower() + text[1:]


def os_error_text(op: str, rel: str, exc: OSError) -> str:
    """``"<op> <path>: <error>"`` with the alloc-relative path, as Go's ``*PathError`` prints."""
    if isinstance(exc, PathEscapesError | SecretPathError):
        return str(exc)
    if exc.errno is None:
        return f"{op} {display(rel)}: {exc}"
    return f"{op} {display(rel)}: {go_strerror(exc.errno)}"


@contextlib.contextmanager
def open_in_alloc(alloc: Allocation, rel: str, flags: int = os.O_PATH) -> Iterator[tuple[int, str]]:
    """Open ``rel`` (already cleaned) beneath the allocation dir; yield ``(fd, resolved_rel)``.

    The fd is closed when the block exits, whatever happens inside it.
    """
    fd, resolved = open_fd_in_alloc(alloc, rel, flags)
    try:
        yield fd, resolved
    finally:
        os.close(fd)


def open_fd_in_alloc(alloc: Allocation, rel: str, flags: int = os.O_PATH) -> tuple[int, str]:
    """:func:`open_in_alloc` without the context manager: the caller must close the fd."""
    root_fd = alloc.root_fd()
    if root_fd is not None:
        return open_beneath(root_fd, alloc.root_real(), rel, flags)
    # A retired allocation (collected, or dropped from the external cache while a
    # stream still holds it) keeps no descriptor: open its directory for this call.
    root_fd = os.open(alloc.path, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        return open_beneath(root_fd, alloc.root_real(), rel, flags)
    finally:
        os.close(root_fd)


@contextlib.contextmanager
def open_regular(alloc: Allocation, user_path: str, rel: str) -> Iterator[tuple[int, os.stat_result, str]]:
    """Open a regular file that may be read; yield ``(path_fd, stat, resolved_rel)``.

    The reference's order of complaints (``client/fs_endpoint.go`` ``stream``): a directory, then a secret,
    then anything else that is not a regular file (FIFOs would block a reader,
    devices have side effects). Raises :class:`NotRegularFileError`,
    :class:`SecretPathError` or the open's ``OSError``.
    """
    with open_in_alloc(alloc, rel) as (path_fd, resolved):
        st = os.fstat(path_fd)
        if stat_mod.S_ISDIR(st.st_mode):
            raise NotRegularFileError(user_path, is_dir=True)
        check_readable(user_path, resolved)
        if not stat_mod.S_ISREG(st.st_mode):
            raise NotRegularFileError(user_path, is_dir=False)
        yield path_fd, st, resolved


def reopen_for_read(path_fd: int) -> int:
    """Turn an ``O_PATH`` fd of a regular file into a readable fd of the very same file.

    Going through the descriptor's magic link re-opens the inode we already
    checked, so nothing can be swapped in between.
    """
    try:
        return os.open(f"/proc/self/fd/{path_fd}", os.O_RDONLY | os.O_CLOEXEC | os.O_NOCTTY | os.O_NONBLOCK)
    except FileNotFoundError:
        # /proc is not mounted: the fd is still the checked object, and O_PATH fds
        # cannot be read, so fail clearly instead of reopening by name.
        raise OSError(errno.ENOSYS, "reading needs /proc mounted to reopen checked files") from None


def open_log_dir(alloc: Allocation) -> int:
    """A readable descriptor of the allocation's ``alloc/logs``, resolved beneath the allocation; the caller's.

    Raises OSError; a log directory redirected into a task's secrets is refused
    (:class:`SecretPathError`).
    """
    fd, resolved = open_fd_in_alloc(alloc, LOG_DIR, os.O_RDONLY | os.O_DIRECTORY)
    try:
        check_readable(LOG_DIR, resolved)
    except BaseException:
        os.close(fd)
        raise
    return fd


def check_readable(user_path: str, resolved_rel: str) -> None:
    """Refuse reads that resolve into a task's secrets or private dir (Nomad's ``AllocDir.ReadAt``)."""
    kind = is_secret_path(resolved_rel)
    if kind is not None:
        raise SecretPathError(kind, user_path)


def build_alloc_dir(alloc_dir: str, alloc_id: str, tasks: list[str]) -> str:
    """Create Nomad's alloc-dir layout (``AllocDir.Build``) and return the allocation's directory."""
    root = os.path.join(alloc_dir, alloc_id)
    os.makedirs(root, mode=0o755, exist_ok=True)
    shared = os.path.join(root, SHARED_ALLOC_DIR)
    os.makedirs(shared, mode=0o755, exist_ok=True)
    for sub in ("logs", "tmp", "data"):
        path = os.path.join(shared, sub)
        os.makedirs(path, exist_ok=True)
        os.chmod(path, 0o777)
    for task in tasks:
        task_dir = os.path.join(root, task)
        os.makedirs(task_dir, exist_ok=True)
        os.chmod(task_dir, 0o777)
        for sub in TASK_DIRS:
            path = os.path.join(task_dir, sub)
            os.makedirs(path, exist_ok=True)
            os.chmod(path, 0o1777 if sub == "tmp" else 0o777)
    return root
