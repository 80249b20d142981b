"""DrainBodyMiddleware on a real Starlette app, driven through its ASGI interface message by message."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from outrider.http.drain import DrainBodyMiddleware

LIMIT = 100


async def answer_at_once(request: Request) -> Response:
    return Response(b"nope", status_code=404)


async def read_then_answer(request: Request) -> Response:
    return Response(str(len(await request.body())).encode())


APP = DrainBodyMiddleware(
    Starlette(
        routes=[
            Route("/early", answer_at_once, methods=["POST"]),
            Route("/read", read_then_answer, methods=["POST"]),
        ]
    ),
    limit=LIMIT,
    timeout=0.2,
)


class Client:
    """The client side of one request: body messages handed out on demand, then silence."""

    def __init__(self, path: str, headers: list[tuple[bytes, bytes]], chunks: list[bytes]) -> None:
        self.scope: dict[str, Any] = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
            "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
            "headers": headers, "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 2),
        }  # fmt: skip
        self.messages = [
            {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
            for i, c in enumerate(chunks)
        ]
        self.pulled = 0
        self.sent: list[dict[str, Any]] = []

    async def receive(self) -> dict[str, Any]:
        if self.pulled == len(self.messages):
            await asyncio.sleep(3600)  # a client that sends nothing more
        self.pulled += 1
        return self.messages[self.pulled - 1]

    async def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)

    def run(self) -> None:
        asyncio.run(APP(self.scope, self.receive, self.send))  # type: ignore[arg-type]

    @property
    def closes(self) -> bool:
        start = self.sent[0]
        assert start["type"] == "http.response.start"
        return (b"connection", b"close") in start["headers"]


def length(n: int) -> list[tuple[bytes, bytes]]:
    return [(b"content-length", str(n).encode())]


CHUNKED = [(b"transfer-encoding", b"chunked")]


def test_an_unread_small_body_is_read_before_the_answer() -> None:
    client = Client("/early", length(30), [b"x" * 10] * 3)
    client.run()
    assert client.pulled == 3
    assert client.sent[0]["status"] == 404 and not client.closes


def test_a_body_the_app_read_is_left_alone() -> None:
    client = Client("/read", length(30), [b"x" * 10] * 3)
    client.run()
    assert client.pulled == 3 and client.sent[1]["body"] == b"30" and not client.closes


def test_a_request_without_a_body_is_not_touched() -> None:
    client = Client("/early", [], [b""])
    client.run()
    assert client.pulled == 0 and not client.closes


def test_a_declared_body_over_the_limit_is_not_read_and_the_connection_closes() -> None:
    client = Client("/early", length(LIMIT + 1), [b"x" * (LIMIT + 1)])
    client.run()
    assert client.pulled == 0 and client.closes


@pytest.mark.parametrize("chunks", [[b"x" * 60] * 3, [b"x" * 500]])
def test_a_chunked_body_over_the_limit_is_read_only_up_to_it(chunks: list[bytes]) -> None:
    client = Client("/early", CHUNKED, chunks)
    client.run()
    assert client.closes
    assert client.pulled == (2 if len(chunks) == 3 else 1)


def test_a_body_too_slow_to_drain_closes_the_connection() -> None:
    client = Client("/early", length(30), [b"x" * 10])
    client.messages[0]["more_body"] = True  # the rest never comes
    client.run()
    assert client.pulled == 1 and client.closes
