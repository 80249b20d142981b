"""The capped body reader on a real Starlette app: an over-long body is refused without being buffered."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from outrider.http.body import read_body
from outrider.http.errors import APIError, handle_api_error

LIMIT = 1000
CHUNK = 100


async def echo_size(request: Request) -> Response:
    return Response(str(len(await read_body(request, LIMIT))).encode())


APP = Starlette(
    routes=[Route("/", echo_size, methods=["POST"])], exception_handlers={APIError: handle_api_error}
)


class Chunks:
    """A request body sent in ``CHUNK``-byte pieces that counts how many the server pulled."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.pulled = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(0, self.total, CHUNK):
            self.pulled += 1
            yield b"x" * CHUNK


async def post(content: Chunks | bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    transport = httpx.ASGITransport(app=APP)
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        return await client.post("/", content=content, headers=headers)


def test_a_body_at_the_limit_is_read_whole() -> None:
    resp = asyncio.run(post(b"x" * LIMIT))
    assert (resp.status_code, resp.text) == (200, str(LIMIT))


def test_a_declared_length_over_the_limit_is_refused_unread() -> None:
    body = Chunks(10 * LIMIT)
    resp = asyncio.run(post(body, {"Content-Length": str(10 * LIMIT)}))
    assert (resp.status_code, resp.text) == (413, f"Request body too large: the limit is {LIMIT} bytes")
    assert resp.headers["content-type"] == "text/plain; charset=utf-8"
    assert body.pulled == 0


@pytest.mark.parametrize("total", [LIMIT + CHUNK, 1000 * LIMIT])
def test_a_chunked_body_is_refused_as_soon_as_it_passes_the_limit(total: int) -> None:
    body = Chunks(total)
    resp = asyncio.run(post(body))
    assert resp.status_code == 413
    assert body.pulled == LIMIT // CHUNK + 1
