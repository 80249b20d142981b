"""``/v1/client/fs/stream`` against a real agent, real files and a real writer process.

Nomad's side: ``command/agent/fs_endpoint.go`` ``Stream``.

Frames are decoded both ways official clients do: incrementally, like the Go
API client's ``json.Decoder``, and by splitting on ``}{``, like the web UI.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvloop

from outrider.agent import Agent
from outrider.config import AgentConfig
from outrider.http.app import build_app
from outrider.server import bind_socket
from tests.conftest import AgentProcess, AllocFixture, make_external_alloc, start_agent
from tests.frames import frame_data, go_client_frames
from tests.http.streaming import Follower

pytestmark = pytest.mark.functional

LOG = "alloc/logs/web.stdout.0"
XSS = b"<script>alert(document.domain);</script>"


def stream_url(alloc: AllocFixture) -> str:
    return f"/v1/client/fs/stream/{alloc.id}"


def get(agent: AgentProcess, url: str, **params: str) -> httpx.Response:
    with agent.client() as client:
        return client.get(url, params=params)


def test_no_follow_body_is_the_reference_example(agent: AgentProcess, alloc: AllocFixture) -> None:
    alloc.write(LOG, XSS)
    resp = get(agent, stream_url(alloc), path=LOG, follow="false")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "text/plain; charset=utf-8"
    assert resp.content == (
        b'{"Data":"PHNjcmlwdD5hbGVydChkb2N1bWVudC5kb21haW4pOzwvc2NyaXB0Pg==",'
        b'"File":"alloc/logs/web.stdout.0","Offset":40}'
    )


def test_no_follow_of_an_empty_file_is_an_empty_200(agent: AgentProcess, alloc: AllocFixture) -> None:
    alloc.write(LOG, b"")
    resp = get(agent, stream_url(alloc), path=LOG, follow="false")
    assert (resp.status_code, resp.content) == (200, b"")


def test_large_file_in_true_offset_frames(agent: AgentProcess, alloc: AllocFixture) -> None:
    data = os.urandom(204_800)
    alloc.write(LOG, data)
    frames = go_client_frames(get(agent, stream_url(alloc), path="/" + LOG, follow="0").content)
    assert frame_data(frames) == data
    # Nomad's ``streamFile`` advances the offset before sending: the reference says 262144 for the last frame.
    assert [f["Offset"] for f in frames] == [65536, 131072, 196608, 204800]
    assert {f["File"] for f in frames} == {"/" + LOG}  # the path exactly as requested


@pytest.mark.parametrize(
    ("params", "start"),
    [
        ({"origin": "end", "offset": "0"}, 10),
        ({"origin": "end", "offset": "3"}, 7),
        ({"origin": "end", "offset": "99"}, 0),
        ({"origin": "start", "offset": "4"}, 4),
        ({"origin": "start", "offset": "+2"}, 2),
    ],
)
def test_start_offsets(agent: AgentProcess, alloc: AllocFixture, params: dict[str, str], start: int) -> None:
    alloc.write(LOG, b"0123456789")
    frames = go_client_frames(get(agent, stream_url(alloc), path=LOG, follow="false", **params).content)
    assert frame_data(frames) == b"0123456789"[start:]


@pytest.mark.parametrize(
    "params",
    [
        {"origin": "end", "offset": str(-(2**63))},
        {"origin": "end", "offset": str(-(2**62))},
        {"origin": "start", "offset": str(2**63 - 1)},
        {"origin": "start", "offset": str(2**63 - 2**18)},
    ],
)
def test_start_offsets_past_any_file_read_nothing(
    agent: AgentProcess, alloc: AllocFixture, params: dict[str, str]
) -> None:
    # Once a 500 (int64 overflow) or a read error after the 200 (EINVAL past the largest offset).
    alloc.write(LOG, b"0123456789")
    resp = get(agent, stream_url(alloc), path=LOG, follow="false", **params)
    assert (resp.status_code, resp.content) == (200, b"")


# -- validation, in the reference's order ----------------------------------------------------------


def test_parameter_errors_in_order(agent: AgentProcess, alloc: AllocFixture) -> None:
    url = stream_url(alloc)
    unknown = f"/v1/client/fs/stream/{uuid.uuid4()}"
    cases: list[tuple[str, dict[str, str], int, str]] = [
        ("/v1/client/fs/stream/", {"path": "x"}, 400, "must provide a valid alloc id"),
        (url, {"follow": "nope"}, 400, "must provide a file name"),
        (
            url,
            {"path": "x", "follow": "nope", "offset": "z"},
            400,
            'failed to parse follow field to boolean: strconv.ParseBool: parsing "nope": invalid syntax',
        ),
        (
            url,
            {"path": "x", "offset": "1e3", "origin": "mid"},
            400,
            'error parsing offset: strconv.ParseInt: parsing "1e3": invalid syntax',
        ),
        (
            url,
            {"path": "x", "offset": "99999999999999999999"},
            400,
            'error parsing offset: strconv.ParseInt: parsing "99999999999999999999": value out of range',
        ),
        (unknown, {"path": "x", "origin": "mid"}, 400, "origin must be start or end"),
        (unknown, {"path": "x"}, 404, f'Unknown allocation "{unknown.rsplit("/", 1)[1]}"'),
        (url, {"path": "missing.log"}, 400, "stat missing.log: no such file or directory"),
        (url, {"path": "alloc/"}, 400, 'file "alloc/" is a directory'),
        (url, {"path": "../../etc/passwd"}, 400, "Path escapes the alloc directory"),
        (
            url,
            {"path": LOG, "offset": "-1"},
            400,
            "can't seek to offset -1: seek alloc/logs/web.stdout.0: invalid argument",
        ),
    ]
    alloc.write(LOG, b"x")
    for target, params, status, text in cases:
        resp = get(agent, target, **params)
        assert (resp.status_code, resp.text) == (status, text), (target, params)
        assert resp.headers["content-type"] == "text/plain; charset=utf-8"


def test_secrets_and_special_files_are_refused(agent: AgentProcess, alloc: AllocFixture) -> None:
    alloc.write("web/secrets/token", "s3cr3t")
    os.symlink("../../web/secrets/token", alloc.path / "alloc/data/sneaky")
    os.mkfifo(alloc.path / "alloc/logs/.web.stdout.fifo")
    for path in ("web/secrets/token", "alloc/data/sneaky"):
        resp = get(agent, stream_url(alloc), path=path)
        assert (resp.status_code, resp.text) == (403, f"Reading secret file prohibited: {path}")
    resp = get(agent, stream_url(alloc), path="alloc/logs/.web.stdout.fifo")
    assert (resp.status_code, resp.text) == (400, 'file "alloc/logs/.web.stdout.fifo" is not a regular file')


# -- following while a real writer works -------------------------------------------------------------

WRITER = r"""
import os, sys, time
path = sys.argv[1]
pause = 0.3

