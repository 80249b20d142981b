"""The jobs API tells one story about an allocation: listed, viewed and counted alike, before and after
a client GC and across an agent restart, until its job is purged (Nomad's servers keep an allocation a
client collected until they collect it themselves)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import nomad
import pytest
import requests

from tests.conftest import AgentProcess, start_agent
from tests.runner import jobspecs as J
from tests.runner.support import kill_leftovers, place, wait_for

pytestmark = pytest.mark.functional


def story(http: httpx.Client, job_id: str, alloc_id: str) -> dict[str, Any]:
    """What every read of the jobs API says about one allocation of a one-group job."""
    single = http.get(f"/v1/allocation/{alloc_id}")
    by_job = {a["ID"]: a for a in http.get(f"/v1/job/{job_id}/allocations").json()}
    everywhere = {a["ID"]: a for a in http.get("/v1/allocations").json()}
    summary = http.get(f"/v1/job/{job_id}/summary").json()["Summary"]["g"]
    stub = {j["ID"]: j for j in http.get("/v1/jobs").json()}[job_id]
    assert single.status_code == 200
    full = single.json()
    for listed in (by_job[alloc_id], everywhere[alloc_id]):
        for key in ("ClientStatus", "DesiredStatus", "TaskStates", "ModifyIndex", "JobVersion"):
            assert listed[key] == full.get(key, listed[key]), key
    assert stub["JobSummary"]["Summary"]["g"] == summary
    return {
        "ClientStatus": full["ClientStatus"],
        "ClientDescription": full["ClientDescription"],
        "TaskStates": full["TaskStates"],
        "EvalID": full["EvalID"],
        "Job": full["Job"],
        "JobVersion": by_job[alloc_id]["JobVersion"],
        "Summary": summary,
        "JobStatus": stub["Status"],
    }


def test_a_collected_allocation_stays_listed_complete_until_its_job_is_purged(tmp_path: Path) -> None:
    agent = start_agent(tmp_path / "data")
    try:
        with agent.client() as http:
            (alloc_id,) = place(http, J.job("done", J.sh("t", "echo bye")), "complete")
            before = story(http, "done", alloc_id)
            assert before["Summary"]["Complete"] == 1 and before["TaskStates"]["t"]["State"] == "dead"
            resp = http.get(f"/v1/client/allocation/{alloc_id}/gc")
            assert resp.status_code == 200
            assert not (agent.alloc_dir / alloc_id).exists()
            # Only the client's copy went: the allocation is the same everywhere.
            assert story(http, "done", alloc_id) == before
            # ...and the client's endpoints say the files are gone.
            stream = http.get(f"/v1/client/fs/stream/{alloc_id}", params={"path": "alloc/logs/t.stdout.0"})
            assert (stream.status_code, stream.text) == (
                404,
                f"state for allocation {alloc_id} not found on client",
            )
        assert agent.stop() == 0
        agent = start_agent(tmp_path / "data")
        with agent.client() as http:
            assert story(http, "done", alloc_id) == before
            assert http.get(f"/v1/client/allocation/{alloc_id}/gc").status_code == 409
            assert http.delete("/v1/job/done", params={"purge": "true"}).status_code == 200
            wait_for(lambda: http.get(f"/v1/allocation/{alloc_id}").status_code == 404, what="the purge")
            assert alloc_id not in {a["ID"] for a in http.get("/v1/allocations").json()}
            assert http.get("/v1/job/done/allocations").json() == []
            ls = http.get(f"/v1/client/fs/ls/{alloc_id}")
            assert (ls.status_code, ls.text) == (404, f'Unknown allocation "{alloc_id}"')
    finally:
        assert agent.stop() == 0
        kill_leftovers(tmp_path / "data")


def test_client_gc_keeps_every_allocation_listed(agent: AgentProcess, http: httpx.Client) -> None:
    ids = place(http, J.job("trio", J.sh("t", "true"), count=3), "complete")
    assert http.get("/v1/client/gc").status_code == 200
    for alloc_id in ids:
        wait_for(lambda i=alloc_id: not (agent.alloc_dir / i).exists(), what=f"{alloc_id} to be collected")
    listed = http.get("/v1/job/trio/allocations").json()
    assert sorted(a["ID"] for a in listed) == sorted(ids)
    assert {a["ClientStatus"] for a in listed} == {"complete"}
    assert http.get("/v1/job/trio/summary").json()["Summary"]["g"]["Complete"] == 3
    assert http.delete("/v1/job/trio", params={"purge": "true"}).status_code == 200


def test_versions_of_a_job(agent: AgentProcess, http: httpx.Client) -> None:
    for script in ("sleep 60", "sleep 61"):
        assert (
            http.post("/v1/jobs", json={"Job": J.job("ver", J.sh("t", script), type_="service")}).status_code
            == 200
        )
    assert http.delete("/v1/job/ver").status_code == 200  # a stop is a version too
    resp = http.get("/v1/job/ver/versions")
    assert resp.status_code == 200 and "x-nomad-index" in resp.headers
    body = resp.json()
    assert set(body) == {"Versions", "Diffs", "Index", "LastContact", "KnownLeader", "NextToken"}
    assert body["Diffs"] is None
    versions = body["Versions"]
    assert [v["Version"] for v in versions] == [2, 1, 0]
    assert [v["Stop"] for v in versions] == [True, False, False]
    assert [v["TaskGroups"][0]["Tasks"][0]["Config"]["args"][1] for v in versions] == [
        "sleep 61",
        "sleep 61",
        "sleep 60",
    ]
    assert versions[0] == http.get("/v1/job/ver").json()
    missing = http.get("/v1/job/nope/versions")
    assert (missing.status_code, missing.text) == (404, "job versions not found")
    bad = http.get("/v1/job/ver/versions", params={"diffs": "maybe"})
    assert bad.status_code == 400 and bad.text.startswith(
        'Failed to parse value of "diffs" (maybe) as a bool'
    )
    assert http.delete("/v1/job/ver", params={"purge": "true"}).status_code == 200
    assert http.get("/v1/job/ver/versions").status_code == 404


def test_python_nomad_sees_versions_and_collected_allocations(agent: AgentProcess) -> None:
    port = int(agent.url.rsplit(":", 1)[1])
    with requests.Session() as session:
        n = nomad.Nomad(host="127.0.0.1", port=port, timeout=10, session=session)
        n.job.register_job("pyv", {"Job": J.job("pyv", J.sh("t", "true"))})
        (stub,) = n.job.get_allocations("pyv")
        wait_for(lambda: n.allocation.get_allocation(stub["ID"])["ClientStatus"] == "complete", what="done")
        n.client.gc_allocation.garbage_collect(stub["ID"])
        assert [a["ClientStatus"] for a in n.job.get_allocations("pyv")] == ["complete"]
        assert n.job.get_summary("pyv")["Summary"]["g"]["Complete"] == 1
        assert [v["Version"] for v in n.job.get_versions("pyv")["Versions"]] == [0]
        n.job.deregister_job("pyv", purge=True)
        with pytest.raises(nomad.api.exceptions.URLNotFoundNomadException):
            n.job.get_versions("pyv")
