"""The reading half shared by HCL v1's two scanners: runes from a ``bytes.Buffer``, with positions.

Both scanners read through Go's ``bytes.Buffer`` and step back with
``UnreadRune``, which panics unless the previous operation was a successful
``ReadRune``; a few malformed inputs reach that panic, so it is kept.
"""

from __future__ import annotations

from collections.abc import Callable

from outrider.hcl1.errors import GoPanic, Pos

EOF_RUNE = 0  # Go's scanners use rune(0) for the end of input
RUNE_ERROR = 0xFFFD
_UNREAD_PANIC = "bytes.Buffer: UnreadRune: previous operation was not a successful ReadRune"


def _decode_runes(src: bytes) -> dict[int, tuple[int, int]]:
    """Every rune start: its code point and byte size, with ``utf8.DecodeRune``'s error rule."""
    runes: dict[int, tuple[int, int]] = {}
    off = 0
    while off < len(src):
        size = 1
        cp = RUNE_ERROR
        lead = src[off]
        if lead < 0x80:
            cp = lead
        else:
            for n in (2, 3, 4):
                try:
                    cp = ord(src[off : off + n].decode("utf-8"))
                    size = n
                    break
                except (UnicodeDecodeError, TypeError):
                    continue
        runes[off] = (cp, size)
        off += size
    return runes


class RuneReader:
    """``bytes.Buffer`` reading plus the scanner's position bookkeeping (``srcPos``, ``prevPos``)."""

    def __init__(self, src: bytes) -> None:
        self.src = src
        self._runes = _decode_runes(src)
        self._off = 0
        self._last_read = 0  # size of the last successful ReadRune; 0 after any other operation
        self.src_pos = Pos(0, 1, 0)
        self.prev_pos = Pos()
        self.last_char_len = 0
        self.last_line_len = 0
        self.error: Callable[[Pos, str], None] | None = None

    def _read_rune(self) -> tuple[int, int] | None:
        got = self._runes.get(self._off)
        if got is None:
            self._last_read = 0
            return None
        self._off += got[1]
        self._last_read = got[1]
        return got

    def _advance(self, size: int) -> None:
        offset, line, column = self.src_pos
        self.src_pos = Pos(offset + size, line, column + 1)
        self.last_char_len = size

    def _at_eof(self) -> int:
        # Reading past the end still moves the column, for error reporting.
        self._advance(0)
        return EOF_RUNE

    def _newline(self) -> None:
        offset, line, column = self.src_pos
        self.last_line_len = column
        self.src_pos = Pos(offset, line + 1, 0)

    def unread(self) -> None:
        if self._last_read == 0:
            raise GoPanic(_UNREAD_PANIC)
        self._off -= self._last_read
        self._last_read = 0
        self.src_pos = self.prev_pos

    def peek(self) -> int:
        got = self._read_rune()
        if got is None:
            return EOF_RUNE
        self._off -= got[1]
        self._last_read = 0
        return got[0]

    def recent_position(self) -> Pos:
        offset, line, column = self.src_pos
        offset -= self.last_char_len
        if column > 0:
            return Pos(offset, line, column)
        if self.last_line_len > 0:
            return Pos(offset, line - 1, self.last_line_len)
        return Pos(offset, 1, 1)

    def err(self, msg: str) -> None:
        if self.error is not None:
            self.error(self.recent_position(), msg)

    def token_start(self) -> Pos:
        """Where the rune just read begins: the position a token starting with it gets."""
        offset, line, column = self.src_pos
        offset -= self.last_char_len
        if column > 0:
            return Pos(offset, line, column)
        return Pos(offset, line - 1, self.last_line_len)

    def text(self, start: int, end: int) -> str:
        return self.src[start:end].decode("utf-8", "surrogateescape")


def is_letter(ch: int) -> bool:
    return (
        0x61 <= ch <= 0x7A
        or 0x41 <= ch <= 0x5A
        or ch == 0x5F
        or (ch >= 0x80 and ch != RUNE_ERROR and chr(ch).isalpha())
    )


def is_digit(ch: int) -> bool:
    return 0x30 <= ch <= 0x39 or (ch >= 0x80 and chr(ch).isdecimal())


def is_decimal(ch: int) -> bool:
    return 0x30 <= ch <= 0x39


def is_hexadecimal(ch: int) -> bool:
    return 0x30 <= ch <= 0x39 or 0x61 <= ch <= 0x66 or 0x41 <= ch <= 0x46


def is_whitespace(ch: int) -> bool:
    return ch in (0x20, 0x09, 0x0A, 0x0D)


def digit_val(ch: int) -> int:
    if 0x30 <= ch <= 0x39:
        return ch - 0x30
    if 0x61 <= ch <= 0x66:
        return ch - 0x61 + 10
    if 0x41 <= ch <= 0x46:
        return ch - 0x41 + 10
    return 16
