"""Reading a request body with a size cap, for every endpoint that reads one.

Starlette's ``request.body()`` buffers whatever the client sends, so one request
could make the agent hold a gigabyte. Here a declared ``Content-Length`` over
the cap is refused before a byte is read, and a chunked body is counted as it
arrives and refused the moment it passes the cap.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request

from outrider.http.errors import APIError

# Node meta maps, job specs and lifecycle requests are all far smaller; the cap
# only keeps one request from holding arbitrary memory.
MAX_BODY = 8 * 1024 * 1024


def too_large(limit: int) -> APIError:
    """The 413 for a body over ``limit`` bytes."""
    return APIError(413, f"Request body too large: the limit is {limit} bytes")


async def read_body(request: Request, limit: int = MAX_BODY) -> bytes:
    """The whole request body, or ``413 Request body too large`` once it passes ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    # The server has already refused a malformed Content-Length; an over-long one is refused unread.
    if declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json(request: Request, blank: Any = None) -> Any:
    """The body decoded as JSON, ``blank`` when it is empty or whitespace; a malformed body is a 400."""
    raw = await read_body(request)
    if not raw.strip():
        return blank
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise APIError(400, f"Failed to decode request body: {exc}") from None
