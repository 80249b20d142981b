"""A full disk under a running agent: task output is dropped and counted, state writes wait, nothing dies.

A small tmpfs is mounted for the alloc dir (or the whole data dir) and filled with a
filler file while a task logs; deleting the filler gives the room back.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import AgentProcess, start_agent
from tests.runner import jobspecs as J
from tests.runner.support import fill, kill_leftovers, place, tmpfs, wait_for

pytestmark = pytest.mark.functional

CHATTY = 'i=0; while :; do i=$((i+1)); echo "line $i"; sleep 0.01; done'


@contextlib.contextmanager
def agent_on(data_dir: Path, *extra: str) -> Iterator[AgentProcess]:
    proc = start_agent(data_dir, *extra)
    try:
        yield proc
    finally:
        proc.stop()
        kill_leftovers(proc.data_dir)


def task_state(http: httpx.Client, alloc_id: str) -> tuple[str, dict[str, Any]]:
    alloc = http.get(f"/v1/allocation/{alloc_id}").json()
    return alloc["ClientStatus"], alloc["TaskStates"]["t"]


def dropped_metric(http: httpx.Client) -> int:
    text = http.get("/v1/metrics", params={"format": "prometheus"}).text
    found = re.search(r'^outrider_client_task_log_bytes_dropped_total\{type="stdout"\} (\S+)$', text, re.M)
    return int(float(found.group(1))) if found else 0


def last_line(log: Path) -> int:
    lines = [ln for ln in log.read_bytes().split(b"\n") if ln.startswith(b"line ")]
    return int(lines[-1].split()[1]) if lines else 0


def test_a_task_logging_onto_a_full_disk_keeps_running_and_logs_again_once_there_is_room(
    tmp_path: Path,
) -> None:
    with (
        tmpfs(tmp_path / "allocs", "2m") as allocs,
        agent_on(tmp_path / "data", "--alloc-dir", str(allocs)) as agent,
        agent.client() as http,
    ):
        [alloc_id] = place(http, J.job("chatty", J.sh("t", CHATTY)), "running")
        log = allocs / alloc_id / "alloc" / "logs" / "t.stdout.0"
        wait_for(lambda: log.exists() and last_line(log) > 0, what="the first lines")
        filler = fill(allocs)

        def dropped_event() -> dict[str, Any] | None:
            events = task_state(http, alloc_id)[1]["Events"]
            return next((e for e in events if e["Type"] == "Logs Dropped"), None)

        event = wait_for(dropped_event, 20, what="a Logs Dropped event")
        assert int(event["Details"]["bytes_dropped"]) > 0
        assert "bytes of log output dropped" in event["DisplayMessage"]
        assert str(allocs) not in event["DisplayMessage"]
        wait_for(lambda: dropped_metric(http) > 0, 10, what="the dropped bytes in /v1/metrics")
        # Still the same attempt, still running: the full disk neither killed nor restarted it.
        status, state = task_state(http, alloc_id)
        assert (status, state["State"], state["Restarts"]) == ("running", "running", 0)
        assert [e["Type"] for e in state["Events"]].count("Started") == 1
        # Only one event while bytes keep being dropped within the rate limit.
        dropped_then = dropped_metric(http)
        wait_for(lambda: dropped_metric(http) > dropped_then, 10, what="more dropped bytes")
        assert [e["Type"] for e in task_state(http, alloc_id)[1]["Events"]].count("Logs Dropped") == 1

        seen = last_line(log)
        filler.unlink()
        # Writing resumes: lines the task printed after the room came back reach the file.
        wait_for(lambda: last_line(log) > seen + 20, 20, what="log lines written again")
        assert task_state(http, alloc_id)[1]["Restarts"] == 0

        assert http.delete("/v1/job/chatty").status_code == 200
        wait_for(lambda: task_state(http, alloc_id)[0] == "complete", 20, what="the stopped job's allocation")


def test_state_writes_on_a_full_disk_wait_for_room_and_the_task_still_ends(tmp_path: Path) -> None:
    hold = tmp_path / "hold"
    hold.touch()
    script = f'echo started; while [ -e "{hold}" ]; do sleep 0.05; done; echo ending; exit 3'
    job = J.job("doomed", J.sh("t", script), RestartPolicy={**J.FAST_RESTARTS, "Attempts": 0})
    with tmpfs(tmp_path / "data", "16m") as data:
        with agent_on(data) as agent, agent.client() as http:
            [alloc_id] = place(http, job, "running")
            filler = fill(data)
            hold.unlink()
            # The task's end is recorded while nothing can be written: the allocation fails at once.
            wait_for(lambda: task_state(http, alloc_id)[0] == "failed", 20, what="the allocation to fail")
            state = task_state(http, alloc_id)[1]
            assert state["State"] == "dead" and state["Failed"]
            assert "Not Restarting" in [e["Type"] for e in state["Events"]]
            output = "".join(agent.output)
            assert "state write failed; retrying with backoff" in output
            assert "database or disk is full" in output
            # The agent still serves, and takes the room back when there is some.
            filler.unlink()
            wait_for(lambda: "state writes recovered" in "".join(agent.output), 20, what="the writes to land")
            assert http.delete("/v1/job/doomed").status_code == 200
        # What was written while the disk was full is in the database: a new agent reads it.
        with agent_on(data) as again, again.client() as http:
            status, state = task_state(http, alloc_id)
            assert (status, state["State"], state["Failed"]) == ("failed", "dead", True)
            assert "Not Restarting" in [e["Type"] for e in state["Events"]]


def test_a_job_stopped_while_nothing_can_be_written_still_stops(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "data", "16m") as data, agent_on(data) as agent, agent.client() as http:
        [alloc_id] = place(http, J.job("chatty", J.sh("t", CHATTY)), "running")
        filler = fill(data)
        resp = http.delete("/v1/job/chatty")
        # Not recorded, and said so; the allocation is stopped all the same.
        assert resp.status_code == 500
        assert "failed to record the job's stop: database or disk is full" in resp.text
        wait_for(lambda: task_state(http, alloc_id)[0] == "complete", 20, what="the allocation to stop")
        assert task_state(http, alloc_id)[1]["State"] == "dead"
        filler.unlink()
        assert http.delete("/v1/job/chatty").status_code == 200
        assert http.get("/v1/job/chatty").json()["Stop"] is True
