"""A task's log across its rotated files: the source behind ``/v1/client/fs/logs`` (Nomad's ``logsImpl``).

The logs of task ``web`` on stdout are ``alloc/logs/web.stdout.<N>``; the
rotator appends to the highest index and moves on to the next one when it is
full. :class:`LogsSource` picks the first file and offset exactly as Nomad's
``findClosest`` does, then streams file after file through one
:class:`~outrider.stream.follower.FileFollower` at a time, each framed with
``File = alloc/logs/<name>`` and its own true end offsets.

Where Nomad differs, on purpose:

- the next rotated file is noticed through the agent's shared directory watch,
  not a stat poll plus a directory listing every 100 ms per stream;
- a name with the right prefix but no integer index (``web.stdout.gz``), and
  anything that is not a regular file, is not a log file and is ignored; Nomad
  fails the whole request;
- ``follow=false`` reads the files that existed when the request began, each to
  its end, and stops; Nomad keeps picking up files created meanwhile;
- a follow ends by itself once the task is dead for good (no restart will
  come) and every file is drained; Nomad follows a dead task forever;
- a followed file that is deleted (purged by rotation) is drained, reported once
  with ``"file deleted"`` and the stream moves on to the next index instead of
  going back to an older file.
"""

from __future__ import annotations

import asyncio
import bisect
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from outrider.fs.allocdir import os_error_text
from outrider.fs.logfiles import LOG_DIR, LogFile, list_log_files
from outrider.gostrconv import quote
from outrider.stream.follower import FileFollower
from outrider.stream.framer import json_string
from outrider.stream.log_start import find_closest, start_point
from outrider.stream.tail import TailReader
from outrider.stream.tail_open import open_tail

if TYPE_CHECKING:
    from outrider.stream.service import StreamService
    from outrider.stream.watcher import Watch

# Files started within one produce() call at most; a long run of empty files continues
# on the next call, so one stream never holds the event loop for long.
_STEPS_PER_CALL = 64


class LogNotFoundError(LookupError):
    """No log file of the task and type exists (404, ``client/fs_endpoint.go`` ``logsImpl``)."""

    def __init__(self, task: str, log_type: str) -> None:
        super().__init__(f"log entry for task {quote(task)} and log type {quote(log_type)} not found")


class LogStreamError(OSError):
    """Listing or opening the logs failed; ``str()`` is the text Nomad's ``logsImpl`` reports."""

    def __init__(self, message: str) -> None:
        super().__init__(message)


# -- the source -----------------------------------------------------------------------------------


def _noop() -> None:
    pass


StartChooser = Callable[[int, Sequence[LogFile]], tuple[int, int]]
"""Given the log directory's descriptor and the first listing, picks the first file (its
position in the listing) and the offset to start at, instead of ``origin``/``offset``
(``tail_lines``). Whatever it raises ends the construction."""


