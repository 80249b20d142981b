"""The jobs API and the task runner against a real agent process: run, restart, signal, stop,
re-register, exact log capture, python-nomad, and an agent killed with SIGKILL mid-run."""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import os
import signal
from pathlib import Path
from typing import Any

import httpx
import nomad
import pytest
import requests

from outrider.runner.handle import start_ticks
from tests.conftest import AgentProcess, start_agent
from tests.http.conftest import allocs, log_bytes, purge, register, wait_status
from tests.runner import jobspecs as J
from tests.runner.support import (
    adopt_orphans,
    kill_leftovers,
    live_processes,
    log_indexes,
    reap_adopted,
    statuses,
    wait_for,
)

pytestmark = pytest.mark.functional


def test_register_run_and_read_back(agent: AgentProcess, http: httpx.Client) -> None:
    resp = http.post("/v1/jobs", json={"Job": J.job("hello", J.sh("t", "echo hello; echo oops >&2"))})
    assert resp.status_code == 200
    body = resp.json()
    assert set(body) == {
        "EvalID",
        "EvalCreateIndex",
        "JobModifyIndex",
        "Warnings",
        "Index",
        "LastContact",
        "KnownLeader",
    }
    assert resp.headers["x-nomad-index"] == str(body["Index"])
    (stub,) = allocs(http, "hello")
    assert stub["JobID"] == "hello" and stub["Name"] == "hello.g[0]" and stub["EvalID"] == body["EvalID"]
    full = wait_status(http, stub["ID"], "complete")
    state = full["TaskStates"]["t"]
    assert state["State"] == "dead" and state["Failed"] is False
    assert [e["Type"] for e in state["Events"]] == ["Received", "Task Setup", "Started", "Terminated"]
    assert state["StartedAt"].endswith("Z") and state["FinishedAt"] >= state["StartedAt"]
    assert full["Job"]["ID"] == "hello" and full["Job"]["Version"] == 0
    assert full["ClientDescription"] == "All tasks have completed"
    job = http.get("/v1/job/hello")
    assert job.json()["Status"] == "dead" and "x-nomad-index" in job.headers
    listed = {j["ID"]: j for j in http.get("/v1/jobs").json()}
    assert listed["hello"]["JobSummary"]["Summary"]["g"]["Complete"] == 1
    assert http.get("/v1/job/hello/summary").json()["Summary"]["g"]["Complete"] == 1
    assert any(a["ID"] == stub["ID"] for a in http.get("/v1/allocations").json())
    # The fs endpoints serve what the task wrote.
    names = [
        e["Name"] for e in http.get(f"/v1/client/fs/ls/{stub['ID']}", params={"path": "alloc/logs"}).json()
    ]
    assert {"t.stdout.0", "t.stderr.0"} <= set(names)
    cat = http.get(f"/v1/client/fs/cat/{stub['ID']}", params={"path": "alloc/logs/t.stderr.0"})
    assert cat.content == b"oops\n"
    purge(http, "hello")


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "text"),
    [
        ("POST", "/v1/jobs", {"Job": J.job("d", J.task("t", ["x"], Driver="docker"))}, 400,
         'task "t": driver "docker" is not supported by Outrider (only raw_exec)'),
        ("POST", "/v1/jobs", {"Job": {**J.job("p", J.sh("t", "true")), "Periodic": {"Spec": "@daily"}}}, 400,
         "Job.Periodic is not supported by Outrider"),
        ("POST", "/v1/jobs", {}, 400, "Job must be specified"),
        ("POST", "/v1/job/other", {"Job": J.job("mine", J.sh("t", "true"))}, 400, "Job ID does not match name"),
        ("DELETE", "/v1/jobs", None, 405, "Invalid method"),
        ("GET", "/v1/job/nope", None, 404, "job not found"),
        ("DELETE", "/v1/job/nope", None, 404, "job not found"),
        ("GET", "/v1/allocation/nope", None, 404, "alloc not found"),
        ("POST", "/v1/jobs", {"Job": J.job("big", J.sh("t", "true"), count=2**63)}, 400,
         f"Job.TaskGroups[0].Count must be at most 1000, got {2**63}"),
        ("POST", "/v1/jobs", {"Job": J.job("many", *[J.sh(f"t{i}", "true") for i in range(101)])}, 400,
         "Job.TaskGroups[0].Tasks has 101 entries; the limit is 100"),
        ("POST", "/v1/jobs", {"Job": J.job("nul", J.task("t", ["/bin/tr\x00ue"]))}, 400,
         "Job.TaskGroups[0].Tasks[0].Config.command contains a NUL byte"),
        ("POST", "/v1/jobs", {"Job": J.job("env", J.sh("t", "true", Env={"A": "b\x00"}))}, 400,
         "Job.TaskGroups[0].Tasks[0].Env.A contains a NUL byte"),
        ("POST", "/v1/jobs", {"Job": J.job("long", J.sh("t" * 300, "true"))}, 400,
         "task name is 300 bytes long; the limit is 200"),
        ("POST", "/v1/jobs", {"Job": {**J.job("deep", J.sh("t", "true")), "Meta": {"k": json.loads("[" * 70 + "]" * 70)}}}, 400,
         "Job nests objects and arrays more than 64 levels deep"),
    ],
)  # fmt: skip
def test_errors(http: httpx.Client, method: str, path: str, body: Any, status: int, text: str) -> None:
    resp = http.request(method, path, json=body)
    assert (resp.status_code, resp.text) == (status, text)


