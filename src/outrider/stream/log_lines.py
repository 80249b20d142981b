"""The line pipeline behind the logs options beyond Nomad (see :mod:`outrider.stream.logquery`).

Each log type is read by a :class:`LineReader`: a plain
:class:`~outrider.stream.logs.LogsSource` (raw bytes, each chunk with the file it
came from and its offset there) cut into lines. A line ends with a newline; one
the rotator split across two files is one line, placed at its start, and its
capture time is that of its first byte. Each reader keeps or drops its lines
(``filter``/``exclude`` with RE2, matched without the newline; ``since``/``until``)
and stops at a ``before`` cursor.

:class:`LogLinesSource` then takes the lines of one reader, or of two merged in
capture order (``type=all``; a tie goes to stdout, and a line is never split or
interleaved with another), applies ``tail_lines`` across a merge and
``limit_bytes``, and writes them: raw bytes (``plain=true``), Nomad frames
(``File`` and ``Offset`` the true end of each run of kept bytes in its file), or
one ndjson object per line. In a follow, a last line without its newline is held
until the newline comes (or the stream ends), and a merged follow sends a line
once the other stream has nothing earlier waiting.

An ndjson record: ``{"Type", "File", "Offset", "Time", "Line"}``; ``Offset`` is the
line's first byte in ``File``, usable as a ``before`` cursor; ``Time`` its capture
time (RFC 3339, nanoseconds, UTC) when known; ``Line`` the line without its
newline. A line that is not valid UTF-8 carries ``LineBase64`` (its exact bytes,
standard base64) instead of ``Line``; a line that ends without a newline (the
log's unfinished last line, or one cut by ``limit_bytes``) has ``"Partial": true``.
"""

from __future__ import annotations

import base64
import collections
import json
from collections.abc import Callable
from dataclasses import dataclass

from outrider.fs.logfiles import LogFile
from outrider.gostrconv import format_rfc3339nano_utc
from outrider.stream.capture_times import CaptureTimes
from outrider.stream.framer import encode_frames, json_string
from outrider.stream.line_prefilter import line_prefilter
from outrider.stream.logquery import LogQuery
from outrider.stream.logs import LogsSource

# Chunks of an inner source taken per produce() call before yielding to the loop.
_CHUNKS_PER_CALL = 8
# A merged reader holding this many lines is not read further until they are sent, so one
# stream racing ahead of the other cannot pile up its whole log in memory.
_MAX_HELD_LINES = 4096

Piece = tuple[LogFile, int, bytes]
"""A run of one line's bytes in one file: the file, the offset of its first byte, the bytes."""


def _noop() -> None:
    pass


@dataclass(slots=True)
class Line:
    """One line as read: its pieces (one per file it spans), whether it ends with a newline, its time."""

    pieces: list[Piece]
    complete: bool
    time: int | None
    type: str

    @property
    def raw(self) -> bytes:
        pieces = self.pieces
        return pieces[0][2] if len(pieces) == 1 else b"".join(p[2] for p in pieces)