class LogsSource:
    """Stream one task's log of one type across its rotated files; a :class:`~outrider.stream.sender.Source`.

    The first file and offset are chosen (and the first file opened) at
    construction, so a missing log is an error status, not an empty stream.

    Args:
        dir_fd: a readable descriptor of the allocation's ``alloc/logs``; owned from now on.
        task: the task name.
        log_type: ``"stdout"`` or ``"stderr"``.
        origin_end: ``origin=end`` (count ``offset`` back from the newest file).
        offset: the request's ``offset``.
        follow: keep following the newest file and the files that come after it.
        plain: raw bytes (no frames, no events) instead of JSON frames.
        service: the agent's stream service (watcher, hubs, read buffer).
        finished: set once the task is dead for good; a follow then ends when every
            file is drained. None when that is unknowable: the follow never ends by itself.
        start: chooses the start point from the first listing instead of ``origin_end``
            and ``offset``.

    Raises:
        LogNotFoundError: the task has no log file of this type.
        LogStreamError: the directory cannot be listed, or the first file cannot be opened.
    """

    def __init__(
        self,
        dir_fd: int,
        task: str,
        log_type: str,
        *,
        origin_end: bool,
        offset: int,
        follow: bool,
        plain: bool,
        service: StreamService,
        finished: asyncio.Event | None,
        start: StartChooser | None = None,
    ) -> None:
        # Followers of one task's logs share the directory's descriptors (and the files').
        self._dir_fd = service.descriptors.share(dir_fd)
        self._task = task
        self._type = log_type
        self._follow = follow
        self._plain = plain
        self._service = service
        self._finished = finished
        self._wake: Callable[[], None] = _noop
        self._bound = False
        self._done = False
        self._current: FileFollower | None = None
        self._current_file: LogFile | None = None
        self._current_follows = False
        self._last: LogFile | None = None  # the file most recently started or skipped
        self._files: list[LogFile] | None = None  # the latest listing (follow mode)
        self._listing_stale = True
        self._dir_changed = False
        self._death_noticed = False
        self._snapshot: list[LogFile] | None = None
        self._dir_watch: Watch | None = None
        self._parent_fd = -1
        self._parent_watch: Watch | None = None
        self._death_waiter: asyncio.Future[bool] | None = None
        try:
            files = self._listing(fresh=True)
            if not files:
                raise LogNotFoundError(task, log_type)
            if start is None:
                pos, first_offset = find_closest(files, *start_point(origin_end, offset))
            else:
                pos, first_offset = start(self._dir_fd, files)
            if not follow:
                self._snapshot = files
            if not self._start(files, pos, first_offset) and not follow:
                self._done = True
        except BaseException:
            self.close()
            raise

    # -- Source --------------------------------------------------------------------------------

    def bind(self, wake: Callable[[], None]) -> None:
        """Start: watch the log directory (follow mode) and the task's end; ``wake()`` when there is news."""
        self._wake = wake
        self._bound = True
        if self._current is not None:
            self._current.bind(wake)
        if not self._follow:
            return
        watcher = self._service.watcher
        self._dir_watch = watcher.watch(self._dir_fd, self._on_dir_change, kind="dir")
        # While a descriptor holds it, a removed directory reports nothing about itself
        # (no IN_DELETE_SELF); its parent does, so garbage collection is noticed at once.
        try:
            self._parent_fd = self._service.descriptors.share(
                os.open("..", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=self._dir_fd)
            )
        except OSError:
            self._parent_fd = -1
        else:
            self._parent_watch = watcher.watch(self._parent_fd, self._on_dir_change, kind="dir")
        # Files may have appeared between the first listing and the watch.
        self._on_dir_change()
        finished = self._finished
        if finished is not None and not finished.is_set():
            waiter: asyncio.Future[bool] = asyncio.ensure_future(finished.wait())
            waiter.add_done_callback(self._on_death)
            self._death_waiter = waiter

    @property
    def done(self) -> bool:
        """True once every file to stream has been streamed."""
        return self._done

    def close(self) -> None:
        """Release the current file, the watch, the wait for the task's end and the directory. Idempotent."""
        self._done = True
        if self._death_waiter is not None:
            self._death_waiter.cancel()
            self._death_waiter = None
        for watch in (self._dir_watch, self._parent_watch):
            if watch is not None:
                watch.close()
        self._dir_watch = self._parent_watch = None
        fds = self._service.descriptors
        if self._parent_fd >= 0:
            fds.release(self._parent_fd)
            self._parent_fd = -1
        self._retire()
        if self._dir_fd >= 0:
            fds.release(self._dir_fd)
            self._dir_fd = -1

    def produce(self) -> bytes:
        """Return the output available now (``b""`` when none).

        Raises:
            LogStreamError: the directory can no longer be listed, or a file not opened or read;
                its text is what the stream appends before it ends (Nomad's ``fsStreamImpl``).
        """
        return self.produce_located()[2]

    def produce_located(self) -> tuple[LogFile | None, int, bytes]:
        """:meth:`produce`, with the file the output came from and the offset there where it ends.

        In plain mode the output is that file's bytes ending at that offset; the file
        is None when there is no output.
        """
        if self._done:
            return None, 0, b""
        if self._follow:
            self._notice_news()
        for _ in range(_STEPS_PER_CALL):
            current = self._current
            if current is None:
                if not self._start_next():
                    if not self._follow or self._task_dead():
                        self._done = True
                    return None, 0, b""
                continue
            try:
                out = current.produce()
            except OSError as exc:
                rel = self._current_file.rel if self._current_file else LOG_DIR
                raise self._stream_error(rel, exc, "read") from exc
            if out:
                return self._current_file, current.offset, out
            if not current.done:
                return None, 0, b""
            self._retire()
        # More files are waiting: ask the sender to call again rather than loop here.
        self._wake()
        return None, 0, b""

    # -- choosing and opening files --------------------------------------------------------------

    def _start_next(self) -> bool:
        """Start the first file after the last one started; False when there is none yet."""
        # Once the task is dead, the decision to end must see every file it wrote.
        files = self._snapshot if self._snapshot is not None else self._listing(fresh=self._task_dead())
        last = self._last
        pos = 0 if last is None else bisect.bisect_right(files, last)
        return self._start(files, pos, 0)

    def _start(self, files: list[LogFile], pos: int, offset: int) -> bool:
        """Open ``files[pos]`` at ``offset``, or the first later one that still exists."""
        for i in range(pos, len(files)):
            file = files[i]
            self._last = file
            reader = self._open(file, offset if i == pos else 0)
            if reader is None:
                continue  # purged (or no longer a regular file) since the listing
            newest = i == len(files) - 1
            follows = self._follow and newest and not self._task_dead()
            self._current = self._follower(file, reader, follows)
            self._current_file = file
            self._current_follows = follows
            return True
        return False

    def _open(self, file: LogFile, offset: int) -> TailReader | None:
        """A reader of ``file`` at ``offset``, or None when the name no longer holds a regular file."""
        try:
            return open_tail(self._service, self._dir_fd, file.name, offset)
        except OSError as exc:
            raise self._stream_error(file.rel, exc) from exc

    @staticmethod
    def _stream_error(rel: str, exc: OSError, op: str = "open") -> LogStreamError:
        return LogStreamError(f"failed to stream {quote(rel)}: {os_error_text(op, rel, exc)}")

    def _follower(self, file: LogFile, reader: TailReader, follows: bool) -> FileFollower:
        def reopen() -> TailReader:
            # The name now holds another file (moved over it): follow that one from 0.
            replacement = self._open(file, 0)
            if replacement is None:
                raise FileNotFoundError(file.name)
            return replacement

        follower = FileFollower(
            reader,
            file_json=None if self._plain else json_string(file.rel),
            follow=follows,
            service=self._service,
            reopen=reopen if follows else None,
        )
        if self._bound:
            follower.bind(self._wake)
        return follower

    def _retire(self) -> None:
        current, self._current = self._current, None
        self._current_file = None
        self._current_follows = False
        if current is not None:
            current.close()

    def _listing(self, *, fresh: bool) -> list[LogFile]:
        """The task's files of this type; the previous listing while the directory did not change."""
        if fresh or self._listing_stale or self._files is None:
            try:
                self._files = list_log_files(self._dir_fd, self._task, self._type)
            except OSError as exc:
                raise LogStreamError(
                    f"failed to list entries: {os_error_text('open', LOG_DIR, exc)}"
                ) from exc
            self._listing_stale = False
        return self._files

    # -- following --------------------------------------------------------------------------------

    def _task_dead(self) -> bool:
        return self._finished is not None and self._finished.is_set()

    def _on_dir_change(self) -> None:
        self._listing_stale = True
        self._dir_changed = True
        self._wake()

    def _on_death(self, future: asyncio.Future[bool]) -> None:
        if not future.cancelled():
            self._wake()

    def _notice_news(self) -> None:
        """A newer file or the task's end turns the followed file into one to drain.

        Nomad's ``blockUntilNextLog`` plays this part.
        """
        dead = self._task_dead()
        if not self._dir_changed and (not dead or self._death_noticed):
            return
        self._dir_changed = False
        self._death_noticed = dead
        current, file = self._current, self._current_file
        if current is None or file is None or not self._current_follows:
            return
        try:
            files = self._listing(fresh=True)
        except LogStreamError:
            # The directory is gone: nothing can follow this file; drain it, and the
            # next listing reports the error.
            files = None
        if files is None or dead or (files and files[-1] > file):
            self._current_follows = False
            current.finish_at_eof()