def test_undecodable_namespace_names_no_namespace(http: httpx.Client) -> None:
    # Once a 500: the raw byte reached the state DB's query as an unencodable string.
    assert http.get("/v1/jobs?namespace=%ff").json() == []
    assert http.get("/v1/allocations?namespace=%ff").json() == []
    resp = http.get("/v1/job/x?namespace=%ff")
    assert (resp.status_code, resp.text) == (404, "job not found")
    resp = http.put("/v1/jobs?namespace=%ff", json={"Job": J.job("ns", J.sh("t", "true"))})
    assert (resp.status_code, resp.text) == (
        400,
        'nonexistent namespace "\ufffd": Outrider has only namespace "default"',
    )


def test_bad_json_and_bad_purge(http: httpx.Client) -> None:
    resp = http.post("/v1/jobs", content=b"{not json")
    assert resp.status_code == 400 and resp.text.startswith("Failed to decode request body")
    register(http, J.job("bp", J.sh("t", "true")))
    resp = http.delete("/v1/job/bp", params={"purge": "maybe"})
    assert resp.status_code == 400
    assert (
        resp.text
        == 'Failed to parse value of "purge" (maybe) as a bool: strconv.ParseBool: parsing "maybe": invalid syntax'
    )
    purge(http, "bp")


def test_reregister_identical_is_a_noop_and_a_change_replaces(
    agent: AgentProcess, http: httpx.Client
) -> None:
    job = J.job("svc", J.sh("t", "echo v=$V; sleep 60", Env={"V": "1"}), type_="service", count=2)
    first = register(http, job)
    before = allocs(http, "svc")
    assert len(before) == 2
    for a in before:
        wait_status(http, a["ID"], "running")
    again = register(http, job)
    assert again["JobModifyIndex"] == first["JobModifyIndex"]
    assert [a["ID"] for a in allocs(http, "svc")] == [a["ID"] for a in before]
    job["TaskGroups"][0]["Tasks"][0]["Env"] = {"V": "2"}
    changed = register(http, job)
    assert changed["JobModifyIndex"] > first["JobModifyIndex"]
    now = {a["ID"]: a for a in allocs(http, "svc")}
    assert len(now) == 4
    for a in before:
        old = wait_status(http, a["ID"], "complete")
        assert old["DesiredStatus"] == "stop"
        assert [e["Type"] for e in old["TaskStates"]["t"]["Events"]][-3:] == [
            "Killing",
            "Terminated",
            "Killed",
        ]
    fresh = [i for i in now if i not in {a["ID"] for a in before}]
    for alloc_id in fresh:
        wait_status(http, alloc_id, "running")
        wait_for(lambda i=alloc_id: log_bytes(agent, i, "t") == b"v=2\n", what="the new version's output")
    assert http.get("/v1/job/svc").json()["Version"] == 1
    assert http.get("/v1/job/svc").json()["Status"] == "running"
    purge(http, "svc")


