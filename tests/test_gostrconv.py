"""Exact Go ``strconv`` messages and ``RFC3339Nano`` timestamps (Nomad's ``http.go`` ``parse``, ``wrap``)."""

from __future__ import annotations

import ast
import calendar
import contextlib
import os
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outrider.gostrconv import (
    GoNumError,
    GoRangeError,
    GoSyntaxError,
    format_rfc3339nano,
    parse_atoi,
    parse_bool,
    parse_int,
    quote,
)

INT64_MAX = (1 << 63) - 1
INT64_MIN = -(1 << 63)

QUOTE_CASES = [
    # Go's strconv quote_test.go table.
    ("\a\b\f\r\n\t\v", '"\\a\\b\\f\\r\\n\\t\\v"'),
    ("\\", '"\\\\"'),
    (b"abc\xffdef", '"abc\\xffdef"'),
    ("\u263a", '"☺"'),
    ("\U0010ffff", '"\\U0010ffff"'),
    ("\x04", '"\\x04"'),
    ("!\u00a0!\u2000!\u3000!", '"!\\u00a0!\\u2000!\\u3000!"'),
    ("\x7f", '"\\x7f"'),
    # More edges.
    ("", '""'),
    ("plain/path.txt", '"plain/path.txt"'),
    ('say "hi"', '"say \\"hi\\""'),
    ("\x00\x1b\x1f", '"\\x00\\x1b\\x1f"'),
    ("\x80\x9f", '"\\u0080\\u009f"'),
    ("\u00ad\u200b\u2028\ufeff", '"\\u00ad\\u200b\\u2028\\ufeff"'),
    ("\ue000", '"\\ue000"'),
    ("\U000e0001", '"\\U000e0001"'),
    ("\U0001f600 café Ωμέγα 日本", '"\U0001f600 café Ωμέγα 日本"'),
    ("\ufffd", '"\ufffd"'),
    (" ", '" "'),
    ("'", '"\'"'),
    # os.fsdecode surrogate escapes stand for the bytes Go would see.
    ("a\udcffb", '"a\\xffb"'),
    ("\udce9t\udce9", '"\\xe9t\\xe9"'),
    ("\udcc3\udca9", '"é"'),
    ("\udce2\udc82A", '"\\xe2\\x82A"'),
    ("\ud800", '"\\xed\\xa0\\x80"'),
    (b"\xed\xa0\x80", '"\\xed\\xa0\\x80"'),
    (b"\xc0\x80", '"\\xc0\\x80"'),
    (b"\xf4\x90\x80\x80", '"\\xf4\\x90\\x80\\x80"'),
    (b"\xe2\x82", '"\\xe2\\x82"'),
    (b"\xe2\x82\xac", '"€"'),
]


@pytest.mark.parametrize(("value", "expected"), QUOTE_CASES)
def test_quote(value: str | bytes, expected: str) -> None:
    assert quote(value) == expected


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_quote_round_trips_through_python_literal(s: str) -> None:
    # Go's escapes are a subset of Python's except for \U, \u, \x, which Python
    # reads the same way for code points; so the quoted text evaluates back to s.
    quoted = quote(s)
    assert quoted.startswith('"') and quoted.endswith('"')
    if not re.search("[\ud800-\udfff]", s):
        assert ast.literal_eval(quoted) == s


TRUE_VALUES = ["1", "t", "T", "TRUE", "true", "True"]
FALSE_VALUES = ["0", "f", "F", "FALSE", "false", "False"]


@pytest.mark.parametrize("value", TRUE_VALUES)
def test_parse_bool_true(value: str) -> None:
    assert parse_bool(value) is True


