"""``/v1/client/fs/logs`` against a real agent: real tasks run through the jobs API, real rotation
(tiny ``MaxFileSizeBytes``), every byte checked by sha256, the reference's error texts, external
allocations and python-nomad (``command/agent/fs_endpoint.go`` ``Logs``, ``client/fs_endpoint.go``
``logsImpl``)."""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import nomad
import pytest
import requests

from tests.conftest import AgentProcess, AllocFixture, make_external_alloc
from tests.frames import frame_data, go_client_frames, split_frames
from tests.http.conftest import allocs, log_files, purge, register, wait_status
from tests.http.streaming import Follower
from tests.runner import jobspecs as J
from tests.runner.support import wait_for

pytestmark = pytest.mark.functional

FILE_SIZE = 8192
LINES = 20_000
XSS = b"<script>alert(document.domain);</script>"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def numbered(start: int, stop: int) -> bytes:
    return b"".join(b"%06d " % i + b"x" * (i % 37) + b"\n" for i in range(start, stop))


# The task's side of numbered(): the same bytes, written as fast as Python can.
PRINT_SEQUENCE = (
    "import sys\n"
    "w = sys.stdout.write\n"
    "for i in range({start}, {stop}): w(f'{{i:06d}} ' + 'x' * (i % 37) + '\\n')\n"
)


@pytest.fixture(scope="module")
def http(agent: AgentProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=agent.url, timeout=httpx.Timeout(10.0, read=20.0)) as client:
        yield client


def run_job(http: httpx.Client, job: dict[str, Any]) -> str:
    """Register a one-allocation job; return the allocation's ID."""
    register(http, job)
    (stub,) = allocs(http, job["ID"])
    return str(stub["ID"])


def logs(http: httpx.Client, alloc_id: str, **params: str) -> httpx.Response:
    return http.get(f"/v1/client/fs/logs/{alloc_id}", params={"task": "t", "type": "stdout", **params})


def assert_files_and_offsets(
    frames: list[dict[str, Any]], files: dict[str, bytes], first_start: int = 0
) -> None:
    """Files in ascending index order, each frame's Offset the true end offset in its own file."""
    order: list[str] = []
    position: dict[str, int] = {}
    for frame in frames:
        name = frame["File"]
        assert name.startswith("alloc/logs/t.stdout.")
        if not order or order[-1] != name:
            assert name not in order, f"{name} came back"
            order.append(name)
            position[name] = first_start if len(order) == 1 else 0
        position[name] += len(frame_data([frame]))
        assert frame["Offset"] == position[name]
    indexes = [int(n.rsplit(".", 1)[1]) for n in order]
    assert indexes == sorted(indexes)
    for name in order[1:-1]:
        assert position[name] == len(files[name]), f"{name} not read to its end"


def logs_follower(agent: AgentProcess, alloc_id: str, **params: str) -> Follower:
    """Follow the ``t`` task's stdout (``follow=true``) in the background."""
    params = {"task": "t", "type": "stdout", "follow": "true", **params}
    return Follower(agent, f"/v1/client/fs/logs/{alloc_id}", read_timeout=20.0, **params)


@pytest.fixture(scope="module")
def seq(agent: AgentProcess, http: httpx.Client) -> Iterator[tuple[str, bytes]]:
    """A dead task that printed a known numbered sequence into many tiny rotated files."""
    code = PRINT_SEQUENCE.format(start=0, stop=LINES)
    log_config = {"MaxFiles": 1000, "MaxFileSizeBytes": FILE_SIZE}
    alloc_id = run_job(http, J.job("seq", J.python("t", code, LogConfig=log_config)))
    try:
        wait_status(http, alloc_id, "complete", timeout=60)
        expected = numbered(0, LINES)
        files = log_files(agent, alloc_id)
        assert len(files) > 50 and sha(b"".join(files)) == sha(expected)
        yield alloc_id, expected
    finally:
        purge(http, "seq")


def test_plain_logs_are_exactly_the_sequence(http: httpx.Client, seq: tuple[str, bytes]) -> None:
    alloc_id, expected = seq
    resp = logs(http, alloc_id, plain="true")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "text/plain"
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert sha(resp.content) == sha(expected)


def test_framed_logs_name_every_file_with_true_offsets(
    agent: AgentProcess, http: httpx.Client, seq: tuple[str, bytes]
) -> None:
    alloc_id, expected = seq
    resp = logs(http, alloc_id)
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/json"
    frames = go_client_frames(resp.content)
    assert sha(frame_data(frames)) == sha(expected)
    on_disk = {f"alloc/logs/t.stdout.{i}": data for i, data in enumerate(log_files(agent, alloc_id))}
    assert_files_and_offsets(frames, on_disk)
    assert {f["File"] for f in frames} == set(on_disk)


