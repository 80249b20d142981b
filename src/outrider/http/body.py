"""Reading a request body with a size cap, for every endpoint that reads one.

Starlette's ``request.body()`` buffers whatever the client sends, so one request
could make the agent hold a gigabyte. Here a declared ``Content-Length`` over
the cap is refused before a byte is read, and a chunked body is counted as it
arrives and refused the moment it passes the cap.

Many requests at once could still add up: the bytes every reader holds are
also counted against one agent-wide budget (:data:`BODY_BUDGET`). A body that
does not fit in what is left gets ``503`` with ``Retry-After``; the bodies
already being read go on.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request

from outrider.http.errors import APIError
from outrider.metrics import REGISTRY, Gauge

# Node meta maps, job specs and lifecycle requests are all far smaller; the cap
# only keeps one request from holding arbitrary memory.
MAX_BODY = 8 * 1024 * 1024

# What all requests together may hold in bodies being read: eight bodies at the cap.
MAX_BODIES_IN_FLIGHT = 64 * 1024 * 1024
RETRY_AFTER_SECONDS = 1


class BodyBudget:
    """Bytes of request bodies held by readers right now, up to ``total`` (event-loop thread only).

    ``gauge``, when given, follows the bytes held.
    """

    def __init__(self, total: int, gauge: Gauge | None = None) -> None:
        self.total = total
        self.held = 0
        self._gauge = gauge

    def fits(self, size: int) -> bool:
        return self.held + size <= self.total

    def take(self, size: int) -> bool:
        """Count ``size`` more bytes as held; False (nothing counted) when they do not fit."""
        if not self.fits(size):
            return False
        self.held += size
        if self._gauge is not None:
            self._gauge.value = self.held
        return True

    def give_back(self, size: int) -> None:
        self.held -= size
        if self._gauge is not None:
            self._gauge.value = self.held


BODY_BUDGET = BodyBudget(
    MAX_BODIES_IN_FLIGHT,
    REGISTRY.gauge("outrider.http.request_body_bytes", help="bytes of request bodies being read"),
)


def too_large(limit: int) -> APIError:
    """The 413 for a body over ``limit`` bytes."""
    return APIError(413, f"Request body too large: the limit is {limit} bytes")


def too_busy() -> APIError:
    """The 503 for a body that does not fit in what the agent may hold in bodies right now."""
    return APIError(
        503,
        "Too many request bodies in flight: try again shortly",
        {"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


async def read_body(request: Request, limit: int = MAX_BODY, budget: BodyBudget = BODY_BUDGET) -> bytes:
    """The whole request body, or ``413 Request body too large`` once it passes ``limit`` bytes.

    ``503`` (with ``Retry-After``) when the bytes would not fit in ``budget``.
    """
    declared = request.headers.get("content-length", "")
    # The server has already refused a malformed Content-Length; an over-long one is refused unread.
    if declared.isdigit():
        if int(declared) > limit:
            raise too_large(limit)
        if not budget.fits(int(declared)):
            raise too_busy()
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            if size + len(chunk) > limit:
                raise too_large(limit)
            if not budget.take(len(chunk)):
                raise too_busy()
            size += len(chunk)
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        budget.give_back(size)


async def read_json(request: Request, blank: Any = None) -> Any:
    """The body decoded as JSON, ``blank`` when it is empty or whitespace; a malformed body is a 400."""
    raw = await read_body(request)
    if not raw.strip():
        return blank
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise APIError(400, f"Failed to decode request body: {exc}") from None
