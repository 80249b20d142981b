"""Output for a person: aligned tables, relative times, sizes, and colour only where it helps.

Tables and key/value lists follow Nomad's CLI (``command/helpers.go`` ``formatList``
and ``formatKV`` on ``columnize``: columns two spaces apart, an empty cell shown as
``<none>`` so the output stays ``awk``-able). Colour is used only when the stream
is a terminal, never when ``NO_COLOR`` is set (no-color.org) or ``-no-color`` is
given; ``-force-color`` turns it on anywhere.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO

EMPTY = "<none>"
_RESET = "\x1b[0m"
_CODES = {"bold": "1", "red": "31", "green": "32", "yellow": "33", "blue": "34", "cyan": "36", "dim": "2"}

# Status words and the colour each gets (Nomad's UI greens what runs, reds what failed).
_STATUS_COLOURS = {
    "running": "green",
    "ready": "green",
    "complete": "blue",
    "successful": "blue",
    "pending": "yellow",
    "starting": "yellow",
    "failed": "red",
    "lost": "red",
    "dead": "dim",
    "stop": "dim",
    "down": "red",
}

Cell = str | tuple[str, str]
"""A table cell: plain text, or ``(text, colour)``."""


def wants_color(stream: TextIO, no_color: bool = False, force_color: bool = False) -> bool:
    """Whether to colour ``stream``: a terminal, without ``NO_COLOR`` or ``-no-color``."""
    if force_color or os.environ.get("NOMAD_CLI_FORCE_COLOR"):
        return True
    if no_color or os.environ.get("NO_COLOR") or os.environ.get("NOMAD_CLI_NO_COLOR"):
        return False
    try:
        return stream.isatty() and os.environ.get("TERM") != "dumb"
    except ValueError:  # a closed stream
        return False


class UI:
    """Writes to stdout and stderr, colouring each only when it should be."""

    def __init__(self, color: bool, err_color: bool) -> None:
        self.color = color
        self.err_color = err_color

    def paint(self, text: str, colour: str, *, err: bool = False) -> str:
        if not (self.err_color if err else self.color) or not text or colour not in _CODES:
            return text
        return f"\x1b[{_CODES[colour]}m{text}{_RESET}"

    def bold(self, text: str) -> str:
        return self.paint(text, "bold")

    def status(self, word: str) -> Cell:
        """A status word as a table cell in its colour."""
        return (word, _STATUS_COLOURS.get(word, ""))

    def out(self, text: str = "") -> None:
        sys.stdout.write(text + "\n")

    def heading(self, text: str) -> None:
        self.out(self.bold(text))

    def table(self, rows: Sequence[Sequence[Cell]], header: bool = True) -> None:
        self.out(self.format_table(rows, header))

    def format_table(self, rows: Sequence[Sequence[Cell]], header: bool = True) -> str:
        """Aligned columns two spaces apart; the header row in bold."""
        plain = [[_text(c) or EMPTY for c in row] for row in rows]
        if not plain:
            return ""
        widths = [0] * max(len(r) for r in plain)
        for row in plain:
            for i, text in enumerate(row):
                widths[i] = max(widths[i], _width(text))
        lines = []
        for n, (row, cells) in enumerate(zip(plain, rows, strict=True)):
            parts = []
            for i, text in enumerate(row):
                pad = " " * (widths[i] - _width(text)) if i < len(row) - 1 else ""
                colour = "bold" if header and n == 0 else _colour(cells[i])
                parts.append(self.paint(text, colour) + pad)
            lines.append("  ".join(parts).rstrip())
        return "\n".join(lines)

    def kv(self, pairs: Sequence[tuple[str, Cell]]) -> None:
        self.out(self.format_kv(pairs))

    def format_kv(self, pairs: Sequence[tuple[str, Cell]]) -> str:
        """``Key = value`` lines with the ``=`` aligned."""
        width = max((len(k) for k, _ in pairs), default=0)
        return "\n".join(
            f"{k.ljust(width)} = {self.paint(_text(v) or EMPTY, _colour(v))}".rstrip() for k, v in pairs
        )

    def error(self, message: str, hint: str = "") -> None:
        sys.stderr.write(f"{self.paint('Error:', 'red', err=True)} {message}\n")
        if hint:
            sys.stderr.write(f"{self.paint('Hint:', 'yellow', err=True)} {hint}\n")

    def warn(self, message: str) -> None:
        sys.stderr.write(self.paint(message, "yellow", err=True) + "\n")


def _text(cell: Cell) -> str:
    return cell[0] if isinstance(cell, tuple) else cell


def _colour(cell: Cell) -> str:
    return cell[1] if isinstance(cell, tuple) else ""


def _width(text: str) -> int:
    return len(text)


def print_json(obj: Any) -> None:
    """``-json`` output: the API's object, indented by four spaces as Nomad's ``Format`` does."""
    sys.stdout.write(json.dumps(obj, indent=4, ensure_ascii=False) + "\n")


# -- times and sizes --------------------------------------------------------------------------------

_RFC3339 = re.compile(r"^(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$")


def parse_time(value: Any) -> float | None:
    """Seconds since the epoch from Unix nanoseconds or an RFC 3339 string; ``None`` for Go's zero time."""
    if isinstance(value, int | float):
        return value / 1e9 if value > 0 else None
    if not isinstance(value, str):
        return None
    match = _RFC3339.match(value)
    if not match:
        return None
    year, month, day, hour, minute, second, frac, zone = match.groups()
    if int(year) <= 1:
        return None
    import calendar

    secs = calendar.timegm((int(year), int(month), int(day), int(hour), int(minute), int(second), 0, 0, 0))
    if frac:
        secs += int(frac.ljust(9, "0")) / 1e9
    if zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        secs -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    return secs


def format_time(value: Any) -> str:
    """Local ISO 8601, as Nomad's ``formatTime``; empty for a zero time."""
    secs = parse_time(value)
    if secs is None or secs < 1:
        return ""
    local = time.localtime(secs)
    offset = time.strftime("%z", local)
    zone = "Z" if offset in ("+0000", "-0000") else f"{offset[:3]}:{offset[3:]}"
    return time.strftime("%Y-%m-%dT%H:%M:%S", local) + zone


def ago(value: Any, now: float | None = None) -> str:
    """Nomad's ``prettyTimeDiff``: the two largest units, ``3m12s ago`` or ``1h5m from now``."""
    secs = parse_time(value)
    if secs is None:
        return ""
    now = time.time() if now is None else now
    diff = round(now) - round(secs)
    suffix = "ago" if diff >= 0 else "from now"
    left = abs(diff)
    parts = []
    for unit, size in (
        ("y", 31_104_000),
        ("mo", 2_592_000),
        ("d", 86_400),
        ("h", 3_600),
        ("m", 60),
        ("s", 1),
    ):
        count, left = divmod(left, size)
        if count:
            parts.append(f"{count}{unit}")
    return ("".join(parts[:2]) or "0s") + " " + suffix


def ibytes(size: int) -> str:
    """go-humanize's ``IBytes``: ``100 B``, ``1.5 KiB``, ``79 MiB``."""
    if size < 1024:
        return f"{size} B"
    value = float(size)
    for unit in ("KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        value /= 1024
        if value < 1024 or unit == "EiB":
            return f"{value:.1f} {unit}" if value < 10 else f"{value:.0f} {unit}"
    return f"{size} B"  # pragma: no cover - the loop always returns


def short_id(ident: str, verbose: bool = False) -> str:
    """Nomad's ``limit(id, shortId)``: the first 8 characters unless ``-verbose``."""
    return ident if verbose else ident[:8]
