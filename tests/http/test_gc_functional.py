"""Garbage collection against a real agent (spec §14, §15): exactly the terminal allocations Outrider
owns go, with their tasks, directories and state; running and external allocations stay."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from outrider.runner import cgroup
from outrider.runner.handle import alloc_state_dir
from tests.conftest import AgentProcess, make_external_alloc, start_agent
from tests.http.conftest import allocs, register, wait_status
from tests.runner import jobspecs as J
from tests.runner.support import kill_leftovers, live_processes, wait_for

pytestmark = pytest.mark.functional

NOT_ELIGIBLE = "No such allocation on client, or allocation not eligible for GC"


def place(http: httpx.Client, job: dict[str, Any], status: str) -> list[str]:
    register(http, job)
    ids = [a["ID"] for a in allocs(http, job["ID"])]
    for alloc_id in ids:
        wait_status(http, alloc_id, status)
    return ids


def gc(http: httpx.Client, alloc_id: str) -> httpx.Response:
    return http.get(f"/v1/client/allocation/{alloc_id}/gc")


def test_gc_removes_a_terminal_allocation(agent: AgentProcess, http: httpx.Client) -> None:
    (alloc_id,) = place(http, J.job("done", J.sh("t", "echo bye")), "complete")
    state_dir = Path(alloc_state_dir(str(agent.data_dir), alloc_id))
    assert (agent.alloc_dir / alloc_id).is_dir() and state_dir.is_dir()
    resp = gc(http, alloc_id)
    assert (resp.status_code, resp.content) == (200, b"")
    assert not (agent.alloc_dir / alloc_id).exists() and not state_dir.exists()
    group = cgroup.task_cgroup_path(alloc_id, "t")
    assert group is None or not os.path.exists(group)
    ls = http.get(f"/v1/client/fs/ls/{alloc_id}")
    stat = http.get(f"/v1/client/fs/stat/{alloc_id}", params={"path": "alloc"})
    assert ls.status_code == 404 and stat.status_code == 404
    again = gc(http, alloc_id)
    assert (again.status_code, again.text) == (409, NOT_ELIGIBLE)
    assert again.headers["content-type"] == "text/plain; charset=utf-8"
    assert alloc_id not in [a["ID"] for a in http.get("/v1/allocations").json()]
    http.delete("/v1/job/done", params={"purge": "true"})


def test_gc_refuses_running_external_and_unknown(agent: AgentProcess, http: httpx.Client) -> None:
    (running,) = place(http, J.job("busy", J.sh("t", "sleep 60"), type_="service"), "running")
    external = make_external_alloc(agent.alloc_dir)
    external.write("alloc/logs/web.stdout.0", "kept")
    for alloc_id in (running, external.id):
        resp = gc(http, alloc_id)
        assert (resp.status_code, resp.text) == (409, NOT_ELIGIBLE)
    assert (agent.alloc_dir / running).is_dir()
    assert (external.path / "alloc/logs/web.stdout.0").read_text() == "kept"
    assert http.get(f"/v1/allocation/{running}").json()["ClientStatus"] == "running"
    missing = "11111111-2222-3333-4444-555555555555"
    resp = gc(http, missing)
    assert (resp.status_code, resp.text) == (404, f'Unknown allocation "{missing}"')
    http.delete("/v1/job/busy", params={"purge": "true"})


def test_gc_of_a_stopped_allocation(agent: AgentProcess, http: httpx.Client) -> None:
    (alloc_id,) = place(http, J.job("halt", J.sh("t", "sleep 60"), type_="service"), "running")
    assert http.delete("/v1/job/halt").status_code == 200
    wait_for(lambda: http.get(f"/v1/allocation/{alloc_id}").json()["ClientStatus"] == "complete", what="stop")
    assert gc(http, alloc_id).status_code == 200
    assert not (agent.alloc_dir / alloc_id).exists()
    http.delete("/v1/job/halt", params={"purge": "true"})


def test_client_gc_collects_every_terminal_allocation(agent: AgentProcess, http: httpx.Client) -> None:
    finished = place(http, J.job("many", J.sh("t", "true"), count=3), "complete")
    failed = place(
        http,
        J.job(
            "bad", J.sh("t", "exit 2"), RestartPolicy={"Attempts": 0, "Interval": 10 * J.S, "Mode": "fail"}
        ),
        "failed",
    )
    (running,) = place(http, J.job("stay", J.sh("t", "sleep 60"), type_="service"), "running")
    external = make_external_alloc(agent.alloc_dir)
    resp = http.get("/v1/client/gc", params={"node_id": "not-this-node"})
    assert (resp.status_code, resp.text) == (404, "Unknown node not-this-node")
    resp = http.get("/v1/client/gc")
    assert (resp.status_code, resp.content) == (200, b"")
    for alloc_id in finished + failed:
        wait_for(lambda i=alloc_id: not (agent.alloc_dir / i).exists(), what=f"{alloc_id} to be collected")
    assert (agent.alloc_dir / running).is_dir() and external.path.is_dir()
    assert http.get(f"/v1/allocation/{running}").json()["ClientStatus"] == "running"
    for job_id in ("many", "bad", "stay"):
        http.delete(f"/v1/job/{job_id}", params={"purge": "true"})


def test_gc_state_is_gone_after_an_agent_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = start_agent(data_dir)
    try:
        with first.client() as http:
            (collected,) = place(http, J.job("a", J.sh("t", "true")), "complete")
            (kept,) = place(http, J.job("b", J.sh("t", "true")), "complete")
            assert gc(http, collected).status_code == 200
    finally:
        assert first.stop() == 0
    second = start_agent(data_dir)
    try:
        with second.client() as http:
            resp = http.get(f"/v1/client/fs/ls/{collected}")
            assert (resp.status_code, resp.text) == (404, f'Unknown allocation "{collected}"')
            assert http.get(f"/v1/allocation/{kept}").json()["ClientStatus"] == "complete"
            assert gc(http, kept).status_code == 200
    finally:
        assert second.stop() == 0
        assert not live_processes(data_dir)
        kill_leftovers(data_dir)
