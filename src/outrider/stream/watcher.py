"""One agent-wide watcher that wakes every stream following a file or directory.

The reference polls each followed file every 250 ms from its own goroutine
(``client/allocdir/alloc_dir.go`` ``ChangeEvents``). Here a single inotify instance, read on the
event loop, holds one watch per watched object, and every subscriber of that
object gets a cheap synchronous wake-up callback (no event queue). Where inotify
is unavailable a single agent-wide timer stats every watched object instead.

The backend (``mode``) is ``"inotify"``, ``"poll"`` or ``"auto"``: inotify when
the kernel offers it, polling otherwise. The agent passes its resolved
``client.watcher`` and ``client.poll_interval`` settings (:mod:`outrider.config`).

Even with inotify, a watch the kernel refuses (the ``max_user_watches`` limit,
no read permission) is polled instead, and an event-queue overflow wakes
everyone.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from typing import Literal

from outrider.config import WATCHERS
from outrider.stream import inotify

log = logging.getLogger("outrider.stream.watcher")

WatchKind = Literal["file", "dir"]
Mode = Literal["inotify", "poll"]

DEFAULT_POLL_INTERVAL = 0.25
"""Seconds between stats of polled objects (the reference's change-poll interval)."""

# A followed file: appends and truncation (MODIFY), unlink or rename-over (ATTRIB: the
# link count changes), rename away (MOVE_SELF). A directory: names appearing and going.
FILE_MASK = inotify.IN_MODIFY | inotify.IN_ATTRIB | inotify.IN_MOVE_SELF | inotify.IN_DELETE_SELF
DIR_MASK = (
    inotify.IN_CREATE
    | inotify.IN_MOVED_TO
    | inotify.IN_MOVED_FROM
    | inotify.IN_DELETE
    | inotify.IN_DELETE_SELF
    | inotify.IN_MOVE_SELF
)
_MASKS: dict[WatchKind, int] = {"file": FILE_MASK, "dir": DIR_MASK}


def _signature(st: os.stat_result) -> tuple[int, int, int, int]:
    # ctime moves on rename and on every link-count change, so it covers what
    # inotify's ATTRIB/MOVE_SELF report; size and mtime cover writes and truncation.
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_nlink)


class _Entry:
    """One watched object and everyone subscribed to it."""

    __slots__ = ("callbacks", "dead", "key", "poll_fd", "signature", "wd")

    def __init__(self, key: object, wd: int = -1, poll_fd: int = -1) -> None:
        self.key = key
        self.wd = wd
        self.poll_fd = poll_fd
        self.signature: tuple[int, int, int, int] | None = None
        self.callbacks: list[Callable[[], None]] = []
        self.dead = False


class Watch:
    """A subscription returned by :meth:`Watcher.watch`; :meth:`close` it when done."""

    __slots__ = ("_callback", "_entry", "_watcher")

    def __init__(self, watcher: Watcher, entry: _Entry, callback: Callable[[], None]) -> None:
        self._watcher: Watcher | None = watcher
        self._entry = entry
        self._callback = callback

    def close(self) -> None:
        """Stop the wake-ups; the last subscriber of an object removes its watch. Idempotent."""
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher._unsubscribe(self._entry, self._callback)


