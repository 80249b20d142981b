"""Capture times on the logs endpoint (``type=all``, ``timestamps``, ``since``/``until``) against a real
agent: a real task writes a known interleaving of stdout and stderr lines, with pauses, into tiny
rotated files, so merges and windows cross rotations; external allocations are bounded by mtimes."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import AgentProcess, AllocFixture, make_external_alloc
from tests.frames import split_frames
from tests.http.conftest import log_bytes, purge, wait_status
from tests.http.test_logs_functional import run_job
from tests.runner import jobspecs as J

pytestmark = pytest.mark.functional

N = 240
PAUSE_AT = 120
PAUSE = 1.5
# Line i goes to stdout when i % 3 else stderr. The task writes a line only once the previous one
# reached its log file (it watches alloc/logs itself), so the order the lines were written in is
# the order they were captured in, however busy the machine; a pause in the middle gives
# since/until a gap to cut at.
INTERLEAVE = (
    "import os, sys, time\n"
    "logs = os.path.join(os.environ['NOMAD_ALLOC_DIR'], 'logs')\n"
    "def captured():\n"
    "    return sum(os.stat(os.path.join(logs, n)).st_size for n in os.listdir(logs) if n.startswith('t.'))\n"
    "written = 0\n"
    f"for i in range({N}):\n"
    f"    if i == {PAUSE_AT}: time.sleep({PAUSE})\n"
    "    s = sys.stdout if i % 3 else sys.stderr\n"
    "    text = f'{i:04d} ' + ('out' if i % 3 else 'err') + ' ' + 'z' * (i % 23) + '\\n'\n"
    "    s.write(text); s.flush(); written += len(text)\n"
    "    deadline = time.monotonic() + 10\n"
    "    while captured() < written and time.monotonic() < deadline: time.sleep(0.0005)\n"
)
STAMP = re.compile(rb"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z) ")


def line(i: int) -> bytes:
    return b"%04d " % i + (b"out" if i % 3 else b"err") + b" " + b"z" * (i % 23) + b"\n"


def parse_time(text: str) -> int:
    head, frac = text[:-1].split(".")
    seconds = int(dt.datetime.fromisoformat(head).replace(tzinfo=dt.UTC).timestamp())
    return seconds * 1_000_000_000 + int(frac)


@pytest.fixture(scope="module")
def http(agent: AgentProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=agent.url, timeout=httpx.Timeout(10.0, read=20.0)) as client:
        yield client


@pytest.fixture(scope="module")
def mixed(agent: AgentProcess, http: httpx.Client) -> Iterator[str]:
    log_config = {"MaxFiles": 1000, "MaxFileSizeBytes": 1024}
    alloc_id = run_job(http, J.job("mixed", J.python("t", INTERLEAVE, LogConfig=log_config)))
    try:
        wait_status(http, alloc_id, "complete", timeout=60)
        assert log_bytes(agent, alloc_id, kind="stdout") == b"".join(line(i) for i in range(N) if i % 3)
        assert log_bytes(agent, alloc_id, kind="stderr") == b"".join(line(i) for i in range(N) if i % 3 == 0)
        assert len(os.listdir(agent.alloc_dir / alloc_id / "alloc" / "logs")) >= 6
        # The capture-time indexes live under the data dir, one per log file, none in the allocation.
        visible = [p.name for p in (agent.alloc_dir / alloc_id).rglob("*")]
        assert not any(name.endswith(".times") for name in visible)
        times = agent.data_dir / "client" / "tasks" / alloc_id / "t" / "logtimes"
        logs_dir = agent.alloc_dir / alloc_id / "alloc" / "logs"
        assert sorted(p.name for p in times.iterdir()) == sorted(
            p.name + ".times" for p in logs_dir.iterdir()
        )
        yield alloc_id
    finally:
        purge(http, "mixed")


def logs(http: httpx.Client, alloc_id: str, task: str = "t", **params: str) -> httpx.Response:
    return http.get(f"/v1/client/fs/logs/{alloc_id}", params={"task": task, **params})


def records(resp: httpx.Response) -> list[dict[str, Any]]:
    assert resp.status_code == 200, resp.text
    return [json.loads(r) for r in resp.content.splitlines()]


def test_type_all_merges_in_write_order(http: httpx.Client, mixed: str) -> None:
    resp = logs(http, mixed, type="all", plain="true")
    assert (resp.status_code, resp.content) == (200, b"".join(line(i) for i in range(N)))


def test_type_all_framed_frames_name_their_stream(
    agent: AgentProcess, http: httpx.Client, mixed: str
) -> None:
    import base64

    resp = logs(http, mixed, type="all")
    frames = split_frames(resp.content)
    data = b""
    for frame in frames:
        chunk = base64.b64decode(frame["Data"])
        data += chunk
        kind = "stdout" if b" out " in chunk.splitlines()[0] else "stderr"
        assert frame["File"].startswith(f"alloc/logs/t.{kind}.")
        # Whole lines of one stream per frame, ending at their true offset in that file.
        on_disk = (agent.alloc_dir / mixed / frame["File"]).read_bytes()
        assert on_disk[frame["Offset"] - len(chunk) : frame["Offset"]] == chunk
    assert data == b"".join(line(i) for i in range(N))


def test_type_all_ndjson_with_tail_lines(http: httpx.Client, mixed: str) -> None:
    got = records(logs(http, mixed, type="all", format="ndjson", tail_lines="50"))
    assert [r["Line"].encode() + b"\n" for r in got] == [line(i) for i in range(N - 50, N)]
    assert [r["Type"] for r in got] == ["stdout" if i % 3 else "stderr" for i in range(N - 50, N)]
    times = [parse_time(r["Time"]) for r in got]
    assert times == sorted(times)


def test_timestamps_prefix_every_line_in_order(http: httpx.Client, mixed: str) -> None:
    resp = logs(http, mixed, type="stdout", plain="true", timestamps="true", tail_lines="10")
    out = resp.content.splitlines(keepends=True)
    assert len(out) == 10
    stamps = []
    for i, got in zip([i for i in range(N) if i % 3][-10:], out, strict=True):
        m = STAMP.match(got)
        assert m is not None, got
        assert got[m.end() :] == line(i)
        stamps.append(parse_time(m[1].decode()))
    assert stamps == sorted(stamps)
    assert abs(stamps[-1] - time.time_ns()) < 3600 * 10**9


def test_since_and_until_cut_at_the_pause(http: httpx.Client, mixed: str) -> None:
    got = records(logs(http, mixed, type="all", format="ndjson"))
    before_pause = parse_time(got[PAUSE_AT - 1]["Time"])
    after_pause = parse_time(got[PAUSE_AT]["Time"])
    assert after_pause - before_pause >= PAUSE * 1e9 * 0.9
    cut = (
        dt.datetime.fromtimestamp((before_pause + after_pause) / 2e9, dt.UTC)
        .isoformat()
        .replace("+00:00", "Z")
    )
    since = logs(http, mixed, type="all", plain="true", since=cut)
    assert since.content == b"".join(line(i) for i in range(PAUSE_AT, N))
    until = logs(http, mixed, type="all", plain="true", until=cut)
    assert until.content == b"".join(line(i) for i in range(PAUSE_AT))
    # One stream alone, and a duration back from now that covers everything.
    assert logs(http, mixed, type="stderr", plain="true", since=cut).content == b"".join(
        line(i) for i in range(PAUSE_AT, N) if i % 3 == 0
    )
    assert logs(http, mixed, type="all", plain="true", since="1h").content == b"".join(
        line(i) for i in range(N)
    )
    assert logs(http, mixed, type="all", plain="true", until="1h").content == b""


def test_time_options_refused_with_a_reason(http: httpx.Client, mixed: str) -> None:
    for params, text in [
        (
            {"type": "all", "offset": "5"},
            "type=all cannot be combined with offset or origin: byte offsets belong to one stream",
        ),
        (
            {"type": "all", "tail_lines": "1", "before": "alloc/logs/t.stdout.0:0"},
            "type=all cannot be combined with before: a cursor names one stream's file",
        ),
        (
            {"type": "stdout", "since": "yesterday"},
            'since must be an RFC 3339 time or a duration back from now: time: invalid duration "yesterday"',
        ),
        ({"type": "stdout", "until": "-5m"}, "until must not be a negative duration, got -5m"),
        (
            {"type": "stdout", "until": "1m", "follow": "true"},
            "until cannot be combined with follow=true: a follow has no end to bound",
        ),
        ({"type": "stdout", "since": "1m", "until": "2m"}, "since must be before until"),
        (
            {"type": "stdout", "timestamps": "maybe"},
            'failed to parse timestamps field to boolean: strconv.ParseBool: parsing "maybe": invalid syntax',
        ),
    ]:
        resp = logs(http, mixed, **params)
        assert (resp.status_code, resp.text) == (400, text), params


def test_line_options_leave_no_descriptor_behind(agent: AgentProcess, http: httpx.Client, mixed: str) -> None:
    logs(http, mixed, type="all", plain="true")  # warm up: the connection and lazy imports
    before = agent.open_fds()
    for params in [
        {"type": "all", "plain": "true", "tail_lines": "30", "timestamps": "true"},
        {"type": "all", "format": "ndjson", "since": "1h", "filter": "out"},
        {"type": "stderr", "tail_lines": "5", "before": "alloc/logs/t.stderr.0:0"},
        {"type": "stdout", "tail_lines": "1", "before": "alloc/logs/t.stdout.0:999999"},  # refused
        {"type": "all", "plain": "true", "limit_bytes": "100"},
    ]:
        logs(http, mixed, **params)
    with http.stream(
        "GET", "/v1/job/mixed/logs", params={"type": "all", "plain": "true", "all": "true"}
    ) as resp:
        assert resp.status_code == 200
        next(resp.iter_raw())
    assert agent.settled_fds(at_most=before, timeout=5) <= before


# -- external allocations: no capture times ------------------------------------------------------------


@pytest.fixture
def external(agent: AgentProcess) -> AllocFixture:
    return make_external_alloc(agent.alloc_dir, ("web",))


def test_external_windows_are_bounded_by_file_mtimes(http: httpx.Client, external: AllocFixture) -> None:
    hour = 3600 * 10**9
    now = time.time_ns()
    for i, age in enumerate((3, 2, 1)):
        path = external.write(f"alloc/logs/web.stdout.{i}", f"file {i}\n")
        os.utime(path, ns=(now - age * hour, now - age * hour))
    external.write("alloc/logs/web.stderr.0", b"e\n")
    fetch = lambda **p: logs(http, external.id, "web", type="stdout", plain="true", **p)  # noqa: E731
    assert fetch(since="150m").content == b"file 1\nfile 2\n"
    assert fetch(until="150m").content == b"file 0\nfile 1\n"
    assert fetch(since="150m", until="90m").content == b"file 1\nfile 2\n"
    for params, option in [
        ({"type": "all"}, "type=all"),
        ({"type": "stdout", "timestamps": "true"}, "timestamps"),
    ]:
        resp = logs(http, external.id, "web", **params)
        text = f"{option} needs capture times, which Outrider records only for the tasks it runs"
        assert (resp.status_code, resp.text) == (400, text)


# As INTERLEAVE (each line written once the previous one was captured), slowly, so a follow sees it live.
SLOW = (
    INTERLEAVE.replace(f"range({N})", "range(40)")
    .replace(f"if i == {PAUSE_AT}:", "if True:")
    .replace(f"time.sleep({PAUSE})", "time.sleep(0.03)")
)


def test_type_all_follow_merges_a_live_task_and_ends_with_it(agent: AgentProcess, http: httpx.Client) -> None:
    log_config = {"MaxFiles": 1000, "MaxFileSizeBytes": 256}
    alloc_id = run_job(http, J.job("slow", J.python("t", SLOW, LogConfig=log_config)))
    try:
        wait_status(http, alloc_id, "running", "complete", timeout=30)
        params = {"task": "t", "type": "all", "plain": "true", "follow": "true", "filter": "^00[0-3]"}
        with httpx.Client(base_url=agent.url, timeout=httpx.Timeout(20.0)) as client:
            # The follow ends by itself once the task is dead and both streams are drained.
            resp = client.get(f"/v1/client/fs/logs/{alloc_id}", params=params)
        assert resp.status_code == 200
        assert resp.content == b"".join(line(i) for i in range(40))
        tail = logs(http, alloc_id, type="all", plain="true", follow="true", tail_lines="7")
        assert tail.content == b"".join(line(i) for i in range(33, 40))
    finally:
        purge(http, "slow")
