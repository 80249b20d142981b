"""The task that :mod:`bench.logs_options` runs: writes known log lines to stdout.

Standalone on purpose (standard library only): it runs as a ``raw_exec`` task in the
task's directory, not in the repository.

- ``python logs_writer.py bulk SIZE FINAL GO_FILE``: ``SIZE`` bytes of lines in 1 MiB
  writes (a 1 MiB block of varied lines, repeated), then waits for ``GO_FILE`` and writes
  ``FINAL`` more lines (``final seq=N``) in ten writes: the part a ``since`` window selects.
- ``python logs_writer.py tick INTERVAL_MS SECONDS``: one line every ``INTERVAL_MS`` for
  ``SECONDS``, each carrying its send time (``t=<time.time_ns()>``), for latency.
"""

from __future__ import annotations

import os
import random
import sys
import time

BLOCK = 1024 * 1024
LEVELS = ("INFO", "INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR")


def block(seed: int = 12) -> bytes:
    """1 MiB of whole lines (the last one padded), about 1 in 7 of them ``level=ERROR code=5xx``."""
    rng = random.Random(seed)
    lines: list[bytes] = []
    size = seq = 0
    while True:
        level = rng.choice(LEVELS)
        code = rng.choice((200, 200, 204, 301, 404, 500, 503)) if level != "ERROR" else rng.randint(500, 599)
        words = " ".join(f"{rng.getrandbits(32):08x}" for _ in range(rng.randint(3, 14)))
        line = f"seq={seq:08d} level={level} code={code} msg={words}\n".encode()
        if size + len(line) > BLOCK - 64:
            break
        lines.append(line)
        size += len(line)
        seq += 1
    tail = b"pad " + b"x" * (BLOCK - size - 5) + b"\n"
    return b"".join(lines) + tail


def _write_all(data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(1, view) :]


def bulk(size: int, final: int, go_file: str) -> int:
    data = block()
    for _ in range(size // BLOCK):
        _write_all(data)
    _write_all(data[: size % BLOCK])
    deadline = time.monotonic() + 300
    while not os.path.exists(go_file):
        if time.monotonic() > deadline:
            return 3
        time.sleep(0.01)
    per = max(1, final // 10)
    for start in range(0, final, per):
        _write_all(b"".join(f"final seq={n:08d}\n".encode() for n in range(start, min(final, start + per))))
        time.sleep(0.01)
    return 0


def tick(interval_ms: int, seconds: float) -> int:
    end = time.monotonic() + seconds
    seq = 0
    next_at = time.monotonic()
    while next_at < end:
        _write_all(f"seq={seq} t={time.time_ns()}\n".encode())
        seq += 1
        next_at += interval_ms / 1000
        time.sleep(max(0.0, next_at - time.monotonic()))
    return 0


def main(argv: list[str]) -> int:
    if argv[1] == "bulk":
        return bulk(int(argv[2]), int(argv[3]), argv[4])
    return tick(int(argv[2]), float(argv[3]))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
