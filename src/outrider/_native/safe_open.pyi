"""Open a path beneath the alloc dir, check and open in one step (compiled; twin of ``outrider.fs.safe_open_py``).

The fast path is ``openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)`` with the
GIL released: plain names are tried with ``RESOLVE_NO_SYMLINKS`` first (the path
is then its own answer), otherwise the resolved path is read back from
``/proc/self/fd``. Absolute symlinks, magic links, kernels without ``openat2``
and similar refusals are settled by a component walk (``openat(O_PATH |
O_NOFOLLOW)`` plus ``readlinkat``), which is the authority on escapes.
"""

MAX_SYMLINKS: int
PATH_MAX: int

def openat2_available() -> bool:
    """True when the kernel accepts ``openat2(2)``; probed on first use, then remembered."""

def open_beneath(root_fd: int, root_real: str, rel: str, flags: int = 0) -> tuple[int, str]:
    """Open ``rel`` beneath the directory ``root_fd``; return ``(fd, resolved_rel)``.

    ``root_real`` is the realpath of ``root_fd``; ``rel`` is a lexically clean
    alloc-relative path (``""`` is the root). Symlinks stay allowed while they
    stay inside: relative targets never climbing above the root, absolute
    targets equal to ``root_real`` or below ``root_real + "/"``. The fd is opened
    with ``flags | O_CLOEXEC``; ``resolved_rel`` is the final object's path below
    the root with all symlinks resolved.

    Raises ``PathEscapesError`` on an escape, ``ValueError`` for a NUL byte or for
    ``O_CREAT``/``O_TMPFILE``/``O_NOFOLLOW``, otherwise the ``OSError`` subclass of
    the failure with ``filename`` set to ``rel``. Never leaks an fd.
    """

def open_beneath_walk(root_fd: int, root_real: str, rel: str, flags: int = 0) -> tuple[int, str]:
    """:func:`open_beneath` that skips ``openat2`` and always walks component by component."""
