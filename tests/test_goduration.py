"""Go time.Duration text: ParseDuration and Duration.String, exact texts."""

from __future__ import annotations

import pytest

from outrider.goduration import HOUR, MINUTE, SECOND, GoDurationError, format_duration, parse_duration


@pytest.mark.parametrize(
    ("ns", "text"),
    [
        (0, "0s"),
        (1, "1ns"),
        (1500, "1.5µs"),
        (500_000_000, "500ms"),
        (90 * SECOND, "1m30s"),
        (10 * HOUR, "10h0m0s"),
        (24 * HOUR, "24h0m0s"),
        (MINUTE, "1m0s"),
        (2 * HOUR + SECOND // 2, "2h0m0.5s"),
        (-HOUR, "-1h0m0s"),
        ((1 << 63) - 1, "2562047h47m16.854775807s"),
    ],
)
def test_format(ns: int, text: str) -> None:
    assert format_duration(ns) == text


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("10h", 10 * HOUR),
        ("1h30m", 90 * MINUTE),
        ("1.5h", 90 * MINUTE),
        ("0", 0),
        ("-0", 0),
        ("+5s", 5 * SECOND),
        (".5s", SECOND // 2),
        ("1µs", 1000),
        ("1μs", 1000),
        ("1us", 1000),
        ("1.000000001s", SECOND + 1),
        ("9223372036854775807ns", (1 << 63) - 1),
        ("-9223372036854775808ns", -(1 << 63)),
    ],
)
def test_parse(text: str, ns: int) -> None:
    assert parse_duration(text) == ns


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("abc", 'time: invalid duration "abc"'),
        ("", 'time: invalid duration ""'),
        ("-", 'time: invalid duration "-"'),
        (".s", 'time: invalid duration ".s"'),
        ("10", 'time: missing unit in duration "10"'),
        ("1d", 'time: unknown unit "d" in duration "1d"'),
        ("1e3s", 'time: unknown unit "e" in duration "1e3s"'),
        ("9223372036854775808ns", 'time: invalid duration "9223372036854775808ns"'),
        ("1\x00h", 'time: unknown unit "\\x00h" in duration "1\\x00h"'),
        ("5ö", 'time: unknown unit "\\xc3\\xb6" in duration "5\\xc3\\xb6"'),
    ],
)
def test_parse_errors(text: str, error: str) -> None:
    with pytest.raises(GoDurationError) as exc:
        parse_duration(text)
    assert str(exc.value) == error


@pytest.mark.parametrize("ns", [0, 1, 999, 1000, 1_500_000, SECOND, 61 * SECOND, 3 * HOUR + 7, -5 * MINUTE])
def test_round_trip(ns: int) -> None:
    assert parse_duration(format_duration(ns)) == ns
