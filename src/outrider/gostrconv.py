"""Go ``strconv`` and ``time`` formatting that Nomad's wire format exposes.

Error texts and timestamps reach clients verbatim, so these are exact ports:
``strconv.Quote``, ``ParseBool``, ``ParseInt(s, 10, 64)``, ``Atoi``
(``command/agent/http.go`` ``parse``) and ``time.Time.Format(time.RFC3339Nano)`` in the local zone.
"""

from __future__ import annotations

import re
import time

__all__ = [
    "GoNumError",
    "GoRangeError",
    "GoSyntaxError",
    "fold_ascii",
    "format_rfc3339nano",
    "format_rfc3339nano_utc",
    "parse_atoi",
    "parse_bool",
    "parse_int",
    "quote",
]

# strconv.appendEscapedRune's short escapes; '"' and '\\' are always escaped.
_SHORT_ESCAPES = {
    0x07: "\\a",
    0x08: "\\b",
    0x0C: "\\f",
    0x0A: "\\n",
    0x0D: "\\r",
    0x09: "\\t",
    0x0B: "\\v",
    0x22: '\\"',
    0x5C: "\\\\",
}
_SURROGATE = re.compile("[\ud800-\udfff]")
_DECIMAL = re.compile("[+-]?[0-9]+")
_LEADING_DIGITS = re.compile("[0-9]+")
_MAX_UINT64 = (1 << 64) - 1
_INT64_CUTOFF = 1 << 63


def _go_bytes_view(s: str) -> str:
    """Re-read ``s`` the way Go sees the bytes it stands for.

    Lone surrogates U+DC80..U+DCFF are ``os.fsdecode``'s stand-ins for
    undecodable bytes; other surrogates encode as the (invalid) 3-byte UTF-8
    Go would receive. Decoding the bytes again with ``surrogateescape`` turns
    every byte Go's ``utf8.DecodeRune`` rejects into exactly one U+DCxx, and
    merges escaped bytes that happen to form valid UTF-8, as Go would.
    """
    raw = bytearray()
    for ch in s:
        cp = ord(ch)
        if 0xDC80 <= cp <= 0xDCFF:
            raw.append(cp - 0xDC00)
        else:
            raw += ch.encode("utf-8", "surrogatepass")
    return raw.decode("utf-8", "surrogateescape")


def _escape(ch: str) -> str:
    cp = ord(ch)
    short = _SHORT_ESCAPES.get(cp)
    if short is not None:
        return short
    if 0xDC80 <= cp <= 0xDCFF:
        # An invalid UTF-8 byte.
        return f"\\x{cp - 0xDC00:02x}"
    # Python's isprintable() and Go's unicode.IsPrint share a definition:
    # categories L, M, N, P, S plus U+0020. They differ only on code points
    # assigned in a Unicode version one side does not know yet.
    if ch.isprintable():
        return ch
    if cp < 0x20 or cp == 0x7F:
        return f"\\x{cp:02x}"
    if cp < 0x10000:
        return f"\\u{cp:04x}"
    return f"\\U{cp:08x}"


def quote(s: str | bytes) -> str:
    """Go ``strconv.Quote``: a double-quoted Go string literal for ``s``.

    ``bytes`` and ``str`` holding ``os.fsdecode`` surrogate escapes are quoted
    as the bytes they stand for, so invalid UTF-8 shows up as ``\\xNN``.

    >>> quote('a"b\\n')
    '"a\\\\"b\\\\n"'
    >>> quote("\\x00é")
    '"\\\\x00é"'
    """
    if isinstance(s, bytes):
        s = s.decode("utf-8", "surrogateescape")
    elif _SURROGATE.search(s):
        s = _go_bytes_view(s)
    if s.isprintable() and '"' not in s and "\\" not in s:
        return f'"{s}"'
    return '"' + "".join(map(_escape, s)) + '"'


def fold_ascii(s: str) -> str | None:
    """``s`` folded as Go's ``strings.EqualFold`` would to compare it with an ASCII name.

    Two strings are EqualFold-equal to an ASCII ``name`` exactly when this gives
    ``name.lower()``: ASCII letters fold to lower case, the long s (U+017F) to ``s`` and
    the Kelvin sign (U+212A) to ``k``; any other non-ASCII character can match no
    ASCII letter, so the result is ``None``.
    """
    out = []
    for ch in s:
        if ch.isascii():
            out.append(ch.lower())
        elif ch == "\u017f":
            out.append("s")
        elif ch == "\u212a":
            out.append("k")
        else:
            return None
    return "".join(out)