@pytest.mark.parametrize("value", FALSE_VALUES)
def test_parse_bool_false(value: str) -> None:
    assert parse_bool(value) is False


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", 'strconv.ParseBool: parsing "": invalid syntax'),
        ("yes", 'strconv.ParseBool: parsing "yes": invalid syntax'),
        ("tRUE", 'strconv.ParseBool: parsing "tRUE": invalid syntax'),
        ("true ", 'strconv.ParseBool: parsing "true ": invalid syntax'),
        (" 1", 'strconv.ParseBool: parsing " 1": invalid syntax'),
        ("2", 'strconv.ParseBool: parsing "2": invalid syntax'),
        ('a"b', 'strconv.ParseBool: parsing "a\\"b": invalid syntax'),
        ("\x00\n", 'strconv.ParseBool: parsing "\\x00\\n": invalid syntax'),
        ("ünïcode", 'strconv.ParseBool: parsing "ünïcode": invalid syntax'),
    ],
)
def test_parse_bool_errors(value: str, message: str) -> None:
    with pytest.raises(GoSyntaxError) as info:
        parse_bool(value)
    assert str(info.value) == message
    assert isinstance(info.value, ValueError)
    assert info.value.func == "ParseBool"
    assert info.value.num == value


INT_OK = [
    ("0", 0),
    ("-0", 0),
    ("+0", 0),
    ("7", 7),
    ("+42", 42),
    ("-42", -42),
    ("0000123", 123),
    ("9223372036854775807", INT64_MAX),
    ("-9223372036854775808", INT64_MIN),
    ("+9223372036854775807", INT64_MAX),
    ("-0009223372036854775808", INT64_MIN),
]


@pytest.mark.parametrize(("value", "expected"), INT_OK)
def test_parse_int_ok(value: str, expected: int) -> None:
    assert parse_int(value) == expected
    assert parse_atoi(value) == expected


SYNTAX = [
    "",
    "+",
    "-",
    "+-1",
    "--1",
    " 1",
    "1 ",
    "1\n",
    "0x10",
    "0b1",
    "1_000",
    "1e3",
    "1.0",
    "٣",
    "\uff11",  # FULLWIDTH DIGIT ONE
    "abc",
    "\x00",
    "18446744073709551615x",
]
RANGE = [
    "9223372036854775808",
    "-9223372036854775809",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999999999",
    "-99999999999999999999999999",
    # Go reports overflow as soon as the digits so far exceed 64 bits, before
    # it reaches the bad character.
    "18446744073709551616x",
    "99999999999999999999 trailing",
]


@pytest.mark.parametrize("value", SYNTAX)
def test_parse_int_syntax_errors(value: str) -> None:
    with pytest.raises(GoSyntaxError) as info:
        parse_int(value)
    assert str(info.value) == f"strconv.ParseInt: parsing {quote(value)}: invalid syntax"
    with pytest.raises(GoSyntaxError) as info:
        parse_atoi(value)
    assert str(info.value) == f"strconv.Atoi: parsing {quote(value)}: invalid syntax"


@pytest.mark.parametrize("value", RANGE)
def test_parse_int_range_errors(value: str) -> None:
    with pytest.raises(GoRangeError) as info:
        parse_int(value)
    assert str(info.value) == f"strconv.ParseInt: parsing {quote(value)}: value out of range"
    with pytest.raises(GoRangeError) as info:
        parse_atoi(value)
    assert str(info.value) == f"strconv.Atoi: parsing {quote(value)}: value out of range"


def test_error_messages_quote_the_value() -> None:
    with pytest.raises(GoSyntaxError, match=re.escape('parsing "\\t1\\x00": invalid syntax')):
        parse_int("\t1\x00")


@settings(max_examples=300, deadline=None)
@given(st.integers(INT64_MIN, INT64_MAX))
def test_parse_int_round_trip(n: int) -> None:
    assert parse_int(str(n)) == n
    assert parse_int(f"+{n}" if n >= 0 else str(n)) == n


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="0123456789+-_ x\n٣", max_size=25))
def test_parse_int_accepts_only_signed_ascii_decimal(s: str) -> None:
    valid = re.fullmatch("[+-]?[0-9]+", s) is not None
    try:
        value = parse_int(s)
    except GoNumError as exc:
        assert not valid or isinstance(exc, GoRangeError)
        return
    assert valid
    assert value == int(s)
    assert INT64_MIN <= value <= INT64_MAX