class LineReader:
    """One log type's lines, kept or dropped per the query; fed by a plain LogsSource (owned).

    Args:
        inner: the log's raw bytes (a plain LogsSource).
        log_type: ``"stdout"`` or ``"stderr"``.
        query: the line options.
        stop: where the lines end (a ``before`` cursor): the file and the offset there.
        times: capture times of this type's files, or None when the task has none.
    """

    def __init__(
        self,
        inner: LogsSource,
        log_type: str,
        query: LogQuery,
        *,
        stop: tuple[LogFile, int] | None = None,
        times: CaptureTimes | None = None,
    ) -> None:
        self._inner = inner
        self.type = log_type
        self._filter = query.filter
        self._exclude = query.exclude
        self._since = query.since
        self._until = query.until
        self._stop = stop
        self._times = times
        # Lines a filter cannot match are skipped a chunk at a time, unless every line must be
        # seen (``exclude`` keeps the non-matching ones, ``until`` ends at the first later line).
        self._prefilter = (
            line_prefilter(query.filter)
            if query.filter is not None and query.exclude is None and query.until is None
            else None
        )
        self._partial: list[Piece] = []
        self.lines: collections.deque[Line] = collections.deque()
        self.finished = False
        self.idle = False  # the last pull found nothing new

    def bind(self, wake: Callable[[], None]) -> None:
        self._inner.bind(wake)

    def close(self) -> None:
        self.finished = True
        self._inner.close()
        if self._times is not None:
            self._times.close()

    @property
    def done(self) -> bool:
        return self.finished and not self.lines

    def pull(self) -> bool:
        """Read one chunk into :attr:`lines`; False when there was none to read now."""
        if self.finished:
            self.idle = True
            return False
        file, end, data = self._inner.produce_located()
        if file is None:
            if self._inner.done:
                self._finish()
            self.idle = True
            return False
        self.idle = False
        if self._times is not None:
            self._times.refresh(file)
        self._take(file, end - len(data), data)
        return True

    def _take(self, file: LogFile, start: int, data: bytes) -> None:
        stop = self._stop
        at_stop = False
        if stop is not None:
            stop_file, stop_offset = stop
            if file > stop_file:
                self._finish()
                return
            if file == stop_file and start + len(data) >= stop_offset:
                data = data[: max(stop_offset - start, 0)]
                at_stop = True
        pos = 0
        prefilter = self._prefilter
        if prefilter is not None and self._partial:
            pos = self._line_at(file, start, data, 0)  # the line begun in an earlier chunk
        if prefilter is not None and pos >= 0:
            whole = data.rfind(b"\n") + 1  # the complete lines end there
            while pos < whole and not self.finished:
                found, found_end = prefilter(data, pos, whole)
                if found < 0 or found >= whole:  # none, or only an empty match after the last line
                    pos = whole
                    break
                line_start = data.rfind(b"\n", pos, found) + 1 or pos
                pos = self._line_at(file, start, data, line_start, found_end)
        while pos >= 0 and not self.finished:
            nl = data.find(b"\n", pos)
            if nl < 0:
                break
            self._partial.append((file, start + pos, data[pos : nl + 1]))
            pos = nl + 1
            self._line(complete=True)
        pos = max(pos, 0)
        if pos < len(data) and not self.finished:
            self._partial.append((file, start + pos, data[pos:]))
        if at_stop:
            self._finish()

    def _line_at(self, file: LogFile, start: int, data: bytes, pos: int, match_end: int = -1) -> int:
        """Take the line of ``data`` that starts at ``pos``; where the next begins, -1 when it goes on.

        ``match_end``: where the prefilter's match in this line ended; one that ended before
        the newline is a match of the line alone (see :mod:`outrider.stream.line_prefilter`).
        """
        nl = data.find(b"\n", pos)
        if nl < 0:
            return -1
        self._partial.append((file, start + pos, data[pos : nl + 1]))
        self._line(complete=True, matched=0 <= match_end <= nl)
        return nl + 1

    def _finish(self) -> None:
        """The end of this type's lines: the unfinished last one goes out as it is."""
        if self._partial and not self.finished:
            self._line(complete=False)
        self._partial = []
        self.finished = True
        self._inner.close()

    def _line(self, *, complete: bool, matched: bool = False) -> None:
        """Keep or drop the line in :attr:`_partial`; ``matched``: the filter is known to match it."""
        pieces, self._partial = self._partial, []
        file, offset, _ = pieces[0]
        at = None if self._times is None else self._times.time_of(file, offset)
        line = Line(pieces, complete, at, self.type)
        if at is not None:
            if self._until is not None and at >= self._until:
                self._partial = []
                self.finished = True
                self._inner.close()
                return
            if self._since is not None and at < self._since:
                return
        if (self._filter is not None or self._exclude is not None) and not matched:
            raw = line.raw
            text = raw[:-1] if complete else raw
            if self._filter is not None and self._filter.search(text) is None:
                return
            if self._exclude is not None and self._exclude.search(text) is not None:
                return
        self.lines.append(line)