def lines(prefix, n, f):
    for i in range(n):
        f.write(b"%s%d\n" % (prefix, i))
        f.flush()
        time.sleep(0.01)

with open(path, "ab", buffering=0) as f:
    lines(b"A", 40, f)
    time.sleep(pause)
    os.truncate(path, 0)
    time.sleep(pause)
    lines(b"B", 20, f)
time.sleep(pause)
tmp = path + ".tmp"
with open(tmp, "wb") as f:
    f.write(b"C-start\n")
os.rename(tmp, path)
time.sleep(pause)
with open(path, "ab", buffering=0) as f:
    lines(b"C", 20, f)
time.sleep(pause)
os.unlink(path)
"""


def segments(frames: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Cut the frames at every event: ``[(event that opened the segment, frames), ...]``."""
    out: list[tuple[str, list[dict[str, Any]]]] = [("", [])]
    for frame in frames:
        if "FileEvent" in frame:
            out.append((frame["FileEvent"], []))
        out[-1][1].append(frame)
    return out


def assert_true_offsets(frames: list[dict[str, Any]]) -> None:
    total = 0
    for frame in frames:
        if "Data" in frame:
            total += len(frame_data([frame]))
            assert frame["Offset"] == total


def test_followers_see_every_byte_once_and_every_event_once(agent: AgentProcess, alloc: AllocFixture) -> None:
    seed = b"seed\n"
    alloc.write(LOG, seed)
    url = stream_url(alloc)
    followers = [
        Follower(agent, url, path=LOG),
        Follower(agent, url, path=LOG),  # caught up with the first: shares its reads
        Follower(agent, url, path="/" + LOG, offset="0", origin="start"),
    ]
    for f in followers:
        f.start()
    for f in followers:
        assert f.connected.wait(10)
    writer = subprocess.run([sys.executable, "-c", WRITER, str(alloc.path / LOG)], timeout=30, check=True)
    assert writer.returncode == 0
    a_lines = b"".join(b"A%d\n" % i for i in range(40))
    b_lines = b"".join(b"B%d\n" % i for i in range(20))
    c_file = b"C-start\n" + b"".join(b"C%d\n" % i for i in range(20))
    for f in followers:
        frames = go_client_frames(f.result())
        file_name = f.params["path"]
        assert {fr["File"] for fr in frames} == {file_name}
        parts = segments(frames)
        assert [event for event, _ in parts] == ["", "file truncated", "file truncated", "file deleted"]
        (_, before), (_, after_truncate), (_, after_replace), (_, deleted) = parts
        assert frame_data(before) == seed + a_lines
        # Truncated to empty: an event-only frame, sent once (Nomad's framer re-sends it).
        assert after_truncate[0] == {"File": file_name, "FileEvent": "file truncated"}
        assert frame_data(after_truncate) == b_lines
        # Replaced: the new file from 0, announced on its first data frame (Nomad reports "file deleted").
        assert "Data" in after_replace[0]
        assert frame_data(after_replace) == c_file
        assert deleted == [{"File": file_name, "FileEvent": "file deleted", "Offset": len(c_file)}]
        for _, part in parts:
            assert_true_offsets(part)