@pytest.mark.parametrize("plain", [True, False])
@pytest.mark.parametrize(
    ("origin", "offset"),
    [
        ("start", 3 * FILE_SIZE + 77),  # counts forward across rotated files
        ("end", 5 * FILE_SIZE + 11),  # counts backward across rotated files
        ("end", 0),  # the CLI's default: the whole newest file
        ("end", 10**12),  # clamped at byte 0 of the oldest file
        ("start", 10**12),  # clamped at the end of the newest file
        ("start", -5),  # "5 bytes before the end of the oldest file"
        ("end", -5),  # "5 bytes into the newest file"
    ],
)
def test_offsets_span_files_like_the_reference(
    agent: AgentProcess, http: httpx.Client, seq: tuple[str, bytes], origin: str, offset: int, plain: bool
) -> None:
    alloc_id, expected = seq
    files = log_files(agent, alloc_id)
    oldest, newest = len(files[0]), len(files[-1])
    want = {
        ("start", 3 * FILE_SIZE + 77): expected[3 * FILE_SIZE + 77 :],
        ("end", 5 * FILE_SIZE + 11): expected[-(5 * FILE_SIZE + 11) :],
        ("end", 0): files[-1],
        ("end", 10**12): expected,
        ("start", 10**12): b"",
        ("start", -5): expected[oldest - 5 :],
        ("end", -5): expected[len(expected) - newest + 5 :],
    }[(origin, offset)]
    resp = logs(http, alloc_id, origin=origin, offset=str(offset), plain=str(plain).lower())
    assert resp.status_code == 200
    got = resp.content if plain else frame_data(go_client_frames(resp.content))
    assert sha(got) == sha(want)


def test_following_a_dead_task_ends_once_drained(http: httpx.Client, seq: tuple[str, bytes]) -> None:
    alloc_id, expected = seq
    for plain in ("true", "false"):
        resp = logs(http, alloc_id, follow="true", plain=plain, origin="end", offset=str(2 * FILE_SIZE + 5))
        assert resp.status_code == 200
        got = resp.content if plain == "true" else frame_data(go_client_frames(resp.content))
        assert got == expected[-(2 * FILE_SIZE + 5) :]


def test_stray_files_are_ignored(agent: AgentProcess, http: httpx.Client, seq: tuple[str, bytes]) -> None:
    alloc_id, expected = seq
    log_dir = agent.alloc_dir / alloc_id / "alloc" / "logs"
    (log_dir / "t.stdout.gz").write_bytes(b"\x1f\x8b compressed")
    (log_dir / "t.stdout.old").write_bytes(b"old")
    try:
        resp = logs(http, alloc_id, plain="true")
        assert (resp.status_code, sha(resp.content)) == (200, sha(expected))
    finally:
        (log_dir / "t.stdout.gz").unlink()
        (log_dir / "t.stdout.old").unlink()


def test_python_nomad_stream_logs(agent: AgentProcess, seq: tuple[str, bytes]) -> None:
    alloc_id, expected = seq
    port = int(agent.url.rsplit(":", 1)[1])
    with requests.Session() as session:
        n = nomad.Nomad(host="127.0.0.1", port=port, timeout=20, session=session)
        text = n.client.stream_logs.stream(alloc_id, "t", "stdout", plain=True)
        assert sha(text.encode()) == sha(expected)
        framed = n.client.stream_logs.stream(alloc_id, "t", "stdout", origin="end", offset=100)
        assert frame_data(go_client_frames(framed.encode())) == expected[-100:]
        with pytest.raises(nomad.api.exceptions.BaseNomadException):
            n.client.stream_logs.stream(alloc_id, "nope", "stdout")


# -- following a running task across rotations -----------------------------------------------------


