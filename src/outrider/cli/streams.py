"""Reading the agent's streams on the command line: raw bodies, JSON frames, and ``-n`` lines.

``-n LINES`` works as Nomad's CLI does it (``command/alloc_logs.go``,
``command/alloc_fs.go``): ask for the last ``LINES * 120`` bytes (``bytesToLines``,
a guess at a line's length) and keep the last ``LINES`` lines of what arrives
(``command/helpers.go`` ``LineLimitReader``). A follow sends the kept lines once
the guessed bytes have arrived, the stream ended, or nothing came for a second,
then passes everything through.
"""

from __future__ import annotations

import base64
import codecs
import json
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import click

from outrider.cli.client import Response
from outrider.cli.errors import CLIError

BYTES_PER_LINE = 120  # Nomad's bytesToLines
DEFAULT_TAIL_LINES = 10  # Nomad's defaultTailLines
IDLE_FLUSH = 1.0  # seconds without data before a follow shows its last lines (LineLimitReader's timeLimit)
_MAX_FRAME = 4 * 1024 * 1024  # a frame carries at most 64 KiB of data; anything far larger is not a frame


class LastLines:
    """Nomad's ``LineLimitReader``: hold the first ``search_limit`` bytes, emit their last ``lines`` lines."""

    def __init__(self, lines: int, search_limit: int) -> None:
        self.lines = lines
        self.search_limit = search_limit
        self.buffer = bytearray()
        self.done = False

    def feed(self, data: bytes) -> bytes:
        """Take ``data``; return what may be written now."""
        if self.done:
            return data
        self.buffer += data
        if len(self.buffer) >= self.search_limit:
            return self.flush()
        return b""

    def flush(self) -> bytes:
        """Stop holding: the last ``lines`` lines of what was held (a trailing newline ends the last one)."""
        if self.done:
            return b""
        self.done = True
        held = bytes(self.buffer)
        self.buffer.clear()
        end = len(held) - 1 if held.endswith(b"\n") else len(held)
        cut = end
        for _ in range(self.lines):
            cut = held.rfind(b"\n", 0, cut)
            if cut < 0:
                return held
        return held[cut + 1 :]


def tail_window(lines: int | None, count_bytes: int | None) -> tuple[int, int | None]:
    """The byte offset back from the end to ask for, and the lines to keep (``None``: keep every byte)."""
    if lines is not None and count_bytes is not None:
        raise CLIError("-n and -c cannot be used together", "give the number of lines (-n) or of bytes (-c)")
    if (lines is not None and lines < 0) or (count_bytes is not None and count_bytes < 0):
        raise CLIError("invalid size: -n and -c take a number of zero or more")
    if count_bytes == 0 or lines == 0:
        # Offset 0 from the end means "the whole newest file" to the logs API (Nomad's findClosest),
        # so "nothing yet" is asked as one byte, which is then dropped (Nomad's tailMultipleFiles).
        return 1, 0
    if count_bytes is not None:
        return count_bytes, None
    keep = DEFAULT_TAIL_LINES if lines is None else lines
    return keep * BYTES_PER_LINE, keep


F = TypeVar("F", bound=Callable[..., Any])


def tail_options(f: F) -> F:
    """``-tail``, ``-n LINES`` and ``-c BYTES``, as ``alloc logs`` and ``alloc fs`` take them."""
    f = click.option(
        "-c",
        "--bytes",
        "count_bytes",
        type=int,
        metavar="BYTES",
        help="Show the last BYTES bytes (implies -tail).",
    )(f)
    f = click.option(
        "-n", "--lines", "lines", type=int, metavar="LINES", help="Show the last LINES lines (implies -tail)."
    )(f)
    return click.option(
        "-tail", "--tail", "tail", is_flag=True, help="Start near the end (-n 10 unless -n or -c is given)."
    )(f)


_END = object()


def pump(sources: Sequence[tuple[Any, Iterator[bytes]]], idle: float | None) -> Iterator[tuple[Any, bytes]]:
    """Merge byte streams read in threads; yield ``(tag, data)``, and ``(None, b"")`` after ``idle`` seconds of quiet.

    One thread per source lets the main thread wait with a timeout (for ``-n`` on a
    follow) and on several streams at once (stdout and stderr), while Ctrl-C still
    reaches it at once.
    """
    inbox: queue.Queue[tuple[Any, Any]] = queue.Queue(maxsize=64)

    def read(tag: Any, chunks: Iterator[bytes]) -> None:
        try:
            for chunk in chunks:
                inbox.put((tag, chunk))
        except BaseException as exc:  # handed to the main thread, which raises it
            inbox.put((tag, exc))
        inbox.put((tag, _END))

    for tag, chunks in sources:
        threading.Thread(target=read, args=(tag, chunks), daemon=True, name=f"stream-{tag}").start()
    open_sources = len(sources)
    while open_sources:
        try:
            tag, item = inbox.get(timeout=idle)
        except queue.Empty:
            yield None, b""
            continue
        if item is _END:
            open_sources -= 1
        elif isinstance(item, BaseException):
            raise item
        else:
            yield tag, item


def frame_data(response: Response) -> Iterator[bytes]:
    """The file bytes carried by a stream of Nomad ``StreamFrame`` objects (``{}`` heartbeats carry none)."""
    decoder = json.JSONDecoder()
    text = codecs.getincrementaldecoder("utf-8")("replace")  # a chunk may end inside a character
    pending = ""
    for chunk in response.chunks():
        pending += text.decode(chunk)
        pos = 0
        while True:
            while pos < len(pending) and pending[pos] in " \t\r\n":
                pos += 1
            if pos >= len(pending):
                break
            try:
                frame, pos = decoder.raw_decode(pending, pos)
            except ValueError:
                if len(pending) - pos > _MAX_FRAME:
                    raise CLIError(
                        f"{response.where} sent a stream that is not made of JSON frames"
                    ) from None
                break  # an incomplete frame: wait for more
            if isinstance(frame, dict) and frame.get("Data"):
                yield base64.b64decode(frame["Data"])
        pending = pending[pos:]
    if pending.strip():
        raise CLIError(f"the stream from {response.where} ended inside a frame")
