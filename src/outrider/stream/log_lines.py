"""The line pipeline behind the logs options ``filter``, ``exclude``, ``limit_bytes``, ``format`` and ``before``.

Wraps a plain :class:`~outrider.stream.logs.LogsSource` (raw bytes, each chunk
with the file it came from and its offset there) and cuts its bytes into lines.
A line ends with a newline; one the rotator split across two files is one line,
placed at its start. Each line is then kept or dropped (``filter``/``exclude``,
RE2, matched without its newline), and written as raw bytes (``plain=true``),
as Nomad frames (``File`` and ``Offset`` the true end of each run of kept bytes
in its file) or as one ndjson object.

In a follow, a last line without its newline is held until the newline comes
(or the stream ends), so a filter always sees whole lines.

An ndjson record: ``{"Type", "File", "Offset", "Line"}``; ``Offset`` is the
line's first byte in ``File``, usable as a ``before`` cursor; ``Line`` is the
line without its newline. A line that is not valid UTF-8 carries ``LineBase64``
(its exact bytes, standard base64) instead of ``Line``; a line that ends without
a newline (the log's unfinished last line, or one cut by ``limit_bytes``) has
``"Partial": true``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

from outrider.fs.logfiles import LogFile
from outrider.stream.framer import encode_frames, json_string
from outrider.stream.logquery import LogQuery
from outrider.stream.logs import LogsSource

# Chunks of the inner source taken per produce() call before yielding to the loop.
_CHUNKS_PER_CALL = 8

Piece = tuple[LogFile, int, bytes]
"""A run of one line's bytes in one file: the file, the offset of its first byte, the bytes."""


def _noop() -> None:
    pass


class LogLinesSource:
    """One logs request's lines, filtered, limited and formatted; a :class:`~outrider.stream.sender.Source`.

    Args:
        inner: the log's raw bytes (a plain LogsSource); owned from now on.
        log_type: ``"stdout"`` or ``"stderr"`` (the ndjson ``Type``).
        query: the line options.
        plain: raw bytes out (else frames, or ndjson when the query says so).
        stop: where the output ends (a ``before`` cursor): the file and the offset there.
    """

    def __init__(
        self,
        inner: LogsSource,
        log_type: str,
        query: LogQuery,
        *,
        plain: bool,
        stop: tuple[LogFile, int] | None = None,
    ) -> None:
        self._inner = inner
        self._type = log_type
        self._filter = query.filter
        self._exclude = query.exclude
        self._remaining = query.limit_bytes
        self._ndjson = query.ndjson
        self._plain = plain
        self._stop = stop
        self._line: list[Piece] = []
        self._out: list[bytes] = []
        self._run: Piece | None = None  # framed output: the kept bytes not yet framed
        self._run_parts: list[bytes] = []
        self._finished = False
        self._wake: Callable[[], None] = _noop

    # -- Source --------------------------------------------------------------------------------

    def bind(self, wake: Callable[[], None]) -> None:
        self._wake = wake
        self._inner.bind(wake)

    @property
    def done(self) -> bool:
        return self._finished and not self._out

    def close(self) -> None:
        self._finished = True
        self._inner.close()

    def produce(self) -> bytes:
        """The lines available now, formatted (``b""`` when none)."""
        took = False
        for _ in range(_CHUNKS_PER_CALL):
            if self._finished:
                break
            file, end, data = self._inner.produce_located()
            if file is None:
                if self._inner.done:
                    self._finish()
                break
            took = True
            self._take(file, end - len(data), data)
            if self._out:
                break
        self._flush_run()
        out, self._out = b"".join(self._out), []
        if not out and took and not self._finished:
            # Everything read was dropped and more may be waiting: come back rather than sleep.
            self._wake()
        return out

    # -- lines ---------------------------------------------------------------------------------

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
        while not self._finished:
            nl = data.find(b"\n", pos)
            if nl < 0:
                break
            self._line.append((file, start + pos, data[pos : nl + 1]))
            pos = nl + 1
            self._emit(complete=True)
        if pos < len(data) and not self._finished:
            self._line.append((file, start + pos, data[pos:]))
        if at_stop:
            self._finish()

    def _finish(self) -> None:
        """The end of the output: the unfinished last line goes out as it is."""
        if self._line and not self._finished:
            self._emit(complete=False)
        self._line = []
        self._finished = True
        self._inner.close()

    def _emit(self, *, complete: bool) -> None:
        pieces, self._line = self._line, []
        raw = pieces[0][2] if len(pieces) == 1 else b"".join(p[2] for p in pieces)
        text = raw[:-1] if complete else raw
        if self._filter is not None and self._filter.search(text) is None:
            return
        if self._exclude is not None and self._exclude.search(text) is not None:
            return
        remaining = self._remaining
        if remaining is not None:
            if len(raw) >= remaining:
                # The limit is reached within this line: it is the last one, cut there.
                pieces = _cut(pieces, remaining)
                if len(raw) > remaining:
                    raw, text, complete = raw[:remaining], raw[:remaining], False
                self._finished = True
                self._inner.close()
            self._remaining = remaining - len(raw)
        if self._ndjson:
            self._out.append(self._record(pieces[0], text, complete))
        elif self._plain:
            self._out.append(raw)
        else:
            for piece in pieces:
                self._add_to_run(piece)

    def _record(self, first: Piece, text: bytes, complete: bool) -> bytes:
        file, offset, _ = first
        record: dict[str, object] = {"Type": self._type, "File": file.rel, "Offset": offset}
        try:
            record["Line"] = text.decode("utf-8")
        except UnicodeDecodeError:
            record["LineBase64"] = base64.b64encode(text).decode("ascii")
        if not complete:
            record["Partial"] = True
        return json.dumps(record, separators=(",", ":")).encode("ascii") + b"\n"

    # -- frames --------------------------------------------------------------------------------

    def _add_to_run(self, piece: Piece) -> None:
        run = self._run
        file, start, data = piece
        if run is not None and run[0] == file and run[1] == start:
            self._run = (file, start + len(data), b"")
            self._run_parts.append(data)
            return
        self._flush_run()
        self._run = (file, start + len(data), b"")
        self._run_parts = [data]

    def _flush_run(self) -> None:
        run = self._run
        if run is None:
            return
        self._run = None
        parts, self._run_parts = self._run_parts, []
        data = parts[0] if len(parts) == 1 else b"".join(parts)
        self._out.append(encode_frames(data, json_string(run[0].rel), "", run[1]))


def _cut(pieces: list[Piece], size: int) -> list[Piece]:
    """The first ``size`` bytes of a line's pieces."""
    out: list[Piece] = []
    for file, start, data in pieces:
        if size <= 0:
            break
        out.append((file, start, data[:size]))
        size -= len(data)
    return out
