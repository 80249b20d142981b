"""The one JSON encoder: sorted keys, compact, no trailing newline; ``?pretty`` indents by 4.

As Nomad's ``command/agent/http.go`` ``wrap`` encodes its responses.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from starlette.responses import Response

from outrider.http.params import Query

_COMPACT = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


def wants_pretty(query: Query) -> bool:
    """``?pretty`` is on unless its first value is exactly ``"0"`` (``command/agent/http.go`` ``wrap``)."""
    value = query.first("pretty")
    return value is not None and value != "0"


def encode_json(obj: Any, pretty: bool = False) -> bytes:
    if pretty:
        # orjson only indents by 2; pretty output is for humans, so the stdlib's speed is fine.
        return (json.dumps(obj, indent=4, sort_keys=True, ensure_ascii=False) + "\n").encode()
    return orjson.dumps(obj, option=_COMPACT)


class _JSONBytes(Response):
    """A finished JSON body with only the two headers Starlette would add itself."""

    media_type = "application/json"

    def __init__(self, body: bytes, status_code: int) -> None:
        # Starlette's constructor builds the same two headers through a generic,
        # per-request path; JSON answers are the hot path, so set them directly.
        self.status_code = status_code
        self.background = None
        self.body = body
        self.raw_headers = [
            (b"content-length", str(len(body)).encode("latin-1")),
            (b"content-type", b"application/json"),
        ]


def json_response(
    obj: Any, query: Query, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    if headers is None:
        return _JSONBytes(encode_json(obj, wants_pretty(query)), status)
    return Response(
        encode_json(obj, wants_pretty(query)),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def query_meta_headers(index: int) -> dict[str, str]:
    """The headers of a read's ``QueryMeta`` (``command/agent/http.go`` ``setMeta``); the Go api client parses them."""
    return {"X-Nomad-Index": str(index), "X-Nomad-KnownLeader": "true", "X-Nomad-LastContact": "0"}


def safe_text(name: str) -> str:
    """Make a file-system string JSON-safe: undecodable bytes become U+FFFD, as Go's encoder writes them."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return name
