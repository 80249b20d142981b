"""The rotation scenario's task: writes a known byte stream to stdout at a fixed rate.

Run as ``python _logwriter.py SEED TOTAL RATE GO_FILE TIMES_FILE``: writes the
first 64 KiB piece of :func:`stream` at once (so the log file exists), waits for
``GO_FILE`` to exist (the follower is connected by then), then writes the rest of
the ``TOTAL`` bytes in 64 KiB pieces, piece ``i`` due ``(i - 1) * 64 KiB / RATE``
seconds after it saw ``GO_FILE``. ``TIMES_FILE`` gets that moment and the moment
after the last write, as ``time.monotonic_ns()`` values.
Standalone on purpose: it runs inside the task's directory, not the repository.
"""

from __future__ import annotations

import base64
import os
import random
import sys
import time
from collections.abc import Iterator

CHUNK = 64 * 1024
_PATTERN = 1024 * 1024


def pattern(seed: int) -> bytes:
    """1 MiB of printable lines (base64 of seeded random bytes), so rotation can split at line ends."""
    rng = random.Random(seed)
    lines = []
    size = 0
    while size < _PATTERN:
        line = base64.b64encode(rng.randbytes(57)) + b"\n"
        lines.append(line)
        size += len(line)
    return b"".join(lines)[:_PATTERN]


def stream(seed: int, total: int) -> Iterator[bytes]:
    """``total`` bytes of the repeated pattern, in pieces of at most :data:`CHUNK`."""
    block = pattern(seed)
    sent = 0
    while sent < total:
        pos = sent % len(block)
        piece = block[pos : pos + min(CHUNK, total - sent)]
        sent += len(piece)
        yield piece


def due_ns(start: int, piece_start: int, rate: int) -> int:
    """When the piece beginning at byte ``piece_start`` is written (the first one precedes ``start``)."""
    return start + max(0, piece_start - CHUNK) * 1_000_000_000 // rate


def _write_all(piece: bytes) -> None:
    view = memoryview(piece)
    while view:
        view = view[os.write(1, view) :]


def main(argv: list[str]) -> int:
    seed, total, rate = int(argv[1]), int(argv[2]), int(argv[3])
    go_file, times_file = argv[4], argv[5]
    pieces = stream(seed, total)
    first = next(pieces, b"")
    _write_all(first)
    deadline = time.monotonic() + 60
    while not os.path.exists(go_file):
        if time.monotonic() > deadline:
            return 3
        time.sleep(0.005)
    start = time.monotonic_ns()
    written = len(first)
    for piece in pieces:
        delay = due_ns(start, written, rate) - time.monotonic_ns()
        if delay > 0:
            time.sleep(delay / 1e9)
        _write_all(piece)
        written += len(piece)
    end = time.monotonic_ns()
    with open(times_file, "w") as out:
        out.write(f"{start} {end}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
