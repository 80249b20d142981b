"""``/v1/client/fs/stream`` across truncations and rotations a real writer and a real operator make.

Each case changes a followed file of a real agent the way log tools do (a
truncation followed at once by new output, logrotate's rename-then-create)
and checks that the follower sees every byte of the file it ends up in, once,
with exactly the events that explain the jumps.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import AgentProcess, AllocFixture, make_external_alloc, start_agent
from tests.frames import frame_data, split_frames
from tests.http.streaming import Follower
from tests.runner.support import wait_for

pytestmark = pytest.mark.functional

LOG = "alloc/logs/web.stdout.0"


def follow(agent: AgentProcess, alloc: AllocFixture, **params: str) -> Follower:
    follower = Follower(agent, f"/v1/client/fs/stream/{alloc.id}", path=LOG, **params)
    follower.start()
    assert follower.connected.wait(10)
    return follower


def wait_for_offset(follower: Follower, offset: int) -> None:
    wait_for(lambda: b'"Offset":%d}' % offset in follower.body, 10, what=f"a frame ending at {offset}")


@contextmanager
def agent_paused(agent: AgentProcess) -> Iterator[None]:
    """Hold the agent still: whatever happens meanwhile is one change when it wakes up."""
    os.kill(agent.proc.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(agent.proc.pid, signal.SIGCONT)


def runs(data: bytes) -> list[tuple[bytes, int]]:
    """``b"aaab"`` as ``[(b"a", 3), (b"b", 1)]``: short to compare and to read in a failure."""
    out: list[tuple[bytes, int]] = []
    for byte in data:
        if out and out[-1][0][0] == byte:
            out[-1] = (out[-1][0], out[-1][1] + 1)
        else:
            out.append((bytes([byte]), 1))
    return out


def segments(body: bytes) -> list[tuple[str, list[tuple[bytes, int]]]]:
    """``[(event that opened the segment, runs of its data), ...]``, heartbeats dropped."""
    out: list[tuple[str, list[dict[str, Any]]]] = [("", [])]
    for frame in split_frames(body):
        if "FileEvent" in frame:
            out.append((frame["FileEvent"], []))
        out[-1][1].append(frame)
    return [(event, runs(frame_data(frames))) for event, frames in out]


@pytest.mark.parametrize("followers", [1, 3])
def test_truncate_then_regrow_before_the_follower_wakes(
    agent: AgentProcess, alloc: AllocFixture, followers: int
) -> None:
    path = alloc.write(LOG, b"a" * 1000)
    # Several followers of one file share reads: those that skipped a read must see it too.
    streams = [follow(agent, alloc) for _ in range(followers)]
    for stream in streams:
        wait_for_offset(stream, 1000)
    # Longer than what the followers read: the size alone says the file only grew.
    with agent_paused(agent), open(path, "r+b") as f:
        f.truncate(0)
        f.write(b"b" * 3000)
    for stream in streams:
        wait_for_offset(stream, 3000)
    os.unlink(path)
    for stream in streams:
        body = stream.result()
        assert segments(body) == [
            ("", [(b"a", 1000)]),
            ("file truncated", [(b"b", 3000)]),
            ("file deleted", []),
        ]
        assert split_frames(body)[-1] == {"File": LOG, "FileEvent": "file deleted", "Offset": 3000}


def test_rename_then_create_continues_into_the_new_file(agent: AgentProcess, alloc: AllocFixture) -> None:
    # logrotate's "create" mode: the writer keeps its old file until told to reopen.
    path = alloc.write(LOG, b"one\n")
    rotated = path.with_name(path.name + ".1")
    follower = follow(agent, alloc)
    wait_for_offset(follower, 4)
    with open(path, "ab") as writer:
        os.rename(path, rotated)
        time.sleep(0.2)
        writer.write(b"late\n")  # still into the renamed file: the stream has it
        writer.flush()
        time.sleep(0.2)
        path.write_bytes(b"two\n")
    wait_for(lambda: b"file truncated" in follower.body, 10, what="the new file")
    with open(path, "ab") as writer:
        writer.write(b"three\n")
    wait_for_offset(follower, 10)
    os.unlink(path)
    body = follower.result()
    assert segments(body) == [
        ("", runs(b"one\nlate\n")),
        ("file truncated", runs(b"two\nthree\n")),
        ("file deleted", []),
    ]
    assert split_frames(body)[-1] == {"File": LOG, "FileEvent": "file deleted", "Offset": 10}


def test_a_path_still_missing_after_the_grace_period_is_deleted(
    agent: AgentProcess, alloc: AllocFixture
) -> None:
    path = alloc.write(LOG, b"gone\n")
    follower = follow(agent, alloc)
    wait_for_offset(follower, 5)
    os.rename(path, path.with_name(path.name + ".1"))
    began = time.monotonic()
    body = follower.result()
    # The default grace period is one second: the end comes after it.
    assert time.monotonic() - began >= 1.0
    assert segments(body) == [("", runs(b"gone\n")), ("file deleted", [])]
    assert split_frames(body)[-1] == {"File": LOG, "FileEvent": "file deleted", "Offset": 5}


def test_without_a_grace_period_a_renamed_path_ends_the_stream_at_once(tmp_path: Path) -> None:
    config = tmp_path / "agent.hcl"
    config.write_text('client { rotation_grace = "0s" }\n')
    agent = start_agent(tmp_path / "data", "--config", str(config))
    try:
        alloc = make_external_alloc(agent.alloc_dir)
        path = alloc.write(LOG, b"one\n")
        follower = follow(agent, alloc)
        wait_for_offset(follower, 4)
        os.rename(path, path.with_name(path.name + ".1"))
        body = follower.result()
        path.write_bytes(b"two\n")
    finally:
        assert agent.stop() == 0
    # Nomad's behaviour: the rename is a deletion.
    assert segments(body) == [("", runs(b"one\n")), ("file deleted", [])]