class LogLinesSource:
    """One logs request's lines, merged, limited and formatted; a :class:`~outrider.stream.sender.Source`.

    Args:
        readers: one reader, or stdout's and stderr's (``type=all``), in that order.
        query: the line options.
        plain: raw bytes out (else frames, or ndjson when the query says so).
        follow: the readers follow their logs.
        backlog_ends: with ``tail_lines`` over several readers, where each reader's log
            ended when the request began: the lines before are the backlog, of which
            only the last ``tail_lines`` (merged) are sent.
        label: ``(alloc ID, task)`` when the lines are part of a whole job's: plain lines
            are prefixed ``<alloc ID, first 8>/<task>: ``, ndjson records get ``AllocID`` and ``Task``.
    """

    def __init__(
        self,
        readers: list[LineReader],
        query: LogQuery,
        *,
        plain: bool,
        follow: bool,
        backlog_ends: list[tuple[LogFile, int] | None] | None = None,
        label: tuple[str, str] | None = None,
    ) -> None:
        self._readers = readers
        # Whole-job logs: each line says whose it is (``<alloc8>/<task>: `` or AllocID/Task).
        self._label = label
        self._label_prefix = b"" if label is None else f"{label[0][:8]}/{label[1]}: ".encode()
        self._remaining = query.limit_bytes
        self._ndjson = query.ndjson
        self._timestamps = query.timestamps
        self._plain = plain
        self._follow = follow
        self._tail = query.tail_lines if len(readers) > 1 else None
        self._backlog_ends = backlog_ends
        self._in_backlog = self._tail is not None
        self._backlog: list[Line] = []
        self._out: list[bytes] = []
        self._run: tuple[LogFile, int] | None = None  # framed output: file and end of the kept bytes
        self._run_parts: list[bytes] = []
        self._finished = False
        self._wake: Callable[[], None] = _noop

    # -- Source --------------------------------------------------------------------------------

    def bind(self, wake: Callable[[], None]) -> None:
        self._wake = wake
        for reader in self._readers:
            reader.bind(wake)

    @property
    def done(self) -> bool:
        return self._finished and not self._out

    def close(self) -> None:
        self._finished = True
        for reader in self._readers:
            reader.close()

    def produce(self) -> bytes:
        """The lines available now, formatted (``b""`` when none)."""
        took = False
        for _ in range(_CHUNKS_PER_CALL):
            if self._finished:
                break
            pulled = [len(reader.lines) < _MAX_HELD_LINES and reader.pull() for reader in self._readers]
            took = took or any(pulled)
            self._drain()
            if self._out or not any(pulled):
                break
        if not self._finished and all(reader.done for reader in self._readers):
            self._drain()
            self._finish()
        self._flush_run()
        out, self._out = b"".join(self._out), []
        if not out and took and not self._finished:
            # Everything read was dropped or held and more may be waiting: come back rather than sleep.
            self._wake()
        return out

    # -- merging -------------------------------------------------------------------------------

    def _ready(self, reader: LineReader) -> bool:
        """Nothing earlier than the other readers' first lines can still come from ``reader``."""
        if reader.finished:
            return True
        # In a follow, a reader that found nothing new has caught up with the capture.
        return self._follow and reader.idle

    def _next_line(self) -> Line | None:
        best: LineReader | None = None
        for reader in self._readers:
            if not reader.lines:
                if not self._ready(reader):
                    return None
                continue
            if best is None or _key(reader.lines[0]) < _key(best.lines[0]):
                best = reader
        return None if best is None else best.lines.popleft()

    def _drain(self) -> None:
        while not self._finished:
            line = self._next_line()
            if line is None:
                break
            if self._in_backlog and self._take_backlog(line):
                continue
            self._emit(line)
        if self._in_backlog and all(self._ready(r) and not r.lines for r in self._readers):
            self._end_backlog()

    def _take_backlog(self, line: Line) -> bool:
        """Hold a backlog line (True), or end the backlog at the first line after it (False)."""
        ends = self._backlog_ends or []
        for reader_end, reader in zip(ends, self._readers, strict=False):
            if reader.type == line.type and reader_end is not None:
                file, offset, _ = line.pieces[0]
                if (file, offset) >= reader_end:
                    self._end_backlog()
                    return False
        self._backlog.append(line)
        assert self._tail is not None
        if len(self._backlog) > 2 * self._tail + 64:
            del self._backlog[: len(self._backlog) - self._tail]
        return True

    def _end_backlog(self) -> None:
        self._in_backlog = False
        assert self._tail is not None
        kept = self._backlog[len(self._backlog) - self._tail :] if self._tail else []
        self._backlog = []
        for line in kept:
            if self._finished:
                break
            self._emit(line)

    def _finish(self) -> None:
        if self._in_backlog:
            self._end_backlog()
        self._finished = True
        for reader in self._readers:
            reader.close()

    # -- writing -------------------------------------------------------------------------------

    def _emit(self, line: Line) -> None:
        pieces = line.pieces
        raw = line.raw
        complete = line.complete
        remaining = self._remaining
        if remaining is not None:
            if len(raw) >= remaining:
                # The limit is reached within this line: it is the last one, cut there.
                if len(raw) > remaining:
                    pieces = _cut(pieces, remaining)
                    raw, complete = raw[:remaining], False
                self._finish()
            self._remaining = remaining - len(raw)
        if self._ndjson:
            self._out.append(_record(line, pieces[0], raw, complete, self._label))
            return
        prefix = self._label_prefix
        if self._timestamps and line.time is not None:
            prefix += format_rfc3339nano_utc_fixed(line.time).encode() + b" "
        if self._plain:
            self._out.append(prefix + raw if prefix else raw)
            return
        for i, (file, start, data) in enumerate(pieces):
            self._add_to_run(file, start, prefix + data if prefix and i == 0 else data, len(data))

    def _add_to_run(self, file: LogFile, start: int, data: bytes, size: int) -> None:
        run = self._run
        if run is None or run[0] != file or run[1] != start:
            self._flush_run()
            self._run_parts = []
        self._run = (file, start + size)
        self._run_parts.append(data)

    def _flush_run(self) -> None:
        run = self._run
        if run is None:
            return
        self._run = None
        parts, self._run_parts = self._run_parts, []
        data = parts[0] if len(parts) == 1 else b"".join(parts)
        self._out.append(encode_frames(data, json_string(run[0].rel), "", run[1]))


