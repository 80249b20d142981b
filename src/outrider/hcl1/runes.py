"""What HCL v1's two scanners share: runes from a ``bytes.Buffer`` with positions, and the
scanning of numbers, strings and identifiers, which the JSON scanner copies from the HCL one.

Both scanners read through Go's ``bytes.Buffer`` and step back with
``UnreadRune``, which panics unless the previous operation was a successful
``ReadRune``; a few malformed inputs reach that panic, so it is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from outrider.hcl1.errors import GoPanic, Pos

EOF_RUNE = 0  # Go's scanners use rune(0) for the end of input
RUNE_ERROR = 0xFFFD
_SIMPLE_ESCAPES = frozenset(b'abfnrtv\\"')
_HEX_ESCAPES = {ord("x"): 2, ord("u"): 4, ord("U"): 8}
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

    # -- scanning shared by both languages -------------------------------------------------

    # In HCL a quote or newline inside ${...} does not end the string; in JSON it does.
    INTERPOLATION_HIDES_QUOTES = False
    IDENTIFIER_EXTRA: tuple[int, ...] = (ord("-"),)

    def scan_token(self, ch: int) -> Any:
        """The type of the token that starts with ``ch`` (the rest of it is read)."""
        raise NotImplementedError

    def scan_digits(self, ch: int, base: int, n: int) -> None:
        """The digits of an escape (``\\x41``); the two scanners step back differently."""
        raise NotImplementedError

    def scan_parts(self) -> tuple[Any, Pos, str]:
        """``Scan``: the next token's type, position and text."""
        ch = self.next()
        while is_whitespace(ch):
            ch = self.next()
        start = self.src_pos.offset - self.last_char_len
        pos = self.token_start()
        kind = self.scan_token(ch)
        return kind, pos, self.text(start, self.src_pos.offset)

    def scan_escape(self) -> None:
        ch = self.next()
        if ch in _SIMPLE_ESCAPES:
            return
        if ord("0") <= ch <= ord("7"):
            self.scan_digits(ch, 8, 3)
        elif ch in _HEX_ESCAPES:
            self.scan_digits(self.next(), 16, _HEX_ESCAPES[ch])
        else:
            self.err("illegal char escape")

    def scan_mantissa(self, ch: int) -> int:
        scanned = False
        while is_decimal(ch):
            ch = self.next()
            scanned = True
        if scanned and ch != EOF_RUNE:
            self.unread()
        return ch

    def scan_fraction(self, ch: int) -> int:
        if ch == ord("."):
            ch = self.scan_mantissa(self.peek())
        return ch

    def scan_exponent(self, ch: int) -> int:
        if ch in (ord("e"), ord("E")):
            ch = self.next()
            if ch in (ord("-"), ord("+")):
                ch = self.next()
            ch = self.scan_mantissa(ch)
        return ch

    def scan_float_tail(self, ch: int) -> bool:
        """After a number's digits: an exponent, or a fraction and maybe an exponent (a float)."""
        if ch in (ord("e"), ord("E")):
            self.scan_exponent(ch)
            return True
        if ch == ord("."):
            ch = self.scan_fraction(ch)
            if ch in (ord("e"), ord("E")):
                self.scan_exponent(self.next())
            return True
        return False

    def scan_leading_period(self) -> bool:
        """After a ``.``: whether digits follow (``.5``, a float), scanned if so."""
        if not is_decimal(self.peek()):
            return False
        self.scan_exponent(self.scan_mantissa(self.peek()))
        return True

    def scan_string(self) -> None:
        braces = 0
        hides = self.INTERPOLATION_HIDES_QUOTES
        while True:
            ch = self.next()
            if (ch == 0x0A and (braces == 0 or not hides)) or ch == EOF_RUNE:
                self.err("literal not terminated")
                return
            if ch == ord('"') and (braces == 0 or not hides):
                return
            if braces == 0 and ch == ord("$") and self.peek() == ord("{"):
                braces += 1
                self.next()
            elif braces > 0 and ch == ord("{"):
                braces += 1
            if braces > 0 and ch == ord("}"):
                braces -= 1
            if ch == ord("\\"):
                self.scan_escape()

    def scan_identifier(self) -> str:
        offs = self.src_pos.offset - self.last_char_len
        ch = self.next()
        while is_letter(ch) or is_digit(ch) or ch in self.IDENTIFIER_EXTRA:
            ch = self.next()
        if ch != EOF_RUNE:
            self.unread()
        return self.text(offs, self.src_pos.offset)


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
