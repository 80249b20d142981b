"""One stream's view of one file: reading, change events, and sharing reads with other followers.

A :class:`FileFollower` turns a :class:`~outrider.stream.tail.TailReader` into
output bytes (Nomad frames, or the raw bytes in plain mode) each time its sender
asks. It never waits and never buffers more than :data:`MAX_PENDING` bytes:
when there is nothing to send it returns ``b""``, and the sender sleeps until
the follower's wake-up callback fires (a watcher event or a shared chunk).

Events (Nomad's ``client/fs_endpoint.go`` ``streamFile``, where each event is
sent exactly once and a replaced file is followed instead of ending the stream):

- truncation: read again from 0; the first frame carries ``"file truncated"``,
  or an event-only frame is sent once if the file is empty;
- replacement (the name now points at another file): the old file is drained,
  then the new one is opened and read from 0 as after a truncation;
- deletion (the name is gone): the file is drained; with a grace period the
  follower then waits that long for the name to come back (logrotate's
  rename-then-create) and goes on as after a replacement if it does, reading
  the old file meanwhile; else ``"file deleted"`` with the final offset is sent
  once and the follower is done;
- an offset past the end waits for the file to grow past it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

from outrider.metrics import REGISTRY
from outrider.stream.framer import EVENT_DELETED, EVENT_TRUNCATED, MAX_FRAME_DATA, encode_frames
from outrider.stream.tail import TailReader

if TYPE_CHECKING:
    from outrider.stream.fanout import Hub
    from outrider.stream.service import StreamService
    from outrider.stream.watcher import Watch

MAX_PENDING = 512 * 1024
"""Output a follower holds at most while its previous write is in flight; beyond that it reads
the file later instead. One step's output stays below it too, so a stream pins at most 1 MiB."""

Phase = Literal["follow", "replaced", "deleted", "done"]
Reopen = Callable[[], TailReader]
"""Opens the followed path again (after a replacement) as a reader at offset 0.

Raises FileNotFoundError when the path names nothing, OSError for other failures.
"""


def _noop() -> None:
    pass


# Counted per follower, shared chunks included: what each client was given.
_FRAMES = REGISTRY.counter(
    "outrider.stream.frames_sent", help="data and event frames produced for stream clients"
)
_FILE_BYTES = REGISTRY.counter(
    "outrider.stream.file_bytes_sent", help="file bytes delivered to stream clients"
)


