"""Find the lines a ``filter`` pattern may match in a whole chunk, without one RE2 call per line.

A ``filter`` is matched per line (see :mod:`outrider.stream.log_lines`), but one call into
the RE2 binding per line costs microseconds, far more than RE2's own scan: the lines
that cannot match are skipped here instead, with one multi-line search over the chunk.
The same pattern in RE2's multi-line mode (``(?m)``: ``^`` and ``$`` at every line's
start and end) matches the chunk at every position where it matches a line alone, so
the leftmost match in the chunk lies in or before the first line that matches: every
line before the match's line can be dropped unseen, and the match's line is then
tested alone as before (a match that crossed a newline is no match of a line).

Patterns for which that does not hold are not prefiltered: ``\\A`` and ``\\z`` (the
start and end of each line alone, of the whole chunk in multi-line mode) and flag
groups that clear a flag (``(?-m)`` would undo multi-line mode).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from outrider.stream.logquery import compile_pattern

if TYPE_CHECKING:
    import re2

# ``\A`` or ``\z`` (an escaped backslash before A or z is refused too: only a missed speed-up),
# or a flag group clearing flags, such as ``(?-m)`` or ``(?i-s:...)``.
_NOT_LINE_LOCAL = re.compile(rb"\\[Az]|\(\?[a-zA-Z]*-")

Prefilter = Callable[[bytes, int, int], tuple[int, int]]
"""``(data, pos, end) -> (start, end)`` of the leftmost match in ``data[pos:end]``, or ``(-1, -1)``."""


def line_prefilter(pattern: re2._Regexp) -> Prefilter | None:
    """A chunk-wide search for ``pattern`` (a compiled ``filter``), or None when it cannot have one."""
    source: bytes = pattern.pattern
    if _NOT_LINE_LOCAL.search(source):
        return None
    multiline = compile_pattern("filter", "(?m)" + source.decode("utf-8", "surrogateescape"))
    import re2  # loaded already: compile_pattern needed it

    # The binding's low-level match (spans only) costs a third of its public search();
    # the public one is the fallback should a release of the binding rename it.
    low = getattr(multiline, "_regexp", None)
    anchor = getattr(getattr(re2, "_Anchor", None), "UNANCHORED", None)
    if low is not None and anchor is not None and hasattr(low, "Match"):
        match = low.Match

        def search_low(data: bytes, pos: int, end: int) -> tuple[int, int]:
            return match(anchor, data, pos, end)[0]  # type: ignore[no-any-return]

        return search_low

    def search(data: bytes, pos: int, end: int) -> tuple[int, int]:
        found = multiline.search(data, pos, end)
        return (-1, -1) if found is None else found.span()  # type: ignore[no-any-return]

    return search
