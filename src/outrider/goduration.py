"""Go's ``time.Duration`` text: ``time.ParseDuration`` and ``Duration.String``, exact ports.

Durations are integers of nanoseconds, as in Go. ACL token TTLs reach clients in
this form (``"10h0m0s"``) and their parse errors are answered verbatim
(``time: unknown unit "d" in duration "1d"``).
"""

from __future__ import annotations

__all__ = ["GoDurationError", "format_duration", "parse_duration"]

NANOSECOND = 1
MICROSECOND = 1000
MILLISECOND = 1000 * MICROSECOND
SECOND = 1000 * MILLISECOND
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE

_UNITS = {
    "ns": NANOSECOND,
    "us": MICROSECOND,
    "µs": MICROSECOND,  # U+00B5 micro sign
    "μs": MICROSECOND,  # U+03BC Greek mu
    "ms": MILLISECOND,
    "s": SECOND,
    "m": MINUTE,
    "h": HOUR,
}
_MAX = 1 << 63


class GoDurationError(ValueError):
    """``time.ParseDuration`` failed; ``str()`` is Go's error text."""


def _time_quote(s: str) -> str:
    """``time.quote``: printable ASCII kept (``"`` and ``\\`` escaped), every other byte as ``\\xNN``."""
    out = ['"']
    for ch in s:
        if ch < " " or ord(ch) >= 0x80:
            out.extend(f"\\x{b:02x}" for b in ch.encode("utf-8", "surrogatepass"))
        else:
            out.append("\\" + ch if ch in '"\\' else ch)
    out.append('"')
    return "".join(out)


def _invalid(orig: str) -> GoDurationError:
    return GoDurationError("time: invalid duration " + _time_quote(orig))


def _leading_int(s: str) -> tuple[int, str] | None:
    x, i = 0, 0
    while i < len(s) and "0" <= s[i] <= "9":
        if x > _MAX // 10:
            return None
        x = x * 10 + ord(s[i]) - 48
        if x > _MAX:
            return None
        i += 1
    return x, s[i:]


def _leading_fraction(s: str) -> tuple[int, float, str]:
    x, scale, i, overflow = 0, 1.0, 0, False
    while i < len(s) and "0" <= s[i] <= "9":
        if not overflow:
            y = x * 10 + ord(s[i]) - 48
            if x > (_MAX - 1) // 10 or y > _MAX:
                overflow = True
            else:
                x, scale = y, scale * 10
        i += 1
    return x, scale, s[i:]


def _one_component(s: str, orig: str) -> tuple[int, str]:
    """Consume ``[0-9]*(\\.[0-9]*)?unit`` from the front of ``s``: its nanoseconds and the rest."""
    if not (s[0] == "." or "0" <= s[0] <= "9"):
        raise _invalid(orig)
    lead = _leading_int(s)
    if lead is None:
        raise _invalid(orig)
    v, rest = lead
    pre = len(rest) != len(s)
    f, scale, post = 0, 1.0, False
    if rest[:1] == ".":
        rest = rest[1:]
        before = len(rest)
        f, scale, rest = _leading_fraction(rest)
        post = len(rest) != before
    if not pre and not post:
        raise _invalid(orig)
    i = 0
    while i < len(rest) and not (rest[i] == "." or "0" <= rest[i] <= "9"):
        i += 1
    if i == 0:
        raise GoDurationError("time: missing unit in duration " + _time_quote(orig))
    unit_text, rest = rest[:i], rest[i:]
    unit = _UNITS.get(unit_text)
    if unit is None:
        raise GoDurationError(
            "time: unknown unit " + _time_quote(unit_text) + " in duration " + _time_quote(orig)
        )
    if v > _MAX // unit:
        raise _invalid(orig)
    v *= unit
    if f > 0:
        # Go multiplies in float64 so fractions of hours stay nanosecond-accurate.
        v += int(float(f) * (float(unit) / scale))
        if v > _MAX:
            raise _invalid(orig)
    return v, rest


def parse_duration(text: str) -> int:
    """Go ``time.ParseDuration``: nanoseconds, or :class:`GoDurationError` with Go's text."""
    orig, s, neg = text, text, False
    if s and s[0] in "+-":
        neg = s[0] == "-"
        s = s[1:]
    if s == "0":
        return 0
    if not s:
        raise _invalid(orig)
    total = 0
    while s:
        v, s = _one_component(s, orig)
        total += v
        if total > _MAX:
            raise _invalid(orig)
    if neg:
        return -total
    if total > _MAX - 1:
        raise _invalid(orig)
    return total


def _fraction(v: int, prec: int) -> tuple[str, int]:
    """Go ``fmtFrac``: ``.ddd`` of the low ``prec`` digits without trailing zeros, and ``v`` shifted."""
    digits = []
    printed = False
    for _ in range(prec):
        digit = v % 10
        printed = printed or digit != 0
        if printed:
            digits.append(str(digit))
        v //= 10
    text = "." + "".join(reversed(digits)) if printed else ""
    return text, v


def format_duration(ns: int) -> str:
    """Go ``Duration.String``: ``0s``, ``1.5µs``, ``500ms``, ``1m30s``, ``10h0m0s``."""
    u = -ns if ns < 0 else ns
    sign = "-" if ns < 0 else ""
    if u < SECOND:
        if u == 0:
            return "0s"
        if u < MICROSECOND:
            prec, unit = 0, "ns"
        elif u < MILLISECOND:
            prec, unit = 3, "µs"
        else:
            prec, unit = 6, "ms"
        frac, whole = _fraction(u, prec)
        return f"{sign}{whole}{frac}{unit}"
    frac, secs = _fraction(u, 9)
    text = f"{secs % 60}{frac}s"
    minutes = secs // 60
    if minutes:
        text = f"{minutes % 60}m{text}"
        hours = minutes // 60
        if hours:
            text = f"{hours}h{text}"
    return sign + text
