"""The line-query options of ``/v1/client/fs/logs``: parsed and checked before anything is opened.

Nomad's logs API speaks only in byte offsets (``client/fs_endpoint.go`` ``logsImpl``).
Outrider adds options that work on lines; without any of them a request is
answered exactly as before, byte for byte. Each option is checked here and every
combination that makes no sense is refused with a text that says why (400):

- ``tail_lines=N``: start at the N-th line from the end (0: at the end), instead
  of ``offset``/``origin``;
- ``before=<File>:<Offset>`` with ``tail_lines=N``: the N lines before that cursor
  (a line's ``File`` and ``Offset`` in ``format=ndjson``), and nothing after it;
- ``filter=`` / ``exclude=``: keep only lines matching / not matching an RE2
  pattern (linear time: a pattern cannot stall the agent);
- ``limit_bytes=N``: stop after N bytes of log lines (a follow ends there too);
- ``format=ndjson``: one JSON object per line instead of frames or raw bytes;
- ``type=all``: stdout and stderr merged in the order they were captured;
- ``timestamps=true``: each line prefixed with its capture time (RFC 3339, nanoseconds);
- ``since=`` / ``until=``: only lines captured from / before a time (RFC 3339, or a
  Go duration back from now).

Patterns are compiled with RE2 (the ``google-re2`` binding), never Python's
backtracking ``re``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Protocol

from outrider.acl.bodies import parse_rfc3339
from outrider.goduration import GoDurationError, parse_duration
from outrider.gostrconv import GoNumError, parse_bool, parse_int

if TYPE_CHECKING:
    import re2

NEW_OPTIONS = (
    "tail_lines",
    "before",
    "filter",
    "exclude",
    "limit_bytes",
    "format",
    "timestamps",
    "since",
    "until",
)
"""The query parameters beyond Nomad's that this module reads."""

NDJSON = "ndjson"
ALL_TYPES = "all"
"""``type=all``: stdout and stderr merged."""


class LogQueryError(ValueError):
    """An option or a combination of options makes no sense; ``str()`` says why (a 400)."""


class QueryValues(Protocol):
    """The request's query: the first value of a parameter, None when absent."""

    def first(self, key: str) -> str | None: ...


@dataclass(frozen=True)
class Cursor:
    """A position in a task's log as ``format=ndjson`` reports a line's: its file and offset there."""

    file: str
    offset: int


@dataclass(frozen=True)
class LogQuery:
    """The line options of one logs request (all None/False: answer as Nomad does)."""

    tail_lines: int | None = None
    before: Cursor | None = None
    filter: re2._Regexp | None = None
    exclude: re2._Regexp | None = None
    limit_bytes: int | None = None
    ndjson: bool = False
    merged: bool = False
    timestamps: bool = False
    since: int | None = None
    until: int | None = None

    @property
    def needs_times(self) -> bool:
        """True when the answer depends on capture times (only Outrider's own tasks have them exactly)."""
        return self.merged or self.timestamps or self.since is not None or self.until is not None

    @property
    def per_line(self) -> bool:
        """True when the output is built line by line (else only the start point moves)."""
        return (
            self.needs_times
            or self.before is not None
            or self.filter is not None
            or self.exclude is not None
            or self.limit_bytes is not None
            or self.ndjson
        )


@functools.cache
def _re2() -> tuple[ModuleType, re2.Options]:
    """The RE2 binding (``google-re2``) and its options, loaded on first use (it costs start-up time)."""
    try:
        import re2
    except ImportError:
        raise LogQueryError(
            "filter and exclude need the google-re2 package, which this agent's installation lacks: reinstall outrider"
        ) from None
    options = re2.Options()
    # A bad pattern is the client's mistake, answered in the 400; not worth a line on stderr.
    options.log_errors = False
    return re2, options


def _value(query: QueryValues, name: str) -> str | None:
    # As Go's Query().Get: an empty value is no value.
    value = query.first(name)
    return value or None


def _count(name: str, raw: str) -> int:
    try:
        value = parse_int(raw)
    except GoNumError as exc:
        raise LogQueryError(f"error parsing {name}: {exc}") from None
    if value < 0:
        raise LogQueryError(f"{name} must not be negative, got {value}")
    return value


def compile_pattern(name: str, pattern: str) -> re2._Regexp:
    """An RE2 pattern over a line's bytes (UTF-8 mode); LogQueryError with RE2's text when it is bad."""
    binding, options = _re2()
    try:
        return binding.compile(pattern.encode("utf-8", "surrogateescape"), options)  # type: ignore[no-any-return]
    except binding.error as exc:
        text = exc.args[0] if exc.args else "invalid pattern"
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        raise LogQueryError(f"invalid {name} pattern: {text}") from None


