"""The response writer, driven through its ASGI interface on both event loops."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from outrider.stream import FileFollower, StreamResponse, StreamService, TailReader, Watcher, json_string
from tests.frames import frame_data, split_frames
from tests.stream.conftest import Runner, append, make_follower


class Peer:
    """The server side of one response: records messages, can hold a write in flight, can hang up."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.times: list[float] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.hung_up = asyncio.Event()
        self.arrived = asyncio.Event()
        self._requested = False
        self._read = 0

    async def receive(self) -> dict[str, Any]:
        if not self._requested:
            self._requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self.hung_up.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: dict[str, Any]) -> None:
        await self.gate.wait()
        self.messages.append(message)
        self.times.append(asyncio.get_running_loop().time())
        self.arrived.set()

    @property
    def bodies(self) -> list[bytes]:
        return [m["body"] for m in self.messages if m["type"] == "http.response.body" and m["body"]]

    @property
    def finished(self) -> bool:
        return any(m["type"] == "http.response.body" and not m["more_body"] for m in self.messages)

    async def next_body(self, timeout: float = 3.0) -> bytes:
        """The next body not returned yet, waiting for it if needed."""
        async with asyncio.timeout(timeout):
            while len(self.bodies) <= self._read:
                self.arrived.clear()
                await self.arrived.wait()
        self._read += 1
        return self.bodies[self._read - 1]


async def serve(
    service: StreamService, follower: FileFollower, peer: Peer, heartbeats: bool = True
) -> asyncio.Task[None]:
    response = StreamResponse(
        follower, service, heartbeats=heartbeats, media_type="text/plain; charset=utf-8"
    )
    task = asyncio.ensure_future(response({"type": "http"}, peer.receive, peer.send))  # type: ignore[arg-type]
    await asyncio.sleep(0)
    return task


def test_data_is_sent_as_soon_as_it_is_written(run: Runner[Any], log: Path) -> None:
    async def main() -> None:
        service = StreamService(Watcher("inotify"))
        peer = Peer()
        task = await serve(service, make_follower(service, log), peer)
        assert peer.messages[0] == {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain; charset=utf-8")],
        }
        for i in range(5):
            append(log, b"line %d\n" % i)
            body = await peer.next_body()
            assert split_frames(body) == [
                {"Data": split_frames(body)[0]["Data"], "File": "web.stdout.0", "Offset": 7 * (i + 1)}
            ]
            assert frame_data(split_frames(body)) == b"line %d\n" % i
        peer.hung_up.set()
        await task
        assert service.stats()["streams"] == 0 and service.stats()["subscribers"] == 0
        await service.stop()

    run(main)


def test_heartbeat_only_after_a_second_without_frames(run: Runner[Any], log: Path) -> None:
    async def main() -> None:
        service = StreamService(Watcher("inotify"))
        peer = Peer()
        started = asyncio.get_running_loop().time()
        task = await serve(service, make_follower(service, log), peer)
        assert await peer.next_body() == b"{}"
        assert peer.times[-1] - started >= 1.0
        append(log, b"x")
        assert frame_data(split_frames(await peer.next_body())) == b"x"
        data_sent = peer.times[-1]
        assert await peer.next_body() == b"{}"
        assert peer.times[-1] - data_sent >= 1.0
        peer.hung_up.set()
        await task
        await service.stop()

    run(main)


def test_no_heartbeats_in_plain_mode(run: Runner[Any], log: Path) -> None:
    async def main() -> None:
        service = StreamService(Watcher("inotify"))
        peer = Peer()
        task = await serve(service, make_follower(service, log, plain=True), peer, heartbeats=False)
        await asyncio.sleep(1.4)
        assert peer.bodies == []
        append(log, b"raw")
        assert await peer.next_body() == b"raw"
        peer.hung_up.set()
        await task
        await service.stop()

    run(main)


def test_output_waiting_behind_a_slow_write_is_coalesced(run: Runner[Any], log: Path) -> None:
    async def main() -> None:
        service = StreamService(Watcher("inotify"))
        peer = Peer()
        task = await serve(service, make_follower(service, log), peer)
        append(log, b"a")
        await peer.next_body()
        peer.gate.clear()  # the client stops reading: the next write stays in flight
        append(log, b"b")
        await asyncio.sleep(0.05)
        for chunk in (b"c", b"d", b"e"):
            append(log, chunk)
            await asyncio.sleep(0.02)
        peer.gate.set()
        first = await peer.next_body()
        second = await peer.next_body()
        assert frame_data(split_frames(first)) == b"b"
        assert split_frames(second) == [{"Data": "Y2Rl", "File": "web.stdout.0", "Offset": 5}]
        peer.hung_up.set()
        await task
        await service.stop()

    run(main)