def _key(line: Line) -> int:
    # Lines without a time (no index) keep their reader's order; merging needs times.
    return line.time if line.time is not None else 0


def format_rfc3339nano_utc_fixed(ns: int) -> str:
    """RFC 3339 in UTC with all nine fraction digits, so prefixed lines align (as ``docker logs -t``)."""
    head = format_rfc3339nano_utc(ns - ns % 1_000_000_000)[:-1]
    return f"{head}.{ns % 1_000_000_000:09d}Z"


def _record(line: Line, first: Piece, raw: bytes, complete: bool, label: tuple[str, str] | None) -> bytes:
    file, offset, _ = first
    record: dict[str, object] = {}
    if label is not None:
        record["AllocID"], record["Task"] = label
    record.update(Type=line.type, File=file.rel, Offset=offset)
    if line.time is not None:
        record["Time"] = format_rfc3339nano_utc_fixed(line.time)
    text = raw[:-1] if complete else raw
    try:
        record["Line"] = text.decode("utf-8")
    except UnicodeDecodeError:
        record["LineBase64"] = base64.b64encode(text).decode("ascii")
    if not complete:
        record["Partial"] = True
    return json.dumps(record, separators=(",", ":")).encode("ascii") + b"\n"


def _cut(pieces: list[Piece], size: int) -> list[Piece]:
    """The first ``size`` bytes of a line's pieces."""
    out: list[Piece] = []
    for file, start, data in pieces:
        if size <= 0:
            break
        out.append((file, start, data[:size]))
        size -= len(data)
    return out