def parse_cursor(raw: str) -> Cursor:
    """``<File>:<Offset>``, the file as ndjson names it (``alloc/logs/<task>.<type>.<N>``)."""
    file, sep, offset = raw.rpartition(":")
    if not sep or not file:
        raise LogQueryError("before must be <File>:<Offset>, as a line's File and Offset in format=ndjson")
    return Cursor(file, _count("before offset", offset))


def parse_time(name: str, raw: str, now_ns: int) -> int:
    """An RFC 3339 time, or a Go duration back from ``now_ns``, as Unix nanoseconds."""
    try:
        at = parse_rfc3339(raw)
    except ValueError:
        pass
    else:
        return 0 if at is None else at
    try:
        back = parse_duration(raw)
    except GoDurationError as exc:
        raise LogQueryError(f"{name} must be an RFC 3339 time or a duration back from now: {exc}") from None
    if back < 0:
        raise LogQueryError(f"{name} must not be a negative duration, got {raw}")
    return now_ns - back


Values = dict[str, str | None]


def _position(
    query: QueryValues, values: Values, log_type: str, follow: bool
) -> tuple[int | None, Cursor | None]:
    """``tail_lines`` and ``before``, checked against ``offset``/``origin``, ``type=all`` and ``follow``."""
    tail_raw, before_raw = values["tail_lines"], values["before"]
    tail_lines = None if tail_raw is None else _count("tail_lines", tail_raw)
    by_offset = _value(query, "offset") is not None or _value(query, "origin") is not None
    if tail_lines is not None and by_offset:
        raise LogQueryError(
            "tail_lines cannot be combined with offset or origin: each chooses where reading starts"
        )
    if log_type == ALL_TYPES:
        if by_offset:
            raise LogQueryError(
                "type=all cannot be combined with offset or origin: byte offsets belong to one stream"
            )
        if before_raw is not None:
            raise LogQueryError("type=all cannot be combined with before: a cursor names one stream's file")
    if before_raw is None:
        return tail_lines, None
    if tail_lines is None:
        raise LogQueryError("before needs tail_lines: it returns the tail_lines lines before the cursor")
    if follow:
        raise LogQueryError("before cannot be combined with follow=true: a page ends at its cursor")
    return tail_lines, parse_cursor(before_raw)


def _output(values: Values, plain: bool) -> tuple[int | None, bool, bool]:
    """``limit_bytes``, ``format=ndjson`` and ``timestamps``."""
    limit_raw = values["limit_bytes"]
    limit_bytes = None
    if limit_raw is not None:
        limit_bytes = _count("limit_bytes", limit_raw)
        if limit_bytes == 0:
            raise LogQueryError("limit_bytes must be positive")
    fmt = values["format"]
    if fmt is not None and fmt != NDJSON:
        raise LogQueryError(f"format must be {NDJSON}, got {fmt!r}")
    if fmt == NDJSON and plain:
        raise LogQueryError("format=ndjson cannot be combined with plain=true: choose one output format")
    timestamps = False
    if values["timestamps"] is not None:
        try:
            timestamps = parse_bool(values["timestamps"])
        except GoNumError as exc:
            raise LogQueryError(f"failed to parse timestamps field to boolean: {exc}") from None
    return limit_bytes, fmt == NDJSON, timestamps


def _window(values: Values, follow: bool, now_ns: int) -> tuple[int | None, int | None]:
    """``since`` and ``until`` as Unix nanoseconds."""
    since_raw, until_raw = values["since"], values["until"]
    since = None if since_raw is None else parse_time("since", since_raw, now_ns)
    until = None if until_raw is None else parse_time("until", until_raw, now_ns)
    if until is not None and follow:
        raise LogQueryError("until cannot be combined with follow=true: a follow has no end to bound")
    if since is not None and until is not None and since >= until:
        raise LogQueryError("since must be before until")
    return since, until


def parse_log_query(
    query: QueryValues, *, log_type: str, follow: bool, plain: bool, now_ns: int
) -> LogQuery | None:
    """The request's line options, checked; None when it has none (Nomad's behaviour, unchanged).

    ``log_type`` is the request's ``type``, already checked (``stdout``, ``stderr`` or ``all``).

    Raises:
        LogQueryError: an option's value or a combination of options makes no sense.
    """
    values: Values = {name: _value(query, name) for name in NEW_OPTIONS}
    if all(v is None for v in values.values()) and log_type != ALL_TYPES:
        return None
    tail_lines, before = _position(query, values, log_type, follow)
    limit_bytes, ndjson, timestamps = _output(values, plain)
    since, until = _window(values, follow, now_ns)
    filter_raw, exclude_raw = values["filter"], values["exclude"]
    return LogQuery(
        tail_lines=tail_lines,
        before=before,
        filter=None if filter_raw is None else compile_pattern("filter", filter_raw),
        exclude=None if exclude_raw is None else compile_pattern("exclude", exclude_raw),
        limit_bytes=limit_bytes,
        ndjson=ndjson,
        merged=log_type == ALL_TYPES,
        timestamps=timestamps,
        since=since,
        until=until,
    )