def test_idle_stream_gets_heartbeats(agent: AgentProcess, alloc: AllocFixture) -> None:
    alloc.write(LOG, b"")
    with (
        httpx.Client(base_url=agent.url, timeout=httpx.Timeout(10.0, read=5.0)) as client,
        client.stream("GET", stream_url(alloc), params={"path": LOG}) as resp,
    ):
        assert resp.status_code == 200
        body = b""
        chunks = resp.iter_raw()
        while b"{}" not in body:
            body += next(chunks)
        assert body == b"{}"
        (alloc.path / LOG).write_bytes(b"hi")
        while b"Data" not in body:
            body += next(chunks)
    assert go_client_frames(body) == [{"Data": "aGk=", "File": LOG, "Offset": 2}]


def test_following_past_the_end_waits_for_data(agent: AgentProcess, alloc: AllocFixture) -> None:
    # Following from past EOF: the reference invents a truncation and restarts from 0.
    alloc.write(LOG, b"abc")
    follower = Follower(agent, stream_url(alloc), path=LOG, origin="end", offset="-2")
    follower.start()
    assert follower.connected.wait(10)
    with open(alloc.path / LOG, "ab") as f:
        f.write(b"de")
        f.flush()
        time.sleep(0.2)
        f.write(b"fgh")
    time.sleep(0.3)
    os.unlink(alloc.path / LOG)
    frames = go_client_frames(follower.result())
    assert frames == [
        {"Data": "Zmdo", "File": LOG, "Offset": 8},  # "fgh": bytes 5..8
        {"File": LOG, "FileEvent": "file deleted", "Offset": 8},
    ]


def test_connect_and_drop_releases_descriptors(agent: AgentProcess, alloc: AllocFixture) -> None:
    alloc.write(LOG, b"x")
    url = stream_url(alloc)
    with agent.client() as client:
        with client.stream("GET", url, params={"path": LOG}):
            pass  # the first follower starts the agent's watcher, which stays
        time.sleep(0.2)
        before = agent.open_fds()
        for _ in range(200):
            with client.stream("GET", url, params={"path": LOG}) as resp:
                assert resp.status_code == 200
    assert settles(agent.open_fds, before)