def test_disconnect_releases_everything_promptly(run: Runner[Any], log: Path) -> None:
    async def main() -> None:
        service = StreamService(Watcher("inotify"))
        fds_before = len(os.listdir("/proc/self/fd"))
        tasks = [await serve(service, make_follower(service, log), Peer()) for _ in range(50)]
        assert service.stats()["streams"] == 50 and service.stats()["subscribers"] == 50
        assert len(os.listdir("/proc/self/fd")) > fds_before
        peers = []
        for _ in range(50):
            peer = Peer()
            peers.append(peer)
            tasks.append(await serve(service, make_follower(service, log), peer))
        for t in tasks[:50]:
            t.cancel()  # what a server does to the application when the connection breaks
        for peer in peers:
            peer.hung_up.set()
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 2)
        assert not any(p.finished for p in peers)  # nobody to finish the response for
        assert service.stats()["streams"] == 0
        assert service.stats()["subscribers"] == 0 and service.stats()["hubs"] == 0
        await service.stop()
        assert len(os.listdir("/proc/self/fd")) == fds_before

    run(main)


def test_agent_stopping_ends_streams_cleanly(run: Runner[Any], log: Path) -> None:
    async def main() -> None:
        stopping = asyncio.Event()
        service = StreamService(Watcher("inotify"), stopping=stopping)
        peers = [Peer() for _ in range(3)]
        tasks = [await serve(service, make_follower(service, log), p) for p in peers]
        stopping.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 2)
        assert all(p.finished for p in peers)
        late = Peer()
        await asyncio.wait_for(await serve(service, make_follower(service, log), late), 2)
        assert late.finished
        await service.stop()

    run(main)


def test_an_error_after_the_start_is_appended_and_ends_the_stream(run: Runner[Any], log: Path) -> None:
    async def main() -> None:
        service = StreamService(Watcher("inotify"))
        fd = os.open(log, os.O_RDONLY | os.O_CLOEXEC)
        not_a_dir = os.open(log, os.O_PATH | os.O_CLOEXEC)
        reader = TailReader(fd, not_a_dir, "x", 0, buffer=service.scratch)
        follower = FileFollower(reader, file_json=json_string("f"), follow=True, service=service)
        peer = Peer()
        response = StreamResponse(
            follower, service, heartbeats=True, on_error=lambda exc: f"failed: {getattr(exc, 'errno', None)}"
        )
        await asyncio.wait_for(response({"type": "http"}, peer.receive, peer.send), 2)  # type: ignore[arg-type]
        assert peer.bodies == [b"failed: 20"]
        assert peer.finished
        await service.stop()

    run(main)


def test_head_requests_end_at_once(run: Runner[Any], log: Path) -> None:
    async def main() -> None:
        service = StreamService(Watcher("inotify"))
        follower = make_follower(service, log)
        peer = Peer()
        response = StreamResponse(follower, service, heartbeats=True)
        await asyncio.wait_for(response({"type": "http", "method": "HEAD"}, peer.receive, peer.send), 2)  # type: ignore[arg-type]
        assert peer.finished and peer.bodies == []
        assert follower.done
        await service.stop()

    run(main)


class FailingPeer(Peer):
    """A server whose body writes fail: at once, or only after waiting for the socket."""

    def __init__(self, wait_first: bool) -> None:
        super().__init__()
        self.wait_first = wait_first

    async def send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            if self.wait_first:
                await asyncio.sleep(0.01)
            raise RuntimeError("Unexpected ASGI message")
        await super().send(message)


def test_a_server_error_on_a_write_ends_the_stream_and_is_raised(run: Runner[Any], log: Path) -> None:
    async def main() -> None:
        service = StreamService(Watcher("inotify"))
        for wait_first in (False, True):
            peer = FailingPeer(wait_first)
            task = await serve(service, make_follower(service, log), peer)
            append(log, b"x")
            with pytest.raises(RuntimeError, match="Unexpected ASGI message"):
                await asyncio.wait_for(task, 2)
            assert service.stats()["streams"] == 0 and service.stats()["subscribers"] == 0
        await service.stop()

    run(main)