def _frame_count(size: int) -> int:
    return -(-size // MAX_FRAME_DATA)


class FileFollower:
    """Produce one stream's output for one file.

    Args:
        reader: the open file, positioned where the stream starts; owned from now on.
        file_json: the ``File`` value already quoted as JSON
            (:func:`outrider.stream.framer.json_string`), or None for plain output
            (raw bytes, no events).
        follow: keep waiting for more data at the end of the file; when False the
            follower is done at the first end of file.
        service: the agent's stream service (watcher, hubs, read buffer); required
            when following.
        reopen: how to open the path again after a replacement; without it a
            replaced file ends the stream like a deleted one.
        reappear_grace: seconds a deleted path may take to name a file again
            before the stream reports it deleted (needs ``reopen``); 0 reports
            it once the old file is drained.
    """

    def __init__(
        self,
        reader: TailReader,
        *,
        file_json: bytes | None,
        follow: bool,
        service: StreamService | None = None,
        reopen: Reopen | None = None,
        reappear_grace: float = 0.0,
    ) -> None:
        if follow and service is None:
            raise ValueError("following a file needs the stream service")
        if reappear_grace < 0:
            raise ValueError(f"the grace period must not be negative, got {reappear_grace}")
        self._reader = reader
        self._file_json = file_json
        self._follow = follow
        self._service = service
        self._reopen = reopen
        self._phase: Phase = "follow"
        self._stop_at_eof = not follow
        self._dirty = True
        self._event = ""
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._wake: Callable[[], None] = _noop
        self._watch: Watch | None = None
        self._hub: Hub | None = None
        self._truncations_seen = 0
        self._grace = reappear_grace if reopen is not None else 0.0
        self._grace_timer: asyncio.TimerHandle | None = None
        self._grace_watch: Watch | None = None
        self._grace_over = False

    # -- lifecycle -----------------------------------------------------------------------------

    def bind(self, wake: Callable[[], None]) -> None:
        """Start following: ``wake()`` is called whenever :meth:`produce` may have output."""
        self._wake = wake
        if self._follow:
            self._attach()

    def close(self) -> None:
        """Release the watch, the hub membership and the file. Idempotent."""
        self._detach()
        self._phase = "done"
        self._pending = []
        self._pending_size = 0
        self._reader.close()

    def finish_at_eof(self) -> None:
        """Stop following: drain the file to its current end, then be done (logs: the next file exists)."""
        self._stop_at_eof = True
        self._dirty = True
        self._wake()

    @property
    def done(self) -> bool:
        """True once the follower has nothing more to produce, ever."""
        return self._phase == "done" and not self._pending

    @property
    def offset(self) -> int:
        """The file offset up to which output has been produced."""
        return self._reader.offset

    # -- producing -----------------------------------------------------------------------------

    def produce(self) -> bytes:
        """Return the output available now (``b""`` when there is none).

        Raises OSError when the file or its directory can no longer be read; the
        stream should then end with that error.
        """
        if self._pending:
            out = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
            self._pending = []
            self._pending_size = 0
            return out
        if not self._dirty or self._phase == "done":
            return b""
        self._dirty = False
        return self._step()

    def _step(self) -> bytes:
        if self._phase == "follow" and self._follow and not self._stop_at_eof:
            self._notice_changes()
        reader = self._reader
        start = reader.offset
        data = reader.read(self._read_budget())
        end = reader.offset
        event, self._event = self._event, ""
        chunk = self._encode(data, event, end)
        at_eof = reader.eof
        if not at_eof:
            self._dirty = True
        elif self._phase != "follow" or self._stop_at_eof:
            return chunk + self._finish_file()
        hub = self._hub
        if chunk and not event and hub is not None and len(hub.members) > 1:
            hub.publish(self, start, end, chunk, at_eof, reader.fingerprint)
        return chunk

    def _notice_changes(self) -> None:
        hub = self._hub
        if hub is not None and self._truncations_seen < hub.truncations:
            # Another follower saw this file shrink; we may have missed it (truncate + regrow).
            status = "truncated"
            self._truncations_seen = hub.truncations
        else:
            status = self._reader.check()
            if status == "truncated" and hub is not None:
                hub.truncations += 1
                self._truncations_seen = hub.truncations
        # On replacement or deletion, what the old file still holds is drained first.
        if status == "truncated":
            self._reader.rewind(0)
            self._event = EVENT_TRUNCATED
        elif status == "replaced":
            self._phase = "replaced"
        elif status == "deleted":
            self._phase = "deleted"

    def _finish_file(self) -> bytes:
        """At the end of a file that is going away (or a non-follow stream): what comes next."""
        if self._may_reopen():
            assert self._reopen is not None
            try:
                reader = self._reopen()
            except FileNotFoundError:
                if self._awaiting_reappearance():
                    return b""
            else:
                return self._continue_with(reader)
        if self._phase in ("replaced", "deleted"):
            tail = self._encode(b"", EVENT_DELETED, self._reader.offset)
        else:
            tail = b""
        self._phase = "done"
        self._detach()
        return tail

    def _may_reopen(self) -> bool:
        if self._reopen is None or self._stop_at_eof:
            return False
        return self._phase == "replaced" or (self._phase == "deleted" and self._grace > 0)

    def _continue_with(self, reader: TailReader) -> bytes:
        """Follow the file the path names now: from 0 as after a truncation, or on if it is ours."""
        same = reader.identity == self._reader.identity
        self._detach()
        if same:
            # Renamed away and back: the same file, nothing was missed or replaced.
            reader.close()
        else:
            self._reader.close()
            self._reader = reader
            self._event = EVENT_TRUNCATED
        self._phase = "follow"
        self._dirty = True
        self._attach()
        # Nothing may have been produced in this step: ask for the next one instead of
        # waiting for the new file's next change.
        self._wake()
        return b""

    def _awaiting_reappearance(self) -> bool:
        """Within the grace period after the path went: keep waiting (and draining the old file)."""
        if self._grace <= 0 or self._grace_over:
            return False
        if self._grace_timer is None:
            service = self._service
            assert service is not None
            self._grace_timer = asyncio.get_running_loop().call_later(self._grace, self._grace_expired)
            # A name appearing in the directory wakes us at once.
            self._grace_watch = service.watcher.watch(self._reader.parent_fd, self._on_change, kind="dir")
        return True

    def _grace_expired(self) -> None:
        self._grace_timer = None
        self._grace_over = True
        self._on_change()

    def _encode(self, data: memoryview | bytes, event: str, end: int) -> bytes:
        _FILE_BYTES.inc(len(data))
        if self._file_json is None:
            return bytes(data)
        _FRAMES.inc(_frame_count(len(data)) or (1 if event else 0))
        return encode_frames(data, self._file_json, event, end)

    def _read_budget(self) -> int:
        # Base64 grows data by 4/3 and each frame adds its keys: half the bound leaves room.
        return MAX_PENDING // 2 if self._file_json is not None else MAX_PENDING

    # -- sharing -------------------------------------------------------------------------------

    def take_shared(
        self, start: int, end: int, chunk: bytes, at_eof: bool, truncations: int, fingerprint: bytes
    ) -> None:
        """Accept another follower's output for ``[start, end)`` when we are exactly there and have room."""
        if (
            self._phase != "follow"
            or self._stop_at_eof
            or self._event
            or self._truncations_seen != truncations
            or self._reader.offset != start
            or self._pending_size + len(chunk) > MAX_PENDING
        ):
            return
        self._pending.append(chunk)
        self._pending_size += len(chunk)
        _FILE_BYTES.inc(end - start)
        if self._file_json is not None:
            _FRAMES.inc(_frame_count(end - start))
        self._reader.skip(end, fingerprint)
        # The sharer checked the file and read to its end after our last wake-up, so
        # that wake-up is served; a chunk that stopped short leaves more for us to read.
        self._dirty = not at_eof
        self._wake()

    def _on_change(self) -> None:
        self._dirty = True
        self._wake()

    def _attach(self) -> None:
        service = self._service
        assert service is not None
        self._watch = service.watcher.watch(self._reader.fd, self._on_change)
        dev, ino = self._reader.identity
        self._hub = service.hubs.join((dev, ino, self._file_json), self)
        self._truncations_seen = self._hub.truncations

    def _detach(self) -> None:
        if self._grace_timer is not None:
            self._grace_timer.cancel()
            self._grace_timer = None
        if self._grace_watch is not None:
            self._grace_watch.close()
            self._grace_watch = None
        self._grace_over = False
        if self._watch is not None:
            self._watch.close()
            self._watch = None
        if self._hub is not None and self._service is not None:
            self._service.hubs.leave(self._hub, self)
            self._hub = None
