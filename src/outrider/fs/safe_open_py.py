"""Pure-Python twin of ``outrider._native.safe_open``: open a path beneath the alloc dir.

The resolution and the open are one step (Nomad checks, then opens): the path is walked
one component at a time with ``openat(O_PATH | O_NOFOLLOW)`` relative to the
directory descriptor reached so far, and symlinks are expanded by hand, so a
task that swaps a link between two calls can never steer us outside the root.

Symlink rules (``helper/escapingfs/escapes.go``, "inside is fine"): a relative target is resolved from
the link's directory and may use ``..`` as long as it never climbs above the
root; an absolute target is accepted only when it is ``root_real`` itself or
lies below ``root_real + "/"`` (plain prefix, no normalisation), and the walk
then continues from the root. Everything else raises :class:`PathEscapesError`.
Trailing ``/`` and ``/.`` demand a directory, as in the kernel.

This walk is the authority on escapes: the native twin trusts ``openat2`` only
where the kernel and this walk agree by construction and redoes the rest here.
"""

from __future__ import annotations

import errno
import os
import stat

from outrider.fs.errors import PathEscapesError

MAX_SYMLINKS = 40  # Linux MAXSYMLINKS: the 41st link in one lookup is ELOOP
PATH_MAX = 4096  # the kernel refuses path arguments of PATH_MAX bytes or more
_SWAP_RETRIES = 8  # how often one component may change under us before EAGAIN

_PROBE = os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC
_PARENT = os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC


def oserror(err: int | None, rel: str) -> OSError:
    """The ``OSError`` subclass for ``err``, naming the user's alloc-relative path only."""
    code = errno.EIO if err is None else err  # os.* always sets errno; this only satisfies the type
    return OSError(code, os.strerror(code), rel)


def encode_rel(rel: str) -> bytes:
    """Validate ``rel`` and return its file-system bytes (surrogate escapes become raw bytes)."""
    if not isinstance(rel, str):
        raise TypeError(f"rel must be str, not {type(rel).__name__}")
    if "\x00" in rel:
        raise ValueError("embedded null byte")
    return os.fsencode(rel)


def check_flags(flags: int) -> None:
    """Refuse flags that would create files or change how the final symlink is treated."""
    if flags & (os.O_CREAT | os.O_NOFOLLOW) or (flags & os.O_TMPFILE) == os.O_TMPFILE:
        raise ValueError("open_beneath does not accept O_CREAT, O_TMPFILE or O_NOFOLLOW")


def root_prefix(root_real: str) -> bytes:
    """``root_real`` as bytes without a trailing ``/`` (``b""`` for ``/``)."""
    if not isinstance(root_real, str):
        raise TypeError(f"root_real must be str, not {type(root_real).__name__}")
    return os.fsencode(root_real).rstrip(b"/")


def open_beneath(root_fd: int, root_real: str, rel: str, flags: int = os.O_RDONLY) -> tuple[int, str]:
    """Open ``rel`` beneath the directory ``root_fd``; return ``(fd, resolved_rel)``.

    See :func:`outrider.fs.safe_open.open_beneath` for the full contract.
    """
    rel_b = encode_rel(rel)
    check_flags(flags)
    return walk(root_fd, root_prefix(root_real), rel_b, flags, rel)


def _probe(cur: int, name: bytes, rel: str) -> tuple[int, os.stat_result]:
    try:
        fd = os.open(name, _PROBE, dir_fd=cur)
    except OSError as exc:
        raise oserror(exc.errno, rel) from None
    try:
        return fd, os.fstat(fd)
    except BaseException:
        os.close(fd)
        raise


def _same(a: os.stat_result, b: os.stat_result) -> bool:
    return a.st_ino == b.st_ino and a.st_dev == b.st_dev


def _open_final(cur: int, name: bytes, flags: int, probed: os.stat_result, rel: str) -> int:
    """Open the checked final object with the caller's flags; -1 when it was swapped meanwhile."""
    try:
        fd = os.open(name, flags | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=cur)
    except OSError as exc:
        # An error might only mean the name changed since the probe (say, into a
        # symlink); look again before reporting it.
        try:
            again, st = _probe(cur, name, rel)
        except OSError:
            raise oserror(exc.errno, rel) from None
        os.close(again)
        if _same(st, probed):
            raise oserror(exc.errno, rel) from None
        return -1
    try:
        st = os.fstat(fd)
    except BaseException:
        os.close(fd)
        raise
    if not _same(st, probed):
        os.close(fd)
        return -1
    return fd


