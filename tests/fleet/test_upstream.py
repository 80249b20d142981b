"""The owner's answer read by ``Upstream`` from a real loopback socket, written in awkward pieces."""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Awaitable, Callable

import pytest
import uvloop

from outrider.http.fleet_upstream import HOLD, Upstream

Loops = [asyncio.new_event_loop, uvloop.new_event_loop]
Writer = Callable[[asyncio.StreamWriter], Awaitable[None]]


def _run(loop_factory: Callable[[], asyncio.AbstractEventLoop], main: Awaitable[object]) -> object:
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(main)  # type: ignore[arg-type]


async def _serve(
    answer: Writer, *, head_only: bool = False
) -> tuple[Upstream, asyncio.Transport, asyncio.Server]:
    async def handle(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await answer(writer)
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    upstream = Upstream(head_only=head_only)
    transport, _ = await asyncio.get_running_loop().create_connection(lambda: upstream, "127.0.0.1", port)
    return upstream, transport, server


async def _body(upstream: Upstream) -> bytes:
    out = bytearray()
    while piece := await upstream.next_piece():
        out += piece
    return bytes(out)


def _pieces(raw: bytes, seed: int) -> list[bytes]:
    """``raw`` cut at random places, down to single bytes."""
    rng = random.Random(seed)
    out, pos = [], 0
    while pos < len(raw):
        step = rng.choice((1, 2, 3, 7, 100, 5000))
        out.append(raw[pos : pos + step])
        pos += step
    return out


def _writes(pieces: list[bytes]) -> Writer:
    async def answer(writer: asyncio.StreamWriter) -> None:
        for piece in pieces:
            writer.write(piece)
            await writer.drain()
            await asyncio.sleep(0)

    return answer


async def _read(raw: bytes, seed: int, *, head_only: bool = False) -> tuple[int, bytes]:
    upstream, transport, server = await _serve(_writes(_pieces(raw, seed)), head_only=head_only)
    try:
        status, _ = await asyncio.wait_for(upstream.head, 5)
        return status, await asyncio.wait_for(_body(upstream), 5)
    finally:
        transport.close()
        server.close()


@pytest.mark.parametrize("loop_factory", Loops)
@pytest.mark.parametrize("seed", range(4))
def test_a_chunked_answer_in_any_pieces_gives_the_body_exactly(
    loop_factory: Callable[[], asyncio.AbstractEventLoop], seed: int
) -> None:
    frames = [os.urandom(n) for n in (1, 17, 4096, 70_000, 3)]
    raw = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nx-a: b\r\n\r\n"
    raw += b"".join(b"%x;ext=1\r\n" % len(f) + f + b"\r\n" for f in frames) + b"0\r\ntrailer: t\r\n\r\n"
    assert _run(loop_factory, _read(raw, seed)) == (200, b"".join(frames))


@pytest.mark.parametrize("loop_factory", Loops)
def test_a_sized_answer_stops_at_its_length_and_one_without_runs_to_the_close(
    loop_factory: Callable[[], asyncio.AbstractEventLoop],
) -> None:
    body = os.urandom(300_000)
    sized = b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(body) + body + b"extra"
    assert _run(loop_factory, _read(sized, 1)) == (200, body)
    to_close = b"HTTP/1.1 200 OK\r\n\r\n" + body
    assert _run(loop_factory, _read(to_close, 2)) == (200, body)
    head = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n"
    assert _run(loop_factory, _read(head, 3, head_only=True)) == (200, b"")


@pytest.mark.parametrize("loop_factory", Loops)
@pytest.mark.parametrize(
    ("raw", "came", "error"),
    [
        (b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n12345", b"12345", ConnectionError),
        (b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nabc", b"abc", ConnectionError),
        (b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nab\r\nzz\r\n", b"ab", ValueError),
        (b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n" + b"1" * 2000, b"", ValueError),
    ],
)
def test_an_answer_cut_short_or_garbled_fails_after_the_bytes_that_came(
    loop_factory: Callable[[], asyncio.AbstractEventLoop], raw: bytes, came: bytes, error: type[Exception]
) -> None:
    async def main() -> bytes:
        upstream, transport, server = await _serve(_writes([raw]))
        got = bytearray()
        try:
            await asyncio.wait_for(upstream.head, 5)
            with pytest.raises(error):
                while piece := await asyncio.wait_for(upstream.next_piece(), 5):
                    got += piece
            return bytes(got)
        finally:
            transport.close()
            server.close()

    assert _run(loop_factory, main()) == came


@pytest.mark.parametrize("loop_factory", Loops)
@pytest.mark.parametrize("raw", [b"SSH-2.0-x\r\n\r\n", b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n", b"HTTP/1.1 2"])
def test_what_is_not_an_answer_fails_the_head(
    loop_factory: Callable[[], asyncio.AbstractEventLoop], raw: bytes
) -> None:
    async def main() -> None:
        upstream, transport, server = await _serve(_writes([raw]))
        try:
            with pytest.raises((ValueError, ConnectionError)):
                await asyncio.wait_for(upstream.head, 5)
        finally:
            transport.close()
            server.close()

    _run(loop_factory, main())


@pytest.mark.parametrize("loop_factory", Loops)
def test_an_unread_answer_holds_a_bounded_amount_and_stalls_the_sender(
    loop_factory: Callable[[], asyncio.AbstractEventLoop],
) -> None:
    total = 64 * 1024 * 1024
    sent = 0

    async def answer(writer: asyncio.StreamWriter) -> None:
        nonlocal sent
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % total)
        block = bytes(64 * 1024)
        while sent < total:
            writer.write(block)
            await writer.drain()
            sent += len(block)

    async def main() -> None:
        upstream, transport, server = await _serve(answer)
        try:
            await asyncio.wait_for(upstream.head, 5)
            await asyncio.sleep(0.5)  # nobody takes the pieces
            assert upstream.held <= HOLD + 256 * 1024
            assert sent < total // 4  # the sender is held back by TCP
            got = 0
            while piece := await asyncio.wait_for(upstream.next_piece(), 5):
                got += len(piece)
            assert got == total
        finally:
            transport.close()
            server.close()

    _run(loop_factory, main())