class GoNumError(ValueError):
    """A ``*strconv.NumError``; ``str()`` is Go's ``Error()`` text."""

    reason = ""

    def __init__(self, func: str, num: str) -> None:
        self.func = func
        self.num = num
        super().__init__(f"strconv.{func}: parsing {quote(num)}: {self.reason}")


class GoSyntaxError(GoNumError):
    """``strconv.ErrSyntax``: the value is not in the expected form."""

    reason = "invalid syntax"


class GoRangeError(GoNumError):
    """``strconv.ErrRange``: the value does not fit in 64 bits."""

    reason = "value out of range"


def parse_bool(s: str) -> bool:
    """Go ``strconv.ParseBool``: ``1 t T TRUE true True`` or ``0 f F FALSE false False``.

    Raises :class:`GoSyntaxError` for anything else, the empty string included.
    """
    if s in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if s in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise GoSyntaxError("ParseBool", s)


def _parse_int64(s: str, func: str) -> int:
    if _DECIMAL.fullmatch(s) is None:
        # Go scans digits left to right and reports overflow as soon as it
        # happens, so a huge number with trailing junk is out of range, not a
        # syntax error.
        body = s[1:] if s[:1] in ("+", "-") else s
        digits = _LEADING_DIGITS.match(body)
        if digits and int(digits.group()) > _MAX_UINT64:
            raise GoRangeError(func, s)
        raise GoSyntaxError(func, s)
    value = int(s)
    if not -_INT64_CUTOFF <= value < _INT64_CUTOFF:
        raise GoRangeError(func, s)
    return value


def parse_int(s: str) -> int:
    """Go ``strconv.ParseInt(s, 10, 64)``.

    Accepts an optional ``+``/``-`` then ASCII digits only (no spaces,
    underscores or base prefixes). Raises :class:`GoSyntaxError` or
    :class:`GoRangeError` with Go's message.
    """
    return _parse_int64(s, "ParseInt")


def parse_atoi(s: str) -> int:
    """Go ``strconv.Atoi`` on a 64-bit platform: :func:`parse_int` with ``Atoi`` errors."""
    return _parse_int64(s, "Atoi")


def _append_int(n: int, width: int) -> str:
    # time.appendInt: a sign, then at least ``width`` zero-padded digits.
    return f"-{-n:0{width}d}" if n < 0 else f"{n:0{width}d}"


# Recent seconds' formatted text, keyed by the second and the process's zone settings
# (``time.tzset`` rewrites ``tzname``, ``timezone`` and ``altzone``), so a zone change is
# never masked and a hit costs no ``localtime`` call.
_SECONDS_CACHE: dict[tuple[int, tuple[str, str], int, int], tuple[str, str]] = {}
_SECONDS_CACHE_MAX = 4096


def _format_second(tm: time.struct_time) -> tuple[str, str]:
    head = (
        f"{_append_int(tm.tm_year, 4)}-{tm.tm_mon:02d}-{tm.tm_mday:02d}"
        f"T{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d}"
    )
    offset = tm.tm_gmtoff
    if offset == 0:
        return head, "Z"
    # Go truncates the offset to whole minutes toward zero before signing.
    minutes = abs(offset) // 60
    sign = "-" if offset < 0 else "+"
    return head, f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def format_rfc3339nano(ns: int) -> str:
    """Go ``time.Unix(0, ns).Format(time.RFC3339Nano)`` in the process's local zone.

    The fraction keeps up to nine digits with trailing zeros trimmed and is
    dropped when zero; the zone is ``Z`` at offset 0, else ``+hh:mm``/``-hh:mm``.
    """
    sec, frac = divmod(ns, 1_000_000_000)
    key = (sec, time.tzname, time.timezone, time.altzone)
    cached = _SECONDS_CACHE.get(key)
    if cached is not None:
        head, zone = cached
    else:
        head, zone = _format_second(time.localtime(sec))
        if len(_SECONDS_CACHE) >= _SECONDS_CACHE_MAX:
            _SECONDS_CACHE.clear()
        _SECONDS_CACHE[key] = (head, zone)
    return _with_fraction(head, zone, frac)


def _with_fraction(head: str, zone: str, frac: int) -> str:
    if frac:
        return f"{head}.{f'{frac:09d}'.rstrip('0')}{zone}"
    return head + zone


def format_rfc3339nano_utc(ns: int) -> str:
    """Go ``t.UTC().Format(time.RFC3339Nano)``: as :func:`format_rfc3339nano`, always ending in ``Z``."""
    sec, frac = divmod(ns, 1_000_000_000)
    head, zone = _format_second(time.gmtime(sec))
    return _with_fraction(head, zone, frac)