class _Walk:
    """State of one resolution: the directory reached so far and how we got there."""

    __slots__ = ("cur", "idents", "names", "rel", "root_fd")

    def __init__(self, root_fd: int, rel: str) -> None:
        self.root_fd = root_fd
        self.rel = rel
        self.cur = root_fd
        self.names: list[bytes] = []
        self.idents: list[tuple[int, int]] = []

    def release(self) -> None:
        if self.cur != self.root_fd:
            fd, self.cur = self.cur, self.root_fd
            os.close(fd)

    def to_root(self) -> None:
        self.release()
        self.names.clear()
        self.idents.clear()

    def descend(self, name: bytes, fd: int, st: os.stat_result) -> None:
        self.release()
        self.cur = fd
        self.names.append(name)
        self.idents.append((st.st_dev, st.st_ino))

    def ascend(self) -> None:
        if not self.names:
            raise PathEscapesError(self.rel)
        self.names.pop()
        self.idents.pop()
        if not self.names:
            self.release()
            return
        # ".." of the directory we stand in must be the one we came through;
        # otherwise it was moved meanwhile and depth counting would lie.
        try:
            parent = os.open(b"..", _PARENT, dir_fd=self.cur)
        except OSError as exc:
            raise oserror(exc.errno, self.rel) from None
        try:
            st = os.fstat(parent)
        except BaseException:
            os.close(parent)
            raise
        if (st.st_dev, st.st_ino) != self.idents[-1]:
            os.close(parent)
            raise oserror(errno.EAGAIN, self.rel)
        self.release()
        self.cur = parent

    def resolved(self) -> str:
        return os.fsdecode(b"/".join(self.names))


def _expand(w: _Walk, link_fd: int, prefix: bytes, pending: list[bytes]) -> None:
    target = os.readlink(b"", dir_fd=link_fd)
    if not target:
        raise oserror(errno.ENOENT, w.rel)
    if target.startswith(b"/"):
        if target != prefix and not target.startswith(prefix + b"/"):
            raise PathEscapesError(w.rel)
        w.to_root()
        target = target[len(prefix) :]
    pending.extend(reversed(target.split(b"/")))


def walk(root_fd: int, prefix: bytes, rel_b: bytes, flags: int, rel: str) -> tuple[int, str]:
    """Resolve ``rel_b`` component by component beneath ``root_fd`` and open it with ``flags``."""
    if len(rel_b) >= PATH_MAX:
        raise oserror(errno.ENAMETOOLONG, rel)
    pending = rel_b.split(b"/")
    pending.reverse()
    w = _Walk(root_fd, rel)
    links = 0
    swaps = 0
    try:
        while pending:
            name = pending.pop()
            if name in (b"", b"."):
                continue
            if name == b"..":
                w.ascend()
                continue
            fd, st = _probe(w.cur, name, rel)
            try:
                if stat.S_ISLNK(st.st_mode):
                    links += 1
                    if links > MAX_SYMLINKS:
                        raise oserror(errno.ELOOP, rel)
                    _expand(w, fd, prefix, pending)
                elif pending:
                    # Anything after this name (even a trailing "/" or ".")
                    # needs it to be a directory.
                    if not stat.S_ISDIR(st.st_mode):
                        raise oserror(errno.ENOTDIR, rel)
                    w.descend(name, fd, st)
                    fd = -1
                else:
                    final = _open_final(w.cur, name, flags, st, rel)
                    if final < 0:
                        swaps += 1
                        if swaps > _SWAP_RETRIES:
                            raise oserror(errno.EAGAIN, rel)
                        pending.append(name)
                        continue
                    w.names.append(name)
                    return final, w.resolved()
            finally:
                if fd >= 0:
                    os.close(fd)
        # The path ended on a directory we already stand in (root, "x/." or "x/..").
        try:
            final = os.open(b".", flags | os.O_CLOEXEC, dir_fd=w.cur)
        except OSError as exc:
            raise oserror(exc.errno, rel) from None
        return final, w.resolved()
    finally:
        w.release()
