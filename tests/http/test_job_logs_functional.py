"""``GET /v1/job/<job_id>/logs`` against a real agent: the logs of every allocation of a real job, prefixed
or in ndjson, a follow that picks up allocations placed later and ends with the job, and its refusals."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import AgentProcess
from tests.http.conftest import allocs, log_bytes, purge, register, wait_status
from tests.runner import jobspecs as J

pytestmark = pytest.mark.functional

# Each task prints its own name and the allocation's index, so every line says where it came from.
SPEAK = (
    "import os, sys\n"
    "name = os.environ['NOMAD_TASK_NAME']; idx = os.environ['NOMAD_ALLOC_INDEX']\n"
    "for i in range(5): print(f'{name} {idx} {i}', flush=True)\n"
    "print(f'{name} {idx} oops', file=sys.stderr, flush=True)\n"
)


@pytest.fixture(scope="module")
def http(agent: AgentProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=agent.url, timeout=httpx.Timeout(10.0, read=20.0)) as client:
        yield client


@pytest.fixture(scope="module")
def done_job(http: httpx.Client) -> Iterator[list[str]]:
    """A finished job of two allocations with two tasks each; its allocation IDs by index."""
    register(http, J.job("chorus", J.python("a", SPEAK), J.python("b", SPEAK), count=2))
    try:
        stubs = allocs(http, "chorus")
        for stub in stubs:
            wait_status(http, stub["ID"], "complete", timeout=60)
        ids = [s["ID"] for s in sorted(stubs, key=lambda s: s["Name"])]
        yield ids
    finally:
        purge(http, "chorus")


def job_logs(http: httpx.Client, job_id: str, **params: str) -> httpx.Response:
    return http.get(f"/v1/job/{job_id}/logs", params=params)


def expected(ids: list[str], tasks: tuple[str, ...] = ("a", "b")) -> set[bytes]:
    return {
        f"{a[:8]}/{t}: {t} {idx} {i}\n".encode() for idx, a in enumerate(ids) for t in tasks for i in range(5)
    }


def test_every_allocation_and_task_prefixed(http: httpx.Client, done_job: list[str]) -> None:
    # Finished allocations are terminal: only all=true reads them.
    assert job_logs(http, "chorus", type="stdout", plain="true").content == b""
    resp = job_logs(http, "chorus", type="stdout", plain="true", all="true")
    assert resp.status_code == 200 and resp.headers["content-type"] == "text/plain"
    got = resp.content.splitlines(keepends=True)
    assert len(got) == 20 and set(got) == expected(done_job)
    # Each (allocation, task) keeps its own order.
    for alloc_id in done_job:
        for t in "ab":
            mine = [g for g in got if g.startswith(f"{alloc_id[:8]}/{t}: ".encode())]
            assert mine == sorted(mine)


def test_task_and_options_narrow_it(http: httpx.Client, done_job: list[str]) -> None:
    resp = job_logs(http, "chorus", type="all", plain="true", all="true", task="b", filter="oops|4$")
    got = set(resp.content.splitlines(keepends=True))
    want = {f"{a[:8]}/b: b {idx} {x}\n".encode() for idx, a in enumerate(done_job) for x in ("4", "oops")}
    assert got == want
    tail = job_logs(http, "chorus", type="stdout", plain="true", all="true", tail_lines="1", max_streams="1")
    assert set(tail.content.splitlines(keepends=True)) == {
        f"{a[:8]}/{t}: {t} {idx} 4\n".encode() for idx, a in enumerate(done_job) for t in "ab"
    }


def test_ndjson_records_say_whose_line(http: httpx.Client, done_job: list[str]) -> None:
    resp = job_logs(http, "chorus", type="stderr", format="ndjson", all="true")
    records = [json.loads(r) for r in resp.content.splitlines()]
    assert sorted((r["AllocID"], r["Task"], r["Line"]) for r in records) == sorted(
        (a, t, f"{t} {idx} oops") for idx, a in enumerate(done_job) for t in "ab"
    )
    assert all(r["Type"] == "stderr" and r["File"] == f"alloc/logs/{r['Task']}.stderr.0" for r in records)


def test_refusals(http: httpx.Client, done_job: list[str]) -> None:
    for params, status, text in [
        (
            {"type": "stdout"},
            400,
            "a job's logs are plain=true or format=ndjson: frames name one allocation's files",
        ),
        ({"type": "nope", "plain": "true"}, 400, "must provide log type (stdout/stderr)"),
        (
            {"type": "stdout", "plain": "true", "offset": "3"},
            400,
            "offset cannot be used on a job's logs: positions belong to one allocation's files",
        ),
        (
            {"type": "stdout", "plain": "true", "max_streams": "0"},
            400,
            "max_streams must be between 1 and 1000, got 0",
        ),
        (
            {"type": "stdout", "plain": "true", "max_streams": "x"},
            400,
            'error parsing max_streams: strconv.ParseInt: parsing "x": invalid syntax',
        ),
        ({"type": "stdout", "plain": "true", "filter": "("}, 400, "invalid filter pattern: missing ): ("),
    ]:
        resp = job_logs(http, "chorus", **params)
        assert (resp.status_code, resp.text) == (status, text), params
    resp = job_logs(http, "no-such-job", type="stdout", plain="true")
    assert (resp.status_code, resp.text) == (404, "job not found")


WAVE = (
    "import os, time\n"
    "idx = os.environ['NOMAD_ALLOC_INDEX']\n"
    "for i in range(3): print(f'wave {idx} {i}', flush=True); time.sleep(0.3)\n"
)


def test_follow_joins_new_allocations_and_ends_with_the_job(agent: AgentProcess, http: httpx.Client) -> None:
    register(http, J.job("waves", J.python("w", WAVE), count=1))
    body = bytearray()
    status: list[int] = []

    def follow() -> None:
        with (
            httpx.Client(base_url=agent.url, timeout=httpx.Timeout(30.0)) as client,
            client.stream(
                "GET",
                "/v1/job/waves/logs",
                params={"type": "stdout", "plain": "true", "follow": "true", "all": "true"},
            ) as resp,
        ):
            status.append(resp.status_code)
            for chunk in resp.iter_raw():
                body.extend(chunk)

    reader = threading.Thread(target=follow)
    reader.start()
    try:
        # A second allocation placed while the follow runs joins it.
        time.sleep(0.3)
        register(http, J.job("waves", J.python("w", WAVE), count=2))
        stubs = allocs(http, "waves")
        assert len(stubs) >= 2
        for stub in stubs:
            wait_status(http, stub["ID"], "complete", "failed", timeout=30)
        reader.join(timeout=20)
        assert not reader.is_alive(), "the follow did not end with the job"
        assert status == [200]
        # Every allocation's lines, each exactly as its task wrote them (a replaced one may have been
        # stopped early), including the one placed after the follow began.
        want = [
            f"{s['ID'][:8]}/w: ".encode() + line
            for s in stubs
            for line in log_bytes(agent, s["ID"], "w").splitlines(keepends=True)
        ]
        assert sorted(bytes(body).splitlines(keepends=True)) == sorted(want)
        assert sum(1 for line in want if line.endswith(b"wave 1 2\n")) == 1
    finally:
        reader.join(timeout=20)
        purge(http, "waves")