@contextlib.contextmanager
def local_zone(tz: str) -> Iterator[None]:
    """Run with the process's local zone set to ``tz``, restoring it afterwards."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = tz
    time.tzset()
    try:
        yield
    finally:
        if old is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = old
        time.tzset()


def _ns(*ymdhms: int, frac: int = 0) -> int:
    return calendar.timegm((*ymdhms, 0, 0, 0)) * 1_000_000_000 + frac


UTC_CASES = [
    (_ns(2024, 5, 1, 12, 0, 3, frac=123_400_000), "2024-05-01T12:00:03.1234Z"),
    (0, "1970-01-01T00:00:00Z"),
    (1, "1970-01-01T00:00:00.000000001Z"),
    (_ns(2024, 5, 1, 12, 0, 3), "2024-05-01T12:00:03Z"),
    (_ns(2024, 5, 1, 12, 0, 3, frac=100_000_000), "2024-05-01T12:00:03.1Z"),
    (_ns(2024, 5, 1, 12, 0, 3, frac=999_999_999), "2024-05-01T12:00:03.999999999Z"),
    (-1, "1969-12-31T23:59:59.999999999Z"),
    (-1_500_000_000, "1969-12-31T23:59:58.5Z"),
    (-1_000_000_000, "1969-12-31T23:59:59Z"),
    (INT64_MAX, "2262-04-11T23:47:16.854775807Z"),
    (INT64_MIN, "1677-09-21T00:12:43.145224192Z"),
]


@pytest.mark.parametrize(("ns", "expected"), UTC_CASES)
def test_rfc3339nano_utc(ns: int, expected: str) -> None:
    with local_zone("UTC"):
        assert format_rfc3339nano(ns) == expected


ZONE_CASES = [
    # POSIX zone strings need no tz database; note POSIX inverts the sign.
    ("IST-5:30", _ns(2024, 5, 1, 12, 0, 3, frac=1_000), "2024-05-01T17:30:03.000001+05:30"),
    ("NST+3:30", _ns(2024, 5, 1, 2, 0, 0), "2024-04-30T22:30:00-03:30"),
    ("XYZ+0", _ns(2024, 5, 1, 2, 0, 0), "2024-05-01T02:00:00Z"),
    ("Europe/Berlin", _ns(2024, 7, 1, 10, 0, 0, frac=5), "2024-07-01T12:00:00.000000005+02:00"),
    ("Europe/Berlin", _ns(2024, 1, 1, 0, 0, 0), "2024-01-01T01:00:00+01:00"),
    ("America/St_Johns", _ns(2024, 1, 1, 0, 0, 0), "2023-12-31T20:30:00-03:30"),
    # Historic offsets with seconds: Go truncates to whole minutes toward zero.
    ("America/St_Johns", _ns(1920, 6, 1, 0, 0, 0), "1920-05-31T21:29:08-02:30"),
    ("Europe/Dublin", _ns(1910, 6, 1, 0, 0, 0), "1910-05-31T23:34:39-00:25"),
]


@pytest.mark.parametrize(("tz", "ns", "expected"), ZONE_CASES)
def test_rfc3339nano_local_zone(tz: str, ns: int, expected: str) -> None:
    if "/" in tz and not os.path.exists(f"/usr/share/zoneinfo/{tz}"):
        pytest.skip(f"tz database entry {tz} is not installed")
    with local_zone(tz):
        assert format_rfc3339nano(ns) == expected


@settings(max_examples=300, deadline=None)
@given(
    st.integers(INT64_MIN, INT64_MAX), st.sampled_from([("UTC", 0), ("IST-5:30", 330), ("NST+3:30", -210)])
)
def test_rfc3339nano_matches_datetime(ns: int, zone: tuple[str, int]) -> None:
    tz, minutes = zone
    sec, frac = divmod(ns, 1_000_000_000)
    local = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=sec)
    local = local.astimezone(timezone(timedelta(minutes=minutes)))
    expected = local.strftime("%Y-%m-%dT%H:%M:%S")
    if frac:
        expected += "." + f"{frac:09d}".rstrip("0")
    expected += "Z" if minutes == 0 else local.strftime("%z")[:3] + ":" + local.strftime("%z")[3:]
    with local_zone(tz):
        assert format_rfc3339nano(ns) == expected
