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
- ``format=ndjson``: one JSON object per line instead of frames or raw bytes.

Patterns are compiled with RE2 (the ``google-re2`` binding), never Python's
backtracking ``re``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Protocol

from outrider.gostrconv import GoNumError, parse_int

if TYPE_CHECKING:
    import re2

NEW_OPTIONS = ("tail_lines", "before", "filter", "exclude", "limit_bytes", "format")
"""The query parameters beyond Nomad's that this module reads."""

NDJSON = "ndjson"


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

    @property
    def per_line(self) -> bool:
        """True when the output is built line by line (else only the start point moves)."""
        return (
            self.before is not None
            or self.filter is not None
            or self.exclude is not None
            or self.limit_bytes is not None
            or self.ndjson
        )


@functools.cache
def _re2() -> tuple[ModuleType, re2.Options]:
    """The RE2 binding (the ``logs`` extra: ``google-re2``) and its options, loaded on first use."""
    try:
        import re2
    except ImportError:
        raise LogQueryError(
            "filter and exclude need the google-re2 package on the agent (pip install 'outrider[logs]')"
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


def parse_log_query(query: QueryValues, *, follow: bool, plain: bool) -> LogQuery | None:
    """The request's line options, checked; None when it has none (Nomad's behaviour, unchanged).

    Raises:
        LogQueryError: an option's value or a combination of options makes no sense.
    """
    values = {name: _value(query, name) for name in NEW_OPTIONS}
    if all(v is None for v in values.values()):
        return None
    tail_raw, before_raw = values["tail_lines"], values["before"]
    tail_lines = None if tail_raw is None else _count("tail_lines", tail_raw)
    if tail_lines is not None and (
        _value(query, "offset") is not None or _value(query, "origin") is not None
    ):
        raise LogQueryError(
            "tail_lines cannot be combined with offset or origin: each chooses where reading starts"
        )
    before = None
    if before_raw is not None:
        if tail_lines is None:
            raise LogQueryError("before needs tail_lines: it returns the tail_lines lines before the cursor")
        if follow:
            raise LogQueryError("before cannot be combined with follow=true: a page ends at its cursor")
        before = parse_cursor(before_raw)
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
    filter_raw, exclude_raw = values["filter"], values["exclude"]
    return LogQuery(
        tail_lines=tail_lines,
        before=before,
        filter=None if filter_raw is None else compile_pattern("filter", filter_raw),
        exclude=None if exclude_raw is None else compile_pattern("exclude", exclude_raw),
        limit_bytes=limit_bytes,
        ndjson=fmt == NDJSON,
    )