def test_stop_then_purge(agent: AgentProcess, http: httpx.Client) -> None:
    register(http, J.job("stopme", J.sh("t", "sleep 60"), type_="service"))
    (stub,) = allocs(http, "stopme")
    wait_status(http, stub["ID"], "running")
    resp = http.delete("/v1/job/stopme")
    assert resp.status_code == 200 and set(resp.json()) >= {"EvalID", "JobModifyIndex", "Index"}
    wait_status(http, stub["ID"], "complete")
    job = http.get("/v1/job/stopme").json()
    assert job["Stop"] is True and job["Status"] == "dead"
    purge(http, "stopme")
    assert http.get("/v1/job/stopme").status_code == 404
    wait_for(
        lambda: not (agent.alloc_dir / stub["ID"]).exists(), what="the purged allocation's directory to go"
    )


def test_blocking_queries_wait_for_the_next_change(tmp_path: Path) -> None:
    # The web UI and the Go client watch jobs and allocations with ?index=: held until the state
    # moves. An agent of its own, so that no other test's task changes the index meanwhile.
    data_dir = tmp_path / "data"
    agent = start_agent(data_dir)
    try:
        with agent.client() as http:
            register(http, J.job("watched", J.sh("t", "sleep 60"), type_="service"))
            (stub,) = allocs(http, "watched")
            wait_status(http, stub["ID"], "running")
            url = f"/v1/allocation/{stub['ID']}"
            index = int(http.get(url).headers["x-nomad-index"])
            held = {"index": str(index), "wait": "60s"}
            with (
                concurrent.futures.ThreadPoolExecutor(3) as pool,
                agent.client() as c1,
                agent.client() as c2,
                agent.client() as c3,
            ):
                held_alloc = pool.submit(c1.get, url, params=held)
                held_list = pool.submit(c2.get, "/v1/allocations", params=held)
                quick = pool.submit(c3.get, "/v1/jobs", params={"index": str(index), "wait": "100ms"})
                # With nothing changing, the short wait answers with the index it was given.
                assert quick.result(timeout=10).headers["x-nomad-index"] == str(index)
                assert not held_alloc.done() and not held_list.done()
                assert http.post(f"{url}/stop").status_code == 200
                changed = held_alloc.result(timeout=20)
                listed = held_list.result(timeout=20)
            assert int(changed.headers["x-nomad-index"]) > index and changed.json()["ModifyIndex"] > index
            assert int(listed.headers["x-nomad-index"]) > index
            # An older index answers at once.
            assert http.get(url, params={"index": "1", "wait": "60s"}).json()["ID"] == stub["ID"]
    finally:
        agent.stop()
        kill_leftovers(data_dir)