def test_followers_of_one_file_share_its_descriptors(agent: AgentProcess, alloc: AllocFixture) -> None:
    # Each follower costs the agent its socket; the file and its directory are open once.
    alloc.write(LOG, b"x")
    url = stream_url(alloc)
    n = 60
    with agent.client(limits=httpx.Limits(max_connections=n + 5)) as client:
        with client.stream("GET", url, params={"path": LOG}):
            pass
        time.sleep(0.2)
        before = agent.open_fds()
        with contextlib.ExitStack() as streams:
            for _ in range(n):
                resp = streams.enter_context(client.stream("GET", url, params={"path": LOG}))
                assert resp.status_code == 200
            held = agent.open_fds() - before
        # The first stream reuses the warm-up's connection: n - 1 new sockets at least.
        assert n - 1 <= held <= n + 4, f"{held} descriptors for {n} followers"
    assert settles(agent.open_fds, before)


def settles(probe: Any, expected: int, timeout: float = 5.0) -> bool:
    """True once ``probe()`` returns ``expected`` (the server notices hang-ups asynchronously)."""
    deadline = time.monotonic() + timeout
    while probe() != expected:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


# -- 1,000 hang-ups against an agent served in this process, so its tasks can be counted -----------


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def hang_up_many(data_dir: Path, cycles: int) -> None:
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    cfg = AgentConfig(data_dir=str(data_dir), http_port=0, bind_addr="127.0.0.1").finalize()
    agent = Agent(cfg)
    alloc = make_external_alloc(Path(cfg.alloc_dir))
    alloc.write(LOG, b"x")
    sock = bind_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    config = Config()
    config.bind = [f"fd://{sock.fileno()}"]
    config.accesslog = None
    stop = asyncio.Event()
    server = asyncio.ensure_future(serve(build_app(agent), config, shutdown_trigger=stop.wait))  # type: ignore[arg-type]
    request = f"GET /v1/client/fs/stream/{alloc.id}?path={LOG} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode()

    async def connect_and_drop() -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        writer.close()
        await writer.wait_closed()
        return head

    try:
        async with asyncio.timeout(60):
            while True:
                try:
                    await connect_and_drop()  # also creates the stream service and its watcher
                    break
                except ConnectionRefusedError:
                    await asyncio.sleep(0.02)
            await asyncio.sleep(0.2)
            tasks, fds = len(asyncio.all_tasks()), open_fds()
            for _ in range(cycles):
                assert (await connect_and_drop()).startswith(b"HTTP/1.1 200")
            deadline = time.monotonic() + 5
            while (len(asyncio.all_tasks()), open_fds()) != (tasks, fds) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            assert (len(asyncio.all_tasks()), open_fds()) == (tasks, fds)
    finally:
        agent.stopping.set()
        stop.set()
        await server
        with contextlib.suppress(OSError):
            sock.close()


@pytest.mark.parametrize(
    "loop_factory", [asyncio.new_event_loop, uvloop.new_event_loop], ids=["asyncio", "uvloop"]
)
def test_a_thousand_hang_ups_leave_no_tasks_or_descriptors(tmp_path: Path, loop_factory: Any) -> None:
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(hang_up_many(tmp_path, 1000))


def test_stopping_agent_ends_open_streams(tmp_path: Path) -> None:
    proc = start_agent(tmp_path)
    try:
        alloc = make_external_alloc(proc.alloc_dir)
        alloc.write(LOG, b"tail me")
        follower = Follower(proc, stream_url(alloc), path=LOG)
        follower.start()
        assert follower.connected.wait(10)
        deadline = time.monotonic() + 5
        while b"Data" not in follower.body and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        code = proc.stop()
    assert code == 0, "".join(proc.output)
    assert go_client_frames(follower.result(5)) == [{"Data": "dGFpbCBtZQ==", "File": LOG, "Offset": 7}]
