"""HCL v1's JSON scanner (``json/scanner``): the tokens of an HCL-flavoured JSON document."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from outrider.hcl1.ast import Token, TokenType
from outrider.hcl1.errors import Pos
from outrider.hcl1.runes import (
    EOF_RUNE,
    RUNE_ERROR,
    RuneReader,
    digit_val,
    is_decimal,
    is_letter,
)


class JSONType(IntEnum):
    """``json/token.Type``."""

    ILLEGAL = 0
    EOF = 1
    NUMBER = 4
    FLOAT = 5
    BOOL = 6
    STRING = 7
    NULL = 8
    LBRACK = 12
    LBRACE = 13
    COMMA = 14
    PERIOD = 15
    COLON = 16
    RBRACK = 17
    RBRACE = 18

    def __str__(self) -> str:
        return self.name


@dataclass
class JSONToken:
    type: JSONType
    pos: Pos
    text: str

    def go_struct(self) -> str:
        return f"{{Type:{self.type} Pos:{self.pos.go_struct()} Text:{self.text}}}"

    def hcl_token(self) -> Token:
        """``HCLToken``: the literal as an HCL token. Go drops the position here, so nodes built
        from JSON report ``-`` as their position."""
        if self.type == JSONType.BOOL:
            return Token(TokenType.BOOL, Pos(), self.text)
        if self.type == JSONType.FLOAT:
            return Token(TokenType.FLOAT, Pos(), self.text)
        if self.type == JSONType.NULL:
            return Token(TokenType.STRING, Pos(), "")
        if self.type == JSONType.NUMBER:
            return Token(TokenType.NUMBER, Pos(), self.text)
        return Token(TokenType.STRING, Pos(), self.text, json=True)


_SINGLE = {
    ord("["): JSONType.LBRACK,
    ord("]"): JSONType.RBRACK,
    ord("{"): JSONType.LBRACE,
    ord("}"): JSONType.RBRACE,
    ord(","): JSONType.COMMA,
    ord(":"): JSONType.COLON,
}


class JSONScanner(RuneReader):
    """``json/scanner.Scanner``."""

    def next(self) -> int:
        got = self._read_rune()
        if got is None:
            return self._at_eof()
        ch, size = got
        if ch == RUNE_ERROR and size == 1:
            self._advance(size)
            self.err("illegal UTF-8 encoding")
            return ch
        self.prev_pos = self.src_pos
        self._advance(size)
        if ch == 0x0A:
            self._newline()
        return ch

    def scan(self) -> JSONToken:
        return JSONToken(*self.scan_parts())

    def scan_token(self, ch: int) -> JSONType:
        if is_letter(ch):
            lit = self.scan_identifier()
            if lit in ("true", "false"):
                return JSONType.BOOL
            if lit == "null":
                return JSONType.NULL
            self.err("illegal char")
            return JSONType.ILLEGAL
        if is_decimal(ch):
            return self._scan_number(ch)
        if ch == EOF_RUNE:
            return JSONType.EOF
        if ch in _SINGLE:
            return _SINGLE[ch]
        if ch == ord('"'):
            self.scan_string()
            return JSONType.STRING
        if ch == ord("."):
            return JSONType.FLOAT if self.scan_leading_period() else JSONType.PERIOD
        if ch == ord("-") and is_decimal(self.peek()):
            return self._scan_number(self.next())
        self.err("illegal char" if ch == ord("-") else "illegal char: " + chr(ch))
        return JSONType.ILLEGAL

    def _scan_number(self, ch: int) -> JSONType:
        zero = ch == ord("0")
        pos = self.src_pos
        self.scan_mantissa(ch)
        ch = self.next()
        if self.scan_float_tail(ch):
            return JSONType.FLOAT
        if ch != EOF_RUNE:
            self.unread()
        if zero and pos != self.src_pos:
            self.err("numbers cannot start with 0")
        return JSONType.NUMBER

    def scan_digits(self, ch: int, base: int, n: int) -> None:
        # This scanner's copy always steps back, even when it read nothing or hit the end.
        while n > 0 and digit_val(ch) < base:
            ch = self.next()
            n -= 1
        if n > 0:
            self.err("illegal char escape")
        self.unread()