def test_restart_and_signal(agent: AgentProcess, http: httpx.Client) -> None:
    code = (
        "import signal, time\n"
        "signal.signal(signal.SIGUSR1, lambda *a: print('usr1', flush=True))\n"
        "print('up', flush=True)\n"
        "while True: time.sleep(0.05)\n"
    )
    register(http, J.job("life", J.python("t", code, KillSignal="SIGTERM"), type_="service"))
    (stub,) = allocs(http, "life")
    alloc_id = stub["ID"]
    wait_for(lambda: log_bytes(agent, alloc_id, "t") == b"up\n", what="start")
    resp = http.post(f"/v1/client/allocation/{alloc_id}/signal", json={"Signal": "SIGUSR1", "Task": "t"})
    assert (resp.status_code, resp.json()) == (200, {"Index": 0})
    wait_for(lambda: log_bytes(agent, alloc_id, "t") == b"up\nusr1\n", what="the signal")
    resp = http.post(f"/v1/client/allocation/{alloc_id}/signal", json={"Signal": "SIGBOGUS"})
    assert (resp.status_code, resp.text) == (400, 'invalid signal "SIGBOGUS"')
    resp = http.post(f"/v1/client/allocation/{alloc_id}/restart", json={"TaskName": "t"})
    assert resp.status_code == 200
    wait_for(lambda: log_bytes(agent, alloc_id, "t").count(b"up\n") == 2, what="the restart")
    state = http.get(f"/v1/allocation/{alloc_id}").json()["TaskStates"]["t"]
    assert state["Restarts"] == 1
    assert "Restart Signaled" in [e["Type"] for e in state["Events"]]
    resp = http.post(f"/v1/client/allocation/{alloc_id}/restart", json={"TaskName": "nope"})
    assert (resp.status_code, resp.text) == (400, "Could not find task runner for task: nope")
    for action, body, field, kind in (
        ("restart", {"TaskName": ["t"]}, "AllocRestartRequest.TaskName", "array"),
        ("restart", {"AllTasks": "yes"}, "AllocRestartRequest.AllTasks", "string"),
        ("signal", {"Signal": {"a": 1}}, "AllocSignalRequest.Signal", "object"),
        ("signal", {"Signal": "SIGUSR1", "Task": 7}, "AllocSignalRequest.Task", "number"),
    ):
        resp = http.post(f"/v1/client/allocation/{alloc_id}/{action}", json=body)
        text = f"Failed to decode request body: json: cannot unmarshal {kind} into Go struct field {field} of type"
        assert resp.status_code == 400 and resp.text.startswith(text)
    missing = "00000000-0000-0000-0000-000000000000"
    resp = http.post(f"/v1/client/allocation/{missing}/restart")
    assert (resp.status_code, resp.text) == (404, f'Unknown allocation "{missing}"')
    http.delete("/v1/job/life")
    wait_status(http, alloc_id, "complete")
    resp = http.post(f"/v1/client/allocation/{alloc_id}/restart")
    assert (resp.status_code, resp.text) == (400, "Task not running")
    purge(http, "life")


def test_fast_output_with_tiny_rotation_is_exact(agent: AgentProcess, http: httpx.Client) -> None:
    count = 200_000
    code = (
        "import sys\n"
        "w = sys.stdout.write\n"
        f"for i in range({count}): w(f'{{i:07d}} ' + 'q' * (i % 53) + '\\n')\n"
    )
    logs = {"MaxFiles": 1000, "MaxFileSizeBytes": 64 * 1024}
    register(http, J.job("fast", J.python("t", code, LogConfig=logs)))
    (stub,) = allocs(http, "fast")
    wait_status(http, stub["ID"], "complete", timeout=60)
    expected = b"".join(b"%07d " % i + b"q" * (i % 53) + b"\n" for i in range(count))
    got = log_bytes(agent, stub["ID"], "t")
    assert hashlib.sha256(got).hexdigest() == hashlib.sha256(expected).hexdigest()
    logs_dir = agent.alloc_dir / stub["ID"] / "alloc" / "logs"
    files = [logs_dir / f"t.stdout.{i}" for i in log_indexes(logs_dir, "t", "stdout")]
    assert len(files) > 100
    assert all(len(b := f.read_bytes()) <= 64 * 1024 and b.endswith(b"\n") for f in files)
    purge(http, "fast")


def test_python_nomad_client(agent: AgentProcess) -> None:
    port = int(agent.url.rsplit(":", 1)[1])
    job = J.job("pyn", J.sh("t", "echo from python-nomad; sleep 60"), type_="service")
    with requests.Session() as session:
        n = nomad.Nomad(host="127.0.0.1", port=port, timeout=10, session=session)
        registered = n.job.register_job("pyn", {"Job": job})
        assert registered["EvalID"]
        assert "pyn" in n.job and "pyn" in n.jobs
        assert n.job.get_job("pyn")["ID"] == "pyn"
        (stub,) = n.job.get_allocations("pyn")
        alloc_id = stub["ID"]
        wait_for(lambda: n.allocation.get_allocation(alloc_id)["ClientStatus"] == "running", what="running")
        assert alloc_id in [a["ID"] for a in n.allocations.get_allocations()]
        assert n.client.allocation.signal_allocation(alloc_id, "SIGHUP", task="t") == {"Index": 0}
        assert n.client.allocation.restart_allocation(alloc_id) == {"Index": 0}
        n.job.deregister_job("pyn", purge=True)
        with pytest.raises(nomad.api.exceptions.URLNotFoundNomadException):
            n.job.get_job("pyn")
        # Re-registered through /v1/jobs, then stopped and collected through the client API.
        n.jobs.register_job({"Job": J.job("pyn2", J.sh("t", "true"))})
        (stub,) = n.job.get_allocations("pyn2")
        wait_for(
            lambda: n.allocation.get_allocation(stub["ID"])["ClientStatus"] == "complete", what="complete"
        )
        n.client.gc_allocation.garbage_collect(stub["ID"])
        assert not (agent.alloc_dir / stub["ID"]).exists()
        n.client.gc_all_allocations.garbage_collect()
        n.job.deregister_job("pyn2", purge=True)


