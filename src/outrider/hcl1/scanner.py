"""HCL v1's scanner (``hcl/scanner``), rune for rune: same tokens, same positions, same errors.

Errors do not stop the scanner: each one is handed to :attr:`RuneReader.error`
and scanning goes on, as in Go; the parser reports the last one.
"""

from __future__ import annotations

import re

from outrider.hcl1.ast import Token, TokenType
from outrider.hcl1.runes import (
    EOF_RUNE,
    RUNE_ERROR,
    RuneReader,
    digit_val,
    is_decimal,
    is_digit,
    is_hexadecimal,
    is_letter,
)

_SINGLE = {
    ord("["): TokenType.LBRACK,
    ord("]"): TokenType.RBRACK,
    ord("{"): TokenType.LBRACE,
    ord("}"): TokenType.RBRACE,
    ord(","): TokenType.COMMA,
    ord("="): TokenType.ASSIGN,
    ord("+"): TokenType.ADD,
}


class Scanner(RuneReader):
    """``hcl/scanner.Scanner``."""

    INTERPOLATION_HIDES_QUOTES = True
    IDENTIFIER_EXTRA = (ord("-"), ord("."))

    def next(self) -> int:
        got = self._read_rune()
        if got is None:
            return self._at_eof()
        ch, size = got
        self.prev_pos = self.src_pos
        self._advance(size)
        if ch == RUNE_ERROR and size == 1:
            self.err("illegal UTF-8 encoding")
            return ch
        if ch == 0x0A:
            self._newline()
        if ch == 0:
            self.err("unexpected null character (0x00)")
            return EOF_RUNE
        if ch == 0xE123:
            self.err("unicode code point U+E123 reserved for internal use")
            return RUNE_ERROR
        return ch

    def scan(self) -> Token:
        return Token(*self.scan_parts())

    def scan_token(self, ch: int) -> TokenType:
        if is_letter(ch):
            lit = self.scan_identifier()
            return TokenType.BOOL if lit in ("true", "false") else TokenType.IDENT
        if is_decimal(ch):
            return self._scan_number(ch)
        if ch == EOF_RUNE:
            return TokenType.EOF
        if ch in _SINGLE:
            return _SINGLE[ch]
        if ch == ord('"'):
            self.scan_string()
            return TokenType.STRING
        if ch in (ord("#"), ord("/")):
            self._scan_comment(ch)
            return TokenType.COMMENT
        if ch == ord("."):
            return TokenType.FLOAT if self.scan_leading_period() else TokenType.PERIOD
        if ch == ord("<"):
            self._scan_heredoc()
            return TokenType.HEREDOC
        if ch == ord("-"):
            if is_decimal(self.peek()):
                return self._scan_number(self.next())
            return TokenType.SUB
        self.err("illegal char")
        return TokenType.ILLEGAL

    def _scan_comment(self, ch: int) -> None:
        if ch == ord("#") or (ch == ord("/") and self.peek() != ord("*")):
            if ch == ord("/") and self.peek() != ord("/"):
                self.err("expected '/' for comment")
                return
            ch = self.next()
            while ch not in (0x0A, EOF_RUNE):
                ch = self.next()
            if ch != EOF_RUNE:
                self.unread()
            return
        if ch == ord("/"):
            self.next()
            ch = self.next()
        while True:
            if ch == EOF_RUNE:
                self.err("comment not terminated")
                break
            prev, ch = ch, self.next()
            if prev == ord("*") and ch == ord("/"):
                break

    def _scan_number(self, ch: int) -> TokenType:
        if ch == ord("0"):
            return self._scan_zero_number()
        self.scan_mantissa(ch)
        ch = self.next()
        if self.scan_float_tail(ch):
            return TokenType.FLOAT
        if ch != EOF_RUNE:
            self.unread()
        return TokenType.NUMBER

    def _scan_zero_number(self) -> TokenType:
        ch = self.next()
        if ch in (ord("x"), ord("X")):
            ch = self.next()
            found = False
            while is_hexadecimal(ch):
                ch = self.next()
                found = True
            if not found:
                self.err("illegal hexadecimal number")
            if ch != EOF_RUNE:
                self.unread()
            return TokenType.NUMBER
        illegal_octal = False
        while is_decimal(ch):
            ch = self.next()
            if ch in (ord("8"), ord("9")):
                illegal_octal = True
        if self.scan_float_tail(ch):
            return TokenType.FLOAT
        if illegal_octal:
            self.err("illegal octal number")
        if ch != EOF_RUNE:
            self.unread()
        return TokenType.NUMBER

    def _scan_heredoc(self) -> None:
        if self.next() != ord("<"):
            self.err("heredoc expected second '<', didn't see it")
            return
        offs = self.src_pos.offset
        ch = self.next()
        if ch == ord("-"):
            ch = self.next()
        while is_letter(ch) or is_digit(ch):
            ch = self.next()
        if ch == EOF_RUNE:
            self.err("heredoc not terminated")
            return
        if ch == 0x0D and self.peek() == 0x0A:
            ch = self.next()
        if ch != 0x0A:
            self.err("invalid characters in heredoc anchor")
            return
        ident = self.src[offs : self.src_pos.offset - self.last_char_len]
        if not ident:
            self.err("zero-length heredoc anchor")
            return
        anchor = ident[1:] if ident[:1] == b"-" else ident
        # Go: ^[[:space:]]*<anchor>\r*\z
        terminator = re.compile(rb"[\t\n\v\f\r ]*" + re.escape(anchor) + rb"\r*\Z")
        self._scan_heredoc_body(len(ident), terminator)

    def _scan_heredoc_body(self, ident_len: int, terminator: re.Pattern[bytes]) -> None:
        line_start = self.src_pos.offset
        while True:
            ch = self.next()
            if ch == 0x0A:
                line_end = self.src_pos.offset - self.last_char_len
                if line_end - line_start >= ident_len and terminator.match(self.src, line_start, line_end):
                    return
                line_start = self.src_pos.offset
            if ch == EOF_RUNE:
                self.err("heredoc not terminated")
                return

    def scan_digits(self, ch: int, base: int, n: int) -> None:
        start = n
        while n > 0 and digit_val(ch) < base:
            ch = self.next()
            if ch == EOF_RUNE:
                break
            n -= 1
        if n > 0:
            self.err("illegal char escape")
        if n != start and ch != EOF_RUNE:
            self.unread()
