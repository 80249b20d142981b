"""String literal decoding: HCL v1's ``strconv.Unquote`` (``${...}`` kept as written) and Go's.

Both return the bytes a Go string would hold, decoded with ``surrogateescape``
so a ``\\xff`` escape survives as the invalid byte it stands for.
"""

from __future__ import annotations


class UnquoteError(ValueError):
    """``strconv.ErrSyntax``."""

    def __init__(self) -> None:
        super().__init__("invalid syntax")


_SIMPLE = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92}
_HEX = "0123456789abcdefABCDEF"


def _fixed_hex(s: str, n: int) -> int:
    if len(s) < n or any(c not in _HEX for c in s[:n]):
        raise UnquoteError()
    return int(s[:n], 16)


def _unquote_char(s: str, out: bytearray) -> str:
    """Go ``strconv.UnquoteChar`` with ``quote='"'``: append one character's bytes, return the rest."""
    c = s[0]
    if c == '"':
        raise UnquoteError()
    if c != "\\":
        out += c.encode("utf-8", "surrogatepass")
        return s[1:]
    if len(s) <= 1:
        raise UnquoteError()
    c, s = s[1], s[2:]
    if c in _SIMPLE:
        out.append(_SIMPLE[c])
        return s
    if c == '"':
        out.append(34)
        return s
    if c == "x":
        out.append(_fixed_hex(s, 2))  # a single byte, possibly not UTF-8
        return s[2:]
    if c in "uU":
        n = 4 if c == "u" else 8
        v = _fixed_hex(s, n)
        if v > 0x10FFFF or 0xD800 <= v <= 0xDFFF:
            raise UnquoteError()
        out += chr(v).encode("utf-8")
        return s[n:]
    if "0" <= c <= "7":
        if len(s) < 2 or not all("0" <= d <= "7" for d in s[:2]):
            raise UnquoteError()
        v = int(c + s[:2], 8)
        if v > 255:
            raise UnquoteError()
        out.append(v)
        return s[2:]
    raise UnquoteError()


def _strip_quotes(text: str) -> str:
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        raise UnquoteError()
    return text[1:-1]


def go_unquote(text: str) -> str:
    """Go ``strconv.Unquote`` of a double-quoted literal (used for JSON-sourced tokens)."""
    s = _strip_quotes(text)
    if "\n" in s:
        raise UnquoteError()
    out = bytearray()
    while s:
        s = _unquote_char(s, out)
    return out.decode("utf-8", "surrogateescape")


def _copy_interpolation(s: str, out: bytearray) -> str:
    """Copy ``${...}`` (nested braces included) as written; return what follows it."""
    out += b"${"
    s = s[2:]
    braces = 1
    while s and braces > 0:
        ch, s = s[0], s[1:]
        out += ch.encode("utf-8", "surrogatepass")
        if ch == "{":
            braces += 1
        elif ch == "}":
            braces -= 1
    if braces != 0:
        raise UnquoteError()
    return s


def hcl_unquote(text: str) -> str:
    """HCL v1 ``hcl/strconv.Unquote``: Go's rules, but ``${...}`` is copied unescaped."""
    s = _strip_quotes(text)
    if "$" not in s and "{" not in s and "\n" in s:
        raise UnquoteError()
    if "\\" not in s and '"' not in s and "$" not in s:
        return s
    out = bytearray()
    while s:
        if s.startswith("${"):
            s = _copy_interpolation(s, out)
            continue
        if s[0] == "\n":
            raise UnquoteError()
        s = _unquote_char(s, out)
    return out.decode("utf-8", "surrogateescape")