def test_agent_killed_mid_run_loses_nothing(tmp_path: Path) -> None:
    lines = 400
    code = (
        "import sys, time\n"
        f"for i in range({lines}):\n"
        "    print(f'line {i:04d} ' + 'k' * (i % 37), flush=True)\n"
        "    time.sleep(0.01)\n"
        "sys.exit(0)\n"
    )
    expected = b"".join(b"line %04d " % i + b"k" * (i % 37) + b"\n" for i in range(lines))
    logs = {"MaxFiles": 100, "MaxFileSizeBytes": 1024}
    data_dir = tmp_path / "data"
    with adopt_orphans():
        first = start_agent(data_dir)
        second = None
        try:
            with first.client() as http:
                register(http, J.job("durable", J.python("t", code, LogConfig=logs)))
                (stub,) = allocs(http, "durable")
                alloc_id = stub["ID"]
                wait_status(http, alloc_id, "running")
            wait_for(lambda: len(log_bytes(first, alloc_id, "t")) > 1500, what="some output")
            first.stop(signal.SIGKILL)
            (status,) = statuses(data_dir)
            assert status.task is not None and status.task.alive(), "the task must outlive the agent"
            size = len(log_bytes(first, alloc_id, "t"))
            wait_for(lambda: len(log_bytes(first, alloc_id, "t")) > size + 1024, what="the capture to go on")
            second = start_agent(data_dir)
            with second.client() as http:
                done = wait_status(http, alloc_id, "complete", timeout=30)
            state = done["TaskStates"]["t"]
            assert (state["State"], state["Failed"], state["Restarts"]) == ("dead", False, 0)
            terminated = state["Events"][-1]
            assert terminated["Type"] == "Terminated" and terminated["Details"]["exit_code"] == "0"
            got = log_bytes(second, alloc_id, "t")
            assert hashlib.sha256(got).hexdigest() == hashlib.sha256(expected).hexdigest()
            assert len(os.listdir(data_dir / "alloc" / alloc_id / "alloc" / "logs")) > 10
            wait_for(lambda: not live_processes(data_dir), what="the supervisor to exit")
        finally:
            if second is not None:
                assert second.stop() == 0
            if first.proc.returncode is None:
                first.stop(signal.SIGKILL)
            kill_leftovers(data_dir)
            reap_adopted(data_dir)
    assert status.supervisor is not None and start_ticks(status.supervisor.pid) is None


def test_runs_leave_no_descriptors_open(agent: AgentProcess, http: httpx.Client) -> None:
    register(http, J.job("warmup", J.sh("t", "true")))
    wait_status(http, allocs(http, "warmup")[0]["ID"], "complete")
    purge(http, "warmup")
    wait_for(
        lambda: (
            not (agent.data_dir / "client" / "tasks").exists()
            or not os.listdir(agent.data_dir / "client" / "tasks")
        ),
        what="purge",
    )
    baseline = agent.open_fds()
    for i in range(5):
        register(http, J.job(f"fd{i}", J.sh("t", "echo x; exit 1"), count=2))
    for i in range(5):
        for stub in allocs(http, f"fd{i}"):
            wait_status(http, stub["ID"], "failed")
        purge(http, f"fd{i}")
    wait_for(lambda: agent.open_fds() <= baseline, what=f"the agent's descriptors to return to {baseline}")