def test_followers_from_the_start_get_every_byte_once_and_end_with_the_task(
    agent: AgentProcess, http: httpx.Client
) -> None:
    """The task waits for a go signal, then writes in bursts while two followers read along."""
    lines, burst = 12_000, 400
    code = (
        "import os, sys, time\n"
        "while not os.path.exists('local/go'): time.sleep(0.01)\n"
        "w = sys.stdout.write\n"
        f"for start in range(0, {lines}, {burst}):\n"
        f"    for i in range(start, start + {burst}): w(f'{{i:06d}} ' + 'x' * (i % 37) + '\\n')\n"
        "    sys.stdout.flush()\n"
        "    time.sleep(0.01)\n"
    )
    log_config = {"MaxFiles": 1000, "MaxFileSizeBytes": 4096}
    alloc_id = run_job(http, J.job("live", J.python("t", code, LogConfig=log_config)))
    try:
        wait_status(http, alloc_id, "running")
        wait_for(lambda: logs(http, alloc_id).status_code == 200, what="the first log file")
        followers = [logs_follower(agent, alloc_id, plain="true"), logs_follower(agent, alloc_id)]
        for f in followers:
            f.start()
        for f in followers:
            assert f.connected.wait(10) and f.status == 200
        (agent.alloc_dir / alloc_id / "t" / "local" / "go").touch()
        plain, framed = (f.result(30.0) for f in followers)
        expected = numbered(0, lines)
        assert sha(plain) == sha(expected)
        frames = go_client_frames(framed)
        assert sha(frame_data(frames)) == sha(expected)
        assert not any("FileEvent" in f for f in frames)
        files = log_files(agent, alloc_id)
        assert len(files) > 50
        assert_files_and_offsets(frames, {f"alloc/logs/t.stdout.{i}": d for i, d in enumerate(files)})
        assert wait_status(http, alloc_id, "complete")["TaskStates"]["t"]["State"] == "dead"
    finally:
        purge(http, "live")


# -- errors, in the reference's order and words ----------------------------------------------------


def test_parameter_errors_in_order(http: httpx.Client, seq: tuple[str, bytes]) -> None:
    alloc_id, _ = seq
    url = f"/v1/client/fs/logs/{alloc_id}"
    unknown = str(uuid.uuid4())
    parse_bool = 'strconv.ParseBool: parsing "{}": invalid syntax'
    cases: list[tuple[str, dict[str, str], int, str]] = [
        ("/v1/client/fs/logs/", {"task": "t"}, 400, "must provide a valid alloc id"),
        (url, {"follow": "x", "type": "bad"}, 400, "must provide task name"),
        (url, {"task": "t", "follow": "yes", "plain": "x"}, 400,
         "failed to parse follow field to boolean: " + parse_bool.format("yes")),
        (url, {"task": "t", "plain": "no", "type": "bad"}, 400,
         "failed to parse plain field to boolean: " + parse_bool.format("no")),
        (url, {"task": "t", "offset": "x"}, 400, "must provide log type (stdout/stderr)"),
        (url, {"task": "t", "type": "Stdout"}, 400, "must provide log type (stdout/stderr)"),
        (url, {"task": "t", "type": "stderr", "offset": "1k", "origin": "x"}, 400,
         'error parsing offset: strconv.ParseInt: parsing "1k": invalid syntax'),
        (url, {"task": "t", "type": "stderr", "origin": "middle"}, 400, "origin must be start or end"),
        (f"/v1/client/fs/logs/{unknown}", {"task": "nope", "type": "stdout"}, 404,
         f'Unknown allocation "{unknown}"'),
        (url, {"task": "nope", "type": "stdout"}, 400, 'unknown task name "nope"'),
    ]  # fmt: skip
    for target, params, status, text in cases:
        resp = http.get(target, params=params)
        assert (resp.status_code, resp.text) == (status, text), params
        assert resp.headers["content-type"] == "text/plain; charset=utf-8"


def test_task_and_log_state_errors(http: httpx.Client) -> None:
    never = run_job(http, J.job("never", J.task("t", ["/nonexistent/binary"])))
    silent = run_job(http, J.job("silent", J.sh("t", "echo hidden", LogConfig={"Disabled": True})))
    gone = run_job(http, J.job("gone", J.sh("t", "echo bye")))
    try:
        state = wait_status(http, never, "failed")["TaskStates"]["t"]
        assert state["StartedAt"] == "0001-01-01T00:00:00Z"  # Go's zero time: never started
        resp = logs(http, never)
        assert (resp.status_code, resp.text) == (404, 'task "t" not started yet. No logs available')
        wait_status(http, silent, "complete")
        resp = logs(http, silent, type="stderr")
        assert (resp.status_code, resp.text) == (
            404,
            'log entry for task "t" and log type "stderr" not found',
        )
        wait_status(http, gone, "complete")
        assert logs(http, gone, plain="true").content == b"bye\n"
        assert http.post(f"/v1/client/allocation/{gone}/gc").status_code == 200
        resp = logs(http, gone)
        assert (resp.status_code, resp.text) == (404, f"state for allocation {gone} not found on client")
    finally:
        for job_id in ("never", "silent", "gone"):
            purge(http, job_id)


# -- external (sidecar) allocations -----------------------------------------------------------------


