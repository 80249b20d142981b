"""``/v1/client/fs/stream`` across truncations and rotations a real writer and a real operator make.

Each case changes a followed file of a real agent the way log tools do (a
truncation followed at once by new output, logrotate's rename-then-create)
and checks that the follower sees every byte of the file it ends up in, once,
with exactly the events that explain the jumps.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.conftest import AgentProcess, AllocFixture
from tests.http.streaming import Follower
from tests.runner.support import wait_for
from tests.stream.helpers import frame_data, split_frames

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
