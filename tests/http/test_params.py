"""Query-string decoding: Go's ``url.ParseQuery`` order and values, bytes kept as file names need them."""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from hypothesis import given
from hypothesis import strategies as st

from outrider.http.params import Query


def reference(raw: bytes) -> dict[str, list[str]]:
    """Part by part: split on "&", then "=", then unescape and decode each side."""
    out: dict[str, list[str]] = {}
    for pair in raw.split(b"&"):
        if not pair:
            continue
        key, _, value = pair.partition(b"=")
        k = unquote_to_bytes(key.replace(b"+", b" ")).decode("utf-8", "surrogateescape")
        v = unquote_to_bytes(value.replace(b"+", b" ")).decode("utf-8", "surrogateescape")
        out.setdefault(k, []).append(v)
    return out


def values(query: Query) -> dict[str, list[str]]:
    return {k: list(v) for k, v in query._values.items()}


def test_examples() -> None:
    q = Query(b"path=alloc/logs/web.stdout.0&offset=10&path=second&flag&=empty&&plain=")
    assert q.get("path") == "alloc/logs/web.stdout.0" and q.first("offset") == "10"
    assert "flag" in q and q.get("flag") == "" and q.get("") == "empty" and q.first("missing") is None
    assert Query(b"path=a%20b+c&x=%ff").get("path") == "a b c"
    assert Query(b"x=%ff").get("x") == "\udcff"
    assert Query(b"path=\xff\xfe").get("path") == "\udcff\udcfe"
    assert values(Query(b"")) == {}


QUERY_BYTES = st.lists(
    st.sampled_from([b"a", b"=", b"&", b"%", b"+", b"2", b"f", b"\xff", b"\xc3\xa9", b"/", b" "])
)


@given(QUERY_BYTES.map(b"".join))
def test_any_query_decodes_as_part_by_part(raw: bytes) -> None:
    # Both paths of Query (nothing escaped, or something escaped) against the reference.
    assert values(Query(raw)) == reference(raw)


@given(st.binary(max_size=64))
def test_any_bytes_decode_as_part_by_part(raw: bytes) -> None:
    assert values(Query(raw)) == reference(raw)