@pytest.fixture
def external(agent: AgentProcess) -> AllocFixture:
    return make_external_alloc(agent.alloc_dir, ("web", "idle"))


def test_log_followers_of_one_task_share_descriptors(agent: AgentProcess, external: AllocFixture) -> None:
    # Each follower costs the agent its socket: the log directory, its parent and the file are open once.
    external.write("alloc/logs/web.stdout.0", b"zero\n")
    url = f"/v1/client/fs/logs/{external.id}"
    params = {"task": "web", "type": "stdout", "follow": "true"}
    n = 40
    with agent.client(limits=httpx.Limits(max_connections=n + 5)) as client:
        with client.stream("GET", url, params=params):
            pass
        time.sleep(0.2)
        before = agent.open_fds()
        with contextlib.ExitStack() as streams:
            for _ in range(n):
                resp = streams.enter_context(client.stream("GET", url, params=params))
                assert resp.status_code == 200
            held = agent.open_fds() - before
        # The first stream reuses the warm-up's connection: n - 1 new sockets at least.
        assert n - 1 <= held <= n + 6, f"{held} descriptors for {n} log followers"
    assert agent.settled_fds(at_most=before, timeout=5) <= before


def test_external_allocation_logs(http: httpx.Client, external: AllocFixture) -> None:
    url = f"/v1/client/fs/logs/{external.id}"
    external.write("alloc/logs/web.stdout.0", b"zero\n")
    external.write("alloc/logs/web.stdout.1", b"one\n")
    external.write("alloc/logs/web.stdout.bak", b"stray\n")
    resp = http.get(url, params={"task": "web", "type": "stdout", "plain": "true"})
    assert (resp.status_code, resp.content) == (200, b"zero\none\n")
    for params, status, text in [
        ({"task": "nope", "type": "stdout"}, 400, 'unknown task name "nope"'),
        ({"task": "idle", "type": "stdout"}, 404, 'task "idle" not started yet. No logs available'),
        ({"task": "web", "type": "stderr"}, 404, 'log entry for task "web" and log type "stderr" not found'),
    ]:
        resp = http.get(url, params=params)
        assert (resp.status_code, resp.text) == (status, text)


def test_external_follow_stays_open_and_picks_up_new_files(
    agent: AgentProcess, external: AllocFixture
) -> None:
    external.write("alloc/logs/web.stdout.0", b"first\n")
    params = {"task": "web", "type": "stdout", "follow": "true"}
    with (
        httpx.Client(base_url=agent.url, timeout=httpx.Timeout(5.0)) as client,
        client.stream("GET", f"/v1/client/fs/logs/{external.id}", params=params) as resp,
    ):
        assert resp.status_code == 200
        chunks = resp.iter_raw()
        body = next(chunks)
        assert split_frames(body) == [{"Data": "Zmlyc3QK", "File": "alloc/logs/web.stdout.0", "Offset": 6}]
        # Nothing says an external task is dead: the stream stays open, with heartbeats.
        assert next(chunks) == b"{}"
        external.write("alloc/logs/web.stdout.1", b"second\n")
        body = next(chunks)
        while not frame_data(go_client_frames(body)):
            body += next(chunks)
        assert go_client_frames(body) == [
            {"Data": "c2Vjb25kCg==", "File": "alloc/logs/web.stdout.1", "Offset": 7}
        ]


def test_an_error_after_the_first_byte_is_appended_as_text(
    agent: AgentProcess, external: AllocFixture
) -> None:
    external.write("alloc/logs/web.stdout.0", b"data\n")
    params = {"task": "web", "type": "stdout", "follow": "true", "plain": "true"}
    with (
        httpx.Client(base_url=agent.url, timeout=httpx.Timeout(5.0)) as client,
        client.stream("GET", f"/v1/client/fs/logs/{external.id}", params=params) as resp,
    ):
        chunks = resp.iter_raw()
        assert (resp.status_code, next(chunks)) == (200, b"data\n")
        shutil.rmtree(external.path / "alloc" / "logs")
        tail = b"".join(chunks)  # the server ends the stream
    assert tail == b"failed to list entries: open alloc/logs: no such file or directory"


def test_plain_logs_are_served_as_plain_text(http: httpx.Client, external: AllocFixture) -> None:
    """TestHTTP_FS_Logs_XSS: untrusted output must not be rendered by a browser."""
    external.write("alloc/logs/web.stdout.0", XSS)
    resp = http.get(
        f"/v1/client/fs/logs/{external.id}", params={"task": "web", "type": "stdout", "plain": "1"}
    )
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "text/plain"
    assert resp.content == XSS