class Watcher:
    """The agent-wide file and directory watcher (see the module docstring for ``mode``).

    Also a service of the agent (``name``, :meth:`start`, :meth:`stop`), so its
    descriptor and timer live exactly as long as the server.
    """

    name = "watcher"

    def __init__(self, mode: str = "auto", poll_interval: float = DEFAULT_POLL_INTERVAL) -> None:
        if mode not in WATCHERS:
            raise ValueError(f"the watcher mode must be one of {', '.join(WATCHERS)}, got {mode!r}")
        if poll_interval <= 0:
            raise ValueError(f"the poll interval must be positive, got {poll_interval}")
        self._requested = mode
        self.poll_interval = poll_interval
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ifd = -1
        self._inotify_failed = False
        self._by_wd: dict[int, _Entry] = {}
        self._polled: dict[tuple[int, int], _Entry] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._closed = False

    # -- service -------------------------------------------------------------------------------

    async def start(self) -> None:
        self._bind()

    async def stop(self) -> None:
        self.close()

    @property
    def mode(self) -> Mode:
        """``"inotify"`` when the kernel's events drive the watcher, ``"poll"`` otherwise."""
        if self._requested == "poll" or self._inotify_failed:
            return "poll"
        return "inotify"

    def stats(self) -> dict[str, int | str]:
        """Counters for metrics: backend, watches held, polled objects and subscribers."""
        entries = [*self._by_wd.values(), *self._polled.values()]
        return {
            "mode": self.mode,
            "inotify_watches": len(self._by_wd),
            "polled": len(self._polled),
            "subscribers": sum(len(e.callbacks) for e in entries),
        }

    # -- subscribing ---------------------------------------------------------------------------

    def watch(self, fd: int, callback: Callable[[], None], kind: WatchKind = "file") -> Watch:
        """Call ``callback()`` on the event loop whenever the object open at ``fd`` may have changed.

        ``fd`` may be a regular descriptor or an ``O_PATH`` one; the watch is on
        the very object it refers to, never on a name that could be swapped. The
        callback must be cheap and must not raise: it is a wake-up, not an event.
        Wake-ups can be spurious. The caller keeps ``fd`` open until the returned
        :class:`Watch` is closed.
        """
        if self._closed:
            raise RuntimeError("the watcher is closed")
        self._bind()
        entry = None
        if self.mode == "inotify":
            entry = self._inotify_entry(fd, kind)
        if entry is None:
            entry = self._poll_entry(fd)
        entry.callbacks.append(callback)
        return Watch(self, entry, callback)

    def _bind(self) -> None:
        if self._loop is not None:
            return
        self._loop = asyncio.get_running_loop()
        if self._requested == "poll":
            return
        try:
            self._ifd = inotify.init()
        except OSError as exc:
            if self._requested == "inotify":
                raise
            self._inotify_failed = True
            log.warning(
                "inotify is unavailable (%s); polling watched files every %ss", exc, self.poll_interval
            )
            return
        self._loop.add_reader(self._ifd, self._on_events)

    def _inotify_entry(self, fd: int, kind: WatchKind) -> _Entry | None:
        try:
            wd = inotify.add_watch(self._ifd, f"/proc/self/fd/{fd}", _MASKS[kind])
        except OSError as exc:
            # ENOSPC is the max_user_watches limit; EACCES a file we may read but not watch.
            log.warning("cannot add an inotify watch (%s); polling this object instead", exc)
            return None
        entry = self._by_wd.get(wd)
        if entry is None:
            entry = self._by_wd[wd] = _Entry(wd, wd=wd)
        return entry

    def _poll_entry(self, fd: int) -> _Entry:
        st = os.fstat(fd)
        key = (st.st_dev, st.st_ino)
        entry = self._polled.get(key)
        if entry is None:
            # A private duplicate: the poller must never stat a number the caller has reused.
            entry = self._polled[key] = _Entry(key, poll_fd=os.dup(fd))
            entry.signature = _signature(st)
            self._arm_timer()
        return entry

    def _unsubscribe(self, entry: _Entry, callback: Callable[[], None]) -> None:
        try:
            entry.callbacks.remove(callback)
        except ValueError:
            return
        if entry.callbacks or entry.dead:
            return
        self._drop(entry)
        if entry.wd >= 0 and self._ifd >= 0:
            try:
                inotify.rm_watch(self._ifd, entry.wd)
            except OSError:
                pass  # the kernel already dropped it (IN_IGNORED not read yet)

    def _drop(self, entry: _Entry) -> None:
        entry.dead = True
        if entry.poll_fd >= 0:
            self._polled.pop(entry.key, None)  # type: ignore[call-overload]
            os.close(entry.poll_fd)
            entry.poll_fd = -1
        elif self._by_wd.get(entry.wd) is entry:
            del self._by_wd[entry.wd]

    # -- waking --------------------------------------------------------------------------------

    def _on_events(self) -> None:
        try:
            events = inotify.read_events(self._ifd)
        except OSError:
            log.exception("reading inotify events failed")
            return
        woken: set[int] = set()
        for wd, mask, _name in events:
            if mask & inotify.IN_Q_OVERFLOW:
                log.warning("inotify event queue overflowed; waking every follower")
                self._wake_all()
                return
            entry = self._by_wd.get(wd)
            if entry is None:
                continue
            if mask & inotify.IN_IGNORED:
                # The kernel removed the watch (object freed, file system unmounted).
                self._drop(entry)
            if wd not in woken:
                # One wake-up per object per batch: subscribers re-check everything anyway.
                woken.add(wd)
                _wake(entry)

    def _wake_all(self) -> None:
        for entry in [*self._by_wd.values(), *self._polled.values()]:
            _wake(entry)

    def _arm_timer(self) -> None:
        if self._timer is None and self._polled and self._loop is not None:
            self._timer = self._loop.call_later(self.poll_interval, self._poll_tick)

    def _poll_tick(self) -> None:
        self._timer = None
        for entry in list(self._polled.values()):
            try:
                signature = _signature(os.fstat(entry.poll_fd))
            except OSError:
                signature = None
            if signature != entry.signature:
                entry.signature = signature
                _wake(entry)
        self._arm_timer()

    # -- shutdown ------------------------------------------------------------------------------

    def close(self) -> None:
        """Release the inotify descriptor, the timer and every polled duplicate. Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for entry in list(self._polled.values()):
            self._drop(entry)
        for entry in list(self._by_wd.values()):
            entry.dead = True
        self._by_wd.clear()
        if self._ifd >= 0:
            if self._loop is not None and not self._loop.is_closed():
                self._loop.remove_reader(self._ifd)
            os.close(self._ifd)
            self._ifd = -1


def _wake(entry: _Entry) -> None:
    for callback in list(entry.callbacks):
        try:
            callback()
        except Exception:
            log.exception("a watch callback failed")
