"""The colour ``outrider job logs`` gives each allocation's prefix on a terminal, whatever the chunking."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from outrider.cli.cmd_job_logs import PrefixPainter

STREAM = (
    b"0a1b2c3d/web: GET / 200\n"
    b"9f8e7d6c/web: GET /health 200\n"
    b"0a1b2c3d/sidecar: ready\n"
    b"a line the agent did not prefix\n"
    b"9f8e7d6c/web: partial"
)


def painted(chunks: list[bytes]) -> bytes:
    painter = PrefixPainter()
    return b"".join(painter.feed(c) for c in chunks) + painter.flush()


def test_each_allocation_keeps_one_colour_and_the_text_is_unchanged() -> None:
    out = painted([STREAM])
    assert out.replace(b"\x1b[36m", b"").replace(b"\x1b[33m", b"").replace(b"\x1b[0m", b"") == STREAM
    assert out.count(b"\x1b[36m0a1b2c3d/") == 2  # the first allocation seen: cyan, both times
    assert out.count(b"\x1b[33m9f8e7d6c/web: \x1b[0m") == 2  # the second: yellow
    assert b"\x1b[0ma line the agent" not in out and b"\na line the agent did not prefix\n" in out


@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=12))
def test_any_chunking_paints_the_same(cuts: list[int]) -> None:
    points = [0, *sorted(cuts), len(STREAM)]
    chunks = [STREAM[a:b] for a, b in itertools.pairwise(points)]
    assert painted(chunks) == painted([STREAM])


def test_a_long_line_without_a_prefix_is_not_held_back() -> None:
    painter = PrefixPainter()
    line = b"x" * 1000
    assert painter.feed(line) == line
